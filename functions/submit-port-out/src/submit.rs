//! `POST /v1/port-outs`: checks 6–12 of contract §4.1, the lockout, the audit
//! trail and idempotent retries. The decisions come from `portguard-rules`;
//! the store applies them with conditional writes, and a write that loses a
//! race is decided again from a fresh read, so no failed attempt is lost and
//! no number is promised twice.

use crate::body::{self, PortOutRequest};
use crate::handler::{COLLECTION, SERVICE};
use crate::App;
use lambda_http::{Body, Request};
use portguard_api::{metrics, ApiError, Response};
use portguard_rules::admission::{admit, Admission, Facts};
use portguard_rules::{transfer_pin, LockState, LockStatus};
use portguard_secrets::StoredPin;
use portguard_store::idempotency::{Claim, StoredResponse};
use portguard_store::orders::CreateOutcome;
use portguard_store::tenants::Written;
use portguard_store::{
    clock, conflict_backoff, Actor, ActorKind, AuditEvent, AuditType, Order, Tenant,
};
use portguard_validation::{CarrierId, Pin};
use serde_json::json;
use std::time::{Duration, Instant};

/// A decision whose write loses a race is redone from a fresh read at most
/// this many times (each lost race means another request made progress).
const DECISION_ROUNDS: usize = 32;
/// A request whose idempotency key is being handled by another request waits
/// for that one this many times, `POLL_INTERVAL` apart (about 3 s in all).
const IDEMPOTENCY_POLLS: u32 = 12;
const POLL_INTERVAL: Duration = Duration::from_millis(250);

mod locked;

/// Who attempts the port-out, for the audit trail and the logs.
struct Attempt<'a> {
    carrier: &'a str,
    actor: Actor,
    source_ip: Option<String>,
    /// The requested numbers in E.164, for the audit trail.
    numbers: Vec<String>,
}

/// The claimed idempotency record of this request.
struct Idem<'a> {
    key: &'a str,
    fingerprint: &'a str,
}

impl App {
    pub(crate) async fn submit(
        &self,
        req: &Request,
        carrier: &CarrierId,
    ) -> Result<Response, ApiError> {
        let key = body::idempotency_key(req)?;
        let request = body::parse(req.body())?;
        let attempt = Attempt {
            carrier: carrier.as_str(),
            actor: Actor {
                kind: ActorKind::Carrier,
                id: Some(carrier.to_string()),
            },
            source_ip: portguard_api::source_ip(req),
            numbers: request.e164(),
        };
        let Some(key) = key else {
            return self.decide(&attempt, &request, None).await;
        };
        let fingerprint = self.idempotency.fingerprint(&request.canonical());
        match self.claim(attempt.carrier, &key, &fingerprint).await? {
            Claim::Claimed => {}
            Claim::Replay(stored) => return Ok(replay(stored)),
            Claim::Mismatch => {
                return Err(ApiError::new(
                    409,
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used with a different request; use a new key for a new request",
                ))
            }
            Claim::InProgress => {
                return Err(ApiError::new(
                    409,
                    "IDEMPOTENCY_KEY_IN_PROGRESS",
                    "a request with this Idempotency-Key is still being handled; retry shortly",
                )
                .retry_after(Some(1)))
            }
        }
        let idem = Idem {
            key: &key,
            fingerprint: &fingerprint,
        };
        let result = self.decide(&attempt, &request, Some(&idem)).await;
        // Only a created order is kept (inside its transaction); any other
        // answer gives the key up, so a corrected retry is handled afresh.
        if !matches!(&result, Ok(resp) if resp.status() == 201) {
            if let Err(e) = self
                .store
                .release_idempotency(attempt.carrier, &key, &fingerprint)
                .await
            {
                // The claim lapses on its own after a minute.
                tracing::warn!(error = %e, "could not release an idempotency claim");
            }
        }
        result
    }

    /// Claims the key, waiting a little while the same request is in flight.
    async fn claim(&self, carrier: &str, key: &str, fingerprint: &str) -> Result<Claim, ApiError> {
        let mut poll = 0;
        loop {
            let claim = self
                .store
                .claim_idempotency(carrier, key, fingerprint, clock::now())
                .await?;
            if claim != Claim::InProgress || poll == IDEMPOTENCY_POLLS {
                return Ok(claim);
            }
            poll += 1;
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Checks 6 to 12 against the tenant as it is now.
    async fn decide(
        &self,
        attempt: &Attempt<'_>,
        request: &PortOutRequest,
        idem: Option<&Idem<'_>>,
    ) -> Result<Response, ApiError> {
        // The PIN is verified once per stored hash (the tenant's, each
        // transfer PIN's), however many rounds.
        let mut verified: Vec<(StoredPin, bool)> = Vec::new();
        // Logged with an accepted order: the deliberate cost, apart.
        let mut argon2 = Duration::ZERO;
        for round in 0..DECISION_ROUNDS as u32 {
            if round > 0 {
                conflict_backoff(round - 1).await;
            }
            // 6: the account, with the requested numbers' items: one
            // consistent read holds all that checks 6 to 10 decide on.
            let Some(view) = self
                .store
                .port_out_view(request.account.as_str(), &attempt.numbers)
                .await?
            else {
                return Err(ApiError::new(
                    422,
                    "ACCOUNT_NOT_FOUND",
                    "no account has this account number; check it with the account holder",
                ));
            };
            let tenant = &view.tenant;
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
                pin_lock: tenant.lock.status(now),
            };
            let refusal = match admit(facts) {
                Admission::Proceed => None,
                Admission::NotEligible => Some(ApiError::new(
                    422,
                    "TENANT_NOT_ELIGIBLE",
                    "port-out PINs are only used for organisations in the United States",
                )),
                Admission::PinNotSet => Some(ApiError::new(
                    422,
                    "PIN_NOT_SET",
                    "the account holder has not set a port-out PIN, so no port-out can be accepted",
                )),
                Admission::PortOutLocked(numbers) => {
                    metrics::count(SERVICE, "PortOutLocked");
                    Some(
                        ApiError::new(
                            422,
                            "PORT_OUT_LOCKED",
                            "the account holder has locked these numbers against port-out; only the account holder can lift the lock",
                        )
                        .details(json!({ "numbers": numbers })),
                    )
                }
                Admission::PinLocked(_) => {
                    return self.reject_locked(attempt, tenant, &tenant.lock, now).await
                }
            };
            if let Some(error) = refusal {
                return self.reject(attempt, tenant, error).await;
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
                        .map(|e| (Some(e.id.as_str()), &e.stored)),
                );
            // `Some(None)`: the tenant's PIN; `Some(Some(id))`: that transfer PIN.
            let mut opened: Option<Option<&str>> = None;
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
                    carrier_id = attempt.carrier,
                    tenant_id = %tenant.tenant_id,
                    argon2_runs = verified.len(),
                    "no stored PIN matches"
                );
                let (next, after) = tenant.lock.after_failure(now, self.policy);
                match self.store.write_lock_state(tenant, &next).await? {
                    Written::Conflict => continue,
                    Written::Done(()) => {
                        return self.wrong_pin(attempt, tenant, &next, after, now).await
                    }
                }
            };
            // 11 and 12: the numbers, with the order in one transaction.
            let reset = tenant.lock.after_success(now);
            let order = Order::new(
                &tenant.tenant_id,
                attempt.carrier,
                request.account.as_str(),
                request.e164(),
                request.pon.as_str(),
                request.authorized_name.as_ref().map(|n| n.as_str()),
                request.requested_foc_date.as_deref(),
                &clock::format(now),
            );
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
            let (error, numbers) = match outcome {
                CreateOutcome::Created => {
                    metrics::count(SERVICE, "PortOutAccepted");
                    tracing::info!(
                        carrier_id = attempt.carrier,
                        tenant_id = %tenant.tenant_id,
                        port_out_id = %order.id,
                        numbers = order.phone_numbers.len(),
                        transfer_pin_id,
                        argon2_runs = verified.len(),
                        argon2_ms = argon2.as_secs_f64() * 1e3,
                        "port-out accepted"
                    );
                    return Ok(created(body, &location));
                }
                // A lock turned on since the read: decided again, check 8a
                // answers from the fresh read (nothing counted, no reset).
                CreateOutcome::TenantChanged | CreateOutcome::Locked(_) => continue,
                CreateOutcome::NotOnAccount(numbers) => (
                    ApiError::new(
                        422,
                        "NUMBER_NOT_ON_ACCOUNT",
                        "some numbers are not on this account; remove them or check the account number",
                    ),
                    numbers,
                ),
                CreateOutcome::InProgress(numbers) => (
                    ApiError::new(
                        409,
                        "PORT_OUT_IN_PROGRESS",
                        "some numbers are already in an open port-out; wait for it to finish",
                    ),
                    numbers,
                ),
            };
            // A right PIN resets the count even when the order fails later.
            if let Some(reset) = reset {
                self.keep_reset(tenant.clone(), reset, now).await?;
            }
            let error = error.details(json!({ "numbers": numbers }));
            return self.reject(attempt, tenant, error).await;
        }
        tracing::warn!(
            carrier_id = attempt.carrier,
            "gave up deciding a port-out after repeated concurrent changes"
        );
        Err(ApiError::unavailable())
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

    /// A wrong PIN whose failure is written: 422, or 429 for the attempt
    /// that reached the limit.
    async fn wrong_pin(
        &self,
        attempt: &Attempt<'_>,
        tenant: &Tenant,
        next: &LockState,
        after: LockStatus,
        now: i64,
    ) -> Result<Response, ApiError> {
        metrics::count(SERVICE, "PinMismatch");
        if !after.is_locked() {
            return self
                .reject(
                    attempt,
                    tenant,
                    ApiError::new(
                        422,
                        "PIN_MISMATCH",
                        "the PIN does not match the account holder's port-out PIN; repeated wrong PINs lock port-outs for this account",
                    ),
                )
                .await;
        }
        metrics::count(SERVICE, "PinLocked");
        tracing::warn!(
            carrier_id = attempt.carrier,
            tenant_id = %tenant.tenant_id,
            hard = matches!(after, LockStatus::Hard),
            "too many wrong PINs: tenant locked"
        );
        let until = match after {
            LockStatus::Timed { until } => Some(until),
            _ => None,
        };
        let lock = self
            .audit(attempt, tenant, AuditType::PinLocked, now)
            .until(until);
        self.record(&lock).await;
        // The first PIN_LOCKED of this lock: recorded, and this carrier's
        // later attempts in it are not.
        self.reject_locked(attempt, tenant, next, now).await
    }

    /// Writes the reset of a right PIN whose order failed, re-reading on a
    /// conflict; a lock or a new PIN that came meanwhile is left alone.
    async fn keep_reset(
        &self,
        mut tenant: Tenant,
        mut reset: LockState,
        now: i64,
    ) -> Result<(), ApiError> {
        let pin = tenant.pin.clone();
        for _ in 0..DECISION_ROUNDS {
            if let Written::Done(()) = self.store.write_lock_state(&tenant, &reset).await? {
                return Ok(());
            }
            let fresh = self.store.tenant_by_account(&tenant.account_number).await?;
            let Some(fresh) = fresh.filter(|t| t.tenant_id == tenant.tenant_id) else {
                return Ok(());
            };
            if fresh.pin != pin || fresh.lock.status(now).is_locked() {
                return Ok(());
            }
            let Some(next) = fresh.lock.after_success(now) else {
                return Ok(());
            };
            (tenant, reset) = (fresh, next);
        }
        tracing::warn!(
            tenant_id = %tenant.tenant_id,
            "gave up resetting failed attempts after repeated concurrent changes"
        );
        Ok(())
    }

    /// Answers `error` for a known tenant, recording the rejection.
    async fn reject(
        &self,
        attempt: &Attempt<'_>,
        tenant: &Tenant,
        error: ApiError,
    ) -> Result<Response, ApiError> {
        metrics::count(SERVICE, "PortOutRejected");
        tracing::info!(
            carrier_id = attempt.carrier,
            tenant_id = %tenant.tenant_id,
            code = error.code,
            "port-out rejected"
        );
        let event = self
            .audit(attempt, tenant, AuditType::PortOutRejected, clock::now())
            .code(error.code)
            .phone_numbers(&attempt.numbers);
        self.record(&event).await;
        Err(error)
    }

    fn audit(
        &self,
        attempt: &Attempt<'_>,
        tenant: &Tenant,
        kind: AuditType,
        now: i64,
    ) -> AuditEvent {
        AuditEvent::new(&tenant.tenant_id, now, kind, attempt.actor.clone())
            .source_ip(attempt.source_ip.as_deref())
    }

    /// Records a rejection or a lock. The decision it records is already
    /// written (a failed attempt, a lock), so a failure here does not turn
    /// the answer into an error: it is logged and counted instead.
    async fn record(&self, event: &AuditEvent) {
        if let Err(e) = self.store.record_audit(event).await {
            metrics::count(SERVICE, "AuditWriteFailed");
            tracing::error!(error = %e, event = event.kind.as_str(), "could not record an audit event");
        }
    }
}

/// `429 PIN_LOCKED`, with `Retry-After` while the lock is timed.
fn locked(status: LockStatus, now: i64) -> ApiError {
    let message = match status {
        LockStatus::Hard => {
            "too many wrong PINs: port-outs for this account are locked until the account holder sets a new PIN"
        }
        _ => "too many wrong PINs: port-outs for this account are locked for a while; retry after the time in Retry-After",
    };
    ApiError::new(429, "PIN_LOCKED", message).retry_after(status.retry_after(now))
}

fn created(body: String, location: &str) -> Response {
    lambda_http::Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("location", location)
        .body(Body::Text(body))
        .expect("valid status and headers")
}

/// The first answer again, exactly.
fn replay(stored: StoredResponse) -> Response {
    let mut builder = lambda_http::Response::builder()
        .status(stored.status)
        .header("content-type", "application/json")
        .header("idempotent-replayed", "true");
    if let Some(location) = &stored.location {
        builder = builder.header("location", location);
    }
    builder
        .body(Body::Text(stored.body))
        .unwrap_or_else(|_| ApiError::internal().into_response())
}
