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

/// What the function answers for one raw event: the handler's response,
/// `400 INVALID_REQUEST` for an event that describes no HTTP request, or
/// `413 PAYLOAD_TOO_LARGE` for a body over 64 KiB, which no handler (nor a
/// webhook signature check) ever reads.
pub async fn answer_event<F, Fut>(handler: F, event: Value) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    answer_event_with(handler, |_| None, event).await
}

/// [`answer_event`] where `too_large` may answer an oversized request
/// itself (from its method, path and headers; the body is never read):
/// Bandwidth's validation route must say no in its own format, never `413`.
pub async fn answer_event_with<F, Fut, O>(handler: F, too_large: O, event: Value) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
    O: FnOnce(&Request) -> Option<Response>,
{
    match request_from_event(event) {
        Ok(req) => match crate::check_body_size(req.body()) {
            Ok(()) => handler(req).await,
            Err(refused) => too_large(&req).unwrap_or_else(|| refused.into_response()),
        },
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

/// An outcome as the answer it is: errors are answers too.
pub fn answer(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(ApiError::into_response)
}

/// The runtime loop of an HTTP function: `handler` decides each request,
/// and every error it returns is answered with the envelope.
pub async fn serve<F, Fut>(service: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>> + Send,
{
    serve_with(service, handler, |_: &Request| None).await
}

/// [`serve`] with the oversized-body answer of [`answer_event_with`].
pub async fn serve_with<F, Fut, O>(
    service: &'static str,
    handler: F,
    too_large: O,
) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>> + Send,
    O: Fn(&Request) -> Option<Response>,
{
    let handler = &handler;
    let too_large = &too_large;
    let handler = &|req| async move { answer(handler(req).await) };
    // Boxed: the runtime's future is deeply nested, and every function's
    // `main` awaits it (the compiler's type layout depth limit).
    Box::pin(lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let span = invocation_span(service, &event.context.request_id);
            async move {
                let resp = answer_event_with(handler, too_large, event.payload).await;
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
