//! API Gateway v2 event JSON (`lambda_http::request::from_str`, what the
//! runtime does with every invocation): any bytes, and any JSON shaped like
//! an event, either parse into a request or are refused with an error.
//!
//! lambda_http 1.3 panics (`failed to build request`, `failed to decode aws
//! base64 encoded body`, `Url::parse(..).unwrap()`) on events whose raw path,
//! query string or Host header make no valid URI, or whose base64 body is
//! not base64. API Gateway never sends such events, the handlers never see
//! them (the runtime reports a failed invocation), and the panic is in the
//! library, so this target tolerates exactly those panics (matched by
//! where they are raised) and fails on any other.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Where the known lambda_http / aws_lambda_events panics are raised.
fn known(file: &str) -> bool {
    (file.contains("lambda_http") && file.ends_with("request.rs"))
        || (file.contains("aws_lambda_events") && file.contains("encodings"))
}

static KNOWN_PANIC: AtomicBool = AtomicBool::new(false);

/// libfuzzer-sys makes every panic abort (a crash). Known library panics
/// are let through to `catch_unwind` instead; any other still aborts.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| known(l.file())) {
                KNOWN_PANIC.store(true, Ordering::SeqCst);
            } else {
                previous(info);
            }
        }));
    });
}

fn check(text: &str) {
    KNOWN_PANIC.store(false, Ordering::SeqCst);
    let outcome = std::panic::catch_unwind(|| {
        lambda_http::request::from_str(text).map(|r| {
            // Touch what the handlers read.
            let _ = (
                r.method(),
                r.uri().path(),
                r.headers().len(),
                r.body().len(),
            );
        })
    });
    if let Err(payload) = outcome {
        if !KNOWN_PANIC.load(Ordering::SeqCst) {
            std::panic::resume_unwind(payload);
        }
    }
}

const BASE: &str = include_str!("../../events/set-pin-put.json");

fuzz_target!(|data: &[u8]| {
    install_hook();
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
});
