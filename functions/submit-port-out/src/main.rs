//! Wiring only: logs, configuration and clients once per cold start, then
//! the runtime loop. The logic is in `handler.rs`.

use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    portguard_api::logging::init(submit_port_out::SERVICE);
    let app = submit_port_out::App::from_env().await.inspect_err(|e| {
        tracing::error!(error = %e, "refusing to start: bad configuration");
    })?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        if portguard_api::logging::cold_start() {
            portguard_api::metrics::count(submit_port_out::SERVICE, "ColdStart");
        }
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
