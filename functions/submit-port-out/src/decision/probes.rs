//! Per-carrier enumeration (issue 23): a carrier probing many account
//! numbers (`ACCOUNT_NOT_FOUND`) or numbers (`NUMBER_NOT_ON_ACCOUNT`) is
//! counted per carrier, as an EMF metric with a `CarrierId` dimension
//! (`AccountNotFound`, `NumberNotOnAccount`) that an alarm watches across
//! every instance, and a warning is logged (with the metric
//! `EnumerationSuspected`) when one carrier's probes reach
//! [`PROBE_THRESHOLD`] within a [`PROBE_WINDOW_SECONDS`] window in this
//! instance. The count is in memory: no write on the refusal path (an
//! attacker's probes cost no table capacity), and the alarm on the metric
//! is what sums the instances.

use portguard_rules::port_out::Refusal;
use std::collections::HashMap;
use std::sync::Mutex;

/// The window of the warning, in seconds (fixed windows of the clock).
pub const PROBE_WINDOW_SECONDS: i64 = 600;

/// Probes by one carrier in one window that log the warning.
pub const PROBE_THRESHOLD: u32 = 50;

/// Carriers remembered at most; past it, windows that ended are dropped.
const MAX_CARRIERS: usize = 1024;

/// The metric that counts a probing refusal per carrier, if it is one.
pub fn probe_metric(refusal: Refusal) -> Option<&'static str> {
    match refusal {
        Refusal::AccountNotFound => Some("AccountNotFound"),
        Refusal::NumberNotOnAccount => Some("NumberNotOnAccount"),
        _ => None,
    }
}

/// Counts probes per carrier and window.
#[derive(Debug)]
pub struct ProbeWatch {
    window: i64,
    threshold: u32,
    /// carrier → (window index, probes in it).
    counts: Mutex<HashMap<String, (i64, u32)>>,
}

impl Default for ProbeWatch {
    fn default() -> Self {
        ProbeWatch::new(PROBE_WINDOW_SECONDS, PROBE_THRESHOLD)
    }
}

impl ProbeWatch {
    pub fn new(window_seconds: i64, threshold: u32) -> ProbeWatch {
        ProbeWatch {
            window: window_seconds.max(1),
            threshold: threshold.max(1),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// The window, in seconds.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Counts one probe of `carrier` at `now` (Unix seconds) and returns
    /// the count in its window when this probe is the one that reaches the
    /// threshold (once per carrier and window), else `None`.
    pub fn note(&self, carrier: &str, now: i64) -> Option<u32> {
        let window = now.div_euclid(self.window);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= MAX_CARRIERS && !counts.contains_key(carrier) {
            counts.retain(|_, (w, _)| *w == window);
            if counts.len() >= MAX_CARRIERS {
                counts.clear();
            }
        }
        let entry = counts.entry(carrier.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        (entry.1 == self.threshold).then_some(entry.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_per_carrier_and_window_at_the_threshold() {
        let watch = ProbeWatch::new(600, 5);
        // The start of a window (1_800_000_000 is a multiple of 600).
        let t0 = 1_800_000_000;
        let reached: Vec<_> = (0..12).map(|i| watch.note("carrier-a", t0 + i)).collect();
        assert_eq!(reached.iter().flatten().collect::<Vec<_>>(), [&5]);
        assert_eq!(reached[4], Some(5), "the fifth probe reaches it");
        // Another carrier counts on its own.
        for i in 0..4 {
            assert_eq!(watch.note("carrier-b", t0 + i), None);
        }
        assert_eq!(watch.note("carrier-b", t0 + 5), Some(5));
        // The next window starts afresh.
        for i in 0..4 {
            assert_eq!(watch.note("carrier-a", t0 + 600 + i), None);
        }
        assert_eq!(watch.note("carrier-a", t0 + 650), Some(5));
    }

    #[test]
    fn many_carriers_stay_bounded() {
        let watch = ProbeWatch::new(600, 3);
        for i in 0..5000 {
            watch.note(&format!("c-{i}"), 1_800_000_000);
        }
        assert!(watch.counts.lock().unwrap().len() <= MAX_CARRIERS);
    }

    #[test]
    fn only_account_and_number_probes_are_counted() {
        let counted: Vec<_> = Refusal::ALL.into_iter().filter_map(probe_metric).collect();
        assert_eq!(counted, ["AccountNotFound", "NumberNotOnAccount"]);
    }
}
