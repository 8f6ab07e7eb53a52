//! `bench`: the driver behind `make bench` (scripts/bench.sh starts DynamoDB
//! Local, builds the release binaries and calls this).
//!
//! In one run, against one DynamoDB Local, it measures the four functions
//! beside two floors built the same way: `floor-hello` (bare
//! `lambda_runtime`) and `floor-sdk` (+ `aws-config` and a DynamoDB client at
//! init; its handler makes the raw DynamoDB calls of each function's
//! request). Phases:
//!
//! 1. cold starts: every binary, round-robin, `--cold` times: spawn → first
//!    Runtime API poll (init) and the first invocation;
//! 2. warm: each function beside a `floor-sdk` process doing the same
//!    DynamoDB calls, invocations interleaved one for one, `--warm` each;
//!    Argon2 hash/verify timed in-process in the same loop; peak RSS (VmHWM)
//!    of every process at the end;
//! 3. capacity: every binary again with DynamoDB behind a recording proxy
//!    (`ReturnConsumedCapacity: INDEXES`), per scenario: each round trip and
//!    its consumed capacity; status-check over tables of 1k and 10k closed
//!    orders.
//!
//! Raw samples go to `<out>/results.json`; `bench/report.py` turns them into
//! the report and the chart.

mod http;
mod proxy;
mod runtime;

use futures::{stream, StreamExt};
use portguard_rules::OrderStatus;
use portguard_secrets::PinHasher;
use portguard_store::{clock, Actor, ActorKind, AuditEvent, AuditType, Order, Store};
use portguard_validation::{PhoneNumber, Pin};
use runtime::Function;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TENANT: &str = "t-bench";
const ACCOUNT: &str = "ACC-BENCH";
const CARRIER: &str = "carrier-a";
const PIN: &str = "48151623";
const WRONG_PIN: &str = "11223344";
const FUNCTIONS: [&str; 4] = [
    "set-pin",
    "submit-port-out",
    "carrier-webhook",
    "status-check",
];

struct Args {
    bins: PathBuf,
    endpoint: String,
    out: PathBuf,
    cold: usize,
    warm: usize,
}

fn args() -> Args {
    let mut a = Args {
        bins: "target/release".into(),
        endpoint: std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
        out: "bench/results/raw".into(),
        cold: 20,
        warm: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--bins" => a.bins = v.into(),
            "--endpoint" => a.endpoint = v,
            "--out" => a.out = v.into(),
            "--cold" => a.cold = v.parse().expect("--cold N"),
            "--warm" => a.warm = v.parse().expect("--warm N"),
            _ => panic!("unknown flag {flag}; flags: --bins --endpoint --out --cold --warm"),
        }
    }
    assert!(
        !a.endpoint.is_empty(),
        "--endpoint (DynamoDB Local URL) is required"
    );
    a
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// An API Gateway HTTP API (payload 2.0) event, like tests/src/lib.rs builds.
fn api_event(
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

/// What the driver needs to build requests: fresh numbers, orders, secrets.
struct Ctx {
    numbers: Vec<String>,
    next_number: usize,
    webhook: standardwebhooks::Webhook,
    pin_hash: String,
    warm_order: String,
    floor_order: String,
    seq: u64,
}

impl Ctx {
    fn number(&mut self) -> String {
        let n = self
            .numbers
            .get(self.next_number)
            .cloned()
            .expect("enough numbers provisioned");
        self.next_number += 1;
        n
    }

    fn set_pin(&self) -> Value {
        api_event(
            "PUT",
            "/v1/pin",
            Some(("admin", TENANT)),
            &json!({"pin": PIN}),
            &[],
        )
    }

    fn get_pin(&self) -> Value {
        api_event("GET", "/v1/pin", Some(("admin", TENANT)), &Value::Null, &[])
    }

    fn port_out(&mut self, pin: &str, key: Option<String>) -> Value {
        let number = self.number();
        let headers: Vec<(&str, String)> =
            key.map(|k| ("idempotency-key", k)).into_iter().collect();
        api_event(
            "POST",
            "/v1/port-outs",
            Some(("carrier", CARRIER)),
            &json!({"accountNumber": ACCOUNT, "pin": pin, "phoneNumbers": [number],
                    "pon": "PON-BENCH", "authorizedName": "Bench Runner"}),
            &headers,
        )
    }

    /// A signed carrier event; `id` reuses a webhook id (a duplicate).
    fn webhook(&mut self, order: &str, kind: &str, id: Option<&str>) -> (Value, String) {
        self.seq += 1;
        let mut body = json!({"type": format!("port_out.{kind}"), "portOutId": order});
        match kind {
            "foc_confirmed" => body["focDate"] = json!(format!("2030-01-{:02}", 1 + self.seq % 28)),
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

    fn scheduled(&self) -> Value {
        json!({
            "version": "0", "id": ulid::Ulid::new().to_string(), "detail-type": "Scheduled Event",
            "source": "aws.scheduler", "account": "123456789012", "time": clock::format(clock::now()),
            "region": "us-east-1", "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/bench"],
            "detail": {}
        })
    }

    /// The request each function gets in the cold and warm phases.
    fn request(&mut self, function: &str) -> Value {
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
    fn floor_op(&mut self, function: &str) -> Value {
        match function {
            "set-pin" => json!({"op": "set-pin", "tenant": TENANT, "hash": self.pin_hash}),
            "submit-port-out" => json!({"op": "port-out", "tenant": TENANT, "account": ACCOUNT,
                                       "carrier": CARRIER, "number": self.number()}),
            "carrier-webhook" => {
                self.seq += 1;
                json!({"op": "webhook", "tenant": TENANT, "carrier": CARRIER, "order": self.floor_order,
                       "webhookId": format!("msg_{}", ulid::Ulid::new()),
                       "focDate": format!("2030-01-{:02}", 1 + self.seq % 28)})
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

fn check(failures: &mut Vec<String>, what: &str, out: &Value, expected: i64) {
    if status_of(out) != expected && failures.len() < 20 {
        failures.push(format!("{what}: expected {expected}, got {out}"));
    }
}

/// Whether a response is the success the scenario expects.
fn status_of(out: &Value) -> i64 {
    out["statusCode"]
        .as_i64()
        .unwrap_or(if out.get("examined").is_some() {
            200
        } else {
            0
        })
}

fn env_for(endpoint: &str, table: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EC2_METADATA_DISABLED",
        "PIN_PEPPER",
        "CARRIER_WEBHOOK_SECRETS",
        "LOG_LEVEL",
        "PENDING_EXPIRY_HOURS",
        "FOC_GRACE_HOURS",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
    .collect();
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.into()));
    env.push(("TABLE_NAME".into(), table.into()));
    env
}

/// Every `argon2_ms` field in a function's JSON log, in order.
fn logged_argon2_ms(log: &std::path::Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            v.get("argon2_ms")
                .or_else(|| v.pointer("/fields/argon2_ms"))
                .and_then(Value::as_f64)
        })
        .collect()
}

fn spawn(a: &Args, name: &str, env: &[(String, String)]) -> Function {
    let mut f = Function::spawn(
        name,
        &a.bins.join(name),
        env,
        &a.out.join(format!("{name}.log")),
    );
    f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    f
}

fn numbers(count: usize) -> Vec<String> {
    (0..)
        .map(|i: usize| format!("+1206{:03}{:04}", 200 + i / 10_000, i % 10_000))
        .filter(|n| PhoneNumber::parse(n).is_ok())
        .take(count)
        .collect()
}

async fn provision(store: &Store, hasher: &PinHasher, numbers: &[String]) -> String {
    let now = clock::format(clock::now());
    store
        .put_tenant(TENANT, ACCOUNT, "US", Some("Bench tenant"), &now)
        .await
        .expect("store")
        .expect("account");
    let added: Vec<_> = stream::iter(numbers)
        .map(|n| store.add_number(TENANT, n, &now))
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(added.iter().all(Result::is_ok), "numbers added");
    let tenant = store
        .get_tenant_ref(TENANT)
        .await
        .expect("store")
        .expect("tenant");
    let stored = hasher.hash(&Pin::parse_presented(PIN).expect("pin"));
    let actor = Actor {
        kind: ActorKind::TenantAdmin,
        id: Some("bench".into()),
    };
    let audit = AuditEvent::new(TENANT, clock::now(), AuditType::PinSet, actor);
    store
        .set_pin(&tenant, &stored.hash, &stored.pepper_version, &now, &audit)
        .await
        .expect("set pin");
    stored.hash
}

async fn create_order(store: &Store, number: &str) -> String {
    let tenant = store
        .get_tenant(TENANT)
        .await
        .expect("store")
        .expect("tenant");
    let now = clock::format(clock::now());
    let order = Order::new(
        TENANT,
        CARRIER,
        ACCOUNT,
        vec![number.to_owned()],
        "PON-BENCH",
        None,
        None,
        &now,
    );
    let actor = Actor {
        kind: ActorKind::Carrier,
        id: Some(CARRIER.into()),
    };
    let audit = AuditEvent::new(TENANT, clock::now(), AuditType::PortOutRequested, actor)
        .port_out(&order.id);
    let out = store
        .create_order(&order, &tenant, None, &audit, None)
        .await
        .expect("create order");
    assert_eq!(out, portguard_store::orders::CreateOutcome::Created);
    order.id
}

/// Open orders in each closed-order table, all due (created 200 h ago), so
/// the check has the same real work (read and expire them) in both tables.
const DUE: usize = 5;

/// A table of `closed` closed orders and `DUE` due pending orders (with
/// their reserved numbers), written directly in the store's item shape.
async fn closed_table(endpoint_table: &str, closed: usize) -> Store {
    use aws_sdk_dynamodb::types::{AttributeValue as Av, PutRequest, WriteRequest};
    let store = Store::connect(endpoint_table).await;
    store.create_table().await.expect("create table");
    let now = clock::format(clock::now());
    let old = clock::format(clock::now() - 200 * 3600);
    let item = |i: usize| {
        let id = format!("po_{}", ulid::Ulid::new());
        let number = format!(
            "+1206{}{:04}",
            if i >= closed { 400 } else { 300 },
            i % 10_000
        );
        let open = i >= closed;
        let status = if open {
            OrderStatus::Pending
        } else {
            OrderStatus::Completed
        };
        let mut m: HashMap<String, Av> = HashMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.into(), Av::S(v));
        };
        put("PK", format!("ORDER#{id}"));
        put("SK", "ORDER".into());
        put("GSI1PK", format!("CARRIER#{CARRIER}"));
        put("GSI1SK", format!("ORDER#{id}"));
        put("GSI2PK", "TENANT#t-closed".into());
        put("GSI2SK", format!("ORDER#{id}"));
        if open {
            put("OPENPK", "OPEN#pending".into());
            put("OPENSK", format!("{old}#{id}"));
        }
        put("id", id);
        put("status", status.as_str().into());
        put("tenantId", "t-closed".into());
        put("carrierId", CARRIER.into());
        put("accountNumber", "ACC-CLOSED".into());
        put("pon", "PON-CLOSED".into());
        put("createdAt", if open { old.clone() } else { now.clone() });
        put("updatedAt", if open { old.clone() } else { now.clone() });
        m.insert("phoneNumbers".into(), Av::L(vec![Av::S(number.clone())]));
        let mut reqs = Vec::new();
        if open {
            let mut n: HashMap<String, Av> = HashMap::new();
            for (k, v) in [
                ("PK", format!("NUMBER#{number}")),
                ("SK", "NUMBER".into()),
                ("GSI2PK", "TENANT#t-closed".into()),
                ("GSI2SK", format!("NUMBER#{number}")),
                ("number", number.clone()),
                ("tenantId", "t-closed".into()),
                ("addedAt", old.clone()),
                ("openPortOutId", m["id"].as_s().expect("id").clone()),
            ] {
                n.insert(k.into(), Av::S(v));
            }
            reqs.push(n);
        }
        m.insert("version".into(), Av::N("2".into()));
        reqs.push(m);
        reqs.into_iter().map(|m| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(m))
                        .build()
                        .expect("put"),
                )
                .build()
        })
    };
    let batches: Vec<Vec<WriteRequest>> = (0..closed + DUE)
        .flat_map(item)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[_]>::to_vec)
        .collect();
    let results: Vec<_> = stream::iter(batches)
        .map(|batch| {
            let store = store.clone();
            async move {
                let mut pending = HashMap::from([(store.table().to_owned(), batch)]);
                while !pending.is_empty() {
                    let out = store
                        .client()
                        .batch_write_item()
                        .set_request_items(Some(pending))
                        .send()
                        .await?;
                    pending = out.unprocessed_items.unwrap_or_default();
                    pending.retain(|_, v| !v.is_empty());
                }
                Ok::<_, aws_sdk_dynamodb::Error>(())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        results.iter().all(Result::is_ok),
        "closed orders written: {:?}",
        results.iter().find(|r| r.is_err())
    );
    store
}

/// One warm Argon2 `hash` or `verify`, timed by the release `argon2-timer`.
fn argon2_time(a: &Args, mode: &str) -> f64 {
    let out = std::process::Command::new(a.bins.join("argon2-timer"))
        .args([mode, "3"])
        .output()
        .expect("run argon2-timer");
    // The last of three: the first pays page faults on a fresh 19 MiB block,
    // which a warm function (reusing its allocator's memory) does not.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("argon2-timer: {}", String::from_utf8_lossy(&out.stderr)))
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() as f64 - 1.0) * p).round() as usize]
}

fn loadavg() -> Value {
    std::fs::read_to_string("/proc/loadavg").map_or(Value::Null, |s| {
        json!(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
    })
}

#[tokio::main]
async fn main() {
    let a = args();
    // The driver's own SDK clients (set-up) talk to the same DynamoDB Local.
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &a.endpoint);
    std::fs::create_dir_all(&a.out).expect("out dir");
    for f in FUNCTIONS
        .iter()
        .chain(&["floor-hello", "floor-sdk", "argon2-timer"])
    {
        let _ = std::fs::remove_file(a.out.join(format!("{f}.log")));
        assert!(
            a.bins.join(f).exists(),
            "{} missing: build the release binaries first",
            a.bins.join(f).display()
        );
    }
    let started = Instant::now();
    let load_before = loadavg();
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let table = format!("bench-{suffix}");
    let pepper = std::env::var("PIN_PEPPER").expect("PIN_PEPPER");
    let secrets: Value = serde_json::from_str(
        &std::env::var("CARRIER_WEBHOOK_SECRETS").expect("CARRIER_WEBHOOK_SECRETS"),
    )
    .expect("json");
    let hasher = PinHasher::from_secret(&pepper, "PIN_PEPPER").expect("pepper");

    // ---- setup
    eprintln!("[bench] setup: table {table}, tenant, numbers, orders, 1k/10k closed-order tables");
    let store = Store::connect(&table).await;
    store.create_table().await.expect("create table");
    let pool = numbers(a.cold * 3 + a.warm * 2 + 200);
    let pin_hash = provision(&store, &hasher, &pool).await;
    let mut ctx = Ctx {
        numbers: pool,
        next_number: 0,
        webhook: standardwebhooks::Webhook::new(
            secrets[CARRIER].as_str().expect("carrier-a secret"),
        )
        .expect("secret"),
        pin_hash,
        warm_order: String::new(),
        floor_order: String::new(),
        seq: 0,
    };
    let mut order_for = Vec::new();
    for _ in 0..6 {
        let n = ctx.number();
        order_for.push(create_order(&store, &n).await);
    }
    ctx.warm_order = order_for[0].clone();
    ctx.floor_order = order_for[1].clone();
    let closed: Vec<(usize, Store)> = vec![
        (1_000, closed_table(&format!("{table}-1k"), 1_000).await),
        (10_000, closed_table(&format!("{table}-10k"), 10_000).await),
    ];
    let env = env_for(&a.endpoint, &table);
    let mut failures: Vec<String> = Vec::new();

    // ---- 1. cold starts
    eprintln!("[bench] cold starts: {} rounds", a.cold);
    let bins = [
        "floor-hello",
        "floor-sdk",
        "set-pin",
        "submit-port-out",
        "carrier-webhook",
        "status-check",
    ];
    let expected = |b: &str| if b == "submit-port-out" { 201 } else { 200 };
    let mut cold: HashMap<&str, Vec<Value>> = HashMap::new();
    // One unmeasured start of each first: page cache, DynamoDB Local's JIT.
    for round in 0..=a.cold {
        for b in bins {
            let mut f = Function::spawn(b, &a.bins.join(b), &env, &a.out.join(format!("{b}.log")));
            let init = f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
            let req = ctx.request(b);
            let (first, out) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
            let rss = f.peak_rss_kib();
            f.stop();
            if b.starts_with("floor") {
                if !out.ok {
                    failures.push(format!("{b} cold: {}", out.body));
                }
            } else {
                check(&mut failures, &format!("{b} cold"), &out.body, expected(b));
            }
            if round > 0 {
                cold.entry(b)
                    .or_default()
                    .push(json!({"init_ms": ms(init), "first_ms": ms(first), "rss_kib": rss}));
            }
        }
    }

    // ---- 2. warm
    eprintln!(
        "[bench] warm: {} invocations per function, interleaved with its raw-DynamoDB floor",
        a.warm
    );
    let mut warm = serde_json::Map::new();
    let mut argon2_hash = Vec::new();
    let mut argon2_verify = Vec::new();
    for function in FUNCTIONS {
        let mut f = spawn(&a, function, &env);
        let mut floor = spawn(&a, "floor-sdk", &env);
        for _ in 0..10 {
            let r = ctx.request(function);
            f.invoke(&r).expect("warm-up");
            let r = ctx.floor_op(function);
            floor.invoke(&r).expect("warm-up");
        }
        let (mut fs, mut ls) = (Vec::with_capacity(a.warm), Vec::with_capacity(a.warm));
        for i in 0..a.warm {
            let r = ctx.request(function);
            let (d, out) = f.invoke(&r).unwrap_or_else(|e| panic!("{e}"));
            check(
                &mut failures,
                &format!("{function} warm"),
                &out.body,
                expected(function),
            );
            fs.push(ms(d));
            let r = ctx.floor_op(function);
            let (d, out) = floor.invoke(&r).unwrap_or_else(|e| panic!("{e}"));
            if !out.ok {
                failures.push(format!("floor-sdk {function}: {}", out.body));
            }
            ls.push(ms(d));
            if i % 20 == 0 {
                let mode = match function {
                    "set-pin" => Some(("hash", &mut argon2_hash)),
                    "submit-port-out" => Some(("verify", &mut argon2_verify)),
                    _ => None,
                };
                if let Some((mode, samples)) = mode {
                    samples.push(argon2_time(&a, mode));
                }
            }
        }
        eprintln!(
            "[bench]   {function}: p50 {:.2} ms (floor {:.2} ms)",
            percentile(&fs, 0.5),
            percentile(&ls, 0.5)
        );
        let mut entry = json!({
            "samples_ms": fs, "floor_samples_ms": ls,
            "rss_kib": f.peak_rss_kib(), "floor_rss_kib": floor.peak_rss_kib(),
            "init_ms": ms(f.init.unwrap_or_default()),
        });
        f.stop();
        floor.stop();
        // The Argon2 time each warm invocation logged (`argon2_ms`), in order.
        let logged = logged_argon2_ms(&a.out.join(format!("{function}.log")));
        if logged.len() >= a.warm {
            entry["argon2_samples_ms"] = json!(logged[logged.len() - a.warm..]);
        }
        warm.insert(function.into(), entry);
    }
    // Diagnosis for the memory target: the same warm loop with glibc limited
    // to one malloc arena (Argon2's 19 MiB block then stays in one place
    // instead of one copy per blocking thread's arena).
    let mut arena1 = serde_json::Map::new();
    for function in ["set-pin", "submit-port-out"] {
        let mut env1 = env.clone();
        env1.push(("MALLOC_ARENA_MAX".into(), "1".into()));
        let mut f = spawn(&a, function, &env1);
        let mut samples = Vec::new();
        for _ in 0..(a.warm / 5).max(20) {
            let r = ctx.request(function);
            let (d, out) = f.invoke(&r).unwrap_or_else(|e| panic!("{e}"));
            check(
                &mut failures,
                &format!("{function} MALLOC_ARENA_MAX=1"),
                &out.body,
                expected(function),
            );
            samples.push(ms(d));
        }
        arena1.insert(
            function.into(),
            json!({"rss_kib": f.peak_rss_kib(), "samples_ms": samples}),
        );
        f.stop();
    }
    let mut hello = spawn(&a, "floor-hello", &env);
    let mut hs = Vec::new();
    for _ in 0..a.warm {
        let (d, _) = hello.invoke(&json!({"hello": "world"})).expect("hello");
        hs.push(ms(d));
    }
    let hello_rss = hello.peak_rss_kib();
    hello.stop();
    let load_after_timing = loadavg();

    // ---- 3. capacity and round trips
    eprintln!("[bench] capacity: every scenario through the recording proxy");
    let upstream = a
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = proxy::Proxy::start(&upstream);
    let penv = env_for(&proxy.url, &table);
    let mut capacity = Vec::new();
    let mut run = |f: &mut Function, label: &str, req: Value, expect: i64| {
        proxy.take();
        let (_, out) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
        let calls = proxy.take();
        let status = if f.name.starts_with("floor") {
            if out.ok {
                200
            } else {
                500
            }
        } else {
            status_of(&out.body)
        };
        if status != expect {
            failures.push(format!(
                "capacity {label}: expected {expect}, got {}",
                out.body
            ));
        }
        capacity.push(
            json!({"function": f.name, "scenario": label, "status": status,
                             "response": out.body, "calls": calls}),
        );
    };
    let mut f = spawn(&a, "set-pin", &penv);
    run(
        &mut f,
        "PUT /v1/pin (set or change the PIN)",
        ctx.set_pin(),
        200,
    );
    run(&mut f, "GET /v1/pin", ctx.get_pin(), 200);
    // SPEC 11: lock one number; the port-out below asks for it.
    let locked_number = ctx.number();
    run(
        &mut f,
        "PATCH /v1/numbers/{n} (lock a number)",
        api_event(
            "PATCH",
            &format!("/v1/numbers/{locked_number}"),
            Some(("admin", TENANT)),
            &json!({"lock": true}),
            &[],
        ),
        200,
    );
    f.stop();
    let mut f = spawn(&a, "submit-port-out", &penv);
    run(&mut f, "accepted port-out", ctx.port_out(PIN, None), 201);
    run(
        &mut f,
        "rejected port-out (wrong PIN: PIN_MISMATCH)",
        ctx.port_out(WRONG_PIN, None),
        422,
    );
    run(
        &mut f,
        "accepted port-out after a failed attempt (resets the count)",
        ctx.port_out(PIN, None),
        201,
    );
    run(
        &mut f,
        "accepted port-out with Idempotency-Key",
        ctx.port_out(PIN, Some(format!("key-{suffix}"))),
        201,
    );
    run(
        &mut f,
        "locked number (PORT_OUT_LOCKED, PIN not looked at)",
        api_event(
            "POST",
            "/v1/port-outs",
            Some(("carrier", CARRIER)),
            &json!({"accountNumber": ACCOUNT, "pin": PIN, "phoneNumbers": [locked_number],
                    "pon": "PON-BENCH", "authorizedName": "Bench Runner"}),
            &[],
        ),
        422,
    );
    f.stop();
    let mut f = spawn(&a, "carrier-webhook", &penv);
    let (ev, first_id) = ctx.webhook(&order_for[2], "foc_confirmed", None);
    run(&mut f, "pending → foc_confirmed", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[2], "foc_confirmed", None);
    run(
        &mut f,
        "foc_confirmed → foc_confirmed (new FOC date)",
        ev,
        200,
    );
    let (ev, _) = ctx.webhook(&order_for[2], "completed", None);
    run(&mut f, "foc_confirmed → completed (numbers leave)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[3], "completed", None);
    run(&mut f, "pending → completed", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[4], "cancelled", None);
    run(&mut f, "pending → cancelled (numbers freed)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[5], "rejected", None);
    run(&mut f, "pending → rejected (numbers freed)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[2], "completed", None);
    run(&mut f, "completed → completed (unchanged)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[2], "foc_confirmed", Some(&first_id));
    run(&mut f, "duplicate webhook-id", ev, 200);
    f.stop();
    let mut f = spawn(&a, "status-check", &penv);
    run(
        &mut f,
        "scheduled run, main table (nothing due)",
        ctx.scheduled(),
        200,
    );
    f.stop();
    for (n, s) in &closed {
        let mut f = spawn(&a, "status-check", &env_for(&proxy.url, s.table()));
        run(
            &mut f,
            &format!("scheduled run, {n} closed orders + {DUE} due"),
            ctx.scheduled(),
            200,
        );
        f.stop();
    }
    let mut floor = spawn(&a, "floor-sdk", &penv);
    for function in FUNCTIONS {
        let op = ctx.floor_op(function);
        run(&mut floor, &format!("raw floor for {function}"), op, 200);
    }
    floor.stop();

    // ---- results
    let results = json!({
        "started": clock::format(clock::now() - started.elapsed().as_secs() as i64),
        "seconds": started.elapsed().as_secs_f64(),
        "host": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "cpu": std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())),
            "load_before": load_before, "load_after_timing": load_after_timing,
        },
        "params": {"cold": a.cold, "warm": a.warm, "argon2_memory_kib": portguard_secrets::ARGON2_MEMORY_KIB},
        "cold": cold,
        "warm": warm,
        "hello_warm": {"samples_ms": hs, "rss_kib": hello_rss},
        "argon2": {"hash_ms": argon2_hash, "verify_ms": argon2_verify},
        "malloc_arena_max_1": arena1,
        "capacity": capacity,
        "failures": failures,
    });
    let path = a.out.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&results).expect("json"))
        .expect("write results");
    eprintln!(
        "[bench] wrote {} in {:.0} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        eprintln!("[bench] unexpected answers:\n  {}", failures.join("\n  "));
    }
}
