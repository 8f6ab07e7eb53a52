//! Wiring only: logs, configuration and clients once per cold start, then
//! the runtime loop. The logic is in `lib.rs`.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

// One request at a time per Lambda process: one thread is enough.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    portguard_api::logging::init("status-check");
    let app = status_check::App::from_env().await.inspect_err(|e| {
        tracing::error!(error = %e, "refusing to start: bad configuration");
    })?;
    let app = &app;
    run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent>| async move {
            if portguard_api::logging::cold_start() {
                portguard_api::metrics::count("status-check", "ColdStart");
            }
            app.handle(event).await
        },
    ))
    .await
}
