//! Structured JSON logs, one object a line, with Powertools' keys at the top
//! level: `level`, `timestamp`, `message`, `service`, and inside an
//! invocation (the per-invocation span of `serve`/`serve_events`)
//! `cold_start` and `function_request_id`; every other field of the event
//! and of the spans it is in sits flat beside them, never nested under
//! `span`/`spans`/`fields`. Lines logged at start-up carry `service` but no
//! invocation's keys. Nothing secret is ever passed to a log macro.

use serde_json::{Map, Value};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

static COLD: AtomicBool = AtomicBool::new(true);

/// The crates whose logs `LOG_LEVEL` may open below `info`: portguard's own
/// (an `EnvFilter` target matches by prefix, so `portguard` covers every
/// `portguard_*` crate) and the functions and tools. An allow-list, not a
/// list of crates to hold back: the AWS SDK logs whole request and response
/// bodies below `info` (a tenant item's body holds the PIN hash), the Lambda
/// runtime logs the raw event (a request body with its PIN) at `trace`, and
/// any crate added later may do the same, so every crate not named here is
/// held at `info` at most, whatever `LOG_LEVEL` asks for.
pub const OWN_TARGETS: [&str; 7] = [
    "portguard",
    "set_pin",
    "submit_port_out",
    "carrier_webhook",
    "status_check",
    "notifier",
    "telnyx_stand_in",
];

/// The log filter: `level` (`trace`, `debug`, `info`, `warn`, `error` or
/// `off`; anything else is `info`) for the crates of [`OWN_TARGETS`]; every
/// other crate at `level` or `info`, whichever logs less.
pub fn filter(level: &str) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::filter::LevelFilter;
    let level: LevelFilter = level.trim().parse().unwrap_or(LevelFilter::INFO);
    let others = level.min(LevelFilter::INFO);
    let mut directives = others.to_string().to_lowercase();
    for target in OWN_TARGETS {
        directives.push_str(&format!(",{target}={}", level.to_string().to_lowercase()));
    }
    tracing_subscriber::EnvFilter::try_new(directives).expect("levels and crate names")
}

/// The subscriber of [`init`]: [`PowertoolsJson`] lines for `service`
/// through `writer`, filtered by [`filter`]`(level)`. Tests build it with a
/// writer of their own to see production's lines.
pub fn subscriber<W>(
    service: Option<&'static str>,
    level: &str,
    writer: W,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .fmt_fields(JsonFields::new())
        .event_format(PowertoolsJson { service })
        .with_env_filter(filter(level))
        .with_writer(writer)
        .finish()
}

pub fn init(service: &'static str) {
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    // `try_init` also forwards the `log` crate's records (tracing-log).
    let _ = subscriber(Some(service), &level, std::io::stdout).try_init();
    tracing::info!(service, "starting");
}

/// `true` for the first invocation of this process only.
pub fn cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// One JSON object a line, flat, in Powertools' shape: `level`, `timestamp`,
/// `message`, `service`, `cold_start`, `function_request_id` first, then the
/// other fields of the spans the event is in (outermost first) and of the
/// event itself; a later one of the same name wins. The request id is
/// written as `function_request_id` ([`powertools_key`]). Span fields are read
/// as `JsonFields` recorded them (the subscriber's field formatter).
pub struct PowertoolsJson {
    /// Written on every line, start-up included.
    pub service: Option<&'static str>,
}

/// The keys written first, in this order, whenever they are present.
const LEADING: [&str; 6] = [
    "level",
    "timestamp",
    "message",
    "service",
    "cold_start",
    "function_request_id",
];

impl<S, N> FormatEvent<S, N> for PowertoolsJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        fields.insert(
            "level".into(),
            Value::from(event.metadata().level().as_str()),
        );
        fields.insert("timestamp".into(), Value::from(timestamp));
        if let Some(service) = self.service {
            fields.insert("service".into(), Value::from(service));
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(recorded) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(span_fields)) =
                    serde_json::from_str::<Value>(&recorded.fields)
                {
                    for (key, value) in span_fields {
                        fields.insert(powertools_key(key), value);
                    }
                }
            }
        }
        event.record(&mut Fields(&mut fields));
        writeln!(writer, "{}", ordered(fields))
    }
}

/// A span field's name as Powertools writes it: the request id of our
/// invocation span (`request_id`) and of the runtime's own span
/// (`requestId`, on the runtime's lines outside ours) is
/// `function_request_id`, the runtime's `xrayTraceId` is `xray_trace_id`.
fn powertools_key(key: String) -> String {
    match key.as_str() {
        "request_id" | "requestId" => "function_request_id".into(),
        "xrayTraceId" => "xray_trace_id".into(),
        _ => key,
    }
}

/// The object with [`LEADING`]'s keys first (serde_json's map may sort).
fn ordered(mut fields: Map<String, Value>) -> String {
    let mut out = String::from("{");
    let leading: Vec<(String, Value)> = LEADING
        .iter()
        .filter_map(|k| fields.remove(*k).map(|v| (k.to_string(), v)))
        .collect();
    let rest = std::mem::take(&mut fields);
    for (i, (key, value)) in leading.into_iter().chain(rest).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// An event's fields as JSON values: numbers and booleans as such,
/// everything else as text (`message` as the formatted text itself). The
/// `log.*` fields of a record forwarded from the `log` crate (its target,
/// file, line) are left out, as the target of any event is.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        if !field.name().starts_with("log.") {
            self.0.insert(field.name().into(), value);
        }
    }
}

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
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
                time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
                    .is_ok(),
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
}
