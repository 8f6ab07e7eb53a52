//! API Gateway HTTP API (payload 2.0) events in, responses out.
//!
//! lambda_http's own conversion panics, before any handler runs, on an event
//! whose path, query string or Host header make no valid URI, or whose body
//! is flagged base64 but is not. This one never panics: every event becomes a
//! request or a [`BadEvent`] the caller answers with `400 INVALID_REQUEST`.
//!
//! A crate of its own (lambda_http, base64, serde_json only), so the fuzz
//! targets link it without the AWS SDK; `portguard_api::event` re-exports it.

use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::{header::COOKIE, HeaderMap, HeaderValue, Uri};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};

/// Why an event is not a request; the message is safe to show the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadEvent(pub &'static str);

/// The request an event describes, as the handlers read it: method, path
/// (`uri().path()` and `raw_http_path()`), query parameters, headers, body
/// and the request context with the caller's JWT claims.
pub fn request_from_event(event: serde_json::Value) -> Result<Request, BadEvent> {
    let ev: ApiGatewayV2httpRequest = serde_json::from_value(event)
        .map_err(|_| BadEvent("the request is not an API Gateway HTTP API event"))?;
    let raw_path = ev.raw_path.unwrap_or_default();
    let query = ev.raw_query_string.unwrap_or_default();
    let uri = uri(&raw_path, &query).ok_or(BadEvent(
        "the request path or query string is not a valid URI",
    ))?;
    let body = match ev.body {
        None => Body::Empty,
        Some(text) if !ev.is_base64_encoded => Body::Text(text),
        Some(encoded) => Body::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| BadEvent("the request body is flagged base64 but is not base64"))?,
        ),
    };
    let mut headers = ev.headers;
    cookies_into(&mut headers, ev.cookies);
    // API Gateway's own `queryStringParameters` joins repeated keys with
    // commas; parse the raw string instead (as lambda_http does).
    let query_params: QueryMap = query.parse().unwrap_or_default();
    let mut req = Request::new(body)
        .with_raw_http_path(raw_path)
        .with_query_string_parameters(query_params)
        .with_path_parameters(QueryMap::from(ev.path_parameters));
    *req.method_mut() = ev.request_context.http.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    Ok(req.with_request_context(RequestContext::ApiGatewayV2(ev.request_context)))
}

/// Path and query as an origin-form URI; `None` when they make none.
fn uri(raw_path: &str, query: &str) -> Option<Uri> {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    if !path.starts_with('/') {
        return None;
    }
    let target = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    Uri::try_from(target).ok()
}

fn cookies_into(headers: &mut HeaderMap, cookies: Option<Vec<String>>) {
    if let Some(value) = cookies.and_then(|c| HeaderValue::from_str(&c.join("; ")).ok()) {
        headers.insert(COOKIE, value);
    }
}

/// The payload-2.0 response API Gateway expects for `resp`.
pub fn event_response(resp: lambda_http::Response<Body>) -> ApiGatewayV2httpResponse {
    let (parts, body) = resp.into_parts();
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    (out.is_base64_encoded, out.body) = match body {
        Body::Empty => (false, None),
        b @ Body::Text(_) => (false, Some(b)),
        b @ Body::Binary(_) => (true, Some(b)),
        _ => (false, None),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(path: &str, query: &str, body: Option<&str>, base64: bool) -> serde_json::Value {
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"host": "bad host name", "content-type": "application/json"},
            "cookies": ["a=1", "b=2"],
            "requestContext": {"http": {"method": "PUT", "path": path, "protocol": "HTTP/1.1",
                                         "sourceIp": "203.0.113.7", "userAgent": "t"},
                               "authorizer": {"jwt": {"claims": {"tenant_id": "t-1"}, "scopes": ["s"]}},
                               "stage": "$default", "requestId": "r", "routeKey": "$default",
                               "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                               "time": "t", "timeEpoch": 0},
            "body": body, "isBase64Encoded": base64
        })
    }

    #[test]
    fn carries_what_the_handlers_read() {
        let req = request_from_event(event("/v1/pin", "a=1&a=2&b", Some("{}"), false)).unwrap();
        assert_eq!(req.method(), "PUT");
        assert_eq!(req.uri().path(), "/v1/pin");
        assert_eq!(req.raw_http_path(), "/v1/pin");
        assert_eq!(
            req.query_string_parameters_ref().unwrap().all("a"),
            Some(vec!["1", "2"])
        );
        assert_eq!(req.headers()["cookie"], "a=1; b=2");
        assert_eq!(req.body().as_ref(), b"{}");
        let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
            panic!("no context");
        };
        assert_eq!(
            ctx.authorizer
                .as_ref()
                .unwrap()
                .jwt
                .as_ref()
                .unwrap()
                .claims["tenant_id"],
            "t-1"
        );
    }

    #[test]
    fn base64_bodies_are_decoded_or_refused() {
        let req = request_from_event(event("/x", "", Some("e30="), true)).unwrap();
        assert_eq!(req.body().as_ref(), b"{}");
        assert!(request_from_event(event("/x", "", Some("%%%"), true)).is_err());
    }

    #[test]
    fn what_makes_lambda_http_panic_is_a_bad_event() {
        for (path, query) in [("/x", "a b"), ("/x y", ""), ("x", ""), ("/x", "\u{7f}")] {
            assert!(
                request_from_event(event(path, query, None, false)).is_err(),
                "{path:?} {query:?}"
            );
        }
        assert!(request_from_event(json!([1, 2])).is_err());
        assert!(request_from_event(json!({"rawPath": 7})).is_err());
    }

    #[test]
    fn an_empty_path_is_the_root_and_unicode_is_kept() {
        let req = request_from_event(event("", "", None, false)).unwrap();
        assert_eq!(req.uri().path(), "/");
        let req = request_from_event(event("/é", "", None, false)).unwrap();
        assert_eq!(req.raw_http_path(), "/é");
    }

    #[test]
    fn responses_keep_status_headers_and_body() {
        let resp = lambda_http::Response::builder()
            .status(404)
            .header("content-type", "application/json")
            .body(Body::from("{}".to_owned()))
            .unwrap();
        let out = event_response(resp);
        assert_eq!(out.status_code, 404);
        assert_eq!(out.headers["content-type"], "application/json");
        assert!(!out.is_base64_encoded);
        assert_eq!(out.body, Some(Body::Text("{}".into())));
    }
}
