//! Structured JSON logs, one object a line, with the fields Powertools users
//! expect: `service`, `cold_start` and the request id, from the
//! per-invocation span of `serve`/`serve_events` (lines logged at start-up
//! carry `service` only). Nothing secret is ever passed to a log macro.

use std::sync::atomic::{AtomicBool, Ordering};

static COLD: AtomicBool = AtomicBool::new(true);

/// The AWS SDK logs whole request and response bodies below `info`; a
/// tenant item's body holds the PIN hash, so the SDK's crates never log
/// below `info`, whatever `LOG_LEVEL` asks for.
const SDK_CAP: &str = "aws_smithy_runtime=info,aws_smithy_runtime_api=info,\
    aws_smithy_http_client=info,aws_sdk_dynamodb=info,\
    aws_config=info,hyper=info,hyper_util=info,h2=info,rustls=info";

/// The log filter: `level` (a tracing directive such as `info` or `debug`)
/// for our code, capped at `info` for the SDK.
pub fn filter(level: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_new(format!("{level},{SDK_CAP}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("info,{SDK_CAP}")))
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
