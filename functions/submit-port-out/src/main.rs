//! Wiring only: logs, configuration and clients once per cold start, then
//! the runtime loop. The logic is in `handler.rs`.

// One request at a time per Lambda process: one thread is enough.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portguard_api::logging::init(submit_port_out::SERVICE);
    let app = &portguard_api::started(submit_port_out::App::from_env().await)?;
    portguard_api::serve_with(
        submit_port_out::SERVICE,
        |req| async move { app.route(&req).await },
        |req| app.too_large(req),
    )
    .await
}
