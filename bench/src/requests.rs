//! The requests the driver sends: API Gateway and EventBridge events for the
//! functions, the raw DynamoDB operations for `floor-sdk`, and how an answer
//! is checked.

use crate::{ACCOUNT, CARRIER, FLOOR_PIN_ACCOUNT, FLOOR_PIN_TENANT, PIN, PIN_TENANT, TENANT};
use portguard_store::clock;
use serde_json::{json, Value};

/// An API Gateway HTTP API (payload 2.0) event, like tests/src/lib.rs builds.
pub fn api_event(
    method: &str,
    path: &str,
    who: Option<(&str, &str)>,
    body: &Value,
    headers: &[(&str, String)],
) -> Value {
    let mut hdrs = serde_json::Map::new();
    hdrs.insert("content-type".into(), json!("application/json"));
    for (k, v) in headers {
        hdrs.insert((*k).into(), json!(v));
    }
    let mut ctx = json!({
        "accountId": "123456789012", "apiId": "api-id", "domainName": "api.example.com",
        "domainPrefix": "api",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.7", "userAgent": "portguard-bench"},
        "requestId": format!("req-{}", ulid::Ulid::new()), "routeKey": "$default",
        "stage": "$default", "time": "26/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_000_000_000_i64
    });
    match who {
        Some(("admin", t)) => {
            ctx["authorizer"] = json!({"jwt": {"claims": {"tenant_id": t, "sub": format!("admin-of-{t}")}, "scopes": ["portguard/admin"]}})
        }
        Some((_, c)) => {
            ctx["authorizer"] = json!({"jwt": {"claims": {"carrier_id": c, "sub": c}, "scopes": ["portguard/carrier"]}})
        }
        None => {}
    }
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": hdrs, "requestContext": ctx,
        "body": if body.is_null() { Value::Null } else { json!(body.to_string()) },
        "isBase64Encoded": false
    })
}

/// A FOC date 1 to 28 days ahead, changing with `seq` (contract §5 refuses
/// dates in the past and more than 120 days ahead).
fn foc_date(seq: u64) -> String {
    let day = clock::now() + 86_400 * (1 + (seq % 28) as i64);
    clock::format(day)[..10].to_owned()
}

/// A carrier's `POST /v1/port-outs` for one number of `account`.
pub fn port_out(account: &str, pin: &str, number: &str, key: Option<String>) -> Value {
    let headers: Vec<(&str, String)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    api_event(
        "POST",
        "/v1/port-outs",
        Some(("carrier", CARRIER)),
        &json!({"accountNumber": account, "pin": pin, "phoneNumbers": [number],
                "pon": "PON-BENCH", "authorizedName": "Bench Runner"}),
        &headers,
    )
}

/// The other PIN `set_pin` alternates with.
const PIN_B: &str = "90817263";

/// What the driver needs to build requests: fresh numbers, orders, secrets.
pub struct Ctx {
    pub numbers: Vec<String>,
    pub next_number: usize,
    pub webhook: standardwebhooks::Webhook,
    pub pin_hash: String,
    pub warm_order: String,
    pub floor_order: String,
    pub seq: u64,
    /// PIN changes of `PIN_TENANT` so far (which PIN is next).
    pub pin_changes: u64,
}

impl Ctx {
    pub fn number(&mut self) -> String {
        let n = self
            .numbers
            .get(self.next_number)
            .cloned()
            .expect("enough numbers provisioned");
        self.next_number += 1;
        n
    }

    /// A PIN change of `PIN_TENANT`, alternating between two PINs: the same
    /// PIN again is `400 PIN_UNCHANGED` (contract §3). The port-outs use
    /// `TENANT`, whose PIN stays `PIN`.
    pub fn set_pin(&mut self) -> Value {
        self.pin_changes += 1;
        let pin = if self.pin_changes.is_multiple_of(2) {
            PIN
        } else {
            PIN_B
        };
        api_event(
            "PUT",
            "/v1/pin",
            Some(("admin", PIN_TENANT)),
            &json!({ "pin": pin }),
            &[],
        )
    }

    pub fn get_pin(&self) -> Value {
        api_event("GET", "/v1/pin", Some(("admin", TENANT)), &Value::Null, &[])
    }

    pub fn port_out(&mut self, pin: &str, key: Option<String>) -> Value {
        let number = self.number();
        port_out(ACCOUNT, pin, &number, key)
    }

    /// A signed carrier event; `id` reuses a webhook id (a duplicate).
    pub fn webhook(&mut self, order: &str, kind: &str, id: Option<&str>) -> (Value, String) {
        self.seq += 1;
        let mut body = json!({"type": format!("port_out.{kind}"), "portOutId": order});
        match kind {
            "foc_confirmed" => body["focDate"] = json!(foc_date(self.seq)),
            "cancelled" | "rejected" => body["reason"] = json!("bench"),
            _ => {}
        }
        let id = id.map_or_else(|| format!("msg_{}", ulid::Ulid::new()), str::to_owned);
        let ts = clock::now();
        let raw = body.to_string();
        let sig = self.webhook.sign(&id, ts, raw.as_bytes()).expect("sign");
        let mut ev = api_event(
            "POST",
            &format!("/v1/carrier-events/{CARRIER}"),
            None,
            &Value::Null,
            &[
                ("webhook-id", id.clone()),
                ("webhook-timestamp", ts.to_string()),
                ("webhook-signature", sig),
            ],
        );
        ev["body"] = json!(raw);
        (ev, id)
    }

    pub fn scheduled(&self) -> Value {
        json!({
            "version": "0", "id": ulid::Ulid::new().to_string(), "detail-type": "Scheduled Event",
            "source": "aws.scheduler", "account": "123456789012", "time": clock::format(clock::now()),
            "region": "us-east-1", "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/bench"],
            "detail": {}
        })
    }

    /// The request each function gets in the cold and warm phases.
    pub fn request(&mut self, function: &str) -> Value {
        match function {
            "set-pin" => self.set_pin(),
            "submit-port-out" => self.port_out(PIN, None),
            "carrier-webhook" => {
                let order = self.warm_order.clone();
                self.webhook(&order, "foc_confirmed", None).0
            }
            "status-check" => self.scheduled(),
            "floor-hello" => json!({"hello": "world"}),
            "floor-sdk" => json!({"op": "get", "tenant": TENANT}),
            other => panic!("no request for {other}"),
        }
    }

    /// The raw DynamoDB work of `function`'s request, for `floor-sdk`.
    pub fn floor_op(&mut self, function: &str) -> Value {
        match function {
            "set-pin" => {
                // A warm set-pin knows the tenant's account: so does its floor.
                json!({"op": "set-pin", "tenant": FLOOR_PIN_TENANT,
                       "account": FLOOR_PIN_ACCOUNT, "hash": self.pin_hash})
            }
            "submit-port-out" => json!({"op": "port-out", "tenant": TENANT, "account": ACCOUNT,
                                       "carrier": CARRIER, "number": self.number()}),
            "carrier-webhook" => {
                self.seq += 1;
                json!({"op": "webhook", "tenant": TENANT, "carrier": CARRIER, "order": self.floor_order,
                       "webhookId": format!("msg_{}", ulid::Ulid::new()),
                       "focDate": foc_date(self.seq)})
            }
            "status-check" => {
                let now = clock::now();
                json!({"op": "status-check",
                       "pendingCutoff": clock::format(now - 168 * 3600),
                       "focCutoff": clock::format(now - 72 * 3600)})
            }
            other => panic!("no floor op for {other}"),
        }
    }
}

pub fn check(failures: &mut Vec<String>, what: &str, out: &Value, expected: i64) {
    if status_of(out) != expected && failures.len() < 20 {
        failures.push(format!("{what}: expected {expected}, got {out}"));
    }
}

/// Whether a response is the success the scenario expects: an HTTP
/// status, or 200 for a scheduled run's report and a stream batch without
/// failed records.
pub fn status_of(out: &Value) -> i64 {
    let report = out.get("examined").is_some() || out.get("attempted").is_some();
    let batch_ok = out["batchItemFailures"]
        .as_array()
        .is_some_and(Vec::is_empty);
    out["statusCode"]
        .as_i64()
        .unwrap_or(if report || batch_ok { 200 } else { 0 })
}

/// The status code a function's success answer has.
pub fn expected(function: &str) -> i64 {
    if function == "submit-port-out" {
        201
    } else {
        200
    }
}
