//! Wiring only: logs, configuration, secrets and clients once per cold
//! start, then the runtime loop. The logic is in `handler.rs`.

// One request at a time per Lambda process: one thread is enough.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portguard_api::logging::init(carrier_webhook::SERVICE);
    let app = portguard_api::started(carrier_webhook::App::from_env().await)?;
    portguard_api::serve(carrier_webhook::SERVICE, |req| app.handle(req)).await
}
