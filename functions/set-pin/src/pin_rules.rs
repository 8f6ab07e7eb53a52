//! The rules of `PUT /v1/pin` that need more than the PIN (contract §3): `known`
//! (the PIN is in the tenant's account number or numbers) and
//! `PIN_UNCHANGED` (a hard-locked tenant must change its PIN).

use crate::app::{tenant_not_found, App};
use portguard_api::ApiError;
use portguard_api::Code;
use portguard_store::{Tenant, TenantRef};
use portguard_validation::{KnownDigits, Pin, PinError, TenantId};
use serde_json::json;

const SERVICE: &str = "set-pin";

/// The answer for a PIN refused by a rule of contract §3. No message echoes it.
pub(crate) fn pin_error(e: PinError) -> ApiError {
    match e {
        PinError::Required => ApiError::explained(Code::PinRequired, e.to_string()),
        PinError::InvalidFormat => ApiError::explained(Code::InvalidPinFormat, e.to_string()),
        PinError::Weak(reason) => ApiError::explained(Code::WeakPin, e.to_string())
            .details(json!({ "reason": reason.as_str() })),
    }
}

impl App {
    /// The tenant as `PUT /v1/pin` needs it, and whether a carrier's lock
    /// is hard, after contract §3's `known` and `PIN_UNCHANGED` checks. With
    /// the account number remembered from an earlier request (it changes
    /// only when an operator moves the tenant), the record and the numbers
    /// are read at once: one round trip before the write, not two. A record
    /// that no longer belongs to the tenant drops the memory and reads the
    /// pointer, as a first request does.
    pub(crate) async fn check_new_pin(
        &self,
        tenant_id: &TenantId,
        pin: Result<Pin, ApiError>,
    ) -> Result<(TenantRef, Pin, bool), ApiError> {
        if let Some(account) = self.accounts.get(tenant_id) {
            let (numbers, record) = tokio::join!(
                self.store.list_numbers(tenant_id),
                self.store.tenant_by_account(&account),
            );
            match record?.filter(|r| r.tenant_id == tenant_id) {
                Some(record) => {
                    let tenant = TenantRef::of(&record);
                    return self.checked(tenant, pin, numbers?, Some(record));
                }
                None => self.accounts.forget(tenant_id),
            }
        }
        let tenant = self
            .store
            .get_tenant_ref(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)?;
        let (numbers, record) = tokio::join!(
            self.store.list_numbers(tenant_id),
            self.store.tenant_by_account(&tenant.account_number),
        );
        self.accounts.remember(tenant_id, &tenant.account_number);
        self.checked(tenant, pin, numbers?, record?)
    }

    fn checked(
        &self,
        tenant: TenantRef,
        pin: Result<Pin, ApiError>,
        numbers: Vec<portguard_store::numbers::NumberRecord>,
        record: Option<Tenant>,
    ) -> Result<(TenantRef, Pin, bool), ApiError> {
        if !tenant.is_us() {
            return Err(ApiError::tenant_not_eligible());
        }
        // The body's errors come after eligibility, as before any read.
        let pin = pin?;
        let known = KnownDigits::new(
            &tenant.account_number,
            numbers.iter().map(|n| n.number.as_str()),
        );
        pin.check_known(&known).map_err(pin_error)?;
        let hard_locked = self.unchanged(&tenant.tenant_id, &pin, record)?;
        Ok((tenant, pin, hard_locked))
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
        tenant_id: &TenantId,
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
            return Err(ApiError::of(Code::PinUnchanged));
        }
        Ok(true)
    }
}
