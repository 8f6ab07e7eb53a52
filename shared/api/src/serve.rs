//! The runtime loop every HTTP function shares: the handler answers every
//! request (errors are answers too); the first invocation counts a cold start.

use crate::{logging, metrics, Response};
use lambda_http::{Error, Request};
use std::future::Future;

/// Logs why the function refuses to start (a bad configuration) and passes
/// the error on, which fails the cold start.
pub fn started<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, E> {
    result.inspect_err(|e| tracing::error!(error = %e, "refusing to start: bad configuration"))
}

pub async fn serve<F, Fut>(service: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response> + Send,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let answer = handler(req);
        async move {
            if logging::cold_start() {
                metrics::count(service, "ColdStart");
            }
            Ok::<_, Error>(answer.await)
        }
    }))
    .await
}
