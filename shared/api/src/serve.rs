//! The runtime loop every HTTP function shares: events are converted by
//! [`crate::event`] (never lambda_http's panicking conversion), the handler
//! answers every request (errors are answers too), and every log line of an
//! invocation carries its span (service, cold start, request id).

use crate::event::{event_response, request_from_event};
use crate::{logging, metrics, ApiError, Response};
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Error, Request};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::future::Future;
use tracing::Instrument;

/// Logs why the function refuses to start (a bad configuration) and passes
/// the error on, which fails the cold start.
pub fn started<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, E> {
    result.inspect_err(|e| tracing::error!(error = %e, "refusing to start: bad configuration"))
}

/// What the function answers for one raw event: the handler's response, or
/// `400 INVALID_REQUEST` for an event that describes no HTTP request.
pub async fn answer_event<F, Fut>(handler: F, event: Value) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    match request_from_event(event) {
        Ok(req) => handler(req).await,
        Err(bad) => ApiError::invalid_request(bad.0).into_response(),
    }
}

/// The span every log line of one invocation carries (as Powertools does):
/// the function, whether this is the process's first invocation, and the
/// runtime's request id. The first invocation also counts a cold start.
fn invocation_span(service: &'static str, request_id: &str) -> tracing::Span {
    let cold_start = logging::cold_start();
    if cold_start {
        metrics::count(service, "ColdStart");
    }
    tracing::info_span!("invocation", service, cold_start, request_id)
}

/// The runtime loop of an HTTP function: `handler` answers every request.
pub async fn serve<F, Fut>(service: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response> + Send,
{
    let handler = &handler;
    // Boxed: the runtime's future is deeply nested, and every function's
    // `main` awaits it (the compiler's type layout depth limit).
    Box::pin(lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let span = invocation_span(service, &event.context.request_id);
            async move {
                let resp = answer_event(handler, event.payload).await;
                Ok::<_, Error>(event_response(resp))
            }
            .instrument(span)
        },
    )))
    .await
}

/// The twin for functions invoked with other events (schedules, streams):
/// the same span and cold-start count around `handler`.
pub async fn serve_events<E, R, F, Fut, Er>(service: &'static str, handler: F) -> Result<(), Error>
where
    E: DeserializeOwned + Send,
    R: Serialize,
    F: Fn(LambdaEvent<E>) -> Fut,
    Fut: Future<Output = Result<R, Er>> + Send,
    Er: Into<lambda_runtime::Diagnostic> + std::fmt::Debug,
{
    let handler = &handler;
    Box::pin(lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<E>| {
            let span = invocation_span(service, &event.context.request_id);
            handler(event).instrument(span)
        },
    )))
    .await
}
