//! Bounds of a carrier's FOC date (contract §5): not before the order's creation
//! date, and at most 120 days after the event is received *and* after the
//! order's creation, because an order holds its numbers until then: a
//! carrier cannot roll the date forward for ever, one confirmation at a
//! time. Times are Unix seconds; dates are compared as UTC calendar days.

/// The latest FOC date, in days after the day the event is received.
pub const FOC_MAX_DAYS_AHEAD: i64 = 120;

const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FocDateError {
    BeforeCreation,
    TooFarAhead,
}

impl FocDateError {
    /// A message for `400 INVALID_EVENT`.
    pub fn message(self) -> &'static str {
        match self {
            FocDateError::BeforeCreation => "focDate is before the port-out was created",
            FocDateError::TooFarAhead => {
                "focDate is more than 120 days after today or after the port-out was created; confirm a nearer date"
            }
        }
    }
}

/// `foc_date` is 00:00 UTC of the FOC date; `created_at` the order's
/// creation; `received_at` when the event arrived.
pub fn check_foc_date(
    foc_date: i64,
    created_at: i64,
    received_at: i64,
) -> Result<(), FocDateError> {
    let day = |t: i64| t.div_euclid(DAY);
    if day(foc_date) < day(created_at) {
        return Err(FocDateError::BeforeCreation);
    }
    let latest = day(received_at).min(day(created_at)) + FOC_MAX_DAYS_AHEAD;
    if day(foc_date) > latest {
        return Err(FocDateError::TooFarAhead);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // 2026-12-01T10:00:00Z
    const CREATED: i64 = 1_796_119_200;

    fn midnight(t: i64) -> i64 {
        t.div_euclid(DAY) * DAY
    }

    #[test]
    fn the_creation_day_and_day_120_are_allowed() {
        let today = midnight(CREATED);
        assert_eq!(check_foc_date(today, CREATED, CREATED), Ok(()));
        assert_eq!(
            check_foc_date(today - DAY, CREATED, CREATED),
            Err(FocDateError::BeforeCreation)
        );
        assert_eq!(
            check_foc_date(today + 120 * DAY, CREATED, CREATED + 3600),
            Ok(())
        );
        assert_eq!(
            check_foc_date(today + 121 * DAY, CREATED, CREATED + 3600),
            Err(FocDateError::TooFarAhead)
        );
        // Never more than 120 days after the order's creation, however
        // late the event comes: the date cannot be rolled forward for ever.
        assert_eq!(
            check_foc_date(today + 130 * DAY, CREATED, CREATED + 10 * DAY),
            Err(FocDateError::TooFarAhead)
        );
        assert_eq!(
            check_foc_date(today + 120 * DAY, CREATED, CREATED + 10 * DAY),
            Ok(())
        );
    }

    proptest! {
        #[test]
        fn allowed_exactly_between_creation_and_120_days_after_it(
            created in 0i64..4_000_000_000,
            later in 0i64..(200 * DAY),
            offset in -300i64..300,
        ) {
            let received = created + later;
            let foc = midnight(received) + offset * DAY;
            let ok = check_foc_date(foc, created, received).is_ok();
            let expected = midnight(foc) >= midnight(created)
                && foc <= midnight(created) + FOC_MAX_DAYS_AHEAD * DAY;
            prop_assert_eq!(ok, expected);
        }
    }
}
