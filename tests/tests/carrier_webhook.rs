//! `carrier-webhook` (contract §5) against DynamoDB Local, through real API
//! Gateway v2 events signed as Standard Webhooks: every row of the contract §5
//! table, every transition of contract §4.3, where the numbers go, dedupe, the
//! audit trail, and that no secret is ever logged.
//!
//! Signatures are made by the harness (`portguard_tests::sign`, `hmac` +
//! `sha2`), not with the crate the
//! function verifies with, so the test checks the wire format itself.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use carrier_webhook::App;
use portguard_rules::OrderStatus;
use portguard_secrets::WebhookSecrets;
use portguard_store::{
    clock, orders::CreateOutcome, orders::TransitionOutcome, Actor, ActorKind, AuditEvent,
    AuditType, NewOrder, Order, Source, Store,
};
use portguard_tests::typed::*;
use portguard_tests::{
    answer, captured_logs, event_with, fresh_store, items_with_prefix, provision, request, sign,
    Answer, As, WEBHOOK_SECRETS,
};
use serde_json::{json, Value};

use portguard_tests::fixtures::{ACCOUNT, TENANT};
const N: [&str; 6] = portguard_tests::fixtures::numbers();
// The development secrets of `WEBHOOK_SECRETS`.
use portguard_tests::fixtures::{SECRET_A, SECRET_B};
/// A third secret, for rotation.
const SECRET_NEW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

fn new_id() -> String {
    format!("msg_{}", ulid::Ulid::new())
}

fn path(carrier: &str) -> String {
    format!("/v1/carrier-events/{carrier}")
}

/// A webhook event with exactly these headers.
fn raw_event(carrier: &str, body: &str, headers: &[(&str, &str)]) -> Value {
    event_with("POST", &path(carrier), "", As::Nobody, Some(body), headers)
}

/// An event signed by `secret` for `carrier` with the given id and time.
fn signed_as(carrier: &str, secret: &str, id: &str, ts: i64, body: &str) -> Value {
    let ts_s = ts.to_string();
    let sig = sign(secret, id, ts, body);
    raw_event(
        carrier,
        body,
        &[
            ("webhook-id", id),
            ("webhook-timestamp", &ts_s),
            ("webhook-signature", &sig),
        ],
    )
}

fn secret_of(carrier: &str) -> &'static str {
    match carrier {
        "carrier-b" => SECRET_B,
        _ => SECRET_A,
    }
}

/// A correctly signed event, now, with this webhook id.
fn signed_with_id(carrier: &str, id: &str, body: &Value) -> Value {
    signed_as(
        carrier,
        secret_of(carrier),
        id,
        clock::now(),
        &body.to_string(),
    )
}

fn signed(carrier: &str, body: &Value) -> Value {
    signed_with_id(carrier, &new_id(), body)
}

fn completed(id: impl AsRef<str>) -> Value {
    let id = id.as_ref();
    json!({"type": "port_out.completed", "portOutId": id})
}
/// A date `n` days from today (FOC dates are checked against the clock).
fn day(n: i64) -> String {
    portguard_tests::date_in(n)
}

fn foc(id: impl AsRef<str>, date: &str) -> Value {
    let id = id.as_ref();
    json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": date})
}
fn cancelled(id: impl AsRef<str>) -> Value {
    let id = id.as_ref();
    json!({"type": "port_out.cancelled", "portOutId": id, "reason": "customer withdrew"})
}
fn rejected(id: impl AsRef<str>) -> Value {
    let id = id.as_ref();
    json!({"type": "port_out.rejected", "portOutId": id, "reason": "name mismatch"})
}

struct Env {
    store: Store,
    app: App,
}

fn secrets(json: &str) -> WebhookSecrets {
    WebhookSecrets::from_secret(json, "CARRIER_WEBHOOK_SECRETS").expect("valid secrets")
}

async fn setup() -> Env {
    let _ = captured_logs();
    let store = fresh_store().await;
    provision(&store, TENANT, ACCOUNT, "US", &N).await;
    Env {
        app: App::new(store.clone(), secrets(WEBHOOK_SECRETS)),
        store,
    }
}

/// A new pending order of `carrier` for `numbers`, created now.
fn new_order(carrier: &str, numbers: &[&str]) -> Order {
    Order::new(NewOrder {
        tenant_id: &tid(TENANT),
        carrier_id: &cid(carrier),
        account_number: ACCOUNT,
        phone_numbers: nums(numbers),
        pon: Some("PON-7781"),
        source: Source::Api,
        external_id: None,
        authorized_name: Some("Jane Doe"),
        requested_foc_date: Day::parse(&day(7)),
        now: Timestamp::now(),
    })
}

/// Writes `order` and reserves its numbers, as `submit-port-out` does.
async fn insert(store: &Store, order: &Order) {
    let tenant = store
        .tenant_by_account(ACCOUNT)
        .await
        .unwrap()
        .expect("provisioned");
    let audit = AuditEvent::new(
        &tenant.tenant_id,
        clock::now(),
        AuditType::PortOutRequested,
        Actor {
            kind: ActorKind::Carrier,
            id: Some(order.carrier_id.to_string()),
        },
    )
    .port_out(&order.id);
    let created = store
        .create_order(order, &tenant, None, &audit, None)
        .await
        .unwrap();
    assert_eq!(created, CreateOutcome::Created);
}

/// A pending order of `carrier` reserving `numbers`, written with the store.
async fn open_order(store: &Store, carrier: &str, numbers: &[&str]) -> Order {
    let order = new_order(carrier, numbers);
    insert(store, &order).await;
    order
}

async fn send(app: &App, event: &Value) -> Answer {
    answer(app.handle(request(event)).await)
}

async fn send_body(env: &Env, carrier: &str, body: &Value) -> Answer {
    send(&env.app, &signed(carrier, body)).await
}

async fn status_of(store: &Store, id: &OrderId) -> Order {
    store.get_order(id).await.unwrap().expect("order exists")
}

/// The number's item: `None` once it left the tenant's inventory.
async fn number(store: &Store, e164: &str) -> Option<Value> {
    let out = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("NUMBER#{e164}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("NUMBER".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item().map(|i| {
        let open = i.get("openPortOutId").and_then(|v| v.as_s().ok()).cloned();
        json!({ "openPortOutId": open })
    })
}

async fn assert_reserved(store: &Store, numbers: &[&str], by: impl AsRef<str>) {
    let by = by.as_ref();
    for n in numbers {
        assert_eq!(
            number(store, n).await,
            Some(json!({ "openPortOutId": by })),
            "{n} reserved by {by}"
        );
    }
}

async fn assert_free(store: &Store, numbers: &[&str]) {
    for n in numbers {
        assert_eq!(
            number(store, n).await,
            Some(json!({ "openPortOutId": null })),
            "{n} free"
        );
    }
}

async fn assert_gone(store: &Store, numbers: &[&str]) {
    for n in numbers {
        assert_eq!(number(store, n).await, None, "{n} left the inventory");
    }
    let listed: Vec<String> = store
        .list_numbers(&tid(TENANT))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.number.to_string())
        .collect();
    for n in numbers {
        assert!(!listed.contains(&n.to_string()), "{n} still listed");
    }
}

async fn webhook_records(store: &Store) -> usize {
    items_with_prefix(store, "WEBHOOK#").await.len()
}

async fn status_changes(store: &Store) -> Vec<AuditEvent> {
    store
        .list_audit(&tid(TENANT), 100, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.kind == AuditType::PortOutStatusChanged)
        .collect()
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.raw);
    assert_eq!(a.code(), code, "{}", a.raw);
    assert!(
        a.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        a.raw
    );
}

fn assert_result(a: &Answer, result: &str) {
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["result"], result, "{}", a.raw);
}

/// Moves an order to `to` through the webhook (or, for `expired`, the
/// store as the scheduler does).
async fn drive_to(env: &Env, order: &Order, to: OrderStatus) {
    let body = match to {
        OrderStatus::Completed => completed(&order.id),
        OrderStatus::Cancelled => cancelled(&order.id),
        OrderStatus::Rejected => rejected(&order.id),
        OrderStatus::FocConfirmed => foc(&order.id, &day(7)),
        OrderStatus::Expired => {
            let current = status_of(&env.store, &order.id).await;
            let now = clock::now();
            let audit = AuditEvent::new(
                &tid(TENANT),
                now,
                AuditType::PortOutStatusChanged,
                Actor {
                    kind: ActorKind::Scheduler,
                    id: None,
                },
            )
            .port_out(&order.id)
            .status("expired");
            let out = env
                .store
                .transition_order(
                    &current,
                    OrderStatus::Expired,
                    None,
                    Timestamp::from_unix(now),
                    &audit,
                    None,
                )
                .await
                .unwrap();
            assert!(matches!(out, TransitionOutcome::Applied(_)));
            return;
        }
        OrderStatus::Pending => unreachable!("nothing moves an order back to pending"),
    };
    let a = send_body(env, order.carrier_id.as_str(), &body).await;
    assert_result(&a, "applied");
    assert_eq!(a.body["portOut"]["status"], to.as_str());
}

// ---------------------------------------------------------------------------
// routing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn other_methods_and_paths() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let body = completed(&order.id).to_string();
    let ts = clock::now();
    let sig = sign(SECRET_A, "msg_1", ts, &body);
    let ts = ts.to_string();
    let headers = [
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
    ];
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let e = event_with(
            method,
            &path("carrier-a"),
            "",
            As::Nobody,
            Some(&body),
            &headers,
        );
        let a = send(&env.app, &e).await;
        assert_error(&a, 405, "METHOD_NOT_ALLOWED");
    }
    for p in [
        "/v1/carrier-events",
        "/v1/carrier-events/",
        "/v1/carrier-events/carrier-a/extra",
        "/v1/carrier-event/carrier-a",
        "/v1/pin",
    ] {
        let e = event_with("POST", p, "", As::Nobody, Some(&body), &headers);
        assert_error(&send(&env.app, &e).await, 404, "NOT_FOUND");
    }
    assert_eq!(
        status_of(&env.store, &order.id).await.status,
        OrderStatus::Pending
    );
    // A trailing slash is the same route.
    let e = event_with(
        "POST",
        "/v1/carrier-events/carrier-a/",
        "",
        As::Nobody,
        Some(&body),
        &headers,
    );
    assert_result(&send(&env.app, &e).await, "applied");
}

// ---------------------------------------------------------------------------
// signatures: 401 INVALID_SIGNATURE, before anything else
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unknown_carrier_is_401() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let body = completed(&order.id).to_string();
    for secret in [SECRET_A, SECRET_B] {
        let e = signed_as("carrier-z", secret, &new_id(), clock::now(), &body);
        assert_error(&send(&env.app, &e).await, 401, "INVALID_SIGNATURE");
    }
    assert_eq!(
        status_of(&env.store, &order.id).await.status,
        OrderStatus::Pending
    );
    assert_eq!(webhook_records(&env.store).await, 0);
}

#[tokio::test]
async fn each_missing_header_is_401() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let body = completed(&order.id).to_string();
    let id = new_id();
    let ts = clock::now();
    let sig = sign(SECRET_A, &id, ts, &body);
    let ts = ts.to_string();
    let all = [
        ("webhook-id", id.as_str()),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
    ];
    for missing in 0..all.len() {
        let headers: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != missing)
            .map(|(_, h)| *h)
            .collect();
        let a = send(&env.app, &raw_event("carrier-a", &body, &headers)).await;
        assert_error(&a, 401, "INVALID_SIGNATURE");
        // Empty values are as good as missing.
        let mut empty = all.to_vec();
        empty[missing].1 = "";
        let a = send(&env.app, &raw_event("carrier-a", &body, &empty)).await;
        assert_error(&a, 401, "INVALID_SIGNATURE");
    }
    assert_eq!(
        status_of(&env.store, &order.id).await.status,
        OrderStatus::Pending
    );
    // With all three it goes through.
    assert_result(
        &send(&env.app, &raw_event("carrier-a", &body, &all)).await,
        "applied",
    );
}

#[tokio::test]
async fn bad_signatures_are_401() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let body = completed(&order.id).to_string();
    let id = new_id();
    let ts = clock::now();
    let good = sign(SECRET_A, &id, ts, &body);
    let ts_s = ts.to_string();
    let cases: Vec<(String, String, String)> = vec![
        // another carrier's secret
        (id.clone(), ts_s.clone(), sign(SECRET_B, &id, ts, &body)),
        // signed for another id / another timestamp
        (new_id(), ts_s.clone(), good.clone()),
        ((ts - 1).to_string(), ts_s.clone(), good.clone()),
        (id.clone(), (ts - 1).to_string(), good.clone()),
        // wrong version tag, garbage, a truncated signature
        (id.clone(), ts_s.clone(), good.replacen("v1,", "v2,", 1)),
        (id.clone(), ts_s.clone(), "v1,not-base64!!".into()),
        (id.clone(), ts_s.clone(), good[..good.len() - 4].to_owned()),
        (
            id.clone(),
            ts_s.clone(),
            good.trim_start_matches("v1,").into(),
        ),
        // a timestamp that is not a number
        (id.clone(), "yesterday".into(), good.clone()),
    ];
    for (hid, hts, hsig) in &cases {
        let e = raw_event(
            "carrier-a",
            &body,
            &[
                ("webhook-id", hid),
                ("webhook-timestamp", hts),
                ("webhook-signature", hsig),
            ],
        );
        let a = send(&env.app, &e).await;
        assert_error(&a, 401, "INVALID_SIGNATURE");
    }
    // The signature covers the exact body: one changed byte fails.
    let tampered = body.replace("completed", "cancelled");
    let e = raw_event(
        "carrier-a",
        &tampered,
        &[
            ("webhook-id", &id),
            ("webhook-timestamp", &ts_s),
            ("webhook-signature", &good),
        ],
    );
    assert_error(&send(&env.app, &e).await, 401, "INVALID_SIGNATURE");
    assert_eq!(
        status_of(&env.store, &order.id).await.status,
        OrderStatus::Pending
    );
    assert_eq!(webhook_records(&env.store).await, 0);
}

#[tokio::test]
async fn stale_and_future_timestamps_are_401() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let body = completed(&order.id).to_string();
    let now = clock::now();
    for ts in [now - 301, now - 3600, now + 301, now + 86400, 0] {
        let e = signed_as("carrier-a", SECRET_A, &new_id(), ts, &body);
        let a = send(&env.app, &e).await;
        assert_error(&a, 401, "INVALID_SIGNATURE");
    }
    assert_eq!(
        status_of(&env.store, &order.id).await.status,
        OrderStatus::Pending
    );
    // Within the tolerance (a little clock skew either way) is fine.
    let e = signed_as("carrier-a", SECRET_A, &new_id(), now + 200, &body);
    assert_result(&send(&env.app, &e).await, "applied");
    let e = signed_as("carrier-a", SECRET_A, &new_id(), now - 200, &body);
    assert_result(&send(&env.app, &e).await, "unchanged");
}

#[tokio::test]
async fn rotation_a_header_with_two_signatures() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let body = completed(&order.id).to_string();
    let id = new_id();
    let ts = clock::now();
    // The sender signs with its old and new secrets; only the second is ours.
    let header = format!(
        "{} {}",
        sign(SECRET_NEW, &id, ts, &body),
        sign(SECRET_A, &id, ts, &body)
    );
    let ts = ts.to_string();
    let e = raw_event(
        "carrier-a",
        &body,
        &[
            ("webhook-id", &id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &header),
        ],
    );
    assert_result(&send(&env.app, &e).await, "applied");
}

#[tokio::test]
async fn rotation_a_carrier_with_two_secrets() {
    let env = setup().await;
    let config = json!({"carrier-a": [SECRET_A, SECRET_NEW], "carrier-b": SECRET_B}).to_string();
    let app = App::new(env.store.clone(), secrets(&config));
    let one = open_order(&env.store, "carrier-a", &N[..1]).await;
    let two = open_order(&env.store, "carrier-a", &N[1..2]).await;
    // Either secret is accepted while the carrier moves from one to the other.
    let e = signed_as(
        "carrier-a",
        SECRET_A,
        &new_id(),
        clock::now(),
        &completed(&one.id).to_string(),
    );
    assert_result(&send(&app, &e).await, "applied");
    let e = signed_as(
        "carrier-a",
        SECRET_NEW,
        &new_id(),
        clock::now(),
        &completed(&two.id).to_string(),
    );
    assert_result(&send(&app, &e).await, "applied");
    // Anything else is not.
    let three = open_order(&env.store, "carrier-a", &N[2..3]).await;
    let e = signed_as(
        "carrier-a",
        SECRET_B,
        &new_id(),
        clock::now(),
        &completed(&three.id).to_string(),
    );
    assert_error(&send(&app, &e).await, 401, "INVALID_SIGNATURE");
    // The function with only the old secret refuses the new one.
    let e = signed_as(
        "carrier-a",
        SECRET_NEW,
        &new_id(),
        clock::now(),
        &completed(&three.id).to_string(),
    );
    assert_error(&send(&env.app, &e).await, 401, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn the_signature_is_checked_before_anything_else() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let id = new_id();
    // A processed webhook id...
    assert_result(
        &send(
            &env.app,
            &signed_with_id("carrier-a", &id, &completed(&order.id)),
        )
        .await,
        "applied",
    );
    // ...a malformed body, an unknown order, an invalid transition, a
    // replayed id: without a valid signature each is 401, nothing else.
    for body in [
        "not json".to_owned(),
        json!({"type": "port_out.nope"}).to_string(),
        completed("po_UNKNOWN").to_string(),
        cancelled(&order.id).to_string(),
        completed(&order.id).to_string(),
    ] {
        let e = signed_as("carrier-a", SECRET_B, &id, clock::now(), &body);
        assert_error(&send(&env.app, &e).await, 401, "INVALID_SIGNATURE");
    }
}

#[tokio::test]
async fn verified_over_the_exact_decoded_bytes() {
    let env = setup().await;
    let one = open_order(&env.store, "carrier-a", &N[..1]).await;
    let two = open_order(&env.store, "carrier-a", &N[1..2]).await;
    // Odd spacing, key order and escapes: re-serialising would break it.
    let body = format!(
        "{{ \"portOutId\" : \"{}\",\n  \"type\":\"port_out.completed\", \"note\": \"caf\\u00e9 \u{00e9}\" }}",
        one.id
    );
    let e = signed_as("carrier-a", SECRET_A, &new_id(), clock::now(), &body);
    assert_result(&send(&env.app, &e).await, "applied");
    // API Gateway may base64-encode the body.
    let body = completed(&two.id).to_string();
    let mut e = signed_as("carrier-a", SECRET_A, &new_id(), clock::now(), &body);
    e["body"] = json!(B64.encode(body.as_bytes()));
    e["isBase64Encoded"] = json!(true);
    assert_result(&send(&env.app, &e).await, "applied");
}

// ---------------------------------------------------------------------------
// 400 INVALID_EVENT, 404 PORT_OUT_NOT_FOUND; neither is recorded
// ---------------------------------------------------------------------------

#[tokio::test]
async fn signed_but_malformed_is_400_and_its_id_can_be_retried() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let id = &order.id;
    let bad: Vec<String> = vec![
        "".into(),
        "not json".into(),
        "[]".into(),
        "null".into(),
        json!("port_out.completed").to_string(),
        json!({"portOutId": id}).to_string(),
        json!({"type": null, "portOutId": id}).to_string(),
        json!({"type": 1, "portOutId": id}).to_string(),
        json!({"type": "port_out.unknown", "portOutId": id}).to_string(),
        json!({"type": "port_out.expired", "portOutId": id}).to_string(),
        json!({"type": "port_out.pending", "portOutId": id}).to_string(),
        json!({"type": "completed", "portOutId": id}).to_string(),
        json!({"type": "port_out.completed"}).to_string(),
        json!({"type": "port_out.completed", "portOutId": 7}).to_string(),
        json!({"type": "port_out.completed", "portOutId": ""}).to_string(),
        json!({"type": "port_out.foc_confirmed", "portOutId": id}).to_string(),
        json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": "2026-02-30"}).to_string(),
        json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": "12/03/2026"}).to_string(),
        json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": "2026-12-3"}).to_string(),
        json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": format!("{}T00:00:00Z", day(7))}).to_string(),
        json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": 20261203}).to_string(),
        json!({"type": "port_out.cancelled", "portOutId": id, "reason": ["x"]}).to_string(),
    ];
    let webhook_id = new_id();
    for body in &bad {
        let e = signed_as("carrier-a", SECRET_A, &webhook_id, clock::now(), body);
        let a = send(&env.app, &e).await;
        assert_error(&a, 400, "INVALID_EVENT");
    }
    assert_eq!(
        status_of(&env.store, &order.id).await.status,
        OrderStatus::Pending
    );
    assert_eq!(
        webhook_records(&env.store).await,
        0,
        "a 4xx is not processed"
    );
    // The same webhook id, now with a good body, is handled afresh.
    let a = send(
        &env.app,
        &signed_with_id("carrier-a", &webhook_id, &foc(&order.id, &day(7))),
    )
    .await;
    assert_result(&a, "applied");
    assert_eq!(a.body["portOut"]["focDate"], day(7));
}

#[tokio::test]
async fn an_oversized_webhook_id_is_400() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let id = "m".repeat(256);
    let a = send(
        &env.app,
        &signed_with_id("carrier-a", &id, &completed(&order.id)),
    )
    .await;
    assert_error(&a, 400, "INVALID_EVENT");
    let id = "m".repeat(255);
    let a = send(
        &env.app,
        &signed_with_id("carrier-a", &id, &completed(&order.id)),
    )
    .await;
    assert_result(&a, "applied");
}

#[tokio::test]
async fn unknown_or_other_carriers_orders_are_404() {
    let env = setup().await;
    let theirs = open_order(&env.store, "carrier-b", &N[..1]).await;
    let webhook_id = new_id();
    let long = format!("po_{}", "X".repeat(3000));
    for id in [
        "po_01JF8Z2X9K3M5N7P9Q1R3S5T7V",
        "nothing",
        "ORDER#x",
        long.as_str(),
        theirs.id.as_str(),
    ] {
        for body in [completed(id), foc(id, &day(7)), cancelled(id)] {
            let a = send(&env.app, &signed_with_id("carrier-a", &webhook_id, &body)).await;
            assert_error(&a, 404, "PORT_OUT_NOT_FOUND");
        }
    }
    // The other carrier's order did not move, and answered like a missing one.
    assert_eq!(
        status_of(&env.store, &theirs.id).await.status,
        OrderStatus::Pending
    );
    assert_reserved(&env.store, &N[..1], &theirs.id).await;
    assert_eq!(
        webhook_records(&env.store).await,
        0,
        "a 404 is not processed"
    );
    // Its own carrier can move it, even reusing that (unprocessed) webhook id.
    let a = send(
        &env.app,
        &signed_with_id("carrier-b", &webhook_id, &completed(&theirs.id)),
    )
    .await;
    assert_result(&a, "applied");
}

// ---------------------------------------------------------------------------
// dedupe and unchanged
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_processed_webhook_id_is_a_duplicate_and_changes_nothing() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..2]).await;
    let id = new_id();
    let first = signed_with_id("carrier-a", &id, &foc(&order.id, &day(7)));
    assert_result(&send(&env.app, &first).await, "applied");
    let after_first = status_of(&env.store, &order.id).await;
    let audits = status_changes(&env.store).await.len();

    // The exact same delivery again, a fresh signature of it, and the same
    // id carrying another event: all duplicates.
    let again = [
        first.clone(),
        signed_with_id("carrier-a", &id, &foc(&order.id, &day(7))),
        signed_with_id("carrier-a", &id, &foc(&order.id, &day(21))),
        signed_with_id("carrier-a", &id, &completed(&order.id)),
    ];
    for e in &again {
        let a = send(&env.app, e).await;
        assert_result(&a, "duplicate");
        assert_eq!(a.body, json!({"result": "duplicate"}));
    }
    assert_eq!(status_of(&env.store, &order.id).await, after_first);
    assert_eq!(status_changes(&env.store).await.len(), audits);
    assert_reserved(&env.store, &N[..2], &order.id).await;
    // A retry that arrives after the order moved past its event is still a
    // duplicate, not an invalid transition.
    let done = signed("carrier-a", &completed(&order.id));
    assert_result(&send(&env.app, &done).await, "applied");
    for e in [&first, &done] {
        assert_result(&send(&env.app, e).await, "duplicate");
    }
    // Dedupe is per carrier: another carrier's id of the same value is its own.
    let mine = open_order(&env.store, "carrier-b", &N[2..3]).await;
    let a = send(
        &env.app,
        &signed_with_id("carrier-b", &id, &completed(&mine.id)),
    )
    .await;
    assert_result(&a, "applied");
}

#[tokio::test]
async fn a_terminal_order_already_in_the_state_is_unchanged() {
    let env = setup().await;
    for to in [
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
    ] {
        let order = open_order(&env.store, "carrier-a", &N[..1]).await;
        drive_to(&env, &order, to).await;
        let before = status_of(&env.store, &order.id).await;
        let audits = status_changes(&env.store).await.len();
        let body = match to {
            OrderStatus::Completed => completed(&order.id),
            OrderStatus::Cancelled => cancelled(&order.id),
            _ => rejected(&order.id),
        };
        let id = new_id();
        let a = send(&env.app, &signed_with_id("carrier-a", &id, &body)).await;
        assert_result(&a, "unchanged");
        assert_eq!(a.body, json!({"result": "unchanged"}));
        assert_eq!(status_of(&env.store, &order.id).await, before);
        assert_eq!(status_changes(&env.store).await.len(), audits);
        // An unchanged event was processed: its id is now a duplicate.
        let a = send(&env.app, &signed_with_id("carrier-a", &id, &body)).await;
        assert_result(&a, "duplicate");
        if to == OrderStatus::Completed {
            // the numbers are gone; provision them again for the next round
            let now = Timestamp::now();
            env.store
                .add_number(&tid(TENANT), &num(N[0]), now)
                .await
                .unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// the life cycle of contract §4.3
// ---------------------------------------------------------------------------

#[tokio::test]
async fn pending_to_foc_confirmed() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..2]).await;
    let a = send_body(&env, "carrier-a", &foc(&order.id, &day(7))).await;
    assert_result(&a, "applied");
    let po = &a.body["portOut"];
    assert_eq!(po["id"], order.id.as_str());
    assert_eq!(po["status"], "foc_confirmed");
    assert_eq!(po["focDate"], day(7));
    assert_eq!(po["requestedFocDate"], day(7));
    assert_eq!(po["carrierId"], "carrier-a");
    assert_eq!(po["accountNumber"], ACCOUNT);
    assert_eq!(po["phoneNumbers"], json!(N[..2]));
    assert_eq!(po["createdAt"], order.created_at.to_string());
    assert!(po["updatedAt"]
        .as_str()
        .is_some_and(|t| clock::parse(t).is_some()));
    assert!(po.get("tenantId").is_none() && po.get("version").is_none());
    assert_eq!(
        a.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let stored = status_of(&env.store, &order.id).await;
    assert_eq!(stored.status, OrderStatus::FocConfirmed);
    assert_eq!(
        stored.foc_date.map(|d| d.to_string()).as_deref(),
        Some(day(7).as_str())
    );
    assert_eq!(serde_json::to_value(&stored).unwrap(), *po);
    // Still reserved: a confirmed order is open.
    assert_reserved(&env.store, &N[..2], &order.id).await;
}

#[tokio::test]
async fn foc_confirmed_again_moves_the_date() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    assert_result(
        &send_body(&env, "carrier-a", &foc(&order.id, &day(7))).await,
        "applied",
    );
    let a = send_body(&env, "carrier-a", &foc(&order.id, &day(14))).await;
    assert_result(&a, "applied");
    assert_eq!(a.body["portOut"]["status"], "foc_confirmed");
    assert_eq!(a.body["portOut"]["focDate"], day(14));
    let a = send_body(&env, "carrier-a", &foc(&order.id, &day(0))).await;
    assert_eq!(a.body["portOut"]["focDate"], day(0));
    assert_eq!(
        status_of(&env.store, &order.id)
            .await
            .foc_date
            .map(|d| d.to_string())
            .as_deref(),
        Some(day(0).as_str())
    );
    // The OpenOrders key follows the date (the status check reads it).
    let item = items_with_prefix(&env.store, &format!("ORDER#{}", order.id)).await;
    assert_eq!(
        item[0]["OPENSK"].as_s().unwrap(),
        &format!("{}T00:00:00Z#{}", day(0), order.id)
    );
    assert_eq!(item[0]["OPENPK"].as_s().unwrap(), "OPEN#foc_confirmed");
    assert_reserved(&env.store, &N[..1], &order.id).await;
}

#[tokio::test]
async fn completed_removes_the_numbers_from_the_inventory() {
    let env = setup().await;
    // pending → completed
    let direct = open_order(&env.store, "carrier-a", &N[..2]).await;
    // pending → foc_confirmed → completed
    let via_foc = open_order(&env.store, "carrier-a", &N[2..4]).await;
    drive_to(&env, &via_foc, OrderStatus::FocConfirmed).await;

    for (order, numbers) in [(&direct, &N[..2]), (&via_foc, &N[2..4])] {
        let a = send_body(&env, "carrier-a", &completed(&order.id)).await;
        assert_result(&a, "applied");
        assert_eq!(a.body["portOut"]["status"], "completed");
        assert_gone(&env.store, numbers).await;
        let stored = status_of(&env.store, &order.id).await;
        assert_eq!(stored.status, OrderStatus::Completed);
        // Closed orders leave the OpenOrders index.
        let item = items_with_prefix(&env.store, &format!("ORDER#{}", order.id)).await;
        assert!(!item[0].contains_key("OPENPK") && !item[0].contains_key("OPENSK"));
    }
    assert_eq!(
        via_foc.id,
        status_of(&env.store, &via_foc.id).await.id,
        "order kept"
    );
    assert_eq!(
        status_of(&env.store, &via_foc.id)
            .await
            .foc_date
            .map(|d| d.to_string())
            .as_deref(),
        Some(day(7).as_str()),
        "completing keeps the FOC date"
    );
    // The untouched numbers are still the tenant's.
    assert_free(&env.store, &N[4..]).await;
}

#[tokio::test]
async fn cancelled_and_rejected_free_the_numbers() {
    let env = setup().await;
    for to in [OrderStatus::Cancelled, OrderStatus::Rejected] {
        for from_foc in [false, true] {
            let order = open_order(&env.store, "carrier-a", &N[..3]).await;
            if from_foc {
                drive_to(&env, &order, OrderStatus::FocConfirmed).await;
            }
            assert_reserved(&env.store, &N[..3], &order.id).await;
            drive_to(&env, &order, to).await;
            assert_eq!(status_of(&env.store, &order.id).await.status, to);
            assert_free(&env.store, &N[..3]).await;
            let item = items_with_prefix(&env.store, &format!("ORDER#{}", order.id)).await;
            assert!(!item[0].contains_key("OPENPK"));
            // A new order can reserve them (the next round does).
        }
    }
    let last = open_order(&env.store, "carrier-b", &N[..3]).await;
    assert_reserved(&env.store, &N[..3], &last.id).await;
}

#[tokio::test]
async fn no_terminal_state_moves_to_another() {
    let env = setup().await;
    let terminal = [
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
    ];
    for (i, from) in terminal.into_iter().enumerate() {
        let numbers = &N[i..i + 1];
        let order = open_order(&env.store, "carrier-a", numbers).await;
        drive_to(&env, &order, from).await;
        let before = status_of(&env.store, &order.id).await;
        let audits = status_changes(&env.store).await.len();
        for (body, target) in [
            (foc(&order.id, &day(7)), OrderStatus::FocConfirmed),
            (completed(&order.id), OrderStatus::Completed),
            (cancelled(&order.id), OrderStatus::Cancelled),
            (rejected(&order.id), OrderStatus::Rejected),
        ] {
            let webhook_id = new_id();
            let a = send(&env.app, &signed_with_id("carrier-a", &webhook_id, &body)).await;
            if target == from {
                assert_result(&a, "unchanged");
            } else {
                assert_error(&a, 409, "INVALID_TRANSITION");
                assert_eq!(a.body["error"]["details"]["status"], from.as_str());
                // A 409 is not processed: its id is handled afresh (and
                // refused again, since the order is still terminal).
                let a = send(&env.app, &signed_with_id("carrier-a", &webhook_id, &body)).await;
                assert_error(&a, 409, "INVALID_TRANSITION");
            }
        }
        assert_eq!(status_of(&env.store, &order.id).await, before, "{from}");
        assert_eq!(status_changes(&env.store).await.len(), audits);
        match from {
            OrderStatus::Completed => assert_gone(&env.store, numbers).await,
            _ => assert_free(&env.store, numbers).await,
        }
    }
}

#[tokio::test]
async fn out_of_order_events() {
    let env = setup().await;
    // completed, then a late foc_confirmed: refused, the order stays completed.
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    assert_result(
        &send_body(&env, "carrier-a", &completed(&order.id)).await,
        "applied",
    );
    let a = send_body(&env, "carrier-a", &foc(&order.id, &day(7))).await;
    assert_error(&a, 409, "INVALID_TRANSITION");
    let stored = status_of(&env.store, &order.id).await;
    assert_eq!(stored.status, OrderStatus::Completed);
    assert_eq!(stored.foc_date, None);
    // cancelled, then completed: refused; the numbers stay free.
    let order = open_order(&env.store, "carrier-a", &N[1..2]).await;
    assert_result(
        &send_body(&env, "carrier-a", &cancelled(&order.id)).await,
        "applied",
    );
    let a = send_body(&env, "carrier-a", &completed(&order.id)).await;
    assert_error(&a, 409, "INVALID_TRANSITION");
    assert_free(&env.store, &N[1..2]).await;
    // Two foc_confirmed with different ids: the later one moves the date.
    let order = open_order(&env.store, "carrier-a", &N[2..3]).await;
    assert_result(
        &send_body(&env, "carrier-a", &foc(&order.id, &day(7))).await,
        "applied",
    );
    assert_result(
        &send_body(&env, "carrier-a", &foc(&order.id, &day(14))).await,
        "applied",
    );
    assert_eq!(
        status_of(&env.store, &order.id)
            .await
            .foc_date
            .map(|d| d.to_string())
            .as_deref(),
        Some(day(14).as_str())
    );
}

#[tokio::test]
async fn racing_deliveries_of_one_event_apply_once() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..2]).await;
    let id = new_id();
    let e = signed_with_id("carrier-a", &id, &completed(&order.id));
    let answers = futures::future::join_all((0..4).map(|_| send(&env.app, &e))).await;
    let applied = answers
        .iter()
        .filter(|a| a.body["result"] == "applied")
        .count();
    assert_eq!(
        applied,
        1,
        "{:?}",
        answers.iter().map(|a| &a.raw).collect::<Vec<_>>()
    );
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.raw);
        assert!(["applied", "duplicate"].contains(&a.body["result"].as_str().unwrap()));
    }
    assert_eq!(status_changes(&env.store).await.len(), 1);
    assert_gone(&env.store, &N[..2]).await;
}

#[tokio::test]
async fn racing_different_events_leave_no_half_state() {
    let env = setup().await;
    for round in 0..5 {
        let order = open_order(&env.store, "carrier-a", &N[..2]).await;
        let (done, cancel) = (completed(&order.id), cancelled(&order.id));
        let (a, b) = tokio::join!(
            send_body(&env, "carrier-a", &done),
            send_body(&env, "carrier-a", &cancel),
        );
        let stored = status_of(&env.store, &order.id).await;
        let winners = [&a, &b]
            .iter()
            .filter(|x| x.body["result"] == "applied")
            .count();
        assert_eq!(winners, 1, "round {round}: {} / {}", a.raw, b.raw);
        let loser = if a.body["result"] == "applied" {
            &b
        } else {
            &a
        };
        assert_error(loser, 409, "INVALID_TRANSITION");
        match stored.status {
            OrderStatus::Completed => {
                assert_gone(&env.store, &N[..2]).await;
                let now = Timestamp::now();
                for n in &N[..2] {
                    env.store
                        .add_number(&tid(TENANT), &num(n), now)
                        .await
                        .unwrap();
                }
            }
            OrderStatus::Cancelled => assert_free(&env.store, &N[..2]).await,
            other => panic!("half state {other}"),
        }
    }
}

// ---------------------------------------------------------------------------
// audit, errors, logs, the fixture
// ---------------------------------------------------------------------------

#[tokio::test]
async fn each_transition_is_audited() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    assert_result(
        &send_body(&env, "carrier-a", &foc(&order.id, &day(7))).await,
        "applied",
    );
    assert_result(
        &send_body(&env, "carrier-a", &completed(&order.id)).await,
        "applied",
    );
    let events = status_changes(&env.store).await; // newest first
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].status.as_deref(), Some("completed"));
    assert_eq!(events[1].status.as_deref(), Some("foc_confirmed"));
    for e in &events {
        assert_eq!(
            e.actor,
            Actor {
                kind: ActorKind::Carrier,
                id: Some("carrier-a".into())
            }
        );
        assert_eq!(e.source_ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(
            e.port_out_id.as_ref().map(|i| i.as_str()),
            Some(order.id.as_str())
        );
        assert_eq!(e.code, None);
        assert!(e.id.as_str().starts_with("ae_"));
        let shown = serde_json::to_value(e).unwrap();
        assert_eq!(shown["type"], "port_out.status_changed");
        assert_eq!(
            shown["actor"],
            json!({"kind": "carrier", "id": "carrier-a"})
        );
    }
    // Refusals do not write status changes.
    let a = send_body(&env, "carrier-a", &cancelled(&order.id)).await;
    assert_error(&a, 409, "INVALID_TRANSITION");
    assert_eq!(status_changes(&env.store).await.len(), 2);
}

#[tokio::test]
async fn an_unreachable_table_is_503_and_changes_nothing() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let down = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        env.store.table(),
    );
    let app = App::new(down, secrets(WEBHOOK_SECRETS));
    let a = send(&app, &signed("carrier-a", &completed(&order.id))).await;
    assert_error(&a, 503, "UNAVAILABLE");
    assert!(
        !a.raw.contains("127.0.0.1") && !a.raw.contains("dispatch"),
        "{}",
        a.raw
    );
    assert_eq!(
        status_of(&env.store, &order.id).await.status,
        OrderStatus::Pending
    );
    // A bad signature is still 401 without touching the table.
    let e = signed_as(
        "carrier-a",
        SECRET_B,
        &new_id(),
        clock::now(),
        &completed(&order.id).to_string(),
    );
    assert_error(&send(&app, &e).await, 401, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn secrets_never_reach_logs_or_answers() {
    let env = setup().await;
    let order = open_order(&env.store, "carrier-a", &N[..1]).await;
    let mut answers = Vec::new();
    let e = signed_as(
        "carrier-a",
        SECRET_B,
        &new_id(),
        clock::now(),
        &completed(&order.id).to_string(),
    );
    answers.push(send(&env.app, &e).await.raw);
    answers.push(
        send_body(&env, "carrier-a", &completed(&order.id))
            .await
            .raw,
    );
    answers.push(
        send_body(&env, "carrier-a", &cancelled(&order.id))
            .await
            .raw,
    );
    let logs = captured_logs();
    assert!(logs.contains("INVALID_SIGNATURE") || logs.contains("invalid signature"));
    for text in answers.iter().chain([&logs]) {
        for secret in [SECRET_A, SECRET_B] {
            assert!(!text.contains(secret.trim_start_matches("whsec_")));
        }
        assert!(!text.contains("whsec_"));
    }
    let table = portguard_tests::dump_table(&env.store).await;
    assert!(!table.contains("whsec_") && !table.contains(SECRET_A.trim_start_matches("whsec_")));
}

/// `events/carrier-webhook.json` is a real API Gateway v2 event (a
/// `port_out.completed`: it carries no date, so it never expires): as
/// committed its signature has expired (401); re-signed as
/// `examples/sign.rs` does, it is applied.
#[tokio::test]
async fn the_committed_fixture() {
    let env = setup().await;
    let fixture: Value =
        serde_json::from_str(include_str!("../../events/carrier-webhook.json")).unwrap();
    assert!(fixture["requestContext"].get("authorizer").is_none());
    let h = &fixture["headers"];
    let ts: i64 = h["webhook-timestamp"].as_str().unwrap().parse().unwrap();
    if (clock::now() - ts).abs() > 300 {
        let a = send(&env.app, &fixture).await;
        assert_error(&a, 401, "INVALID_SIGNATURE");
    }

    // Its signature is genuine, only old: the same bytes at their own time
    // verify with the development secret.
    let body = fixture["body"].as_str().unwrap();
    assert_eq!(
        sign(SECRET_A, h["webhook-id"].as_str().unwrap(), ts, body),
        h["webhook-signature"].as_str().unwrap()
    );

    // An order with the fixture's id, then the fixture re-signed now.
    let parsed: Value = serde_json::from_str(body).unwrap();
    let mut order = new_order("carrier-a", &N[5..]);
    order.id = oid(parsed["portOutId"].as_str().unwrap());
    insert(&env.store, &order).await;
    let mut fresh = fixture.clone();
    let id = new_id();
    let now = clock::now();
    fresh["headers"]["webhook-id"] = json!(id);
    fresh["headers"]["webhook-timestamp"] = json!(now.to_string());
    fresh["headers"]["webhook-signature"] = json!(sign(SECRET_A, &id, now, body));
    let a = send(&env.app, &fresh).await;
    assert_result(&a, "applied");
    assert_eq!(a.body["portOut"]["status"], "completed");
}

/// A FOC date is bounded by the order's creation too (contract §5): an order
/// created 100 days ago can be confirmed at most 20 days ahead, so no
/// carrier rolls the date forward for ever, one confirmation at a time.
#[tokio::test]
async fn a_foc_date_is_at_most_120_days_after_the_orders_creation() {
    let env = setup().await;
    let mut order = new_order("carrier-a", &N[..1]);
    order.created_at = Timestamp::from_unix(clock::now() - 100 * 86_400);
    order.updated_at = order.created_at;
    insert(&env.store, &order).await;
    let a = send_body(&env, "carrier-a", &foc(&order.id, &day(21))).await;
    assert_error(&a, 400, "INVALID_EVENT");
    assert_eq!(status_of(&env.store, &order.id).await.foc_date, None);
    let a = send_body(&env, "carrier-a", &foc(&order.id, &day(19))).await;
    assert_result(&a, "applied");
    assert_eq!(a.body["portOut"]["focDate"], day(19));
}
