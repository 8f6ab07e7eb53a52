//! `429 PIN_LOCKED`, recorded once per lock and carrier (contract §4.1): an
//! attacker hammering a locked tenant fills no audit trail.

use super::{Attempt, Decided, Refused};
use crate::handler::SERVICE;
use crate::App;
use portguard_api::{metrics, ApiError};
use portguard_store::{clock, AuditType, Tenant};

impl App {
    /// Refuses with `PIN_LOCKED` for `lock` (the carrier's state after the
    /// attempt: the lock it ran into, or the one it began). Only the first
    /// such answer of each carrier per lock is audited.
    pub(super) async fn reject_locked(
        &self,
        attempt: &Attempt<'_>,
        tenant: &Tenant,
        lock: &portguard_rules::LockState,
        now: i64,
    ) -> Result<Decided, ApiError> {
        let status = lock.status(now);
        let refused = Refused::locked(status, now);
        let code = refused.refusal.code();
        let Some(id) = lock.current_lock(now) else {
            // Not locked after all: cannot happen (callers checked), but
            // recording it is the safe side.
            return self.refuse(attempt, tenant, refused).await;
        };
        let event = self
            .audit(attempt, tenant, AuditType::PortOutRejected, clock::now())
            .code(code)
            .phone_numbers(&attempt.numbers);
        let recorded = match self
            .store
            .record_first_locked_attempt(&event, &id, attempt.carrier, now)
            .await
        {
            Ok(first) => first,
            Err(e) => {
                // As for any rejection: the answer stands, the gap is counted.
                metrics::count(SERVICE, "AuditWriteFailed");
                tracing::error!(error = %e, "could not record a locked attempt");
                false
            }
        };
        self.rejected(attempt, tenant, code, recorded);
        Ok(Decided::Refused(refused))
    }
}
