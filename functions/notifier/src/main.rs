//! Wiring only: logs, configuration and clients once per cold start, then
//! the runtime loop. The logic is in `lib.rs`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

// Deliveries are IO: one thread runs them all concurrently.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    portguard_api::logging::init("notifier");
    let app = notifier::App::from_env().await.inspect_err(|e| {
        tracing::error!(error = %e, "refusing to start: bad configuration");
    })?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        if portguard_api::logging::cold_start() {
            portguard_api::metrics::count("notifier", "ColdStart");
        }
        app.handle(event.payload).await
    }))
    .await
}
