//! Wiring only: logs, configuration and clients once per cold start, then
//! the runtime loop. The logic is in `lib.rs`.

// One request at a time per Lambda process: one thread is enough.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    portguard_api::logging::init(status_check::SERVICE);
    let app = portguard_api::started(status_check::App::from_env().await)?;
    portguard_api::serve_events(status_check::SERVICE, |event| app.handle(event)).await
}
