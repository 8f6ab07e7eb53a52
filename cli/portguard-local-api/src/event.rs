//! HTTP requests to API Gateway payload-2.0 events, and the functions'
//! answers back to HTTP responses, as API Gateway maps them.

use crate::auth::Identity;
use crate::routes::{route_key, Matched};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;

/// What the event is built from.
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Header names and values in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    pub peer: SocketAddr,
    pub host: &'a str,
}

/// The payload-2.0 event API Gateway would hand the function.
pub fn build(req: &Incoming<'_>, matched: &Matched, identity: Option<&Identity>) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| json!(c.trim())));
            continue;
        }
        // Repeated headers are joined with commas.
        match headers.get_mut(&name) {
            Some(Value::String(s)) => {
                s.push(',');
                s.push_str(value);
            }
            _ => {
                headers.insert(name, json!(value));
            }
        }
    }
    let mut query = Map::new();
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_component(k), decode_component(v));
        match query.get_mut(&k) {
            Some(Value::String(s)) => {
                s.push(',');
                s.push_str(&v);
            }
            _ => {
                query.insert(k, json!(v));
            }
        }
    }
    let params: Map<String, Value> = matched
        .params
        .iter()
        .map(|(k, v)| (k.clone(), json!(decode_component(v))))
        .collect();
    // Text stays text; anything else travels base64-encoded, as API Gateway does.
    let (body, b64) = if req.body.is_empty() {
        (Value::Null, false)
    } else {
        match std::str::from_utf8(req.body) {
            Ok(s) => (json!(s), false),
            Err(_) => (
                json!(base64::engine::general_purpose::STANDARD.encode(req.body)),
                true,
            ),
        }
    };
    let now = time::OffsetDateTime::now_utc();
    let key = route_key(&matched.route);
    let user_agent = headers.get("user-agent").cloned().unwrap_or(json!(""));
    let mut ctx = json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": req.host,
        "domainPrefix": req.host.split('.').next().unwrap_or(req.host),
        "http": {
            "method": req.method,
            "path": req.path,
            "protocol": "HTTP/1.1",
            "sourceIp": req.peer.ip().to_string(),
            "userAgent": user_agent,
        },
        "requestId": format!("local-{}", ulid::Ulid::new()),
        "routeKey": key,
        "stage": "$default",
        "time": apigw_time(now),
        "timeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as i64,
    });
    if let Some(id) = identity {
        ctx["authorizer"] = json!({"jwt": {"claims": id.claims, "scopes": id.scopes}});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": key,
        "rawPath": req.path,
        "rawQueryString": req.query,
        "headers": headers,
        "requestContext": ctx,
        "body": body,
        "isBase64Encoded": b64,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !params.is_empty() {
        event["pathParameters"] = Value::Object(params);
    }
    event
}

/// `26/Nov/2026:10:00:00 +0000`
fn apigw_time(t: time::OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MONTHS[t.month() as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Percent-decoding of a query or path component (`+` is a space in a query
/// only; here it stays `+`, as API Gateway leaves it in path parameters and
/// the functions read `rawQueryString` for anything exact).
pub fn decode_component(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A function's answer as API Gateway maps it back (payload 2.0).
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Maps the function's output. An object with `statusCode` is a response;
/// anything else is a 200 with the JSON as body (API Gateway's inference).
/// A Lambda error (`errorType`/`errorMessage`) is a 500.
pub fn reply(output: &Value) -> Reply {
    let Some(status) = output.get("statusCode").and_then(Value::as_u64) else {
        if output.get("errorType").is_some() || output.get("errorMessage").is_some() {
            return internal_error();
        }
        return Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: output.to_string().into_bytes(),
        };
    };
    let mut headers = Vec::new();
    if let Some(h) = output.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                headers.push((k.clone(), v.to_string()));
            }
        }
    }
    if let Some(h) = output.get("multiValueHeaders").and_then(Value::as_object) {
        for (k, vs) in h {
            if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)) {
                continue;
            }
            for v in vs
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                headers.push((k.clone(), v.to_string()));
            }
        }
    }
    for c in output
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        headers.push(("set-cookie".into(), c.to_string()));
    }
    let text = output.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if output.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(b) => b,
            Err(_) => return internal_error(),
        }
    } else {
        text.as_bytes().to_vec()
    };
    Reply {
        status: u16::try_from(status).unwrap_or(500),
        headers,
        body,
    }
}

/// API Gateway's answer when the integration fails.
pub fn internal_error() -> Reply {
    gateway(500, "Internal Server Error")
}

/// Seconds a client should wait before retrying a function that is still
/// starting under `cargo lambda watch`.
pub const STARTING_RETRY_AFTER: u32 = 5;

/// A function still compiling or starting under `cargo lambda watch` (it
/// did not answer within the limit, watch refused the connection, or watch
/// answered a 5xx of its own): the project's error envelope, `503
/// UNAVAILABLE`, with `Retry-After`, instead of API Gateway's bare message.
pub fn still_starting(function: &str) -> Reply {
    let message =
        format!("{function} is still starting under cargo lambda watch; retry in a few seconds");
    Reply {
        status: 503,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), STARTING_RETRY_AFTER.to_string()),
        ],
        body: json!({"error": {"code": "UNAVAILABLE", "message": message}})
            .to_string()
            .into_bytes(),
    }
}

/// API Gateway's own answers: `{"message": "..."}`.
pub fn gateway(status: u16, message: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!({ "message": message }).to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(decode_component("%2B12065550100"), "+12065550100");
        assert_eq!(decode_component("a%2"), "a%2");
        assert_eq!(decode_component("%zz"), "%zz");
        assert_eq!(decode_component("%41"), "A");
    }

    #[test]
    fn maps_responses() {
        let r = reply(
            &json!({"statusCode": 201, "headers": {"location": "/x"}, "body": "{}", "isBase64Encoded": false}),
        );
        assert_eq!(r.status, 201);
        assert_eq!(r.headers, vec![("location".to_string(), "/x".to_string())]);
        assert_eq!(
            reply(&json!({"errorType": "x", "errorMessage": "y"})).status,
            500
        );
        assert_eq!(reply(&json!({"a": 1})).body, br#"{"a":1}"#);
        let r = reply(&json!({"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}));
        assert_eq!(r.body, b"hi");
    }

    #[test]
    fn still_starting_is_the_projects_503_with_retry_after() {
        let r = still_starting("set-pin");
        assert_eq!(r.status, 503);
        assert!(r.headers.contains(&("retry-after".into(), "5".into())));
        assert!(r
            .headers
            .contains(&("content-type".into(), "application/json".into())));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"error": {
                "code": "UNAVAILABLE",
                "message": "set-pin is still starting under cargo lambda watch; retry in a few seconds"
            }})
        );
    }
}
