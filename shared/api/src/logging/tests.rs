use super::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `filter(level)` lets through of one event per target and level.
fn logged(level: &str) -> String {
    let sink = Sink::default();
    let writer = sink.clone();
    tracing::subscriber::with_default(subscriber(None, level, move || writer.clone()), || {
        tracing::trace!(target: "submit_port_out::decision", "own-trace");
        tracing::debug!(target: "portguard_store::tenants", "own-debug");
        tracing::info!(target: "notifier", "own-info");
        tracing::trace!(target: "lambda_runtime", "runtime-trace");
        tracing::debug!(target: "aws_smithy_runtime::client", "sdk-debug");
        // Crates no deny-list named: held back all the same.
        tracing::debug!(target: "aws_sdk_sesv2::operation", "ses-debug");
        tracing::trace!(target: "reqwest::connect", "reqwest-trace");
        tracing::debug!(target: "some_crate_added_later", "unknown-debug");
        tracing::info!(target: "some_crate_added_later", "unknown-info");
        tracing::warn!(target: "aws_sdk_dynamodb", "sdk-warn");
    });
    let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    out
}

/// Issue 23: the cap is an allow-list. At `LOG_LEVEL=trace` portguard's
/// own crates log everything; a crate that is not on the list, named
/// nowhere, logs `info` and above only.
#[test]
fn only_our_own_crates_log_below_info() {
    let out = logged("trace");
    for shown in [
        "own-trace",
        "own-debug",
        "own-info",
        "unknown-info",
        "sdk-warn",
    ] {
        assert!(out.contains(shown), "{shown} missing: {out}");
    }
    for hidden in [
        "runtime-trace",
        "sdk-debug",
        "ses-debug",
        "reqwest-trace",
        "unknown-debug",
    ] {
        assert!(!out.contains(hidden), "{hidden} logged: {out}");
    }
}

#[test]
fn a_quieter_level_holds_for_every_crate() {
    let out = logged("warn");
    assert!(out.contains("sdk-warn"), "{out}");
    for hidden in ["own-info", "unknown-info", "own-debug"] {
        assert!(!out.contains(hidden), "{hidden} logged: {out}");
    }
    // Not a level (a directive that would name a crate): info.
    let out = logged("info,aws_sdk_sesv2=trace");
    assert!(
        out.contains("own-info") && !out.contains("ses-debug"),
        "{out}"
    );
    assert!(!out.contains("own-debug"), "{out}");
}

/// The lines production's subscriber writes for `f`, parsed.
fn lines(service: Option<&'static str>, f: impl FnOnce()) -> Vec<serde_json::Value> {
    let sink = Sink::default();
    let writer = sink.clone();
    tracing::subscriber::with_default(subscriber(service, "info", move || writer.clone()), f);
    let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Issue 21: Powertools' keys at the top level of every line of an
/// invocation, the request id as `function_request_id`, every other
/// field (the event's, an inner span's) flat beside them.
#[test]
fn powertools_keys_are_flat_on_every_line_of_an_invocation() {
    let lines = lines(Some("set-pin"), || {
        // As serve.rs's invocation span (its field names).
        let invocation = tracing::info_span!(
            "invocation",
            service = "set-pin",
            cold_start = true,
            request_id = "req-1"
        );
        let _in = invocation.enter();
        tracing::info!(tenant_id = "t-100", attempts = 2u64, "pin set");
        let inner = tracing::info_span!("decision", carrier_id = "carrier-a");
        let _inner = inner.enter();
        tracing::warn!(locked = false, "refused");
    });
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        let obj = line.as_object().unwrap();
        for key in [
            "service",
            "cold_start",
            "function_request_id",
            "level",
            "timestamp",
            "message",
        ] {
            assert!(obj.contains_key(key), "{key} missing: {line}");
        }
        for nested in ["span", "spans", "fields", "request_id"] {
            assert!(!obj.contains_key(nested), "{nested} in {line}");
        }
        assert!(obj.values().all(|v| !v.is_object()), "nested: {line}");
        assert_eq!(line["service"], "set-pin");
        assert_eq!(line["cold_start"], true);
        assert_eq!(line["function_request_id"], "req-1");
        let ts = line["timestamp"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok(),
            "{ts}"
        );
    }
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["message"], "pin set");
    assert_eq!(lines[0]["tenant_id"], "t-100");
    assert_eq!(lines[0]["attempts"], 2);
    assert_eq!(lines[1]["level"], "WARN");
    assert_eq!(lines[1]["message"], "refused");
    assert_eq!(lines[1]["carrier_id"], "carrier-a");
    assert_eq!(lines[1]["locked"], false);
}

/// Powertools' keys lead each line, in a fixed order, then the rest.
#[test]
fn powertools_keys_come_first() {
    let sink = Sink::default();
    let writer = sink.clone();
    tracing::subscriber::with_default(
        subscriber(Some("notifier"), "info", move || writer.clone()),
        || {
            let span = tracing::info_span!("invocation", cold_start = false, request_id = "r");
            let _in = span.enter();
            tracing::info!(a_field = "x", "delivered");
        },
    );
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let pos = |k: &str| text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX);
    let order = [
        "level",
        "timestamp",
        "message",
        "service",
        "cold_start",
        "function_request_id",
        "a_field",
    ];
    assert!(order.windows(2).all(|w| pos(w[0]) < pos(w[1])), "{text}");
}

/// The runtime's own lines, in its span but outside ours, carry the
/// request id under Powertools' name too (and the trace id).
#[test]
fn the_runtimes_span_gives_function_request_id() {
    let lines = lines(Some("set-pin"), || {
        let runtime = tracing::info_span!(
            "Lambda runtime invoke",
            requestId = "req-3",
            xrayTraceId = "Root=1-x"
        );
        let _in = runtime.enter();
        tracing::error!("Lambda Runtime API returned non-200 response");
    });
    assert_eq!(lines[0]["function_request_id"], "req-3", "{lines:?}");
    assert_eq!(lines[0]["xray_trace_id"], "Root=1-x");
    assert!(lines[0].get("requestId").is_none());
    assert_eq!(lines[0]["service"], "set-pin");
}

/// Outside an invocation (start-up) a line still carries `service`,
/// `level`, `timestamp` and `message`, and nothing of an invocation.
#[test]
fn start_up_lines_carry_the_service() {
    let lines = lines(Some("status-check"), || {
        tracing::info!(service = "status-check", "starting");
        tracing::error!(error = %std::io::Error::other("boom"), "config refused");
    });
    assert_eq!(lines[0]["service"], "status-check");
    assert_eq!(lines[0]["message"], "starting");
    assert!(lines[0].get("function_request_id").is_none());
    assert_eq!(lines[1]["service"], "status-check");
    assert_eq!(lines[1]["level"], "ERROR");
    assert_eq!(lines[1]["error"], "boom");
}
