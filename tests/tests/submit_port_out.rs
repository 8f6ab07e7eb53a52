//! `submit-port-out` (contract §4) against DynamoDB Local, through real API
//! Gateway v2 events: the twelve checks and their order, the lockout, races,
//! idempotency, reads, the audit trail, and that no PIN ever leaks.

use futures::future::join_all;
use portguard_rules::{LockPolicy, OrderStatus};
use portguard_store::{clock, ActorKind, AuditEvent, AuditType, Store};
use portguard_tests::typed::*;
use portguard_tests::{
    answer, captured_logs, dump_table, event, event_with, fresh_store, hasher, items_with_prefix,
    provision, request, Answer, As,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use submit_port_out::App;

use portguard_tests::fixtures::{PIN, WRONG_PIN as WRONG};
/// Presented PINs of the wrong shape (never a failed attempt).
const BAD_FORMAT: [&str; 3] = ["7319x84", "73-19-84-55", "4815162342123"];
use portguard_tests::fixtures::{ACCOUNT, TENANT};
const PATH: &str = "/v1/port-outs";

/// Numbers on t-100's account.
use portguard_tests::fixtures::NUMBERS as N;

const FAST: LockPolicy = LockPolicy {
    max_failed_attempts: 5,
    lockout_seconds: 2,
};

struct Env {
    store: Store,
    app: Arc<App>,
}

/// A fresh table with t-100 (US, PIN set, numbers N), and the function.
async fn setup(policy: LockPolicy) -> Env {
    let store = fresh_store().await;
    provision(&store, TENANT, ACCOUNT, "US", &N).await;
    set_pin(&store, TENANT, PIN).await;
    Env {
        app: Arc::new(App::new(store.clone(), hasher(), policy)),
        store,
    }
}

async fn set_pin(store: &Store, tenant: &'static str, pin: &str) {
    let pins = set_pin::App::new(store.clone(), hasher());
    let body = json!({ "pin": pin }).to_string();
    let a = answer(
        pins.handle(request(&event(
            "PUT",
            "/v1/pin",
            As::Admin(tenant),
            Some(&body),
        )))
        .await,
    );
    assert_eq!(a.status, 200, "{}", a.raw);
}

fn body(pin: &str, numbers: &[&str]) -> Value {
    json!({
        "accountNumber": ACCOUNT,
        "pin": pin,
        "phoneNumbers": numbers,
        "pon": "PON-7781",
        "authorizedName": "Jane Doe",
        "requestedFocDate": portguard_tests::date_in(7)
    })
}

async fn send(app: &App, ev: Value) -> Answer {
    answer(app.handle(request(&ev)).await)
}

async fn post_raw(app: &App, who: As, raw: &str, key: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    send(app, event_with("POST", PATH, "", who, Some(raw), &headers)).await
}

async fn post_as(app: &App, carrier: &'static str, body: &Value, key: Option<&str>) -> Answer {
    post_raw(app, As::Carrier(carrier), &body.to_string(), key).await
}

async fn post(app: &App, body: &Value) -> Answer {
    post_as(app, "carrier-a", body, None).await
}

async fn get(app: &App, who: As, path: &str, query: &str) -> Answer {
    send(app, event_with("GET", path, query, who, None, &[])).await
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!((a.status, a.code()), (status, code), "{}", a.raw);
}

async fn audit(store: &Store, tenant: &str) -> Vec<AuditEvent> {
    store
        .list_audit(&tid(tenant), 100, None)
        .await
        .unwrap()
        .items
}

fn count(events: &[AuditEvent], kind: AuditType, code: Option<&str>) -> usize {
    events
        .iter()
        .filter(|e| e.kind == kind && (code.is_none() || e.code.as_deref() == code))
        .count()
}

/// carrier-a's failed attempts (the carrier of `post`).
async fn failed_attempts(store: &Store) -> u32 {
    store
        .get_tenant(&tid(TENANT))
        .await
        .unwrap()
        .unwrap()
        .locks
        .of("carrier-a")
        .failed_attempts
}

fn attr<'a>(
    item: &'a std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

// ---------------------------------------------------------------- success

#[tokio::test]
async fn accepted_port_out_is_201_with_location_and_the_order() {
    let env = setup(FAST).await;
    let a = post(&env.app, &body(PIN, &["+12065550100", "(206) 555-0101"])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("po_") && id.len() == 29, "{id}");
    assert_eq!(a.headers["location"], format!("/v1/port-outs/{id}"));
    let b = &a.body;
    assert_eq!(b["status"], "pending");
    assert_eq!(b["accountNumber"], ACCOUNT);
    assert_eq!(b["carrierId"], "carrier-a");
    assert_eq!(b["phoneNumbers"], json!(["+12065550100", "+12065550101"]));
    assert_eq!(b["pon"], "PON-7781");
    assert_eq!(b["authorizedName"], "Jane Doe");
    assert_eq!(b["requestedFocDate"], portguard_tests::date_in(7));
    assert_eq!(b["focDate"], Value::Null);
    assert!(clock::parse(b["createdAt"].as_str().unwrap()).is_some());
    assert_eq!(b["createdAt"], b["updatedAt"]);
    assert!(b.get("tenantId").is_none() && b.get("version").is_none());

    // One order, both numbers reserved for it, the attempt audited.
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 1);
    for n in ["+12065550100", "+12065550101"] {
        let item = &items_with_prefix(&env.store, &format!("NUMBER#{n}")).await[0];
        assert_eq!(attr(item, "openPortOutId"), Some(id.as_str()));
    }
    let events = audit(&env.store, TENANT).await;
    let requested: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AuditType::PortOutRequested)
        .collect();
    assert_eq!(requested.len(), 1);
    assert_eq!(
        requested[0].port_out_id.as_ref().map(|i| i.as_str()),
        Some(id.as_str())
    );
    assert_eq!(requested[0].actor.kind, ActorKind::Carrier);
    assert_eq!(requested[0].actor.id.as_deref(), Some("carrier-a"));
    assert_eq!(requested[0].source_ip.as_deref(), Some("203.0.113.7"));
}

#[tokio::test]
async fn optional_fields_may_be_absent_and_unknown_fields_are_ignored() {
    let env = setup(FAST).await;
    let raw = json!({"accountNumber": ACCOUNT, "pin": PIN, "phoneNumbers": ["2065550102"],
                     "pon": "P1", "authorizedName": null, "extra": {"x": 1}});
    let a = post(&env.app, &raw).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(a.body["authorizedName"], Value::Null);
    assert_eq!(a.body["requestedFocDate"], Value::Null);
    assert_eq!(a.body["phoneNumbers"], json!(["+12065550102"]));
}

// ---------------------------------------------------------- the 12 checks

#[tokio::test]
async fn rule_1_malformed_requests_are_invalid_request() {
    let env = setup(FAST).await;
    let good = body(PIN, &[N[0]]);
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b.to_string()
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(k);
        b.to_string()
    };
    let cases = vec![
        ("not json".to_owned(), "{not json"),
        ("[1,2]".to_owned(), "array"),
        ("\"text\"".to_owned(), "string"),
        ("".to_owned(), "empty"),
        (without("accountNumber"), "no account"),
        (without("pin"), "no pin"),
        (without("phoneNumbers"), "no numbers"),
        (without("pon"), "no pon"),
        (with("pin", json!(48151623)), "pin a number"),
        (with("pin", Value::Null), "pin null"),
        (with("accountNumber", json!(1001)), "account a number"),
        (with("accountNumber", json!("ACC#1001")), "account invalid"),
        (with("accountNumber", json!("")), "account empty"),
        (with("phoneNumbers", json!([])), "numbers empty"),
        (
            with("phoneNumbers", json!("+12065550100")),
            "numbers a string",
        ),
        (
            with("phoneNumbers", json!([12065550100_i64])),
            "number not a string",
        ),
        (with("pon", json!("PON 7781")), "pon space"),
        (with("pon", json!("")), "pon empty"),
        (with("pon", json!("A".repeat(26))), "pon long"),
        (
            with("requestedFocDate", json!("2026-02-30")),
            "no such date",
        ),
        (with("requestedFocDate", json!("03/12/2026")), "date format"),
        (with("requestedFocDate", json!(20261203)), "date a number"),
        (with("authorizedName", json!("")), "name empty"),
        (with("authorizedName", json!("x".repeat(101))), "name long"),
        (with("authorizedName", json!(["Jane"])), "name not a string"),
    ];
    for (raw, what) in &cases {
        let a = post_raw(&env.app, As::Carrier("carrier-a"), raw, None).await;
        assert_eq!(
            (a.status, a.code()),
            (400, "INVALID_REQUEST"),
            "{what}: {}",
            a.raw
        );
        assert!(a.body["error"]["message"].as_str().unwrap().len() > 10);
    }
    let good = good.to_string();
    for key in [String::new(), "k".repeat(256)] {
        let a = post_raw(&env.app, As::Carrier("carrier-a"), &good, Some(&key)).await;
        assert_error(&a, 400, "INVALID_REQUEST");
    }
    // 255 characters is fine.
    let a = post_raw(
        &env.app,
        As::Carrier("carrier-a"),
        &good,
        Some(&"k".repeat(255)),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
}

#[tokio::test]
async fn rule_2_more_than_50_numbers_is_too_many() {
    let env = setup(FAST).await;
    let many: Vec<String> = (0..51)
        .map(|i| format!("+1206555{:04}", 1000 + i))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let a = post(&env.app, &body(PIN, &many)).await;
    assert_error(&a, 422, "TOO_MANY_NUMBERS");
    // 50 passes the check (and fails later: they are not on the account).
    let a = post(&env.app, &body(PIN, &many[..50])).await;
    assert_error(&a, 422, "NUMBER_NOT_ON_ACCOUNT");
    assert_eq!(
        a.body["error"]["details"]["numbers"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
}

#[tokio::test]
async fn rule_3_invalid_numbers_are_listed_as_given() {
    let env = setup(FAST).await;
    let a = post(
        &env.app,
        &body(
            PIN,
            &["+12065550100", "555-0100", "+14165550100", "(206) 555-01OO"],
        ),
    )
    .await;
    assert_error(&a, 400, "INVALID_PHONE_NUMBER");
    assert_eq!(
        a.body["error"]["details"]["numbers"],
        json!(["555-0100", "+14165550100", "(206) 555-01OO"])
    );
}

#[tokio::test]
async fn rule_4_the_same_number_twice_is_a_duplicate() {
    let env = setup(FAST).await;
    let a = post(
        &env.app,
        &body(PIN, &["+12065550100", "(206) 555-0100", "2065550101"]),
    )
    .await;
    assert_error(&a, 400, "DUPLICATE_PHONE_NUMBER");
    assert_eq!(
        a.body["error"]["details"]["numbers"],
        json!(["+12065550100"])
    );
}

#[tokio::test]
async fn rule_5_bad_pin_format_is_not_a_failed_attempt() {
    let env = setup(FAST).await;
    for _ in 0..3 {
        for bad in BAD_FORMAT.iter().chain(&["12345", "", "４８１５１６２３"]) {
            let a = post(&env.app, &body(bad, &[N[0]])).await;
            assert_error(&a, 400, "INVALID_PIN_FORMAT");
        }
    }
    assert_eq!(failed_attempts(&env.store).await, 0);
    let a = post(&env.app, &body(PIN, &[N[0]])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
}

#[tokio::test]
async fn rule_6_unknown_account_is_account_not_found() {
    let env = setup(FAST).await;
    let mut b = body(PIN, &[N[0]]);
    b["accountNumber"] = json!("ACC-9999");
    let a = post(&env.app, &b).await;
    assert_error(&a, 422, "ACCOUNT_NOT_FOUND");
}

#[tokio::test]
async fn rule_7_non_us_tenant_is_not_eligible() {
    let env = setup(FAST).await;
    provision(&env.store, "t-ca", "ACC-CA", "CA", &[]).await;
    let mut b = body(PIN, &[N[0]]);
    b["accountNumber"] = json!("ACC-CA");
    let a = post(&env.app, &b).await;
    assert_error(&a, 422, "TENANT_NOT_ELIGIBLE");
    let events = audit(&env.store, "t-ca").await;
    assert_eq!(
        count(
            &events,
            AuditType::PortOutRejected,
            Some("TENANT_NOT_ELIGIBLE")
        ),
        1
    );
}

#[tokio::test]
async fn rule_8_tenant_without_pin_cannot_port_out() {
    let env = setup(FAST).await;
    provision(&env.store, "t-nopin", "ACC-NOPIN", "US", &["+13125550100"]).await;
    let b = json!({"accountNumber": "ACC-NOPIN", "pin": PIN,
                   "phoneNumbers": ["+13125550100"], "pon": "PON-1"});
    let a = post(&env.app, &b).await;
    assert_error(&a, 422, "PIN_NOT_SET");
}

#[tokio::test]
async fn rule_9_locked_tenant_refuses_even_the_right_pin() {
    let env = setup(LockPolicy {
        max_failed_attempts: 2,
        lockout_seconds: 600,
    })
    .await;
    let a = post(&env.app, &body(WRONG, &[N[0]])).await;
    assert_error(&a, 422, "PIN_MISMATCH");
    let a = post(&env.app, &body(WRONG, &[N[0]])).await;
    assert_error(&a, 429, "PIN_LOCKED");
    let a = post(&env.app, &body(PIN, &[N[0]])).await;
    assert_error(&a, 429, "PIN_LOCKED");
    let retry: i64 = a.headers["retry-after"].parse().unwrap();
    assert!((590..=600).contains(&retry), "{retry}");
    // The lock comes before the numbers: a foreign number changes nothing.
    let a = post(&env.app, &body(PIN, &["+13125550199"])).await;
    assert_error(&a, 429, "PIN_LOCKED");
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 0);
}

#[tokio::test]
async fn rule_10_wrong_pin_is_a_mismatch_and_counts() {
    let env = setup(FAST).await;
    let a = post(&env.app, &body(WRONG, &[N[0]])).await;
    assert_error(&a, 422, "PIN_MISMATCH");
    assert!(!a.headers.contains_key("retry-after"));
    assert_eq!(failed_attempts(&env.store).await, 1);
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 0);
}

#[tokio::test]
async fn rule_11_numbers_not_on_the_account_are_listed_in_e164() {
    let env = setup(FAST).await;
    provision(&env.store, "t-200", "ACC-2002", "US", &["+13125550100"]).await;
    let a = post(
        &env.app,
        &body(PIN, &[N[0], "(312) 555-0100", "1.415.555.0199"]),
    )
    .await;
    assert_error(&a, 422, "NUMBER_NOT_ON_ACCOUNT");
    assert_eq!(
        a.body["error"]["details"]["numbers"],
        json!(["+13125550100", "+14155550199"])
    );
    // Nothing reserved, nothing created.
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 0);
    let item = &items_with_prefix(&env.store, &format!("NUMBER#{}", N[0])).await[0];
    assert_eq!(attr(item, "openPortOutId"), None);
    assert!(items_with_prefix(&env.store, "NUMBER#+14155550199")
        .await
        .is_empty());
}

#[tokio::test]
async fn rule_12_numbers_in_an_open_port_out_are_in_progress() {
    let env = setup(FAST).await;
    let first = post(&env.app, &body(PIN, &[N[0], N[1]])).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let a = post_as(
        &env.app,
        "carrier-b",
        &body(PIN, &["2065550101", N[2]]),
        None,
    )
    .await;
    assert_error(&a, 409, "PORT_OUT_IN_PROGRESS");
    assert_eq!(
        a.body["error"]["details"]["numbers"],
        json!(["+12065550101"])
    );
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 1);
    let item = &items_with_prefix(&env.store, &format!("NUMBER#{}", N[2])).await[0];
    assert_eq!(attr(item, "openPortOutId"), None, "no partial reservation");
}

// ---------------------------------------------------------- rule order

#[tokio::test]
async fn earlier_rules_win() {
    let env = setup(FAST).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        // 1 before 3
        (
            {
                let mut b = body(PIN, &["bad"]);
                b["pon"] = json!("P O N");
                b
            },
            400,
            "INVALID_REQUEST",
        ),
        // 2 before 3
        (body(PIN, &["bad"; 51]), 422, "TOO_MANY_NUMBERS"),
        // 3 before 4 and 5
        (
            body("x", &["bad", "+12065550100", "+12065550100"]),
            400,
            "INVALID_PHONE_NUMBER",
        ),
        // 4 before 5
        (
            body("x", &["+12065550100", "+12065550100"]),
            400,
            "DUPLICATE_PHONE_NUMBER",
        ),
        // 5 before 6
        (
            {
                let mut b = body("x", &[N[0]]);
                b["accountNumber"] = json!("ACC-9999");
                b
            },
            400,
            "INVALID_PIN_FORMAT",
        ),
        // 10 before 11
        (body(WRONG, &["+13125550100"]), 422, "PIN_MISMATCH"),
    ];
    for (b, status, code) in cases {
        let a = post(&env.app, &b).await;
        assert_error(&a, status, code);
    }
    // 10 before 12
    let a = post(&env.app, &body(PIN, &[N[3]])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let a = post(&env.app, &body(WRONG, &[N[3]])).await;
    assert_error(&a, 422, "PIN_MISMATCH");
    // 11 before 12 is decided per number; both lists name their numbers.
    let a = post(&env.app, &body(PIN, &[N[3], "+13125550100"])).await;
    assert_error(&a, 422, "NUMBER_NOT_ON_ACCOUNT");
}

// ------------------------------------------------------------- lockout

/// Lockout is per carrier (contract §4.1): carrier-a guessing until it is
/// locked leaves carrier-b free to port with the right PIN, and
/// `GET /v1/pin` names only carrier-a.
#[tokio::test]
async fn one_carrier_locked_out_does_not_lock_out_another() {
    // A lock that outlasts the test on a busy machine (FAST's 2 s did not).
    let env = setup(LockPolicy {
        lockout_seconds: 300,
        ..FAST
    })
    .await;
    for _ in 0..4 {
        assert_error(
            &post(&env.app, &body(WRONG, &[N[0]])).await,
            422,
            "PIN_MISMATCH",
        );
    }
    assert_error(
        &post(&env.app, &body(WRONG, &[N[0]])).await,
        429,
        "PIN_LOCKED",
    );
    // carrier-a is locked even with the right PIN...
    assert_error(
        &post(&env.app, &body(PIN, &[N[0]])).await,
        429,
        "PIN_LOCKED",
    );
    // ...carrier-b is not, and its wrong PINs count on its own.
    let b = post_as(&env.app, "carrier-b", &body(WRONG, &[N[0]]), None).await;
    assert_error(&b, 422, "PIN_MISMATCH");
    let b = post_as(&env.app, "carrier-b", &body(PIN, &[N[0]]), None).await;
    assert_eq!(b.status, 201, "{}", b.raw);
    let tenant = env.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert!(tenant.locks.of("carrier-a").locked_until.is_some());
    assert_eq!(
        tenant.locks.of("carrier-b"),
        portguard_rules::LockState::default(),
        "carrier-b's right PIN reset its own count"
    );
    let pin = set_pin::App::new(env.store.clone(), portguard_tests::hasher());
    let a = answer(
        pin.handle(request(&portguard_tests::event(
            "GET",
            "/v1/pin",
            As::Admin(TENANT),
            None,
        )))
        .await,
    );
    assert_eq!(a.body["locked"], true, "{}", a.raw);
    let carriers = a.body["lockedCarriers"].as_array().unwrap();
    assert_eq!(carriers.len(), 1, "{}", a.raw);
    assert_eq!(carriers[0]["carrierId"], "carrier-a");
    assert_eq!(carriers[0]["until"], a.body["lockedUntil"]);
    assert!(carriers[0]["until"].is_string());
}

#[tokio::test]
async fn lockout_locks_on_the_fifth_wrong_pin_then_gives_fresh_attempts() {
    let env = setup(FAST).await;
    for i in 1..=4 {
        let a = post(&env.app, &body(WRONG, &[N[0]])).await;
        assert_error(&a, 422, "PIN_MISMATCH");
        assert_eq!(failed_attempts(&env.store).await, i);
    }
    let a = post(&env.app, &body(WRONG, &[N[0]])).await;
    assert_error(&a, 429, "PIN_LOCKED");
    let retry: i64 = a.headers["retry-after"].parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let a = post(&env.app, &body(PIN, &[N[0]])).await;
    assert_error(&a, 429, "PIN_LOCKED");
    assert!(a.headers.contains_key("retry-after"));

    // The lock ends: a fresh set of attempts (four wrong do not lock).
    tokio::time::sleep(Duration::from_millis(3100)).await;
    for _ in 0..4 {
        let a = post(&env.app, &body(WRONG, &[N[0]])).await;
        assert_error(&a, 422, "PIN_MISMATCH");
    }
    // A right PIN resets the count...
    let a = post(&env.app, &body(PIN, &[N[0]])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(failed_attempts(&env.store).await, 0);
    // ...so four more wrong ones still do not lock, and the fifth does.
    for _ in 0..4 {
        let a = post(&env.app, &body(WRONG, &[N[1]])).await;
        assert_error(&a, 422, "PIN_MISMATCH");
    }
    let a = post(&env.app, &body(WRONG, &[N[1]])).await;
    assert_error(&a, 429, "PIN_LOCKED");

    let events = audit(&env.store, TENANT).await;
    assert_eq!(count(&events, AuditType::PinLocked, None), 2);
    assert_eq!(
        count(&events, AuditType::PortOutRejected, Some("PIN_MISMATCH")),
        12
    );
    // Only the first PIN_LOCKED of each lock is recorded (contract §4.1): the
    // right PIN sent into the first lock is not.
    assert_eq!(
        count(&events, AuditType::PortOutRejected, Some("PIN_LOCKED")),
        2
    );
    assert_eq!(count(&events, AuditType::PortOutRequested, None), 1);
}

#[tokio::test]
async fn right_pin_resets_the_count_even_when_the_order_fails() {
    let env = setup(FAST).await;
    let taken = post(&env.app, &body(PIN, &[N[5]])).await;
    assert_eq!(taken.status, 201);
    for _ in 0..4 {
        let a = post(&env.app, &body(WRONG, &[N[0]])).await;
        assert_error(&a, 422, "PIN_MISMATCH");
    }
    let a = post(&env.app, &body(PIN, &["+13125550100"])).await;
    assert_error(&a, 422, "NUMBER_NOT_ON_ACCOUNT");
    assert_eq!(failed_attempts(&env.store).await, 0);
    for _ in 0..4 {
        let a = post(&env.app, &body(WRONG, &[N[0]])).await;
        assert_error(&a, 422, "PIN_MISMATCH");
    }
    let a = post(&env.app, &body(PIN, &[N[5]])).await;
    assert_error(&a, 409, "PORT_OUT_IN_PROGRESS");
    assert_eq!(failed_attempts(&env.store).await, 0);
}

#[tokio::test]
async fn third_lock_within_a_day_is_hard_until_the_admin_sets_a_pin() {
    let env = setup(LockPolicy {
        max_failed_attempts: 2,
        lockout_seconds: 1,
    })
    .await;
    for lock in 1..=3 {
        let a = post(&env.app, &body(WRONG, &[N[0]])).await;
        assert_error(&a, 422, "PIN_MISMATCH");
        let a = post(&env.app, &body(WRONG, &[N[0]])).await;
        assert_error(&a, 429, "PIN_LOCKED");
        if lock < 3 {
            assert!(a.headers.contains_key("retry-after"), "timed lock {lock}");
            tokio::time::sleep(Duration::from_millis(1600)).await;
        } else {
            assert!(!a.headers.contains_key("retry-after"), "hard lock");
        }
    }
    // The hard lock outlives the lockout time; even the right PIN is refused.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let a = post(&env.app, &body(PIN, &[N[0]])).await;
    assert_error(&a, 429, "PIN_LOCKED");
    assert!(!a.headers.contains_key("retry-after"));
    let tenant = env.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert!(tenant.locks.of("carrier-a").hard_locked);

    // The admin sets a new PIN (the current one is PIN_UNCHANGED while
    // hard-locked, contract §3): unlocked.
    set_pin(&env.store, TENANT, "31415926").await;
    let a = post(&env.app, &body("31415926", &[N[0]])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let events = audit(&env.store, TENANT).await;
    assert_eq!(count(&events, AuditType::PinLocked, None), 3);
}

// ------------------------------------------------------------- races

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_for_the_same_number_create_exactly_one_order() {
    let env = setup(FAST).await;
    let calls = (0..12).map(|i| {
        let app = env.app.clone();
        tokio::spawn(async move {
            let key = format!("race-{i}");
            let carrier = if i % 2 == 0 { "carrier-a" } else { "carrier-b" };
            let key = (i % 3 != 0).then_some(key);
            post_as(&app, carrier, &body(PIN, &[N[0], N[1]]), key.as_deref()).await
        })
    });
    let answers: Vec<Answer> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(created.len(), 1, "exactly one winner");
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_error(a, 409, "PORT_OUT_IN_PROGRESS");
    }
    let id = created[0].body["id"].as_str().unwrap();
    let orders = items_with_prefix(&env.store, "ORDER#").await;
    assert_eq!(orders.len(), 1);
    assert_eq!(attr(&orders[0], "id"), Some(id));
    let reserved: Vec<_> = items_with_prefix(&env.store, "NUMBER#")
        .await
        .into_iter()
        .filter(|i| i.contains_key("openPortOutId"))
        .collect();
    assert_eq!(reserved.len(), 2);
    assert!(reserved
        .iter()
        .all(|i| attr(i, "openPortOutId") == Some(id)));
    // Losers did not leave idempotency records behind.
    let records = items_with_prefix(&env.store, "IDEMPOTENCY#").await;
    assert!(records.len() <= 1);
    assert!(records
        .iter()
        .all(|r| attr(r, "state") == Some("completed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_guesses_lose_no_increment() {
    let env = setup(FAST).await;
    let calls = (0..8).map(|_| {
        let app = env.app.clone();
        tokio::spawn(async move { post(&app, &body(WRONG, &[N[0]])).await })
    });
    let answers: Vec<Answer> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mismatches = answers
        .iter()
        .filter(|a| a.code() == "PIN_MISMATCH")
        .count();
    let locked = answers.iter().filter(|a| a.code() == "PIN_LOCKED").count();
    assert_eq!(
        (mismatches, locked),
        (4, 4),
        "five failures lock, whatever the interleaving"
    );
    assert!(answers.iter().all(|a| a.status == 422 || a.status == 429));
    let tenant = env.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    let lock = tenant.locks.of("carrier-a");
    assert_eq!(lock.failed_attempts, 0);
    assert!(lock.locked_until.is_some());
    assert_eq!(lock.recent_locks.len(), 1);
    let events = audit(&env.store, TENANT).await;
    assert_eq!(count(&events, AuditType::PinLocked, None), 1);
    assert_eq!(
        count(&events, AuditType::PortOutRejected, Some("PIN_MISMATCH")),
        4
    );
    // One carrier, one lock: its first PIN_LOCKED only (contract §4.1).
    assert_eq!(
        count(&events, AuditType::PortOutRejected, Some("PIN_LOCKED")),
        1
    );
}

// ------------------------------------------------------------- idempotency

#[tokio::test]
async fn idempotent_retry_replays_the_first_answer() {
    let env = setup(FAST).await;
    let b = body(PIN, &[N[0], N[1]]);
    let first = post_as(&env.app, "carrier-a", &b, Some("key-1")).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    // The same request, numbers written differently: the same request.
    let same = body(PIN, &["(206) 555-0100", "2065550101"]);
    let again = post_as(&env.app, "carrier-a", &same, Some("key-1")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.raw, first.raw);
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 1);

    // The same key with another body.
    let mut other = b.clone();
    other["pon"] = json!("PON-OTHER");
    let a = post_as(&env.app, "carrier-a", &other, Some("key-1")).await;
    assert_error(&a, 409, "IDEMPOTENCY_KEY_REUSED");
    // The PIN is not part of the request's identity (contract §4.1): the
    // same body with another PIN replays the first answer, so a reused key
    // tells nothing about a PIN.
    let a = post_as(
        &env.app,
        "carrier-a",
        &body(WRONG, &[N[0], N[1]]),
        Some("key-1"),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(a.headers["idempotent-replayed"], "true");
    assert_eq!(a.raw, first.raw);

    // Keys are per carrier.
    let a = post_as(&env.app, "carrier-b", &body(PIN, &[N[2]]), Some("key-1")).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert!(!a.headers.contains_key("idempotent-replayed"));
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 2);

    // The record keeps a keyed fingerprint, never the PIN.
    let records = items_with_prefix(&env.store, "IDEMPOTENCY#carrier-a#key-1").await;
    assert_eq!(records.len(), 1);
    assert_eq!(attr(&records[0], "state"), Some("completed"));
    assert_eq!(attr(&records[0], "payloadMac").unwrap().len(), 64);
    assert!(!format!("{:?}", records[0]).contains(PIN));
}

#[tokio::test]
async fn failed_answers_are_not_kept() {
    let env = setup(FAST).await;
    // Validation failure, then the corrected request under the same key.
    let a = post_as(&env.app, "carrier-a", &body("x", &[N[0]]), Some("k")).await;
    assert_error(&a, 400, "INVALID_PIN_FORMAT");
    // A wrong PIN and a number not on the account are not kept either.
    let a = post_as(&env.app, "carrier-a", &body(WRONG, &[N[0]]), Some("k")).await;
    assert_error(&a, 422, "PIN_MISMATCH");
    let a = post_as(
        &env.app,
        "carrier-a",
        &body(PIN, &["+13125550100"]),
        Some("k"),
    )
    .await;
    assert_error(&a, 422, "NUMBER_NOT_ON_ACCOUNT");
    assert!(items_with_prefix(&env.store, "IDEMPOTENCY#")
        .await
        .is_empty());
    let a = post_as(&env.app, "carrier-a", &body(PIN, &[N[0]]), Some("k")).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert!(!a.headers.contains_key("idempotent-replayed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replays_of_one_key_create_one_order() {
    let env = setup(FAST).await;
    let calls = (0..8).map(|_| {
        let app = env.app.clone();
        tokio::spawn(async move {
            post_as(
                &app,
                "carrier-a",
                &body(PIN, &[N[0], N[1]]),
                Some("same-key"),
            )
            .await
        })
    });
    let answers: Vec<Answer> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!created.is_empty());
    let originals = created
        .iter()
        .filter(|a| !a.headers.contains_key("idempotent-replayed"))
        .count();
    assert_eq!(originals, 1, "one original, the rest replays");
    assert!(created.iter().all(|a| a.raw == created[0].raw));
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_error(a, 409, "IDEMPOTENCY_KEY_IN_PROGRESS");
        assert_eq!(a.headers["retry-after"], "1");
    }
    assert_eq!(items_with_prefix(&env.store, "ORDER#").await.len(), 1);
    let events = audit(&env.store, TENANT).await;
    assert_eq!(count(&events, AuditType::PortOutRequested, None), 1);
}

// ------------------------------------------------------------- reading

#[tokio::test]
async fn orders_are_visible_to_their_carrier_and_tenant_only() {
    let env = setup(FAST).await;
    provision(&env.store, "t-200", "ACC-2002", "US", &["+13125550100"]).await;
    let a = post(&env.app, &body(PIN, &[N[0]])).await;
    assert_eq!(a.status, 201);
    let path = a.headers["location"].clone();

    let own = get(&env.app, As::Carrier("carrier-a"), &path, "").await;
    assert_eq!(own.status, 200, "{}", own.raw);
    assert_eq!(own.body, a.body);
    let admin = get(&env.app, As::Admin(TENANT), &path, "").await;
    assert_eq!(admin.status, 200);
    assert_eq!(admin.body, a.body);
    let with_slash = get(&env.app, As::Carrier("carrier-a"), &format!("{path}/"), "").await;
    assert_eq!(with_slash.status, 200);

    for who in [As::Carrier("carrier-b"), As::Admin("t-200")] {
        let other = get(&env.app, who, &path, "").await;
        assert_error(&other, 404, "PORT_OUT_NOT_FOUND");
    }
    for id in [
        "po_01JF0000000000000000000000",
        "nope",
        "ORDER%23x",
        "po_../x",
    ] {
        let a = get(
            &env.app,
            As::Carrier("carrier-a"),
            &format!("{PATH}/{id}"),
            "",
        )
        .await;
        assert!(a.status == 404, "{id}: {}", a.raw);
    }
    let a = get(
        &env.app,
        As::Carrier("carrier-a"),
        "/v1/port-outs/po_01JF0000000000000000000000",
        "",
    )
    .await;
    assert_error(&a, 404, "PORT_OUT_NOT_FOUND");
}

#[tokio::test]
async fn lists_are_newest_first_filtered_and_paged() {
    let env = setup(FAST).await;
    provision(&env.store, "t-200", "ACC-2002", "US", &["+13125550100"]).await;
    set_pin(&env.store, "t-200", "27182818").await;
    let mut ids = Vec::new();
    for n in &N[..5] {
        let a = post(&env.app, &body(PIN, &[n])).await;
        assert_eq!(a.status, 201, "{}", a.raw);
        ids.push(a.body["id"].as_str().unwrap().to_owned());
    }
    let b = post_as(&env.app, "carrier-b", &body(PIN, &[N[5]]), None).await;
    assert_eq!(b.status, 201);
    let other_tenant = json!({"accountNumber": "ACC-2002", "pin": "27182818",
                              "phoneNumbers": ["+13125550100"], "pon": "X1"});
    let c = post(&env.app, &other_tenant).await;
    assert_eq!(c.status, 201, "{}", c.raw);
    let c_id = c.body["id"].as_str().unwrap().to_owned();

    // Carrier a: its six orders across two tenants, newest first.
    let all = get(&env.app, As::Carrier("carrier-a"), PATH, "").await;
    assert_eq!(all.status, 200, "{}", all.raw);
    let mut expected: Vec<String> = ids.iter().rev().cloned().collect();
    expected.insert(0, c_id.clone());
    assert_eq!(all.item_ids(), expected);
    assert_eq!(all.body["nextToken"], Value::Null);
    assert!(all.body["items"][0].get("tenantId").is_none());
    // Tenant t-100's admin: its six orders from both carriers, not t-200's.
    let admin = get(&env.app, As::Admin(TENANT), PATH, "").await;
    let admin_ids = admin.item_ids();
    assert_eq!(admin_ids.len(), 6);
    assert_eq!(admin_ids[0], b.body["id"].as_str().unwrap());
    assert!(!admin_ids.contains(&c_id));

    // Pages of two, following nextToken.
    let mut pages = Vec::new();
    let mut query = "limit=2".to_owned();
    let mut tokens = Vec::new();
    loop {
        let page = get(&env.app, As::Carrier("carrier-a"), PATH, &query).await;
        assert_eq!(page.status, 200, "{}", page.raw);
        pages.push(page.item_ids());
        match page.body["nextToken"].as_str() {
            Some(token) => {
                tokens.push(token.to_owned());
                query = format!("limit=2&nextToken={token}");
            }
            None => break,
        }
        assert!(pages.len() < 10);
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 0]);
    assert_eq!(pages.concat(), expected);

    // Status filter: cancel the oldest order.
    let oldest = env.store.get_order(&oid(&ids[0])).await.unwrap().unwrap();
    let now = clock::now();
    let event = AuditEvent::new(
        &tid(TENANT),
        now,
        AuditType::PortOutStatusChanged,
        portguard_store::Actor {
            kind: ActorKind::Carrier,
            id: Some("carrier-a".into()),
        },
    );
    env.store
        .transition_order(
            &oldest,
            OrderStatus::Cancelled,
            None,
            Timestamp::from_unix(now),
            &event,
            None,
        )
        .await
        .unwrap();
    let cancelled = get(&env.app, As::Carrier("carrier-a"), PATH, "status=cancelled").await;
    assert_eq!(cancelled.item_ids(), [ids[0].clone()]);
    assert_eq!(cancelled.body["items"][0]["status"], "cancelled");
    let pending = get(
        &env.app,
        As::Carrier("carrier-a"),
        PATH,
        "status=pending&limit=3",
    )
    .await;
    assert_eq!(pending.item_ids(), expected[..3]);
    let token = pending.body["nextToken"].as_str().unwrap().to_owned();
    let rest = get(
        &env.app,
        As::Carrier("carrier-a"),
        PATH,
        &format!("status=pending&limit=3&nextToken={token}"),
    )
    .await;
    assert_eq!(rest.item_ids(), expected[3..5]);

    // Bad parameters and foreign tokens.
    for query in [
        "limit=0".to_owned(),
        "limit=101".to_owned(),
        "limit=abc".to_owned(),
        "limit=2.5".to_owned(),
        "status=open".to_owned(),
        "status=".to_owned(),
        "nextToken=garbage".to_owned(),
        format!("nextToken={}x", tokens[0]),
        // a token for another filter
        format!("status=cancelled&nextToken={}", tokens[0]),
    ] {
        let a = get(&env.app, As::Carrier("carrier-a"), PATH, &query).await;
        assert_error(&a, 400, "INVALID_REQUEST");
    }
    // Another caller's token.
    for who in [As::Carrier("carrier-b"), As::Admin(TENANT)] {
        let a = get(&env.app, who, PATH, &format!("nextToken={}", tokens[0])).await;
        assert_error(&a, 400, "INVALID_REQUEST");
    }
    let limit_100 = get(&env.app, As::Carrier("carrier-a"), PATH, "limit=100").await;
    assert_eq!(limit_100.status, 200);
}

// ------------------------------------------------------- identity, routes

#[tokio::test]
async fn identity_scopes_and_routes() {
    let env = setup(FAST).await;
    let b = body(PIN, &[N[0]]).to_string();
    let post_with = |who: As| event("POST", PATH, who, Some(&b));
    assert_error(
        &send(&env.app, post_with(As::Nobody)).await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        &send(&env.app, post_with(As::Admin(TENANT))).await,
        403,
        "FORBIDDEN",
    );
    let no_scope = As::Raw(json!({"carrier_id": "carrier-a"}), vec![]);
    assert_error(&send(&env.app, post_with(no_scope)).await, 403, "FORBIDDEN");
    let wrong_scope = As::Raw(json!({"carrier_id": "carrier-a"}), vec!["portguard/admin"]);
    assert_error(
        &send(&env.app, post_with(wrong_scope)).await,
        403,
        "FORBIDDEN",
    );
    let other = As::Raw(json!({"sub": "x"}), vec!["portguard/carrier"]);
    assert_error(
        &send(&env.app, post_with(other)).await,
        401,
        "UNAUTHENTICATED",
    );
    // The body never names the carrier: a carrierId field is ignored.
    let mut spoof = body(PIN, &[N[0]]);
    spoof["carrierId"] = json!("carrier-b");
    let a = post(&env.app, &spoof).await;
    assert_eq!(a.body["carrierId"], "carrier-a");

    for (method, path, who) in [
        ("GET", PATH, As::Nobody),
        (
            "GET",
            "/v1/port-outs/po_01JF0000000000000000000000",
            As::Nobody,
        ),
    ] {
        assert_error(
            &send(&env.app, event(method, path, who, None)).await,
            401,
            "UNAUTHENTICATED",
        );
    }
    let no_scope = As::Raw(json!({"tenant_id": TENANT}), vec!["portguard/other"]);
    assert_error(
        &send(&env.app, event("GET", PATH, no_scope, None)).await,
        403,
        "FORBIDDEN",
    );

    let carrier = || As::Carrier("carrier-a");
    for (method, path, status, code) in [
        ("GET", "/v1/nope", 404, "NOT_FOUND"),
        ("GET", "/v1/port-outsx", 404, "NOT_FOUND"),
        ("GET", "/v1/port-outs/a/b", 404, "NOT_FOUND"),
        ("POST", "/", 404, "NOT_FOUND"),
        ("DELETE", PATH, 405, "METHOD_NOT_ALLOWED"),
        ("PUT", PATH, 405, "METHOD_NOT_ALLOWED"),
        (
            "POST",
            "/v1/port-outs/po_01JF0000000000000000000000",
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            "DELETE",
            "/v1/port-outs/po_01JF0000000000000000000000",
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ] {
        let a = send(&env.app, event(method, path, carrier(), Some("{}"))).await;
        assert_error(&a, status, code);
    }
}

// ------------------------------------------------------------- audit

#[tokio::test]
async fn every_attempt_on_a_known_tenant_is_audited_without_the_pin() {
    let env = setup(LockPolicy {
        max_failed_attempts: 2,
        lockout_seconds: 600,
    })
    .await;
    let a = post(&env.app, &body(PIN, &[N[0]])).await;
    assert_eq!(a.status, 201);
    let id = a.body["id"].as_str().unwrap().to_owned();
    assert_error(
        &post(&env.app, &body(PIN, &[N[0]])).await,
        409,
        "PORT_OUT_IN_PROGRESS",
    );
    assert_error(
        &post(&env.app, &body(PIN, &["+13125550100"])).await,
        422,
        "NUMBER_NOT_ON_ACCOUNT",
    );
    assert_error(
        &post(&env.app, &body(WRONG, &[N[1]])).await,
        422,
        "PIN_MISMATCH",
    );
    assert_error(
        &post(&env.app, &body(WRONG, &[N[1]])).await,
        429,
        "PIN_LOCKED",
    );
    assert_error(
        &post(&env.app, &body(PIN, &[N[1]])).await,
        429,
        "PIN_LOCKED",
    );
    // Rejected before the tenant is known: not in its trail.
    assert_error(
        &post(&env.app, &body("x", &[N[1]])).await,
        400,
        "INVALID_PIN_FORMAT",
    );

    let events = audit(&env.store, TENANT).await;
    let mine: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.actor.kind == ActorKind::Carrier)
        .collect();
    // The second PIN_LOCKED of the same lock and carrier is not recorded.
    assert_eq!(mine.len(), 6, "{mine:#?}");
    for e in &mine {
        assert_eq!(e.actor.id.as_deref(), Some("carrier-a"));
        assert_eq!(e.source_ip.as_deref(), Some("203.0.113.7"));
    }
    // Newest first (the lock and its rejection may share a millisecond).
    let mut kinds: Vec<(&str, Option<&str>)> = mine
        .iter()
        .map(|e| (e.kind.as_str(), e.code.as_deref()))
        .collect();
    assert_eq!(kinds[5], ("port_out.requested", None));
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("pin.locked", None),
            ("port_out.rejected", Some("NUMBER_NOT_ON_ACCOUNT")),
            ("port_out.rejected", Some("PIN_LOCKED")),
            ("port_out.rejected", Some("PIN_MISMATCH")),
            ("port_out.rejected", Some("PORT_OUT_IN_PROGRESS")),
            ("port_out.requested", None),
        ]
    );
    assert_eq!(
        mine[5].port_out_id.as_ref().map(|i| i.as_str()),
        Some(id.as_str())
    );
    // The tenant admin reads the same trail through set-pin.
    let pins = set_pin::App::new(env.store.clone(), hasher());
    let trail = answer(
        pins.handle(request(&event(
            "GET",
            "/v1/audit-events",
            As::Admin(TENANT),
            None,
        )))
        .await,
    );
    assert_eq!(trail.status, 200);
    // The lock and its rejection may share a millisecond: either is first.
    let newest = &trail.body["items"][0];
    let locked = if newest["code"] == "PIN_LOCKED" {
        newest
    } else {
        &trail.body["items"][1]
    };
    assert_eq!(locked["code"], "PIN_LOCKED");
    assert_eq!(
        locked["actor"],
        json!({"kind": "carrier", "id": "carrier-a"})
    );
    assert!(!trail.raw.contains(PIN) && !trail.raw.contains(WRONG));
}

// ------------------------------------------------------------- secrets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pin_in_table_logs_or_responses() {
    captured_logs();
    let env = setup(LockPolicy {
        max_failed_attempts: 3,
        lockout_seconds: 600,
    })
    .await;
    let mut answers = Vec::new();
    answers.push(post_as(&env.app, "carrier-a", &body(PIN, &[N[0]]), Some("s-1")).await);
    answers.push(post_as(&env.app, "carrier-a", &body(PIN, &[N[0]]), Some("s-1")).await);
    answers.push(post_as(&env.app, "carrier-a", &body(WRONG, &[N[0]]), Some("s-1")).await);
    answers.push(post(&env.app, &body(PIN, &[N[0]])).await);
    for bad in BAD_FORMAT {
        answers.push(post_as(&env.app, "carrier-a", &body(bad, &[N[1]]), Some("s-2")).await);
    }
    let mut unknown = body(WRONG, &[N[1]]);
    unknown["accountNumber"] = json!("ACC-404");
    answers.push(post(&env.app, &unknown).await);
    for _ in 0..4 {
        answers.push(post(&env.app, &body(WRONG, &[N[1]])).await);
    }
    answers.push(get(&env.app, As::Carrier("carrier-a"), PATH, "").await);
    answers.push(get(&env.app, As::Admin(TENANT), PATH, "").await);
    assert!(answers.iter().any(|a| a.code() == "PIN_LOCKED"));

    let table = dump_table(&env.store).await;
    let logs = captured_logs();
    assert!(logs.contains("port-out rejected"), "logs are captured");
    for pin in [PIN, WRONG].iter().chain(&BAD_FORMAT) {
        assert!(!table.contains(pin), "table holds {pin}");
        assert!(!logs.contains(pin), "logs hold {pin}");
        for a in &answers {
            assert!(!a.raw.contains(pin), "response holds {pin}: {}", a.raw);
            assert!(a.headers.values().all(|v| !v.contains(pin)));
        }
    }
    // No hash in any log line, at the most verbose level production allows
    // (the SDK, which would dump tenant items below info, is capped).
    assert!(!logs.contains("$argon2"), "hash in the logs");
}

// ------------------------------------------------------------- fixtures

fn fixture(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("JSON fixture")
}

#[tokio::test]
async fn event_fixtures_work_as_cargo_lambda_invoke_would_send_them() {
    let env = setup(FAST).await;
    let created = send(&env.app, fixture("port-out-post.json")).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(
        created.body["phoneNumbers"],
        json!(["+12065550100", "+12065550101"])
    );
    let replayed = send(&env.app, fixture("port-out-post.json")).await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    let list = send(&env.app, fixture("port-outs-list.json")).await;
    assert_eq!(list.status, 200, "{}", list.raw);
    assert_eq!(list.body["items"][0], created.body);

    let mut get = fixture("port-out-get.json");
    let location = created.headers["location"].clone();
    get["rawPath"] = json!(location);
    get["requestContext"]["http"]["path"] = json!(location);
    get["pathParameters"]["id"] = json!(location.trim_start_matches("/v1/port-outs/"));
    let one = send(&env.app, get).await;
    assert_eq!(one.status, 200, "{}", one.raw);
    assert_eq!(one.body, created.body);
    let unknown = send(&env.app, fixture("port-out-get.json")).await;
    assert_error(&unknown, 404, "PORT_OUT_NOT_FOUND");
}
