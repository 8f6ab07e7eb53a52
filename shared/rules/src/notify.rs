//! When a failed webhook delivery is tried again (contract §14). The first
//! attempt is made at once, from the stream; each failure schedules the next
//! attempt by this table until the last, after which the delivery is
//! abandoned. Delays grow, the first is short (a receiver's blip costs a
//! minute) and none exceeds 12 hours; together they span about 41 hours.

/// Delay before attempt `k + 2`, after attempt `k + 1` failed, in seconds.
pub const RETRY_DELAYS: [i64; 8] = [
    60,        // 1 min
    5 * 60,    // 5 min
    30 * 60,   // 30 min
    2 * 3600,  // 2 h
    5 * 3600,  // 5 h
    10 * 3600, // 10 h
    12 * 3600, // 12 h
    12 * 3600, // 12 h
];

/// Attempts in all: the first and one per retry delay.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS.len() as u32 + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time (epoch seconds).
    RetryAt(i64),
    /// That was the last attempt.
    Abandon,
}

/// What follows the failure of attempt number `attempts` (1 = the first),
/// which failed at `failed_at`.
pub fn after_failure(attempts: u32, failed_at: i64) -> AfterFailure {
    match attempts
        .checked_sub(1)
        .and_then(|i| RETRY_DELAYS.get(i as usize))
    {
        Some(delay) => AfterFailure::RetryAt(failed_at.saturating_add(*delay)),
        None => AfterFailure::Abandon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The attempt times when every attempt fails at once, from `start`.
    fn attempt_times(start: i64) -> Vec<i64> {
        let mut times = vec![start];
        let mut attempts = 1;
        while let AfterFailure::RetryAt(at) = after_failure(attempts, *times.last().unwrap()) {
            times.push(at);
            attempts += 1;
        }
        times
    }

    #[test]
    fn the_schedule_meets_the_contract() {
        let times = attempt_times(0);
        assert_eq!(times.len() as u32, MAX_ATTEMPTS);
        assert!(times.len() >= 8);
        assert!(times.last().unwrap() - times[0] >= 24 * 3600);
        assert!(times[1] - times[0] <= 5 * 60);
        assert!(times.windows(2).all(|w| w[1] - w[0] <= 12 * 3600));
    }

    #[test]
    fn the_last_attempt_abandons() {
        assert_eq!(after_failure(MAX_ATTEMPTS, 10), AfterFailure::Abandon);
        assert_eq!(after_failure(MAX_ATTEMPTS + 5, 10), AfterFailure::Abandon);
        assert_eq!(after_failure(0, 10), AfterFailure::Abandon);
        assert_eq!(after_failure(1, 10), AfterFailure::RetryAt(70));
    }

    proptest! {
        /// Whenever attempts fail (each a little after it was due), the
        /// retries are at least 8, span at least 24 h, the first is due within
        /// 5 min of the failure, no gap between attempts exceeds 12 h (plus
        /// the lateness of the attempt itself), and delays never shrink.
        #[test]
        fn any_run_of_failures(start in 0i64..4_000_000_000, late in proptest::collection::vec(0i64..60, 9)) {
            let mut at = start;
            let mut attempts = 1u32;
            let mut gaps = Vec::new();
            loop {
                let failed_at = at + late[(attempts - 1) as usize % late.len()];
                match after_failure(attempts, failed_at) {
                    AfterFailure::RetryAt(next) => {
                        prop_assert!(next > failed_at);
                        if attempts == 1 {
                            prop_assert!(next - failed_at <= 5 * 60);
                        }
                        prop_assert!(next - failed_at <= 12 * 3600);
                        gaps.push(next - failed_at);
                        at = next;
                        attempts += 1;
                    }
                    AfterFailure::Abandon => break,
                }
            }
            prop_assert!(attempts >= 8);
            prop_assert!(at - start >= 24 * 3600);
            prop_assert!(gaps.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
