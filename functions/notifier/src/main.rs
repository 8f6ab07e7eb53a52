//! Wiring only: logs, configuration and clients once per cold start, then
//! the runtime loop. The logic is in `lib.rs`.

// Deliveries are IO: one thread runs them all concurrently.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    portguard_api::logging::init(notifier::SERVICE);
    let app = &portguard_api::started(notifier::App::from_env().await)?;
    portguard_api::serve_events(
        notifier::SERVICE,
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| app.handle(event.payload),
    )
    .await
}
