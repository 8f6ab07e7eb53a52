//! When an open order has gone stale (contract §6). Times are Unix seconds.

use crate::OrderStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    pub pending_expiry_hours: i64,
    pub foc_grace_hours: i64,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy {
            pending_expiry_hours: 168,
            foc_grace_hours: 72,
        }
    }
}

impl ExpiryPolicy {
    /// Orders in `status` whose clock (createdAt for pending, focDate at
    /// 00:00 UTC for foc_confirmed) is strictly before this instant are stale.
    pub fn cutoff(&self, status: OrderStatus, now: i64) -> Option<i64> {
        match status {
            OrderStatus::Pending => Some(now - self.pending_expiry_hours * 3600),
            OrderStatus::FocConfirmed => Some(now - self.foc_grace_hours * 3600),
            _ => None,
        }
    }

    pub fn is_stale(&self, status: OrderStatus, clock: i64, now: i64) -> bool {
        self.cutoff(status, now)
            .is_some_and(|cutoff| clock < cutoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_expires_strictly_after_168_hours() {
        let p = ExpiryPolicy::default();
        let created = 1_000_000;
        let limit = created + 168 * 3600;
        assert!(!p.is_stale(OrderStatus::Pending, created, limit));
        assert!(p.is_stale(OrderStatus::Pending, created, limit + 1));
    }

    #[test]
    fn foc_grace() {
        let p = ExpiryPolicy::default();
        let foc = 2_000_000;
        assert!(!p.is_stale(OrderStatus::FocConfirmed, foc, foc + 72 * 3600));
        assert!(p.is_stale(OrderStatus::FocConfirmed, foc, foc + 72 * 3600 + 1));
    }

    #[test]
    fn closed_orders_never_expire() {
        let p = ExpiryPolicy::default();
        assert!(!p.is_stale(OrderStatus::Completed, 0, i64::MAX / 2));
    }
}
