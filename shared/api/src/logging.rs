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
mod tests;
