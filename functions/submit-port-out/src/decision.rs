//! The one port-out decision (contract §4.1, checks 6–12, the lockout and
//! the audit trail), whichever door the request came through: each door
//! parses its own wire format into a [`PortOutRequest`] (checks 1–5),
//! calls [`App::decide`], and maps the [`Decided`] to its own answer with
//! the catalogue of `portguard_rules::port_out`. Nothing of these checks is
//! written anywhere else.
//!
//! The decisions come from `portguard-rules`; the store applies them with
//! conditional writes, and a write that loses a race is decided again from
//! a fresh read, so no failed attempt is lost and no number is promised
//! twice.

use crate::handler::{COLLECTION, SERVICE};
use crate::App;
use portguard_api::{metrics, ApiError};
use portguard_rules::admission::{admit, Admission, Facts};
use portguard_rules::port_out::Refusal;
use portguard_rules::{transfer_pin, LockState, LockStatus};
use portguard_secrets::StoredPin;
use portguard_store::clock::Timestamp;
use portguard_store::idempotency::StoredResponse;
use portguard_store::orders::CreateOutcome;
use portguard_store::protection::PortOutView;
use portguard_store::tenants::Written;
use portguard_store::{clock, retry_on_conflict, AuditEvent, AuditType, NewOrder, Order, Tenant};
use portguard_validation::{CarrierId, OrderId, PhoneNumber, Pin, Pon, TenantId, TransferPinId};
use std::time::{Duration, Instant};

mod locked;
mod probes;
mod refusals;
mod request;

pub(crate) use probes::ProbeWatch;
pub(crate) use request::{Accepted, Attempt, Decided, Holder, Idem, PortOutRequest, Refused};

/// The account a decision reads (check 6).
struct Account {
    number: String,
    /// Set when `number` came from [`App::accounts`]: the tenant it was
    /// remembered for, which the record read must still name.
    remembered_for: Option<TenantId>,
}

/// A decision whose write loses a race is redone from a fresh read at most
/// this many times (each lost race means another request made progress).
const DECISION_ROUNDS: u32 = 32;

impl App {
    /// Checks 6 to 12 against the tenant as it is now.
    pub(crate) async fn decide(
        &self,
        attempt: &Attempt<'_>,
        request: &PortOutRequest,
        idem: Option<&Idem<'_>>,
    ) -> Result<Decided, ApiError> {
        // The PIN is verified once per stored hash (the tenant's, each
        // transfer PIN's), however many rounds.
        let mut verified: Vec<(StoredPin, bool)> = Vec::new();
        // Logged with an accepted order: the deliberate cost, apart.
        let mut argon2 = Duration::ZERO;
        // A resubmission racing its first request: the order it lost to is
        // looked for once more before the numbers are called busy.
        let mut raced = false;
        let Some(mut account) = self.account_of(&request.holder).await? else {
            self.probed(attempt, Refusal::AccountNotFound);
            return Ok(Decided::Refused(Refused::new(Refusal::AccountNotFound)));
        };
        let mut rounds = retry_on_conflict(DECISION_ROUNDS);
        while rounds.next().await.is_some() {
            // 6: the account, with the requested numbers' items: one
            // consistent read holds all that checks 6 to 10 decide on.
            let Some(view) = self.view_of(&mut account, &attempt.numbers).await? else {
                // No tenant: nothing to count or record against but the
                // carrier's probes.
                self.probed(attempt, Refusal::AccountNotFound);
                return Ok(Decided::Refused(Refused::new(Refusal::AccountNotFound)));
            };
            let tenant = &view.tenant;
            if request.resubmission_is_accepted {
                if let Some(id) = self.resubmitted(&view, attempt, request).await? {
                    tracing::info!(
                        carrier_id = %attempt.carrier,
                        tenant_id = %tenant.tenant_id,
                        port_out_id = %id,
                        "port-out resubmitted: the open order answers"
                    );
                    return Ok(Decided::Resubmitted(id));
                }
            }
            let now = clock::now();
            // 7, 8, 8a and 9, in order, before the PIN is looked at: a lock
            // (8a) answers the same whatever PIN came, and counts nowhere.
            let facts = Facts {
                eligible: tenant.is_us(),
                // The tenant's PIN, or a live transfer PIN (whatever numbers
                // it names: check 10 looks at those).
                has_pin: tenant.pin.is_some()
                    || tenant.transfer_pins.iter().any(|e| e.is_live(now)),
                locked_numbers: view.locked(&attempt.numbers, now),
                // This carrier's lock only (contract §4.1).
                pin_lock: tenant.locks.of(attempt.carrier.as_str()).status(now),
            };
            let refused = match admit(facts) {
                Admission::Proceed => None,
                Admission::NotEligible => Some(Refused::new(Refusal::TenantNotEligible)),
                Admission::PinNotSet => Some(Refused::new(Refusal::PinNotSet)),
                Admission::PortOutLocked(numbers) => {
                    metrics::count(SERVICE, "PortOutLocked");
                    Some(Refused::new(Refusal::PortOutLocked).numbers(numbers))
                }
                Admission::PinLocked(_) => {
                    let lock = tenant.locks.of(attempt.carrier.as_str());
                    return self.reject_locked(attempt, tenant, &lock, now).await;
                }
            };
            if let Some(refused) = refused {
                return self.refuse(attempt, tenant, refused).await;
            }
            // 10: the tenant's PIN (not while transferPinRequired is in
            // force) or a live transfer PIN naming every requested number,
            // each compared in constant time: at most 1 + 5 Argon2 runs.
            let required = tenant.protection.transfer_pin_required.effective(now);
            let candidates = tenant
                .pin
                .iter()
                .filter(|_| transfer_pin::tenant_pin_opens(required))
                .map(|stored| (None, stored))
                .chain(
                    tenant
                        .transfer_pins
                        .iter()
                        .filter(|e| e.opens(&attempt.numbers, now))
                        .map(|e| (Some(&e.id), &e.stored)),
                )
                .collect::<Vec<_>>();
            // Every candidate's pepper version first: a hash under a version
            // this function was not given is an operator's error (500,
            // nothing counted), and must answer the same whether or not the
            // PIN matched another candidate first (no oracle).
            for (_, stored) in &candidates {
                self.hasher
                    .knows(stored)
                    .map_err(|e| portguard_api::unknown_pepper_version(SERVICE, &e))?;
            }
            // `Some(None)`: the tenant's PIN; `Some(Some(id))`: that transfer PIN.
            let mut opened: Option<Option<&TransferPinId>> = None;
            for (transfer_pin_id, stored) in candidates {
                let right = match verified.iter().find(|(seen, _)| seen == stored) {
                    Some((_, right)) => *right,
                    None => {
                        let started = Instant::now();
                        let right = self.verify(&request.pin, stored).await?;
                        argon2 += started.elapsed();
                        verified.push((stored.clone(), right));
                        right
                    }
                };
                if right {
                    opened = Some(transfer_pin_id);
                    break;
                }
            }
            let Some(transfer_pin_id) = opened else {
                tracing::debug!(
                    carrier_id = %attempt.carrier,
                    tenant_id = %tenant.tenant_id,
                    argon2_runs = verified.len(),
                    "no stored PIN matches"
                );
                let (next, after) = tenant
                    .locks
                    .of(attempt.carrier.as_str())
                    .after_failure(now, self.policy);
                if let Some(decided) = self.wrong_pin(attempt, tenant, &next, after, now).await? {
                    return Ok(decided);
                }
                continue;
            };
            // 11 and 12: the numbers, with the order in one transaction.
            let reset = tenant.locks.of(attempt.carrier.as_str()).after_success(now);
            let order = Order::new(NewOrder {
                tenant_id: &tenant.tenant_id,
                carrier_id: attempt.carrier,
                account_number: &tenant.account_number,
                phone_numbers: request.numbers.clone(),
                pon: request.pon.as_ref().map(Pon::as_str),
                source: request.source,
                external_id: request.external_id.as_deref(),
                authorized_name: request.authorized_name.as_ref().map(|n| n.as_str()),
                requested_foc_date: request.requested_foc_date,
                now: Timestamp::from_unix(now),
            });
            let body = serde_json::to_string(&order).expect("an order serialises");
            let location = format!("{COLLECTION}/{}", order.id);
            let audit = self
                .audit(attempt, tenant, AuditType::PortOutRequested, now)
                .port_out(&order.id)
                .phone_numbers(&order.phone_numbers);
            let audit = match transfer_pin_id {
                Some(id) => audit.transfer_pin(id),
                None => audit,
            };
            let completion = idem.map(|idem| {
                self.store.idempotency_completion(
                    attempt.carrier,
                    idem.key,
                    idem.fingerprint,
                    &StoredResponse {
                        status: 201,
                        body: body.clone(),
                        location: Some(location.clone()),
                    },
                    now,
                )
            });
            let outcome = self
                .store
                .create_order_consuming(
                    &order,
                    tenant,
                    reset.as_ref(),
                    &audit,
                    completion,
                    transfer_pin_id,
                )
                .await?;
            let (refusal, numbers) = match outcome {
                CreateOutcome::Created => {
                    metrics::count(SERVICE, "PortOutAccepted");
                    tracing::info!(
                        carrier_id = %attempt.carrier,
                        tenant_id = %tenant.tenant_id,
                        port_out_id = %order.id,
                        numbers = order.phone_numbers.len(),
                        transfer_pin_id = transfer_pin_id.map(|id| id.as_str()),
                        argon2_runs = verified.len(),
                        argon2_ms = argon2.as_secs_f64() * 1e3,
                        "port-out accepted"
                    );
                    return Ok(Decided::Accepted(Accepted {
                        id: order.id.clone(),
                        body,
                        location,
                    }));
                }
                // A lock turned on since the read: decided again, check 8a
                // answers from the fresh read (nothing counted, no reset).
                CreateOutcome::TenantChanged | CreateOutcome::Locked(_) => continue,
                CreateOutcome::InProgress(_) if request.resubmission_is_accepted && !raced => {
                    raced = true;
                    continue;
                }
                CreateOutcome::NotOnAccount(numbers) => (Refusal::NumberNotOnAccount, numbers),
                CreateOutcome::InProgress(numbers) => (Refusal::PortOutInProgress, numbers),
            };
            // A right PIN resets the count even when the order fails later.
            if let Some(reset) = reset {
                self.keep_reset(attempt.carrier, tenant.clone(), reset, now)
                    .await?;
            }
            self.probed(attempt, refusal);
            let refused = Refused::new(refusal).numbers(numbers);
            return self.refuse(attempt, tenant, refused).await;
        }
        tracing::warn!(
            carrier_id = %attempt.carrier,
            "gave up deciding a port-out after repeated concurrent changes"
        );
        Err(ApiError::unavailable())
    }

    /// The account check 6 reads: the request's, or that of the tenant
    /// owning its first number (remembered from an earlier decision, else
    /// the tenant's pointer).
    async fn account_of(&self, holder: &Holder) -> Result<Option<Account>, ApiError> {
        let owner = match holder {
            Holder::Account(account) => {
                return Ok(Some(Account {
                    number: account.as_str().to_owned(),
                    remembered_for: None,
                }))
            }
            Holder::OwnerOfFirstNumber(owner) => owner,
        };
        let Some(owner) = owner.clone() else {
            return Ok(None);
        };
        if let Some(number) = self.accounts.get(&owner) {
            return Ok(Some(Account {
                number,
                remembered_for: Some(owner),
            }));
        }
        self.account_of_owner(owner).await
    }

    async fn account_of_owner(&self, owner: TenantId) -> Result<Option<Account>, ApiError> {
        let Some(pointer) = self.store.get_tenant_ref(&owner).await? else {
            return Ok(None);
        };
        self.accounts.remember(&owner, &pointer.account_number);
        Ok(Some(Account {
            number: pointer.account_number,
            remembered_for: None,
        }))
    }

    /// The one read of check 6 (the tenant record and the numbers' items).
    /// A remembered account that is no longer its tenant's is forgotten and
    /// the tenant's pointer read, as on a first decision.
    async fn view_of(
        &self,
        account: &mut Account,
        numbers: &[PhoneNumber],
    ) -> Result<Option<PortOutView>, ApiError> {
        let view = self.store.port_out_view(&account.number, numbers).await?;
        let Some(owner) = account.remembered_for.take() else {
            return Ok(view);
        };
        if view.as_ref().is_some_and(|v| v.tenant.tenant_id == owner) {
            account.remembered_for = Some(owner);
            return Ok(view);
        }
        self.accounts.forget(&owner);
        match self.account_of_owner(owner).await? {
            Some(fresh) => {
                *account = fresh;
                Ok(self.store.port_out_view(&account.number, numbers).await?)
            }
            None => Ok(None),
        }
    }

    /// The open order this request repeats, if any: every requested number
    /// held by one open order of this carrier, with the same PON (a request
    /// without one repeats nothing) and exactly the same numbers.
    async fn resubmitted(
        &self,
        view: &PortOutView,
        attempt: &Attempt<'_>,
        request: &PortOutRequest,
    ) -> Result<Option<OrderId>, ApiError> {
        let Some(pon) = &request.pon else {
            return Ok(None);
        };
        let mut holders = attempt.numbers.iter().map(|e164| {
            view.numbers
                .get(e164)
                .filter(|n| n.tenant_id == view.tenant.tenant_id)
                .and_then(|n| n.open_port_out_id.as_ref())
        });
        let Some(Some(id)) = holders.next() else {
            return Ok(None);
        };
        if !holders.all(|other| other == Some(id)) {
            return Ok(None);
        }
        let Some(order) = self.store.get_order(id).await? else {
            return Ok(None);
        };
        let mut held = order.phone_numbers.clone();
        let mut asked = attempt.numbers.clone();
        held.sort();
        asked.sort();
        let same = !order.status.is_terminal()
            && order.carrier_id == *attempt.carrier
            && order.pon.as_deref() == Some(pon.as_str())
            && held == asked;
        Ok(same.then_some(order.id))
    }

    /// Inline on purpose: a Lambda process serves one request at a time, and
    /// verifying on the one runtime thread keeps a single 19 MiB Argon2 block
    /// resident instead of one per blocking-pool thread (measured by
    /// `make bench`).
    ///
    /// A hash under a pepper version this function was not given is an
    /// operator's error, not a wrong PIN: `500`, nothing counted or audited.
    async fn verify(&self, pin: &Pin, stored: &StoredPin) -> Result<bool, ApiError> {
        self.hasher
            .check(pin, stored)
            .map_err(|e| portguard_api::unknown_pepper_version(SERVICE, &e))
    }
}
