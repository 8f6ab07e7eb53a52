//! API Gateway v2 event JSON through `portguard_api::event` (what the
//! runtime loop does with every invocation, compiled here from its source):
//! any bytes, and any JSON shaped like an event, either become a request or
//! a `BadEvent` — never a panic. (lambda_http's own conversion panics on
//! some of these; that is why the functions do not use it.)
#![no_main]
use libfuzzer_sys::fuzz_target;
use portguard_fuzz::event::request_from_event;

fn check(text: &str) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    if let Ok(r) = request_from_event(value) {
        // Touch what the handlers read.
        let _ = (
            r.method(),
            r.uri().path(),
            r.headers().len(),
            r.body().len(),
        );
    }
}

const BASE: &str = include_str!("../../events/set-pin-put.json");

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // The bytes themselves as an event.
    check(s);
    // The fuzz input spliced into each string field of a real event.
    let Ok(base) = serde_json::from_str::<serde_json::Value>(BASE) else {
        return;
    };
    for pointer in [
        "/rawPath",
        "/rawQueryString",
        "/body",
        "/headers/content-type",
        "/headers/host",
        "/requestContext/http/method",
        "/requestContext/http/path",
        "/requestContext/authorizer/jwt/claims/tenant_id",
    ] {
        let mut ev = base.clone();
        if let Some(slot) = ev.pointer_mut(pointer) {
            *slot = serde_json::Value::from(s);
            check(&ev.to_string());
        }
    }
    // The input as a body flagged base64.
    let mut ev = base;
    ev["body"] = serde_json::Value::from(s);
    ev["isBase64Encoded"] = serde_json::Value::Bool(true);
    check(&ev.to_string());
});
