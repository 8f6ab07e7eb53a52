//! Wiring only: logs, configuration, secrets and clients once per cold
//! start, then the runtime loop. The logic is in `handler.rs`.

use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    portguard_api::logging::init("carrier-webhook");
    let app = carrier_webhook::App::from_env().await.inspect_err(|e| {
        tracing::error!(error = %e, "refusing to start: bad configuration");
    })?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        if portguard_api::logging::cold_start() {
            portguard_api::metrics::count("carrier-webhook", "ColdStart");
        }
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
