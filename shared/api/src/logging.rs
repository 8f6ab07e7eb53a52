//! Structured JSON logs, one object a line, with the fields Powertools users
//! expect: `service`, `cold_start` and the request id (from the runtime's
//! span). Nothing secret is ever passed to a log macro.

use std::sync::atomic::{AtomicBool, Ordering};

static COLD: AtomicBool = AtomicBool::new(true);

pub fn init(service: &'static str) {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
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
