//! Checks 7 to 9 of contract §4.1, in their order: what a port-out meets on a
//! known tenant before any PIN is looked at. The caller reads the facts (one
//! read: the tenant record and the requested numbers) and maps the answer
//! to its response; nothing here counts or writes.

use crate::LockStatus;

/// What the tenant, as read, says of a port-out before its PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<N> {
    /// The tenant's country is the US (check 7).
    pub eligible: bool,
    /// The tenant has its own PIN or a live transfer PIN (check 8).
    pub has_pin: bool,
    /// Check 8a: the requested numbers of the account a lock holds, or
    /// `None` when no lock (tenant-wide or a number's) applies.
    pub locked_numbers: Option<Vec<N>>,
    /// The PIN lock of contract §4.1 at this moment (check 9).
    pub pin_lock: LockStatus,
}

/// The first of checks 7, 8, 8a and 9 that refuses, or `Proceed` to check 10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission<N> {
    NotEligible,
    PinNotSet,
    PortOutLocked(Vec<N>),
    PinLocked(LockStatus),
    Proceed,
}

pub fn admit<N>(facts: Facts<N>) -> Admission<N> {
    if !facts.eligible {
        Admission::NotEligible
    } else if !facts.has_pin {
        Admission::PinNotSet
    } else if let Some(numbers) = facts.locked_numbers {
        Admission::PortOutLocked(numbers)
    } else if facts.pin_lock.is_locked() {
        Admission::PinLocked(facts.pin_lock)
    } else {
        Admission::Proceed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPEN: LockStatus = LockStatus::Open { failed_attempts: 0 };

    fn facts(eligible: bool, has_pin: bool, locked: bool, pin_locked: bool) -> Facts<String> {
        Facts {
            eligible,
            has_pin,
            locked_numbers: locked.then(|| vec!["+12065550100".to_owned()]),
            pin_lock: if pin_locked { LockStatus::Hard } else { OPEN },
        }
    }

    #[test]
    fn all_clear_proceeds() {
        assert_eq!(admit(facts(true, true, false, false)), Admission::Proceed);
    }

    proptest! {
        /// Whatever else holds, the earliest failing check answers.
        #[test]
        fn the_first_failing_check_answers(
            eligible: bool, has_pin: bool, locked: bool, pin_locked: bool
        ) {
            let got = admit(facts(eligible, has_pin, locked, pin_locked));
            let want = if !eligible {
                Admission::NotEligible
            } else if !has_pin {
                Admission::PinNotSet
            } else if locked {
                Admission::PortOutLocked(vec!["+12065550100".to_owned()])
            } else if pin_locked {
                Admission::PinLocked(LockStatus::Hard)
            } else {
                Admission::Proceed
            };
            prop_assert_eq!(got, want);
        }
    }
}
