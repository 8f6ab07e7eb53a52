//! Wiring only: logs, configuration and clients once per cold start, then
//! the runtime loop. The logic is in `handler.rs`.

// One request at a time per Lambda process: one thread is enough.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portguard_api::logging::init(set_pin::SERVICE);
    let app = portguard_api::started(set_pin::App::from_env().await)?;
    portguard_api::serve(set_pin::SERVICE, |req| app.handle(req)).await
}
