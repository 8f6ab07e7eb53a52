//! Test harness: a fresh DynamoDB Local table per test (so tests run in
//! parallel without seeing each other), real API Gateway v2 events, and a
//! log capture to prove no secret is ever logged.
//!
//! Needs `AWS_ENDPOINT_URL_DYNAMODB` (set by `make test`).

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::Request;
use portguard_secrets::PinHasher;
use portguard_store::Store;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

pub use portguard_fixtures as fixtures;
#[cfg(test)]
mod fixtures_drift;
/// The functions built as the tests use them, requests, receivers and the
/// stream reader: the helpers every suite shares.
pub mod notify_support;
pub mod ses;
pub mod support;
/// The development pepper and webhook secrets (`make dev` and `make test` use the same).
pub use fixtures::{
    BANDWIDTH_BASIC, BANDWIDTH_CREDENTIALS, ENDPOINT_SECRET_KEY, PEPPER, WEBHOOK_SECRETS,
};
/// The local SES's messages (alert emails, contract §17).
pub use ses::{needs_ses_local, sent_emails, sent_emails_to, ses_local_url, SentEmail};

/// The UTC calendar date `days` after today, `YYYY-MM-DD`, by the clock the
/// functions use. Tests never write a calendar date a rule compares with
/// "now" (a FOC date, a requested date): a fixed one expires
/// (tests/tests/dates.rs guards it).
pub fn date_in(days: i64) -> String {
    let t = portguard_store::clock::now() + days * 86_400;
    portguard_store::clock::format(t)[..10].to_owned()
}

pub fn hasher() -> PinHasher {
    PinHasher::from_secret(PEPPER, "PIN_PEPPER").expect("valid test pepper")
}

/// The running test binary's name (`dates`, not cargo's `dates-eda0425c…`).
pub fn test_binary_name() -> String {
    let binary = std::env::args().next().unwrap_or_default();
    let file = std::path::Path::new(&binary)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(binary);
    file.rsplit_once('-')
        .map_or(file.clone(), |(n, _)| n.to_owned())
}

/// One line straight to stderr: the test harness captures `eprintln!`.
pub fn say_skipped(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Skips the whole test binary, with one line, when no DynamoDB Local is
/// configured (`AWS_ENDPOINT_URL_DYNAMODB` unset when first asked): a bare
/// `cargo test` or `make check` then runs every test that needs none.
/// Whether it was set is read once, before any test changes it.
pub fn needs_dynamodb_local() {
    static CONFIGURED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*CONFIGURED.get_or_init(|| std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some()) {
        assert!(
            std::env::var_os("PORTGUARD_REQUIRE_DYNAMODB_LOCAL").is_none(),
            "AWS_ENDPOINT_URL_DYNAMODB is not set, and PORTGUARD_REQUIRE_DYNAMODB_LOCAL forbids skipping"
        );
        // One line per binary: the first test to get here says it and
        // ends the process; the others wait on the `Once` until it has.
        static SKIP: std::sync::Once = std::sync::Once::new();
        SKIP.call_once(|| {
            say_skipped(&format!(
                "skipped tests/{}.rs: it needs DynamoDB Local and AWS_ENDPOINT_URL_DYNAMODB is not set (`make test` starts one)",
                test_binary_name()
            ));
            std::process::exit(0);
        });
    }
}

/// A new table with the production schema, on DynamoDB Local.
pub async fn fresh_store() -> Store {
    needs_dynamodb_local();
    let table = format!("pg-test-{}", ulid::Ulid::new().to_string().to_lowercase());
    // Patient limits: many tests share one DynamoDB Local on a busy machine.
    // (tests/tests/faults.rs checks the production limits of Store::connect.)
    let store = Store::connect_with(
        table,
        std::time::Duration::from_secs(20),
        std::time::Duration::from_secs(60),
    )
    .await;
    store.create_table().await.expect("create test table");
    store
}

/// The typed ids and times of the store's signatures, and the helpers that
/// make them from test literals: `use portguard_tests::typed::*;`.
pub mod typed {
    pub use super::{cid, num, nums, oid, tid};
    pub use portguard_store::clock::{Day, Timestamp};
    pub use portguard_validation::{
        AuditId, CarrierId, ContactId, OrderId, PhoneNumber, TenantId, TransferPinId,
    };
}

/// Typed ids from test literals (a bad literal is a bug in the test).
pub fn tid(id: &str) -> portguard_validation::TenantId {
    id.parse().expect("a test tenant id")
}

pub fn cid(id: &str) -> portguard_validation::CarrierId {
    id.parse().expect("a test carrier id")
}

pub fn oid(id: &str) -> portguard_validation::OrderId {
    id.parse().expect("a test order id")
}

pub fn num(n: &str) -> portguard_validation::PhoneNumber {
    n.parse().expect("a test phone number")
}

pub fn nums<S: AsRef<str>>(list: &[S]) -> Vec<portguard_validation::PhoneNumber> {
    list.iter().map(|n| num(n.as_ref())).collect()
}

/// Provisions a tenant and its numbers through the same calls as the CLI.
pub async fn provision(
    store: &Store,
    tenant: &str,
    account: &str,
    country: &str,
    numbers: &[&str],
) {
    let now = portguard_store::clock::Timestamp::now();
    let tenant = tid(tenant);
    store
        .put_tenant(&tenant, account, country, Some("Test tenant"), now)
        .await
        .expect("store up")
        .expect("account free");
    for n in numbers {
        let e164 = portguard_validation::PhoneNumber::parse(n).expect("valid test number");
        store
            .add_number(&tenant, &e164, now)
            .await
            .expect("store up");
    }
}

/// Who sends a request.
#[derive(Debug, Clone)]
pub enum As {
    Nobody,
    Admin(&'static str),
    Carrier(&'static str),
    /// Claims and scopes exactly as given.
    Raw(Value, Vec<&'static str>),
}

/// An API Gateway HTTP API (payload 2.0) event, as API Gateway sends it.
pub fn event(method: &str, path: &str, who: As, body: Option<&str>) -> Value {
    event_with(method, path, "", who, body, &[])
}

pub fn event_with(
    method: &str,
    path: &str,
    query: &str,
    who: As,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Value {
    let authorizer = match who {
        As::Nobody => Value::Null,
        As::Admin(t) => {
            json!({"jwt": {"claims": {"tenant_id": t, "sub": format!("admin-of-{t}")}, "scopes": ["portguard/admin"]}})
        }
        As::Carrier(c) => {
            json!({"jwt": {"claims": {"carrier_id": c, "sub": c}, "scopes": ["portguard/carrier"]}})
        }
        As::Raw(claims, scopes) => json!({"jwt": {"claims": claims, "scopes": scopes}}),
    };
    let mut hdrs = serde_json::Map::new();
    hdrs.insert("content-type".into(), json!("application/json"));
    for (k, v) in headers {
        hdrs.insert(k.to_lowercase(), json!(v));
    }
    let mut query_map = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query_map.insert(k.into(), json!(v));
    }
    let mut ctx = json!({
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "api.example.com",
        "domainPrefix": "api",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.7", "userAgent": "portguard-tests"},
        "requestId": format!("req-{}", ulid::Ulid::new()),
        "routeKey": "$default",
        "stage": "$default",
        "time": "26/Nov/2026:10:00:00 +0000",
        "timeEpoch": 1_795_000_000_000_i64
    });
    if !authorizer.is_null() {
        ctx["authorizer"] = authorizer;
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": hdrs,
        "queryStringParameters": if query_map.is_empty() { Value::Null } else { Value::Object(query_map) },
        "requestContext": ctx,
        "body": body,
        "isBase64Encoded": false
    })
}

pub fn request(event: &Value) -> Request {
    portguard_api::event::request_from_event(event.clone()).expect("a valid API Gateway v2 event")
}

/// Status, headers and JSON body of a response.
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub raw: String,
}

/// `GET /v1/audit-events?limit=100` as `tenant`'s admin: how the tests read
/// a tenant's audit trail.
pub fn audit_trail_event(tenant: &'static str) -> Value {
    event_with(
        "GET",
        "/v1/audit-events",
        "limit=100",
        As::Admin(tenant),
        None,
        &[],
    )
}

impl Answer {
    /// The `id` of every item of a list answer, in order.
    pub fn item_ids(&self) -> Vec<String> {
        self.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and error code, showing the whole answer if not.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.raw);
    }
}

pub fn answer(resp: lambda_http::Response<lambda_http::Body>) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let raw = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    // `204 No Content` (DELETE /v1/notification-endpoint, contract §14) is the
    // one answer without a body; every other answer is JSON.
    if status == 204 {
        assert!(raw.is_empty(), "a 204 has no body: {raw}");
    } else if headers_ct(&resp) == "application/xml" {
        // Bandwidth's validation answer (contract §15), the one XML answer.
        assert_eq!(status, 200, "an XML answer is a 200: {raw}");
        assert!(raw.starts_with("<PortOutValidationResponse>"), "{raw}");
    } else if status == 200 && raw.is_empty() {
        // Bandwidth's notifications are acknowledged with no body.
    } else {
        assert_eq!(
            headers_ct(&resp),
            "application/json",
            "every answer is JSON: {raw}"
        );
    }
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

fn headers_ct(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Every item of the table, or only those whose PK starts with `prefix`,
/// read consistently. A Scan is fine here: a test looking at everything.
pub async fn scan_items(
    store: &Store,
    prefix: Option<&str>,
) -> Vec<HashMap<String, AttributeValue>> {
    let mut out = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let mut scan = store
            .client()
            .scan()
            .table_name(store.table())
            .consistent_read(true)
            .set_exclusive_start_key(start);
        if let Some(prefix) = prefix {
            scan = scan
                .filter_expression("begins_with(PK, :p)")
                .expression_attribute_values(":p", AttributeValue::S(prefix.into()));
        }
        let page = scan.send().await.expect("scan test table");
        out.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// Every item of the table in a canonical form (items sorted, attributes
/// sorted), so two snapshots compare equal exactly when nothing changed.
pub async fn snapshot(store: &Store) -> Vec<String> {
    let mut out: Vec<String> = scan_items(store, None)
        .await
        .iter()
        .map(canonical_item)
        .collect();
    out.sort();
    out
}

/// An item as text with its attributes sorted, nested maps and sets too
/// (their `Debug` follows a `HashMap`'s random order).
pub fn canonical_item(item: &HashMap<String, AttributeValue>) -> String {
    let sorted: std::collections::BTreeMap<&String, String> =
        item.iter().map(|(k, v)| (k, canonical(v))).collect();
    format!("{sorted:?}")
}

fn canonical(v: &AttributeValue) -> String {
    let sorted = |mut xs: Vec<String>| {
        xs.sort();
        xs
    };
    match v {
        AttributeValue::M(m) => format!("M({})", canonical_item(m)),
        AttributeValue::L(l) => format!("L({:?})", l.iter().map(canonical).collect::<Vec<_>>()),
        AttributeValue::Ss(xs) => format!("Ss({:?})", sorted(xs.clone())),
        AttributeValue::Ns(xs) => format!("Ns({:?})", sorted(xs.clone())),
        other => format!("{other:?}"),
    }
}

/// Every attribute of every item of the table, as text, to search for secrets.
pub async fn dump_table(store: &Store) -> String {
    snapshot(store).await.join("\n")
}

/// Items of the table whose PK starts with `prefix`.
pub async fn items_with_prefix(
    store: &Store,
    prefix: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    scan_items(store, Some(prefix)).await
}

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

static LOGS: OnceLock<Sink> = OnceLock::new();

/// Installs (once per test binary) a JSON subscriber like production's, at
/// the most verbose level production allows (`LOG_LEVEL=trace`), writing
/// into memory, and returns everything logged so far.
pub fn captured_logs() -> String {
    let sink = LOGS.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(portguard_api::logging::filter("trace"))
            .with_writer(move || writer.clone())
            .try_init();
        sink
    });
    String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned()
}

/// A Standard Webhooks signature, computed independently of the function:
/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under a `whsec_` secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    use hmac::{Hmac, Mac};
    let key = B64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("base64 secret");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// A loopback port nothing listens on (bound, then released): a stopped
/// service, for tests of what a failing dependency does.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
