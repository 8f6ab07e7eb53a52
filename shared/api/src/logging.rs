//! Structured JSON logs, one object a line, with the fields Powertools users
//! expect: `service`, `cold_start` and the request id, from the
//! per-invocation span of `serve`/`serve_events` (lines logged at start-up
//! carry `service` only). Nothing secret is ever passed to a log macro.

use std::sync::atomic::{AtomicBool, Ordering};

static COLD: AtomicBool = AtomicBool::new(true);

/// The crates whose logs `LOG_LEVEL` may open below `info`: portguard's own
/// (an `EnvFilter` target matches by prefix, so `portguard` covers every
/// `portguard_*` crate) and the functions and tools. An allow-list, not a
/// list of crates to hold back: the AWS SDK logs whole request and response
/// bodies below `info` (a tenant item's body holds the PIN hash), the Lambda
/// runtime logs the raw event (a request body with its PIN) at `trace`, and
/// any crate added later may do the same, so every crate not named here is
/// held at `info` at most, whatever `LOG_LEVEL` asks for.
pub const OWN_TARGETS: [&str; 7] = [
    "portguard",
    "set_pin",
    "submit_port_out",
    "carrier_webhook",
    "status_check",
    "notifier",
    "telnyx_stand_in",
];

/// The log filter: `level` (`trace`, `debug`, `info`, `warn`, `error` or
/// `off`; anything else is `info`) for the crates of [`OWN_TARGETS`]; every
/// other crate at `level` or `info`, whichever logs less.
pub fn filter(level: &str) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::filter::LevelFilter;
    let level: LevelFilter = level.trim().parse().unwrap_or(LevelFilter::INFO);
    let others = level.min(LevelFilter::INFO);
    let mut directives = others.to_string().to_lowercase();
    for target in OWN_TARGETS {
        directives.push_str(&format!(",{target}={}", level.to_string().to_lowercase()));
    }
    tracing_subscriber::EnvFilter::try_new(directives).expect("levels and crate names")
}

pub fn init(service: &'static str) {
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(&level))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .try_init();
    tracing::info!(service, "starting");
}

/// `true` for the first invocation of this process only.
pub fn cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What `filter(level)` lets through of one event per target and level.
    fn logged(level: &str) -> String {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter(level))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "submit_port_out::decision", "own-trace");
            tracing::debug!(target: "portguard_store::tenants", "own-debug");
            tracing::info!(target: "notifier", "own-info");
            tracing::trace!(target: "lambda_runtime", "runtime-trace");
            tracing::debug!(target: "aws_smithy_runtime::client", "sdk-debug");
            // Crates no deny-list named: held back all the same.
            tracing::debug!(target: "aws_sdk_sesv2::operation", "ses-debug");
            tracing::trace!(target: "reqwest::connect", "reqwest-trace");
            tracing::debug!(target: "some_crate_added_later", "unknown-debug");
            tracing::info!(target: "some_crate_added_later", "unknown-info");
            tracing::warn!(target: "aws_sdk_dynamodb", "sdk-warn");
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        out
    }

    /// Issue 23: the cap is an allow-list. At `LOG_LEVEL=trace` portguard's
    /// own crates log everything; a crate that is not on the list, named
    /// nowhere, logs `info` and above only.
    #[test]
    fn only_our_own_crates_log_below_info() {
        let out = logged("trace");
        for shown in [
            "own-trace",
            "own-debug",
            "own-info",
            "unknown-info",
            "sdk-warn",
        ] {
            assert!(out.contains(shown), "{shown} missing: {out}");
        }
        for hidden in [
            "runtime-trace",
            "sdk-debug",
            "ses-debug",
            "reqwest-trace",
            "unknown-debug",
        ] {
            assert!(!out.contains(hidden), "{hidden} logged: {out}");
        }
    }

    #[test]
    fn a_quieter_level_holds_for_every_crate() {
        let out = logged("warn");
        assert!(out.contains("sdk-warn"), "{out}");
        for hidden in ["own-info", "unknown-info", "own-debug"] {
            assert!(!out.contains(hidden), "{hidden} logged: {out}");
        }
        // Not a level (a directive that would name a crate): info.
        let out = logged("info,aws_sdk_sesv2=trace");
        assert!(
            out.contains("own-info") && !out.contains("ses-debug"),
            "{out}"
        );
        assert!(!out.contains("own-debug"), "{out}");
    }
}
