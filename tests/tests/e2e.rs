//! End to end: the built functions, run by `cargo lambda watch`, invoked
//! through its Lambda invoke endpoint with full API Gateway events (watch's
//! own HTTP front end only speaks function-URL payloads, which carry no JWT
//! claims). `make test` starts watch and runs these with `--ignored`.
//!
//! Reads PORTGUARD_WATCH_URL, TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB and
//! PORTGUARD_WATCH_LOG (watch's output, searched for leaked PINs).

use portguard_tests::notify_support;

use portguard_store::Store;
use portguard_tests::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;

/// POSTs an event to a function's invoke endpoint; returns its JSON result.
fn invoke(function: &str, event: &Value) -> Value {
    let base =
        std::env::var("PORTGUARD_WATCH_URL").expect("PORTGUARD_WATCH_URL (make test sets it)");
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let body = event.to_string();
    let mut stream = TcpStream::connect(addr).expect("cargo lambda watch is listening");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(300)))
        .unwrap();
    write!(
        stream,
        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, payload) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "invoke failed: {text}");
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    serde_json::from_str(&payload).unwrap_or_else(|_| panic!("JSON result: {payload}"))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// An API Gateway proxy result: status and parsed body.
fn http(function: &str, event: &Value) -> (u16, Value) {
    let result = invoke(function, event);
    let status = result["statusCode"].as_u64().expect("a proxy result") as u16;
    let body =
        serde_json::from_str(result["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (status, body)
}

async fn shared_table() -> (Store, String) {
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME (make test sets it)");
    let store = Store::connect_with(
        table,
        std::time::Duration::from_secs(20),
        std::time::Duration::from_secs(60),
    )
    .await;
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    (store, suffix)
}

#[tokio::test]
#[ignore = "needs cargo lambda watch: run by `make test`"]
async fn set_pin_through_cargo_lambda_watch() {
    let (store, suffix) = shared_table().await;
    let tenant: &'static str = Box::leak(format!("t-e2e-{suffix}").into_boxed_str());
    provision(&store, tenant, &format!("ACC-{suffix}"), "US", &[]).await;

    let get = event("GET", "/v1/pin", As::Admin(tenant), None);
    let (status, body) = http("set-pin", &get);
    assert_eq!(
        (status, body["pinSet"].clone()),
        (200, json!(false)),
        "{body}"
    );

    let pin = "90210347";
    let put = event(
        "PUT",
        "/v1/pin",
        As::Admin(tenant),
        Some(&json!({ "pin": pin }).to_string()),
    );
    let (status, body) = http("set-pin", &put);
    assert_eq!(
        (status, body["pinSet"].clone()),
        (200, json!(true)),
        "{body}"
    );

    let weak = event(
        "PUT",
        "/v1/pin",
        As::Admin(tenant),
        Some(r#"{"pin": "654321"}"#),
    );
    assert_eq!(http("set-pin", &weak).1["error"]["code"], "WEAK_PIN");
    let delete = event("DELETE", "/v1/pin", As::Admin(tenant), None);
    assert_eq!(http("set-pin", &delete).0, 405);
    let anonymous = event("GET", "/v1/pin", As::Nobody, None);
    assert_eq!(http("set-pin", &anonymous).0, 401);

    let audit = event("GET", "/v1/audit-events", As::Admin(tenant), None);
    let (status, body) = http("set-pin", &audit);
    assert_eq!(
        (status, body["items"][0]["type"].clone()),
        (200, json!("pin.set"))
    );

    assert!(!dump_table(&store).await.contains(pin));
    if let Ok(path) = std::env::var("PORTGUARD_WATCH_LOG") {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        assert!(!log.contains(pin), "watch's log holds the PIN");
        assert!(!log.contains("654321"), "watch's log holds the weak PIN");
    }
}

/// The PIN of every tenant [`tenant_with_pin`] makes.
const E2E_PIN: &str = "55018342";

/// A US tenant of this run (`t-e2e-{tag}-…`) with one number of area
/// `area` unique to the run (reruns against one table never collide), its
/// PIN set through the built set-pin: the store, tenant, account, number.
async fn tenant_with_pin(tag: &str, area: &str) -> (Store, &'static str, String, String) {
    let (store, suffix) = shared_table().await;
    let tenant: &'static str = Box::leak(format!("t-e2e-{tag}-{suffix}").into_boxed_str());
    let account = format!("ACC-{}-{suffix}", tag.to_uppercase());
    let tail = u64::from_str_radix(&suffix[suffix.len() - 4..], 32).unwrap_or(0) % 10_000;
    let number = format!("+1{area}555{tail:04}");
    provision(&store, tenant, &account, "US", &[&number]).await;
    let put = event(
        "PUT",
        "/v1/pin",
        As::Admin(tenant),
        Some(&json!({ "pin": E2E_PIN }).to_string()),
    );
    assert_eq!(http("set-pin", &put).0, 200);
    (store, tenant, account, number)
}

#[tokio::test]
#[ignore = "needs cargo lambda watch: run by `make test`"]
async fn port_out_through_cargo_lambda_watch() {
    let (store, tenant, account, number) = tenant_with_pin("po", "206").await;
    let pin = E2E_PIN;

    let body = |pin: &str| {
        json!({"accountNumber": account, "pin": pin, "phoneNumbers": [number],
               "pon": "PON-E2E", "authorizedName": "Jane Doe"})
        .to_string()
    };
    let wrong = event(
        "POST",
        "/v1/port-outs",
        As::Carrier("carrier-a"),
        Some(&body("55018343")),
    );
    let (status, answer) = http("submit-port-out", &wrong);
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (422, json!("PIN_MISMATCH"))
    );

    // Several at once through watch (started with --concurrency): one wins.
    let right = event(
        "POST",
        "/v1/port-outs",
        As::Carrier("carrier-a"),
        Some(&body(pin)),
    );
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let ev = right.clone();
            std::thread::spawn(move || http("submit-port-out", &ev))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created: Vec<_> = results.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(created.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .all(|(s, b)| *s == 201 || b["error"]["code"] == "PORT_OUT_IN_PROGRESS"));
    let id = created[0].1["id"].as_str().unwrap().to_owned();

    let get = event(
        "GET",
        &format!("/v1/port-outs/{id}"),
        As::Admin(tenant),
        None,
    );
    let (status, order) = http("submit-port-out", &get);
    assert_eq!((status, order["status"].clone()), (200, json!("pending")));

    assert!(!dump_table(&store).await.contains(pin));
    if let Ok(path) = std::env::var("PORTGUARD_WATCH_LOG") {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            !log.contains(pin) && !log.contains("55018343"),
            "watch's log holds a PIN"
        );
    }
}

/// Bandwidth's door through the built function: its credentials come from
/// `BANDWIDTH_CREDENTIALS` (export_dev_env), the answer is XML, the order is
/// Bandwidth's, and a missing header is the Basic challenge.
#[tokio::test]
#[ignore = "needs cargo lambda watch: run by `make test`"]
async fn bandwidth_validation_through_cargo_lambda_watch() {
    let (store, tenant, account, number) = tenant_with_pin("bw", "425").await;
    let pin = E2E_PIN;

    let xml = format!(
        "<PortOutValidationRequest><PON>PON-E2E</PON><Pin>{pin}</Pin>\
         <AccountNumber>{account}</AccountNumber><TelephoneNumbers>\
         <TelephoneNumber>{}</TelephoneNumber></TelephoneNumbers></PortOutValidationRequest>",
        &number[2..]
    );
    let path = "/v1/integrations/bandwidth/port-out-validation";
    let with = |auth: Option<&str>| {
        let mut headers = vec![("content-type", "application/xml")];
        headers.extend(auth.map(|a| ("authorization", a)));
        event_with("POST", path, "", As::Nobody, Some(&xml), &headers)
    };
    let result = invoke("submit-port-out", &with(None));
    assert_eq!(result["statusCode"], 401, "{result}");
    let result = invoke("submit-port-out", &with(Some(BANDWIDTH_BASIC)));
    assert_eq!(result["statusCode"], 200, "{result}");
    assert_eq!(
        result["body"],
        "<PortOutValidationResponse><Portable>true</Portable><PON>PON-E2E</PON></PortOutValidationResponse>"
    );
    let list = event("GET", "/v1/port-outs", As::Admin(tenant), None);
    let (status, orders) = http("submit-port-out", &list);
    assert_eq!(status, 200);
    assert_eq!(orders["items"][0]["source"], "bandwidth", "{orders}");
    assert_eq!(orders["items"][0]["carrierId"], "bandwidth");
    assert!(!dump_table(&store).await.contains(pin));
}

/// A port-out request reaches the tenant's loopback receiver: the endpoint
/// is registered through set-pin, the records come from DynamoDB Local's
/// stream and are handed to the notifier binary under watch, as Lambda's
/// event source mapping would (test.sh sets NOTIFY_ALLOW_LOOPBACK_HTTP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs cargo lambda watch: run by `make test`"]
async fn port_out_notification_through_cargo_lambda_watch() {
    use notify_support::{batch, scheduled, Behaviour, Receiver, StreamReader};
    let (store, suffix) = shared_table().await;
    let mut stream = StreamReader::new(&store).await;
    // Skip what earlier tests wrote.
    stream.read().await;
    let tenant: &'static str = Box::leak(format!("t-e2e-n-{suffix}").into_boxed_str());
    let account = format!("ACC-N-{suffix}");
    let tail = u64::from_str_radix(&suffix[suffix.len() - 4..], 32).unwrap_or(0) % 10_000;
    let number = format!("+1312555{tail:04}");
    provision(&store, tenant, &account, "US", &[&number]).await;
    let hook = Receiver::start(Behaviour::Status(200)).await;

    let call = |function: &'static str, ev: Value| async move {
        tokio::task::spawn_blocking(move || invoke(function, &ev))
            .await
            .unwrap()
    };
    let put = event(
        "PUT",
        "/v1/notification-endpoint",
        As::Admin(tenant),
        Some(&json!({ "url": hook.url }).to_string()),
    );
    let result = call("set-pin", put).await;
    assert_eq!(result["statusCode"], 200, "{result}");
    let body: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    let secret = body["secret"].as_str().unwrap().to_owned();

    let pin = "61730492";
    let put_pin = event(
        "PUT",
        "/v1/pin",
        As::Admin(tenant),
        Some(&json!({ "pin": pin }).to_string()),
    );
    assert_eq!(call("set-pin", put_pin).await["statusCode"], 200);
    let post = event(
        "POST",
        "/v1/port-outs",
        As::Carrier("carrier-a"),
        Some(
            &json!({"accountNumber": account, "pin": pin, "phoneNumbers": [number],
                    "pon": "PON-E2E-N", "authorizedName": "Jane Doe"})
            .to_string(),
        ),
    );
    let result = call("submit-port-out", post).await;
    assert_eq!(result["statusCode"], 201, "{result}");
    let order: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();

    let records = stream.read_at_least(3).await;
    let answer = call("notifier", batch(records)).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let got = hook.got();
    let requested: Vec<_> = got
        .iter()
        .filter(|r| r.json()["type"] == "port_out.requested")
        .collect();
    assert_eq!(requested.len(), 1, "{got:?}");
    let r = requested[0];
    assert!(r.verifies_with(&secret));
    assert_eq!(r.json()["data"]["portOutId"], order["id"]);
    assert_eq!(r.json()["data"]["tenantId"], tenant);
    assert!(!r.body.contains(pin));
    let types: Vec<_> = got.iter().map(|r| r.json()["type"].clone()).collect();
    assert!(types.contains(&json!("pin.set")), "{types:?}");

    let report = call("notifier", scheduled(portguard_store::clock::now())).await;
    assert!(report["attempted"].is_u64(), "{report}");
    if let Ok(path) = std::env::var("PORTGUARD_WATCH_LOG") {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            !log.contains(secret.trim_start_matches("whsec_")),
            "watch's log holds the endpoint secret"
        );
    }
}
