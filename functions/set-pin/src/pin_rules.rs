//! The rules of `PUT /v1/pin` that need more than the PIN (contract §3): `known`
//! (the PIN is in the tenant's account number or numbers) and
//! `PIN_UNCHANGED` (a hard-locked tenant must change its PIN).

use crate::handler::App;
use portguard_api::ApiError;
use portguard_store::{Tenant, TenantRef};
use portguard_validation::{KnownDigits, Pin, PinError};
use serde_json::json;

const SERVICE: &str = "set-pin";

/// The answer for a PIN refused by a rule of contract §3. No message echoes it.
pub(crate) fn pin_error(e: PinError) -> ApiError {
    match e {
        PinError::Required => ApiError::new(400, "PIN_REQUIRED", e.to_string()),
        PinError::InvalidFormat => ApiError::new(400, "INVALID_PIN_FORMAT", e.to_string()),
        PinError::Weak(reason) => ApiError::new(400, "WEAK_PIN", e.to_string())
            .details(json!({ "reason": reason.as_str() })),
    }
}

impl App {
    /// `known`, then `PIN_UNCHANGED`, in the table's order. Both reads (the
    /// tenant's numbers, a Query on GSI2 that follows pagination, and the
    /// tenant record) are sent together, so the record costs no extra round
    /// trip: the pointer does not carry the lock, and reading the record is
    /// cheaper than any write-then-check scheme. The Argon2 verification
    /// runs only for a hard-locked tenant. Returns whether the tenant is
    /// hard-locked as read (the write then needs no guard against one).
    pub(crate) async fn check_new_pin(
        &self,
        tenant: &TenantRef,
        pin: &Pin,
    ) -> Result<bool, ApiError> {
        let (numbers, record) = tokio::join!(
            self.store.list_numbers(&tenant.tenant_id),
            self.store.tenant_by_account(&tenant.account_number),
        );
        let numbers = numbers?;
        let known = KnownDigits::new(
            &tenant.account_number,
            numbers.iter().map(|n| n.number.as_str()),
        );
        pin.check_known(&known).map_err(pin_error)?;
        self.unchanged(&tenant.tenant_id, pin, record?)
    }

    /// Reads the record again (after a write conflict) and applies
    /// `PIN_UNCHANGED` to it.
    pub(crate) async fn recheck_unchanged(
        &self,
        tenant: &TenantRef,
        pin: &Pin,
    ) -> Result<bool, ApiError> {
        let record = self.store.tenant_by_account(&tenant.account_number).await?;
        self.unchanged(&tenant.tenant_id, pin, record)
    }

    /// `400 PIN_UNCHANGED` when a carrier's lock of the tenant is hard and `pin` is its
    /// current PIN (someone was guessing it); otherwise whether it is
    /// hard-locked. A record that is gone or another tenant's is left to the
    /// write's condition, which refuses it.
    fn unchanged(
        &self,
        tenant_id: &str,
        pin: &Pin,
        record: Option<Tenant>,
    ) -> Result<bool, ApiError> {
        let Some(record) = record.filter(|t| t.tenant_id == tenant_id) else {
            return Ok(false);
        };
        // Any carrier's hard lock: someone was guessing this PIN.
        if !record.locks.any_hard() {
            return Ok(false);
        }
        let Some(stored) = &record.pin else {
            return Ok(true);
        };
        let same = self
            .hasher
            .check(pin, stored)
            .map_err(|e| portguard_api::unknown_pepper_version(SERVICE, &e))?;
        if same {
            return Err(ApiError::new(
                400,
                "PIN_UNCHANGED",
                "port-outs are locked after repeated wrong PINs: choose a new PIN, not the current one",
            ));
        }
        Ok(true)
    }
}
