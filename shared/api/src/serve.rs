//! The runtime loop every HTTP function shares: events are converted by
//! [`crate::event`] (never lambda_http's panicking conversion), the handler
//! answers every request (errors are answers too), and the first invocation
//! counts a cold start.

use crate::event::{event_response, request_from_event};
use crate::{logging, metrics, ApiError, Response};
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Error, Request};
use serde_json::Value;
use std::future::Future;

/// Logs why the function refuses to start (a bad configuration) and passes
/// the error on, which fails the cold start.
pub fn started<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, E> {
    result.inspect_err(|e| tracing::error!(error = %e, "refusing to start: bad configuration"))
}

/// What the function answers for one raw event: the handler's response,
/// `400 INVALID_REQUEST` for an event that describes no HTTP request, or
/// `413 PAYLOAD_TOO_LARGE` for a body over 64 KiB, which no handler (nor a
/// webhook signature check) ever reads.
pub async fn answer_event<F, Fut>(handler: F, event: Value) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    match request_from_event(event) {
        Ok(req) => match crate::check_body_size(req.body()) {
            Ok(()) => handler(req).await,
            Err(too_large) => too_large.into_response(),
        },
        Err(bad) => ApiError::invalid_request(bad.0).into_response(),
    }
}

pub async fn serve<F, Fut>(service: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response> + Send,
{
    let handler = &handler;
    // Boxed: the runtime's future is deeply nested, and every function's
    // `main` awaits it (the compiler's type layout depth limit).
    Box::pin(lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| async move {
            if logging::cold_start() {
                metrics::count(service, "ColdStart");
            }
            let resp = answer_event(handler, event.payload).await;
            Ok::<_, Error>(event_response(resp))
        },
    )))
    .await
}
