//! PIN lockout, per carrier (contract §4.1). `PIN_MAX_FAILED_ATTEMPTS`
//! consecutive wrong PINs from one carrier lock the tenant *for that
//! carrier* for `PIN_LOCKOUT_SECONDS`; that carrier's third lock within 24
//! hours is a hard lock that lasts until the tenant admin sets a PIN again.
//! Other carriers are never affected: one stolen carrier token cannot shut
//! the tenant off from every carrier. Times are Unix seconds.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const HARD_LOCK_WINDOW_SECONDS: i64 = 24 * 3600;
pub const LOCKS_BEFORE_HARD_LOCK: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub max_failed_attempts: u32,
    pub lockout_seconds: i64,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy {
            max_failed_attempts: 5,
            lockout_seconds: 3600,
        }
    }
}

/// What the tenant item stores about one carrier's failed attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    pub failed_attempts: u32,
    pub locked_until: Option<i64>,
    pub hard_locked: bool,
    /// Start times of the timed locks of the last 24 hours.
    pub recent_locks: Vec<i64>,
}

/// How long the record of "this carrier already met this hard lock" lives.
pub const HARD_LOCK_MARKER_SECONDS: i64 = 90 * 86400;

/// One lock: when it started, whether it is hard, and when a record about
/// it may be forgotten (the end of a timed lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockId {
    pub started: i64,
    pub hard: bool,
    pub expires_at: i64,
}

impl LockId {
    /// A stable name of the lock, for keys: `T{start}` or `H{start}`.
    pub fn name(&self) -> String {
        format!("{}{}", if self.hard { 'H' } else { 'T' }, self.started)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStatus {
    /// Open, with the consecutive failures that still count.
    Open {
        failed_attempts: u32,
    },
    Timed {
        until: i64,
    },
    Hard,
}

impl LockStatus {
    pub fn is_locked(&self) -> bool {
        !matches!(self, LockStatus::Open { .. })
    }
    /// Seconds a client should wait, for `Retry-After`; none for a hard lock.
    pub fn retry_after(&self, now: i64) -> Option<i64> {
        match self {
            LockStatus::Timed { until } => Some((until - now).max(1)),
            _ => None,
        }
    }
}

impl LockState {
    pub fn status(&self, now: i64) -> LockStatus {
        if self.hard_locked {
            return LockStatus::Hard;
        }
        match self.locked_until {
            Some(until) if until > now => LockStatus::Timed { until },
            // A timed lock that has ended gives a fresh set of attempts.
            Some(_) => LockStatus::Open { failed_attempts: 0 },
            None => LockStatus::Open {
                failed_attempts: self.failed_attempts,
            },
        }
    }

    /// The state after one more wrong PIN, and whether it locked the tenant.
    /// Called only when `status(now)` is open.
    pub fn after_failure(&self, now: i64, policy: LockPolicy) -> (LockState, LockStatus) {
        let failed = match self.status(now) {
            LockStatus::Open { failed_attempts } => failed_attempts + 1,
            locked => return (self.clone(), locked),
        };
        if failed < policy.max_failed_attempts {
            let next = LockState {
                failed_attempts: failed,
                locked_until: None,
                hard_locked: false,
                recent_locks: self.recent_locks_at(now),
            };
            return (
                next,
                LockStatus::Open {
                    failed_attempts: failed,
                },
            );
        }
        let mut recent_locks = self.recent_locks_at(now);
        recent_locks.push(now);
        let hard = recent_locks.len() >= LOCKS_BEFORE_HARD_LOCK;
        let until = now + policy.lockout_seconds;
        let next = LockState {
            failed_attempts: 0,
            locked_until: (!hard).then_some(until),
            hard_locked: hard,
            recent_locks,
        };
        let status = if hard {
            LockStatus::Hard
        } else {
            LockStatus::Timed { until }
        };
        (next, status)
    }

    /// The state after a right PIN: failures reset, history of locks kept.
    /// `None` when nothing changes, so the caller need not write.
    pub fn after_success(&self, now: i64) -> Option<LockState> {
        let next = LockState {
            failed_attempts: 0,
            locked_until: None,
            hard_locked: self.hard_locked,
            recent_locks: self.recent_locks_at(now),
        };
        (next != *self).then_some(next)
    }

    /// The lock in force at `now`, for recording only the first locked
    /// attempt of each carrier per lock (contract §4.1); `None` when open.
    pub fn current_lock(&self, now: i64) -> Option<LockId> {
        let status = self.status(now);
        let (hard, expires_at) = match status {
            LockStatus::Open { .. } => return None,
            LockStatus::Timed { until } => (false, until),
            // A hard lock has no end: its record lives long, and if the
            // lock outlives it the next attempt is simply recorded again.
            LockStatus::Hard => (true, now + HARD_LOCK_MARKER_SECONDS),
        };
        // Every lock pushed its start onto `recent_locks` (a hard lock too,
        // as the lock that made it hard); the end is a fallback for a state
        // written by hand.
        let started = self
            .recent_locks
            .last()
            .copied()
            .or(self.locked_until)
            .unwrap_or(0);
        Some(LockId {
            started,
            hard,
            expires_at,
        })
    }

    fn recent_locks_at(&self, now: i64) -> Vec<i64> {
        self.recent_locks
            .iter()
            .copied()
            .filter(|&t| now - t < HARD_LOCK_WINDOW_SECONDS)
            .collect()
    }
}

/// Every carrier's [`LockState`] on one tenant. A carrier without an entry
/// has a clean state; an entry that has gone back to clean is dropped, so
/// the map holds only carriers with something to remember.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarrierLocks(BTreeMap<String, LockState>);

/// A carrier locked out now, for `lockedCarriers` (contract §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedCarrier {
    pub carrier_id: String,
    /// The end of a timed lock; `None` for a hard lock.
    pub until: Option<i64>,
}

impl CarrierLocks {
    pub fn from_map(map: BTreeMap<String, LockState>) -> CarrierLocks {
        CarrierLocks(map)
    }

    /// Each carrier with a state worth keeping.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &LockState)> {
        self.0.iter().map(|(c, s)| (c.as_str(), s))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `carrier`'s state (clean when it has none).
    pub fn of(&self, carrier: &str) -> LockState {
        self.0.get(carrier).cloned().unwrap_or_default()
    }

    /// The map with `carrier`'s state replaced.
    pub fn with(&self, carrier: &str, state: LockState) -> CarrierLocks {
        let mut map = self.0.clone();
        if state == LockState::default() {
            map.remove(carrier);
        } else {
            map.insert(carrier.to_owned(), state);
        }
        CarrierLocks(map)
    }

    /// Whether any carrier's lock is hard (the PIN must then change).
    pub fn any_hard(&self) -> bool {
        self.0.values().any(|s| s.hard_locked)
    }

    /// The carriers locked out at `now`, by carrier id.
    pub fn locked(&self, now: i64) -> Vec<LockedCarrier> {
        self.0
            .iter()
            .filter_map(|(carrier, state)| {
                let until = match state.status(now) {
                    LockStatus::Open { .. } => return None,
                    LockStatus::Timed { until } => Some(until),
                    LockStatus::Hard => None,
                };
                Some(LockedCarrier {
                    carrier_id: carrier.clone(),
                    until,
                })
            })
            .collect()
    }

    /// `locked` and `lockedUntil` of contract §3: locked while any carrier
    /// is; the latest end of a timed lock, `None` while any lock is hard.
    pub fn summary(&self, now: i64) -> (bool, Option<i64>) {
        let locked = self.locked(now);
        if locked.is_empty() || locked.iter().any(|l| l.until.is_none()) {
            return (!locked.is_empty(), None);
        }
        (true, locked.iter().filter_map(|l| l.until).max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: LockPolicy = LockPolicy {
        max_failed_attempts: 5,
        lockout_seconds: 3600,
    };

    fn fail_n(mut s: LockState, n: u32, now: i64) -> (LockState, LockStatus) {
        let mut status = s.status(now);
        for _ in 0..n {
            (s, status) = s.after_failure(now, P);
        }
        (s, status)
    }

    #[test]
    fn fifth_failure_locks_for_the_lockout() {
        let (s, status) = fail_n(LockState::default(), 4, 100);
        assert_eq!(status, LockStatus::Open { failed_attempts: 4 });
        let (s, status) = s.after_failure(100, P);
        assert_eq!(status, LockStatus::Timed { until: 3700 });
        assert_eq!(s.status(3699), LockStatus::Timed { until: 3700 });
        assert_eq!(status.retry_after(100), Some(3600));
    }

    #[test]
    fn end_of_lock_gives_fresh_attempts() {
        let (s, _) = fail_n(LockState::default(), 5, 100);
        assert_eq!(s.status(3700), LockStatus::Open { failed_attempts: 0 });
        let (_, status) = s.after_failure(3700, P);
        assert_eq!(status, LockStatus::Open { failed_attempts: 1 });
    }

    #[test]
    fn success_resets_the_count() {
        let (s, _) = fail_n(LockState::default(), 3, 100);
        let s = s.after_success(100).unwrap();
        assert_eq!(s.status(100), LockStatus::Open { failed_attempts: 0 });
        assert_eq!(s.after_success(100), None, "nothing to write");
    }

    #[test]
    fn third_lock_in_a_day_is_hard() {
        let (s, _) = fail_n(LockState::default(), 5, 0);
        let (s, _) = fail_n(s, 5, 3600);
        let (s, status) = fail_n(s, 5, 7200);
        assert_eq!(status, LockStatus::Hard);
        assert_eq!(s.status(10 * 86400), LockStatus::Hard);
        assert_eq!(status.retry_after(0), None);
    }

    #[test]
    fn locks_older_than_a_day_do_not_count() {
        let (s, _) = fail_n(LockState::default(), 5, 0);
        let (s, _) = fail_n(s, 5, 3600);
        let (_, status) = fail_n(s, 5, 3600 + 86400);
        assert!(matches!(status, LockStatus::Timed { .. }));
    }

    #[test]
    fn failure_while_locked_changes_nothing() {
        let (s, _) = fail_n(LockState::default(), 5, 0);
        let (next, status) = s.after_failure(10, P);
        assert_eq!(next, s);
        assert!(status.is_locked());
    }

    #[test]
    fn each_lock_has_its_own_id() {
        assert_eq!(LockState::default().current_lock(0), None);
        let (s, _) = fail_n(LockState::default(), 5, 100);
        let first = s.current_lock(200).unwrap();
        assert_eq!((first.name(), first.expires_at), ("T100".to_owned(), 3700));
        assert_eq!(s.current_lock(3700), None, "ended");
        let (s, _) = fail_n(s, 5, 4000);
        let second = s.current_lock(4000).unwrap();
        assert_ne!(first.name(), second.name());
        let (s, _) = fail_n(s, 5, 8000);
        let hard = s.current_lock(9000).unwrap();
        assert_eq!(hard.name(), "H8000");
        assert_eq!(hard.expires_at, 9000 + HARD_LOCK_MARKER_SECONDS);
        assert_eq!(
            s.current_lock(99_999).unwrap().name(),
            "H8000",
            "same lock later"
        );
    }

    #[test]
    fn carriers_lock_apart() {
        let locks = CarrierLocks::default();
        let (a, _) = fail_n(locks.of("a"), 5, 100);
        let locks = locks.with("a", a);
        assert!(locks.of("a").status(200).is_locked());
        assert_eq!(
            locks.of("b").status(200),
            LockStatus::Open { failed_attempts: 0 }
        );
        assert_eq!(locks.summary(200), (true, Some(3700)));
        assert_eq!(
            locks.locked(200),
            vec![LockedCarrier {
                carrier_id: "a".into(),
                until: Some(3700)
            }]
        );
        assert!(!locks.any_hard());
        // b's hard lock: locked, no end.
        let (b, _) = fail_n(locks.of("b"), 5, 0);
        let (b, _) = fail_n(b, 5, 3600);
        let (b, _) = fail_n(b, 5, 7200);
        let locks = locks.with("b", b);
        assert!(locks.any_hard());
        assert_eq!(locks.summary(7300), (true, None));
        // A clean state leaves the map.
        let cleared = locks.with("a", LockState::default());
        assert_eq!(cleared.iter().count(), 1);
        assert_eq!(CarrierLocks::default().summary(0), (false, None));
    }

    proptest! {
        #[test]
        fn never_more_than_max_consecutive_failures(n in 0u32..40) {
            let (s, _) = fail_n(LockState::default(), n, 0);
            prop_assert!(s.failed_attempts < P.max_failed_attempts);
        }
    }
}
