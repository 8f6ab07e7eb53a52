//! The refused side of the decision (contract §4.1): a wrong PIN counted
//! and recorded with its lock, a refusal counted and audited (once per
//! tenant, carrier, code and hour where the contract says so), the reset a
//! right PIN keeps, and the carrier's probes watched.

use super::*;

impl App {
    /// A wrong PIN: its failure counted and recorded in one transaction
    /// (the rejection, and for the attempt that reached the limit the lock
    /// and its first `PIN_LOCKED` with the lock's marker), then 422, or 429
    /// for the attempt that locked. `None`: the tenant changed since it was
    /// read, nothing written; decide again.
    pub(crate) async fn wrong_pin(
        &self,
        attempt: &Attempt<'_>,
        tenant: &Tenant,
        next: &LockState,
        after: LockStatus,
        now: i64,
    ) -> Result<Option<Decided>, ApiError> {
        let rejected = |refusal: Refusal| {
            self.audit(attempt, tenant, AuditType::PortOutRejected, now)
                .code(refusal.code())
                .phone_numbers(&attempt.numbers)
        };
        if !after.is_locked() {
            let event = rejected(Refusal::PinMismatch);
            let written = self
                .store
                .write_failed_attempt(tenant, attempt.carrier, next, &[&event], None)
                .await?;
            if let Written::Conflict = written {
                return Ok(None);
            }
            metrics::count(SERVICE, "PinMismatch");
            self.rejected(attempt, tenant, Refusal::PinMismatch.code(), true);
            return Ok(Some(Decided::Refused(Refused::new(Refusal::PinMismatch))));
        }
        let until = match after {
            LockStatus::Timed { until } => Some(until),
            _ => None,
        };
        let lock = self
            .audit(attempt, tenant, AuditType::PinLocked, now)
            .until(until);
        // The first PIN_LOCKED of this lock: recorded with the lock, and this
        // carrier's later attempts in it are not.
        let refused = Refused::locked(next.status(now), now);
        let event = rejected(refused.refusal);
        let id = next.current_lock(now);
        let written = match &id {
            Some(id) => {
                self.store
                    .write_failed_attempt(
                        tenant,
                        attempt.carrier,
                        next,
                        &[&lock],
                        Some((&event, id, now)),
                    )
                    .await?
            }
            // Not locked after all: cannot happen (`after` is a lock), but
            // recording the rejection is the safe side.
            None => match self
                .store
                .write_failed_attempt(tenant, attempt.carrier, next, &[&lock, &event], None)
                .await?
            {
                Written::Done(_) => Written::Done(true),
                Written::Conflict => Written::Conflict,
            },
        };
        let Written::Done(recorded) = written else {
            return Ok(None);
        };
        metrics::count(SERVICE, "PinMismatch");
        metrics::count(SERVICE, "PinLocked");
        tracing::warn!(
            carrier_id = %attempt.carrier,
            tenant_id = %tenant.tenant_id,
            hard = matches!(after, LockStatus::Hard),
            "too many wrong PINs: tenant locked for this carrier"
        );
        self.rejected(attempt, tenant, refused.refusal.code(), recorded);
        Ok(Some(Decided::Refused(refused)))
    }

    /// Counts and logs the refusal of a known tenant's port-out; `recorded`:
    /// whether this attempt wrote its audit item.
    pub(crate) fn rejected(
        &self,
        attempt: &Attempt<'_>,
        tenant: &Tenant,
        code: &str,
        recorded: bool,
    ) {
        metrics::count(SERVICE, "PortOutRejected");
        tracing::info!(
            carrier_id = %attempt.carrier,
            tenant_id = %tenant.tenant_id,
            code,
            recorded,
            "port-out rejected"
        );
    }

    /// Writes the reset of a right PIN whose order failed, re-reading on a
    /// conflict; a lock or a new PIN that came meanwhile is left alone.
    pub(crate) async fn keep_reset(
        &self,
        carrier: &CarrierId,
        mut tenant: Tenant,
        mut reset: LockState,
        now: i64,
    ) -> Result<(), ApiError> {
        let pin = tenant.pin.clone();
        let mut rounds = retry_on_conflict(DECISION_ROUNDS);
        while rounds.next().await.is_some() {
            if let Written::Done(()) = self
                .store
                .write_lock_state(&tenant, carrier, &reset)
                .await?
            {
                return Ok(());
            }
            let fresh = self.store.tenant_by_account(&tenant.account_number).await?;
            let Some(fresh) = fresh.filter(|t| t.tenant_id == tenant.tenant_id) else {
                return Ok(());
            };
            let lock = fresh.locks.of(carrier.as_str());
            if fresh.pin != pin || lock.status(now).is_locked() {
                return Ok(());
            }
            let Some(next) = lock.after_success(now) else {
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

    /// Counts a probe of account numbers or numbers for the carrier (the
    /// `CarrierId` metric), and warns once per window when the carrier's
    /// probes reach the threshold in this instance.
    pub(crate) fn probed(&self, attempt: &Attempt<'_>, refusal: Refusal) {
        let Some(metric) = probes::probe_metric(refusal) else {
            return;
        };
        metrics::count_for_carrier(SERVICE, metric, attempt.carrier.as_str());
        if let Some(probes) = self.probes.note(attempt.carrier.as_str(), clock::now()) {
            metrics::count_for_carrier(SERVICE, "EnumerationSuspected", attempt.carrier.as_str());
            tracing::warn!(
                carrier_id = %portguard_api::echo(attempt.carrier.as_str()),
                probes,
                window_seconds = self.probes.window(),
                "a carrier is probing account numbers or numbers: many refused as unknown"
            );
        }
    }

    /// Refuses for a known tenant, recording the rejection.
    pub(crate) async fn refuse(
        &self,
        attempt: &Attempt<'_>,
        tenant: &Tenant,
        refused: Refused,
    ) -> Result<Decided, ApiError> {
        let code = refused.refusal.code();
        let now = clock::now();
        let event = self
            .audit(attempt, tenant, AuditType::PortOutRejected, now)
            .code(code)
            .phone_numbers(&attempt.numbers);
        if !refused.refusal.audited_once_per_hour() {
            let recorded = self.record(&event).await;
            self.rejected(attempt, tenant, code, recorded);
            return Ok(Decided::Refused(refused));
        }
        // Once per tenant, carrier, code and clock hour (contract §4.1).
        let hour = portguard_rules::port_out::audit_hour(now);
        let recorded = match self
            .store
            .record_audit_once_per_hour(&event, attempt.carrier, code, hour)
            .await
        {
            Ok(first) => first,
            Err(e) => {
                // As for any rejection: the answer stands, the gap is counted.
                metrics::count(SERVICE, "AuditWriteFailed");
                tracing::error!(error = %e, code, "could not record a refusal");
                false
            }
        };
        self.rejected(attempt, tenant, code, recorded);
        Ok(Decided::Refused(refused))
    }

    pub(crate) fn audit(
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
    /// Records `event`; `false` (counted and logged) when the write failed.
    pub(crate) async fn record(&self, event: &AuditEvent) -> bool {
        match self.store.record_audit(event).await {
            Ok(_) => true,
            Err(e) => {
                metrics::count(SERVICE, "AuditWriteFailed");
                tracing::error!(error = %e, event = event.kind.as_str(), "could not record an audit event");
                false
            }
        }
    }
}
