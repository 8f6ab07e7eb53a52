//! Phase 5, the notifier: a DynamoDB stream batch of 100 new audit records,
//! one per tenant, each tenant with an endpoint on the loopback receiver
//! (HTTPS through stunnel); the time from the batch handed over to the last
//! delivery acknowledged, beside `floor-post` making the same number of
//! plain HTTPS POSTs to the same receiver. Then batches of 100 in which one
//! endpoint never answers: the others must all be acknowledged before that
//! one's time limit has elapsed once.

use crate::receiver::{dead_endpoint, Receiver};
use crate::setup::spawn;
use crate::{ms, Args};
use portguard_store::notify::{EndpointChange, Target};
use portguard_store::{clock, clock::Timestamp, Store};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Records in a batch: Lambda's default batch size for a DynamoDB stream.
pub const BATCH: usize = 100;

/// The notifier's per-delivery time limit (`notifier::DELIVERY_TIMEOUT`).
pub const DELIVERY_TIMEOUT_MS: f64 = 5_000.0;

/// What the notifier scenarios share: the receiver, the tenants whose
/// endpoints point at it, and the one whose endpoint never answers.
pub struct Hooks {
    pub receiver: Receiver,
    pub url: String,
    pub tenants: Vec<String>,
    pub dead_tenant: String,
    pub no_endpoint_tenant: String,
}

/// Starts the receiver on `listen` (stunnel serves it as `url`) and the
/// dead endpoint, and registers the tenants' endpoints.
pub async fn setup(store: &Store, listen: &str, url: &str) -> Hooks {
    let receiver = Receiver::start(listen);
    let dead = format!("https://127.0.0.1:{}/dead", dead_endpoint());
    let tenants: Vec<String> = (0..BATCH).map(|i| format!("t-notify-{i:03}")).collect();
    let dead_tenant = "t-notify-dead".to_owned();
    let now = Timestamp::now();
    let mut all: Vec<(String, String)> = tenants
        .iter()
        .map(|t| (t.clone(), format!("{}/hook/{t}", url.trim_end_matches('/'))))
        .collect();
    all.push((dead_tenant.clone(), dead));
    for (tenant, endpoint) in &all {
        let secret = portguard_secrets::new_endpoint_secret();
        let change = EndpointChange {
            url: endpoint,
            secret: Some(&secret),
            now,
        };
        store
            .write_endpoint(
                &Target::Tenant(tenant.parse().expect("tenant id")),
                None,
                change,
                None,
            )
            .await
            .expect("endpoint written");
    }
    Hooks {
        receiver,
        url: url.to_owned(),
        tenants,
        dead_tenant,
        no_endpoint_tenant: "t-notify-none".to_owned(),
    }
}

/// A new audit item of `tenant` as the table's stream hands it to Lambda;
/// and its id, which the notifier sends as `webhook-id`.
pub fn record(tenant: &str) -> (Value, String) {
    let ulid = ulid::Ulid::new().to_string();
    let id = format!("ae_{ulid}");
    let now = clock::now();
    let image = json!({
        "PK": {"S": format!("TENANT#{tenant}")}, "SK": {"S": format!("AUDIT#{ulid}")},
        "id": {"S": id}, "tenantId": {"S": tenant}, "time": {"S": clock::format(now)},
        "ts": {"N": now.to_string()}, "type": {"S": "pin.changed"},
        "actorKind": {"S": "tenant_admin"}, "actorId": {"S": "bench"},
        "sourceIp": {"S": "203.0.113.7"}
    });
    let rec = json!({
        "eventID": ulid, "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/2026-12-01T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": now,
            "Keys": {"PK": image["PK"], "SK": image["SK"]},
            "NewImage": image,
            "SequenceNumber": format!("{}", 100_000_000_000_u64 + ulid::Ulid::new().random() as u64 % 1_000_000_000),
            "SizeBytes": 256, "StreamViewType": "NEW_IMAGE"
        }
    });
    (rec, id)
}

/// `{"Records": [...]}` for `tenants`, and the webhook ids to expect.
pub fn batch(tenants: &[String]) -> (Value, Vec<String>) {
    let (records, ids): (Vec<Value>, Vec<String>) = tenants.iter().map(|t| record(t)).unzip();
    (json!({ "Records": records }), ids)
}

/// The same deliveries for `floor-post`: one plain POST per tenant, all of
/// them at once (the notifier's deliveries of one batch are concurrent up
/// to the batch size).
fn floor_batch(h: &Hooks) -> (Value, Vec<String>) {
    floor_posts(h, &h.tenants)
}

/// `floor-post`'s event: one plain POST to each of `tenants`' endpoints,
/// all at once; and the webhook ids to expect.
pub fn floor_posts(h: &Hooks, tenants: &[String]) -> (Value, Vec<String>) {
    let posts: Vec<(Value, String)> = tenants
        .iter()
        .map(|t| {
            let id = format!("floor_{}", ulid::Ulid::new());
            let body = json!({"type": "pin.changed", "timestamp": clock::format(clock::now()),
                              "data": {"tenantId": t, "id": id, "type": "pin.changed",
                                       "actor": {"kind": "tenant_admin", "id": "bench"}}});
            (
                json!({"url": format!("{}/hook/{t}", h.url.trim_end_matches('/')), "id": id,
                       "body": body.to_string()}),
                id,
            )
        })
        .collect();
    let (posts, ids): (Vec<Value>, Vec<String>) = posts.into_iter().unzip();
    (json!({"posts": posts, "concurrency": BATCH}), ids)
}

/// Milliseconds from `t0` to the last of `acks`; `None` if one is missing.
fn last(t0: Instant, acks: &[Option<Instant>]) -> Option<f64> {
    acks.iter()
        .map(|a| a.map(|a| ms(a.saturating_duration_since(t0))))
        .try_fold(0.0_f64, |m, x| x.map(|x| m.max(x)))
}

pub fn run(a: &Args, env: &[(String, String)], h: &Hooks, failures: &mut Vec<String>) -> Value {
    let rounds = a.cold.clamp(3, 20);
    eprintln!("[bench] notifier: {rounds} batches of {BATCH} deliveries beside floor-post, then 3 with a dead endpoint");
    let mut notifier = spawn(a, "notifier", env);
    let mut floor = spawn(a, "floor-post", env);
    let (mut batch_ms, mut invoke_ms, mut floor_ms) = (Vec::new(), Vec::new(), Vec::new());
    // Round 0 is unmeasured: it opens the pooled connections of both.
    for round in 0..=rounds {
        let (ev, ids) = batch(&h.tenants);
        let t0 = Instant::now();
        let (d, out) = notifier.invoke(&ev).unwrap_or_else(|e| panic!("{e}"));
        let acks = h.receiver.acks(&ids, Duration::from_secs(10));
        if out.body["batchItemFailures"]
            .as_array()
            .is_none_or(|f| !f.is_empty())
        {
            failures.push(format!("notifier batch: {}", out.body));
        }
        let notified = last(t0, &acks);
        let (fev, fids) = floor_batch(h);
        let t0 = Instant::now();
        let (_, fout) = floor.invoke(&fev).unwrap_or_else(|e| panic!("{e}"));
        let facks = h.receiver.acks(&fids, Duration::from_secs(10));
        if fout.body["failed"] != 0 {
            failures.push(format!("floor-post: {}", fout.body));
        }
        let floored = last(t0, &facks);
        match (notified, floored) {
            (Some(n), Some(f)) if round > 0 => {
                batch_ms.push(n);
                invoke_ms.push(ms(d));
                floor_ms.push(f);
            }
            (Some(_), Some(_)) => {}
            _ => failures.push(format!(
                "notifier round {round}: a delivery was never acknowledged"
            )),
        }
    }
    let mut dead = Vec::new();
    for _ in 0..3 {
        // The dead endpoint's record first, so its attempt starts at once.
        let mut tenants = vec![h.dead_tenant.clone()];
        tenants.extend(h.tenants.iter().take(BATCH - 1).cloned());
        let (ev, ids) = batch(&tenants);
        let t0 = Instant::now();
        let (d, out) = notifier.invoke(&ev).unwrap_or_else(|e| panic!("{e}"));
        let acks = h.receiver.acks(&ids[1..], Duration::from_secs(10));
        if out.body["batchItemFailures"]
            .as_array()
            .is_none_or(|f| !f.is_empty())
        {
            failures.push(format!("notifier batch with a dead endpoint: {}", out.body));
        }
        match last(t0, &acks) {
            Some(live) => dead.push(json!({"live_last_ms": live, "invocation_ms": ms(d)})),
            None => {
                failures.push("with a dead endpoint, a live delivery was never acknowledged".into())
            }
        }
    }
    let rss = notifier.peak_rss_kib();
    let floor_rss = floor.peak_rss_kib();
    notifier.stop();
    floor.stop();
    json!({
        "batch": BATCH, "floor_concurrency": BATCH,
        "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
        "batch_ms": batch_ms, "invocation_ms": invoke_ms, "floor_ms": floor_ms,
        "dead": dead, "rss_kib": rss, "floor_rss_kib": floor_rss,
    })
}
