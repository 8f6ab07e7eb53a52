//! Hostile input: property tests that feed every HTTP handler arbitrary and
//! mutated API Gateway v2 events (paths, methods, headers, query strings,
//! claims, scopes, bodies, base64 flags) and every kind of tampered webhook,
//! and the scheduled function arbitrary scheduled events. For each request:
//! no panic, no 5xx, every error the contract §2 envelope, and — unless the
//! answer is one that the contract (docs/contract.md) says records something — the table is byte for
//! byte what it was before (a full dump is compared).
//!
//! Case counts are modest (DynamoDB Local is slow); every property prints
//! how many generated events were valid API Gateway events, and fails if
//! too few were, so the properties cannot silently test nothing.

use portguard_tests::support;
use portguard_tests::typed::*;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Context, LambdaEvent};
use portguard_rules::LockPolicy;
use portguard_tests::{answer, event_with, fresh_store, snapshot, Answer, As};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::*;

/// Many wrong guesses must not lock t-100 during the run (a lock would hide
/// the deeper rules from the generator); the lockout has its own tests.
const NO_LOCK: LockPolicy = LockPolicy {
    max_failed_attempts: 1_000_000,
    lockout_seconds: 1,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `cases`, or `PROPTEST_CASES` when set (`make soak` sets it higher).
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    })
}

// ---------------------------------------------------------------- strategies

/// Strings that have broken parsers before: unicode digits, signs, long
/// runs, control characters, DynamoDB key separators, JSON in JSON.
fn junk() -> BoxedStrategy<String> {
    prop_oneof![
        4 => ".{0,24}",
        3 => "[0-9]{0,12}",
        2 => "[ -~]{0,48}",
        1 => Just("٤٨١٥١٦٢٣".to_owned()),
        1 => Just("４８１５１６２３".to_owned()),
        1 => Just(" 48151623".to_owned()),
        1 => Just("+48151623".to_owned()),
        1 => Just("48151623\n".to_owned()),
        1 => Just("TENANT#t-100".to_owned()),
        1 => Just("po_01JF0000000000000000000000".to_owned()),
        1 => Just("\u{0}\u{7f}\u{feff}".to_owned()),
        1 => Just(r#"{"pin":"48151623"}"#.to_owned()),
        1 => (0usize..5000).prop_map(|n| "9".repeat(n)),
        1 => (0usize..3000).prop_map(|n| "é#".repeat(n)),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        junk().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(junk(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A phone number as a carrier might write it, or not.
fn phone() -> BoxedStrategy<String> {
    prop_oneof![
        (100u32..130).prop_map(|i| format!("+1206555{i:04}")),
        (100u32..130).prop_map(|i| format!("(206) 555-{i:04}")),
        (100u32..130).prop_map(|i| format!("1.206.555.{i:04}")),
        (0u64..10_000_000_000).prop_map(|n| format!("{n:010}")),
        (0u64..10_000_000_000).prop_map(|n| format!("+1{n:010}")),
        junk(),
    ]
    .boxed()
}

/// A presented PIN: sometimes right, often of the right shape, often not.
fn pin_guess() -> BoxedStrategy<String> {
    prop_oneof![
        1 => Just(PIN.to_owned()),
        3 => "[0-9]{6,10}",
        2 => junk(),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Set the JSON pointer to a value (creating parents as needed).
    Set(&'static str, Value),
    Delete(&'static str),
}

/// Every part of an API Gateway v2 event the functions read, and some they
/// do not.
const POINTERS: &[&str] = &[
    "/version",
    "/routeKey",
    "/rawPath",
    "/rawQueryString",
    "/cookies",
    "/headers",
    "/headers/content-type",
    "/headers/idempotency-key",
    "/headers/webhook-id",
    "/headers/webhook-timestamp",
    "/headers/webhook-signature",
    "/headers/x-forwarded-for",
    "/queryStringParameters",
    "/queryStringParameters/limit",
    "/queryStringParameters/nextToken",
    "/queryStringParameters/status",
    "/pathParameters",
    "/stageVariables",
    "/body",
    "/isBase64Encoded",
    "/requestContext",
    "/requestContext/http",
    "/requestContext/http/method",
    "/requestContext/http/path",
    "/requestContext/http/sourceIp",
    "/requestContext/authorizer",
    "/requestContext/authorizer/jwt",
    "/requestContext/authorizer/jwt/claims",
    "/requestContext/authorizer/jwt/claims/tenant_id",
    "/requestContext/authorizer/jwt/claims/carrier_id",
    "/requestContext/authorizer/jwt/claims/sub",
    "/requestContext/authorizer/jwt/scopes",
    "/requestContext/authorizer/lambda",
    "/requestContext/stage",
    "/requestContext/timeEpoch",
];

fn mutation() -> BoxedStrategy<Mutation> {
    let pointer = prop::sample::select(POINTERS);
    prop_oneof![
        3 => (pointer.clone(), junk()).prop_map(|(p, s)| Mutation::Set(p, Value::from(s))),
        3 => (pointer.clone(), json_value()).prop_map(|(p, v)| Mutation::Set(p, v)),
        1 => pointer.prop_map(Mutation::Delete),
        1 => prop::sample::select(&["portguard/admin", "portguard/carrier", "openid", ""][..])
            .prop_map(|s| Mutation::Set("/requestContext/authorizer/jwt/scopes", json!([s]))),
        1 => prop::sample::select(&["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "BREW"][..])
            .prop_map(|m| Mutation::Set("/requestContext/http/method", json!(m))),
        1 => Just(Mutation::Set("/isBase64Encoded", json!(true))),
    ]
    .boxed()
}

/// Usually none (so most events reach the handler), sometimes a few.
fn mutations() -> BoxedStrategy<Vec<Mutation>> {
    prop_oneof![
        2 => Just(Vec::new()),
        1 => prop::collection::vec(mutation(), 1..3),
    ]
    .boxed()
}

fn set_pointer(v: &mut Value, pointer: &str, new: Value) {
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    let mut cur = v;
    for part in &parts[..parts.len() - 1] {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    cur.as_object_mut()
        .unwrap()
        .insert(parts[parts.len() - 1].to_owned(), new);
}

fn delete_pointer(v: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    if let Some(Value::Object(map)) = v.pointer_mut(parent) {
        map.remove(last);
    }
}

fn apply(mut ev: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        match m {
            Mutation::Set(p, v) => set_pointer(&mut ev, p, v.clone()),
            Mutation::Delete(p) => delete_pointer(&mut ev, p),
        }
    }
    ev
}

/// Byte-level damage to a body: truncate, insert, overwrite.
fn damage(body: String, cut: usize, at: usize, byte: u8, how: u8) -> String {
    let mut bytes = body.into_bytes();
    match how % 4 {
        0 => bytes.truncate(cut % (bytes.len() + 1)),
        1 => {
            let at = at % (bytes.len() + 1);
            bytes.insert(at, byte)
        }
        2 if !bytes.is_empty() => {
            let at = at % bytes.len();
            bytes[at] = byte
        }
        _ => {}
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn who() -> BoxedStrategy<As> {
    prop_oneof![
        Just(As::Nobody),
        Just(As::Admin(TENANT)),
        Just(As::Admin("t-unknown")),
        Just(As::Carrier("carrier-a")),
        Just(As::Carrier("carrier-b")),
        (
            json_value(),
            prop::collection::vec(
                prop::sample::select(&["portguard/admin", "portguard/carrier", "x"][..]),
                0..3
            )
        )
            .prop_map(|(claims, scopes)| As::Raw(claims, scopes)),
    ]
    .boxed()
}

// ---------------------------------------------------------------- the check

#[derive(Default)]
struct Tally {
    valid_events: AtomicUsize,
    invalid_events: AtomicUsize,
    writes: AtomicUsize,
}

impl Tally {
    fn report(&self, name: &str, min_valid: usize) {
        let valid = self.valid_events.load(Ordering::Relaxed);
        let invalid = self.invalid_events.load(Ordering::Relaxed);
        eprintln!(
            "{name}: {valid} events were requests, {invalid} were not (answered 400), {} answers wrote",
            self.writes.load(Ordering::Relaxed)
        );
        assert!(
            valid >= min_valid,
            "{name}: only {valid} generated events were valid"
        );
    }
}

/// Which function an event is for.
#[derive(Clone, Copy, Debug)]
enum Target {
    Pin,
    Submit,
    Webhook,
    /// submit-port-out's Bandwidth routes (contract §15).
    Bandwidth,
    /// submit-port-out's Telnyx route (contract §16).
    Telnyx,
    /// set-pin's alert-contacts routes (contract §17), on an app that
    /// sends its codes.
    Contacts,
}

/// Whether an answer is one of those that the contract allows to write.
fn may_write(target: Target, method: &str, a: &Answer) -> bool {
    match target {
        // Only a successful PUT stores anything (contract §3); a transfer PIN
        // issued (201) or revoked (200) is stored and audited (contract §12).
        Target::Pin => {
            (method == "PUT" && a.status == 200)
                || (method == "POST" && a.status == 201)
                || (method == "DELETE" && a.status == 200)
                // a protection change (contract §11); a no-op PATCH writes
                // nothing, which the tally does not require
                || (method == "PATCH" && a.status == 200)
                // the notification endpoint removed (contract §14)
                || (method == "DELETE" && a.status == 204)
        }
        // An accepted order; and every attempt on a known tenant is
        // recorded (contract §7), a wrong PIN counts (contract §4.1).
        Target::Submit => {
            a.status == 201
                // the tenant's reject (contract §13)
                || (method == "POST" && a.status == 200)
                || [
                    "TENANT_NOT_ELIGIBLE",
                    "PIN_NOT_SET",
                    "PIN_LOCKED",
                    "PIN_MISMATCH",
                    "PORT_OUT_LOCKED",
                    "NUMBER_NOT_ON_ACCOUNT",
                    "PORT_OUT_IN_PROGRESS",
                ]
                .contains(&a.code())
        }
        // A portable answer is an order; a refusal by the decision is
        // audited, a wrong PIN counted; a completion closes orders. No
        // other answer writes (7598, 7510, 7511, 7517, 4xx).
        Target::Bandwidth => match Verdict::read(a) {
            Some(v) => v.portable || [7512, 7513, 7516, 7519].contains(&v.code.unwrap_or(0)),
            None => a.status == 200 && a.raw.is_empty(),
        },
        // A decision (a fresh one is an order, or a refusal audited and
        // counted; a repeated one records the event), an event recorded as
        // ignored, unchanged or applied. A duplicate, a refused signature,
        // an invalid event or transition writes nothing.
        Target::Telnyx => {
            a.status == 200
                && ["accepted", "rejected", "ignored", "unchanged", "applied"]
                    .contains(&a.body["result"].as_str().unwrap_or(""))
        }
        // A contact added (201), confirmed (200: only by the set-up, which
        // alone knows a code; `contact_request` holds it to that), its types
        // changed (200), removed (204), or a wrong code counted (contract §17).
        Target::Contacts => {
            (method == "POST"
                && ([201, 200].contains(&a.status)
                    || (a.status, a.code()) == (400, "INVALID_CONFIRMATION_CODE")))
                || (method == "PATCH" && a.status == 200)
                || (method == "DELETE" && a.status == 204)
        }
        // Only an applied (or first unchanged) event is processed (contract §5).
        Target::Webhook => {
            a.status == 200
                && ["applied", "unchanged"].contains(&a.body["result"].as_str().unwrap_or(""))
        }
    }
}

/// A transfer PIN of `TENANT` for `phone_numbers`, issued through set-pin:
/// the `201` answer's body (with its one-time `pin`).
async fn issue_transfer_pin(apps: &Apps, phone_numbers: Vec<String>) -> Value {
    let body = json!({ "phoneNumbers": phone_numbers }).to_string();
    let ev = event_with(
        "POST",
        "/v1/transfer-pins",
        "",
        As::Admin(TENANT),
        Some(&body),
        &[],
    );
    let a = answer(apps.pin.handle(portguard_tests::request(&ev)).await);
    assert_eq!(a.status, 201, "{}", a.raw);
    a.body
}

/// Handles one generated event exactly as the deployed runtime loop does
/// (`portguard_api::answer_event`) and checks the invariants. Events that
/// describe no HTTP request must be answered `400 INVALID_REQUEST` without
/// a write; for those `None` is returned.
async fn check(apps: &Apps, target: Target, ev: &Value, tally: &Tally) -> Option<Answer> {
    check_with(apps, &apps.pin, target, ev, tally).await
}

/// As [`check`], set-pin's events (and the contacts') handled by `pin`.
async fn check_with(
    apps: &Apps,
    pin: &set_pin::App,
    target: Target,
    ev: &Value,
    tally: &Tally,
) -> Option<Answer> {
    let is_request = portguard_api::event::request_from_event(ev.clone()).is_ok();
    let counter = if is_request {
        &tally.valid_events
    } else {
        &tally.invalid_events
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let method = ev
        .pointer("/requestContext/http/method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let before = snapshot(&apps.store).await;
    let resp = match target {
        Target::Pin | Target::Contacts => {
            portguard_api::answer_event(|r| pin.handle(r), ev.clone()).await
        }
        Target::Submit => portguard_api::answer_event(|r| apps.submit.handle(r), ev.clone()).await,
        Target::Webhook => {
            portguard_api::answer_event(|r| apps.webhook.handle(r), ev.clone()).await
        }
        Target::Bandwidth | Target::Telnyx => {
            portguard_api::answer_event_with(
                |r| apps.submit.handle(r),
                |r| apps.submit.too_large(r),
                ev.clone(),
            )
            .await
        }
    };
    let a = answer(resp);
    assert!(
        a.status < 500,
        "{target:?}: a hostile request is never a 5xx: {} for {ev}",
        a.raw
    );
    assert!(
        (200..300).contains(&a.status) || (400..500).contains(&a.status),
        "{target:?}: status {}",
        a.status
    );
    assert_envelope(&a, &format!("{target:?}"));
    let after = snapshot(&apps.store).await;
    if may_write(target, &method, &a) {
        if before != after {
            tally.writes.fetch_add(1, Ordering::Relaxed);
        }
    } else {
        assert!(
            before == after,
            "{target:?}: {} {} wrote to the table for {ev}",
            a.status,
            a.code()
        );
    }
    if !is_request {
        assert_eq!(
            (a.status, a.code()),
            (400, "INVALID_REQUEST"),
            "{target:?}: an event that is no request: {}",
            a.raw
        );
        return None;
    }
    Some(a)
}

struct World {
    rt: tokio::runtime::Runtime,
    apps: Arc<Apps>,
    /// Open orders of carrier-a and carrier-b.
    orders: Vec<(String, &'static str)>,
    /// Telnyx's API, when submit-port-out has Telnyx's door.
    stand_in: Option<telnyx_stand_in::StandIn>,
}

/// t-100 (US, PIN set, +1206555 0100..0129), t-200 (not US), t-300 (US, no
/// PIN), and a few open orders of both carriers.
fn world() -> World {
    world_with(false)
}

/// As [`world`], `telnyx`: submit-port-out with Telnyx's door too, its API
/// a stand-in, and t-400 (US, PIN `T400_PIN`, +1312555 0200..0202).
fn world_with(telnyx: bool) -> World {
    let rt = runtime();
    let (apps, orders, stand_in) = rt.block_on(async {
        let store = fresh_store().await;
        let stand_in = match telnyx {
            true => Some(telnyx_stand_in().await),
            false => None,
        };
        let apps = match &stand_in {
            Some(stand_in) => apps_with_telnyx(&store, NO_LOCK, &stand_in.base_url()),
            None => apps(&store, NO_LOCK),
        };
        tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 30)).await;
        portguard_tests::provision(&store, "t-200", "ACC-2001", "CA", &[]).await;
        portguard_tests::provision(&store, "t-300", "ACC-3001", "US", &["+13125550100"]).await;
        if telnyx {
            tenant_with_pin(
                &apps,
                "t-400",
                "ACC-4001",
                T400_PIN,
                &numbers("312", 200, 3),
            )
            .await;
        }
        let mut orders = Vec::new();
        for (i, carrier) in ["carrier-a", "carrier-b", "carrier-a"]
            .into_iter()
            .enumerate()
        {
            let nums = numbers("206", 126 + i, 1);
            let a = post(&apps, carrier, &port_out_body(ACCOUNT, PIN, &nums)).await;
            assert_eq!(a.status, 201, "{}", a.raw);
            orders.push((a.body["id"].as_str().unwrap().to_owned(), carrier));
        }
        (apps, orders, stand_in)
    });
    World {
        rt,
        apps,
        orders,
        stand_in,
    }
}

// ---------------------------------------------------------------- set-pin

#[test]
fn set_pin_survives_arbitrary_events() {
    let w = world();
    let tally = Tally::default();
    // A live transfer PIN of t-100, to aim DELETEs at.
    let transfer_pin = w.rt.block_on(async {
        let issued = issue_transfer_pin(&w.apps, numbers("206", 100, 2)).await;
        format!("/v1/transfer-pins/{}", issued["id"].as_str().unwrap())
    });
    const METHODS: [&str; 5] = ["GET", "PUT", "DELETE", "POST", "PATCH"];
    let paths = [
        "/v1/pin",
        "/v1/pin/",
        "/v1/audit-events",
        "/v1/PIN",
        "/",
        "/v1/pin/x",
        "/v1/transfer-pins",
        "/v1/transfer-pins/",
        "/v1/transfer-pins/tp_01JF0000000000000000000000",
        "/v1/transfer-pins/x",
        "/v1/transfer-pins/a/b",
        "/v1/port-out-protection",
        "/v1/port-out-protection/x",
        "/v1/notification-endpoint",
        "/v1/notification-endpoint/x",
        "/v1/numbers",
        "/v1/numbers/",
        "/v1/numbers/+12065550100",
        "/v1/numbers/%2B12065550101",
        "/v1/numbers/%28206%29%20555-0102",
        "/v1/numbers/+13125550100",
        "/v1/numbers/%zz",
        "/v1/numbers/%FF%FE",
        "/v1/numbers/a/b",
        &transfer_pin,
        &format!("{transfer_pin}/x"),
    ]
    .map(str::to_owned)
    .to_vec();
    // Every method on every path once, as the tenant's admin with no body,
    // before the random cases: rare answers (the 204 of a DELETE of the
    // notification endpoint) are then checked on every run, not by chance.
    w.rt.block_on(async {
        for method in METHODS {
            for path in &paths {
                let ev = event_with(method, path, "", As::Admin(TENANT), None, &[]);
                check(&w.apps, Target::Pin, &ev, &tally).await;
            }
        }
    });
    let strategy = (
        prop::sample::select(&METHODS[..]),
        prop::sample::select(paths),
        who(),
        prop_oneof![
            Just(None),
            junk().prop_map(Some),
            json_value().prop_map(|v| Some(v.to_string())),
            (junk(), any::<bool>()).prop_map(|(p, null)| Some(if null {
                json!({ "pin": null }).to_string()
            } else {
                json!({ "pin": p }).to_string()
            })),
            prop::collection::vec(phone(), 0..4)
                .prop_map(|p| Some(json!({ "phoneNumbers": p }).to_string())),
            (json_value(), json_value(), any::<bool>(), any::<bool>()).prop_map(
                |(lock, tpr, valid, both)| {
                    let (lock, tpr) = if valid {
                        (json!(true), json!(false))
                    } else {
                        (lock, tpr)
                    };
                    Some(if both {
                        json!({ "lock": lock, "transferPinRequired": tpr }).to_string()
                    } else {
                        json!({ "lock": lock }).to_string()
                    })
                }
            ),
        ],
        prop_oneof![
            "[a-zA-Z]{0,8}=[ -~]{0,12}",
            prop::sample::select(
                &[
                    "status=active",
                    "status=expired",
                    "status=x",
                    "limit=1",
                    "limit=2&nextToken=x"
                ][..]
            )
            .prop_map(str::to_owned),
        ],
        mutations(),
    );
    let mut run = runner(96);
    let result = run.run(&strategy, |(method, path, who, body, query, muts)| {
        let ev = apply(
            event_with(method, &path, &query, who, body.as_deref(), &[]),
            &muts,
        );
        w.rt.block_on(check(&w.apps, Target::Pin, &ev, &tally));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    tally.report("set-pin", 32);
}

// ---------------------------------------------------------------- alert contacts

/// The fields of a contact (contract §17): never a code, its hash, tries or
/// expiry, nor the alert window.
const CONTACT_FIELDS: [&str; 8] = [
    "id",
    "email",
    "status",
    "types",
    "createdAt",
    "confirmedAt",
    "lastDeliveryAt",
    "lastFailure",
];
const CONTACTS: &str = "/v1/alert-contacts";
const CODE_SUBJECT: &str = "portguard: confirm your alert contact";
const TYPES_SUBJECT: &str = "portguard: the alerts emailed to you were changed";
/// Well formed, never issued.
const UNKNOWN_CONTACT: &str = "ac_01JF0000000000000000000000";

type Item = std::collections::HashMap<String, AttributeValue>;

/// What the alert-contacts property learns as it goes.
#[derive(Default)]
struct ContactsRun {
    /// Whether the codes are read back from the local SES.
    ses: bool,
    /// Every code emailed so far (read only to look for it where it must
    /// not be: the generator never uses one).
    codes: BTreeSet<String>,
    /// Code emails read so far, per address (lower case).
    code_emails: BTreeMap<String, usize>,
    /// `201`s per address (lower case).
    added: BTreeMap<String, usize>,
    /// Contacts whose code was presented (by the set-up, never by the
    /// generator): the only ones that may ever be confirmed.
    presented: BTreeSet<String>,
    /// Notices of changed types owed to each confirmed contact's address.
    notices: BTreeMap<String, usize>,
    /// The body of the first `404 ALERT_CONTACT_NOT_FOUND`: every other is
    /// the same, byte for byte.
    not_found: Option<String>,
    answers: BTreeMap<(u16, String), usize>,
}

fn sk_is(item: &Item, f: impl Fn(&str) -> bool) -> bool {
    s_attr(item, "SK").is_some_and(f)
}

fn item_key(item: &Item) -> (String, String) {
    (
        s_attr(item, "PK").unwrap_or("").to_owned(),
        s_attr(item, "SK").unwrap_or("").to_owned(),
    )
}

/// Contact items by id.
fn contact_items(items: &[Item]) -> BTreeMap<String, &Item> {
    items
        .iter()
        .filter(|i| sk_is(i, |sk| sk.starts_with("ALERTCONTACT#")))
        .map(|i| (s_attr(i, "id").unwrap().to_owned(), i))
        .collect()
}

fn code_tries(item: &Item) -> Option<i64> {
    item.get("codeTries")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// A code among the digit runs of `text` (a code is a whole run: never a
/// part of a time or a number).
fn code_in<'a>(text: &'a str, codes: &BTreeSet<String>) -> Option<&'a str> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| codes.contains(*run))
}

/// The 6-digit codes of the code emails to `email`, oldest first.
async fn codes_sent_to(email: &str) -> Vec<String> {
    portguard_tests::ses::sent_emails_to(email)
        .await
        .iter()
        .filter(|m| m.subject == CODE_SUBJECT)
        .map(|m| {
            m.text
                .as_deref()
                .unwrap_or("")
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .expect("a 6-digit code in the code email")
                .to_owned()
        })
        .collect()
}

/// The whole table against §17: at most 5 contacts a tenant, each address
/// once, the index of each book naming exactly its contacts; no contact
/// confirmed unless its code was presented, an unconfirmed one waiting for
/// its code; and no code stored anywhere.
fn contacts_invariants(items: &[Item], run: &ContactsRun) {
    let mut books: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (id, c) in contact_items(items) {
        let pk = s_attr(c, "PK").unwrap();
        let email = s_attr(c, "email").unwrap();
        assert_eq!(
            Some(pk),
            s_attr(c, "tenantId")
                .map(|t| format!("TENANT#{t}"))
                .as_deref()
        );
        match s_attr(c, "status") {
            Some("unconfirmed") => assert!(
                c.contains_key("codeHash") && code_tries(c).is_some(),
                "{id}: unconfirmed without a code"
            ),
            Some("confirmed") => {
                assert!(
                    run.presented.contains(&id),
                    "{id} ({email}) is confirmed, yet its code was never presented"
                );
                assert!(!c.contains_key("codeHash"), "{id}: confirmed, hash kept");
            }
            other => panic!("{id}: status {other:?}"),
        }
        let twice = books
            .entry(pk)
            .or_default()
            .insert(email.to_ascii_lowercase(), id.clone());
        assert!(twice.is_none(), "{pk}: {email} twice");
    }
    for (pk, book) in &books {
        assert!(
            book.len() <= 5,
            "{pk} has {} contacts: {book:?}",
            book.len()
        );
    }
    let indexes: BTreeMap<&str, BTreeMap<String, String>> = items
        .iter()
        .filter(|i| sk_is(i, |sk| sk == "ALERTCONTACTS"))
        .map(|i| {
            let emails = i
                .get("emails")
                .and_then(|v| v.as_m().ok())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_s().unwrap().clone()))
                        .collect()
                })
                .unwrap_or_default();
            (s_attr(i, "PK").unwrap(), emails)
        })
        .collect();
    for pk in books.keys().chain(indexes.keys()) {
        assert_eq!(
            indexes.get(pk).cloned().unwrap_or_default(),
            books.get(pk).cloned().unwrap_or_default(),
            "{pk}: the book's index and its contacts disagree"
        );
    }
    for item in items {
        let text = portguard_tests::canonical_item(item);
        if let Some(code) = code_in(&text, &run.codes) {
            panic!("a confirmation code ({code}) is stored: {text}");
        }
    }
}

/// Sends one contacts event through [`check_with`] and checks, beyond it,
/// §17 on the answer and on what it wrote: a `201` is one new unconfirmed
/// contact of the caller's, one `alert_contact.added` item with its address
/// and one code email to it; a `204` one contact gone and one
/// `alert_contact.removed`; a confirmation one `alert_contact.confirmed`
/// (none for a contact already confirmed); a changed type list keeps the
/// status; a wrong code counts one try; nothing else is audited. No answer
/// holds a code or a code's hash, every not-found is the same bytes, and
/// the table keeps [`contacts_invariants`].
async fn contact_request(
    w: &World,
    pin: &set_pin::App,
    ev: &Value,
    tally: &Tally,
    run: &mut ContactsRun,
) -> Option<Answer> {
    let store = &w.apps.store;
    let before = portguard_tests::scan_items(store, None).await;
    let a = check_with(&w.apps, pin, Target::Contacts, ev, tally).await;
    let after = portguard_tests::scan_items(store, None).await;
    let Some(a) = a else {
        contacts_invariants(&after, run);
        return None;
    };
    *run.answers
        .entry((a.status, a.code().to_owned()))
        .or_default() += 1;
    let method = ev
        .pointer("/requestContext/http/method")
        .and_then(Value::as_str)
        .unwrap_or("");
    let caller = ev
        .pointer("/requestContext/authorizer/jwt/claims/tenant_id")
        .and_then(Value::as_str)
        .map(|t| format!("TENANT#{t}"))
        .unwrap_or_default();
    let (old, new) = (contact_items(&before), contact_items(&after));
    let known: BTreeSet<(String, String)> = before.iter().map(item_key).collect();
    let audited: Vec<&Item> = after
        .iter()
        .filter(|i| sk_is(i, |sk| sk.starts_with("AUDIT#")) && !known.contains(&item_key(i)))
        .collect();
    let audited_once = |kind: &str, email: &str| {
        assert_eq!(
            audited.len(),
            1,
            "one audit item for {}: {audited:?}",
            a.raw
        );
        let item = audited[0];
        assert_eq!(s_attr(item, "type"), Some(kind), "{item:?}");
        assert_eq!(s_attr(item, "email"), Some(email), "{item:?}");
        assert_eq!(s_attr(item, "PK"), Some(caller.as_str()), "{item:?}");
    };
    let answered_contact = a.body["id"]
        .as_str()
        .filter(|id| id.starts_with("ac_"))
        .map(str::to_owned);
    match (a.status, method, &answered_contact) {
        (201, "POST", Some(id)) => {
            let email = a.body["email"].as_str().unwrap();
            assert_eq!(a.body["status"], "unconfirmed", "{}", a.raw);
            assert_eq!(a.body["confirmedAt"], Value::Null, "{}", a.raw);
            assert!(!old.contains_key(id), "{id} existed");
            let stored = new.get(id).unwrap_or_else(|| panic!("{id} not stored"));
            assert_eq!(s_attr(stored, "PK"), Some(caller.as_str()));
            assert_eq!(s_attr(stored, "email"), Some(email));
            assert_eq!(s_attr(stored, "status"), Some("unconfirmed"));
            assert_eq!(new.len(), old.len() + 1, "one contact added");
            audited_once("alert_contact.added", email);
            let key = email.to_ascii_lowercase();
            *run.added.entry(key.clone()).or_default() += 1;
            if run.ses {
                // set-pin sends the code before it answers.
                let codes = codes_sent_to(email).await;
                let seen = run.code_emails.entry(key).or_default();
                assert_eq!(codes.len(), *seen + 1, "one code email to {email}");
                *seen += 1;
                run.codes.extend(codes.last().cloned());
            }
        }
        (204, "DELETE", _) => {
            let gone: Vec<&String> = old.keys().filter(|id| !new.contains_key(*id)).collect();
            assert_eq!(gone.len(), 1, "one contact removed: {gone:?}");
            assert_eq!(new.len(), old.len() - 1, "and none added");
            let removed = old[gone[0]];
            assert_eq!(s_attr(removed, "PK"), Some(caller.as_str()), "its own");
            audited_once("alert_contact.removed", s_attr(removed, "email").unwrap());
        }
        (200, "POST", Some(id)) => {
            let was = old
                .get(id)
                .unwrap_or_else(|| panic!("{id} confirmed: unknown"));
            let email = s_attr(was, "email").unwrap();
            if s_attr(was, "status") == Some("confirmed") {
                assert!(audited.is_empty(), "confirmed again is not audited");
            } else {
                assert!(
                    run.presented.contains(id),
                    "{id} confirmed without its code: {}",
                    a.raw
                );
                audited_once("alert_contact.confirmed", email);
            }
            assert_eq!(a.body["status"], "confirmed");
        }
        (200, "PATCH", Some(id)) => {
            assert!(audited.is_empty(), "a change of types is not audited");
            let (was, is) = (old[id], new[id]);
            assert_eq!(s_attr(was, "status"), s_attr(is, "status"), "status kept");
            assert_eq!(a.body["status"].as_str(), s_attr(is, "status"));
            let stored: Vec<&str> = is["types"]
                .as_l()
                .unwrap()
                .iter()
                .map(|t| t.as_s().unwrap().as_str())
                .collect();
            assert_eq!(a.body["types"], json!(stored));
            if s_attr(is, "status") == Some("confirmed") {
                let email = s_attr(is, "email").unwrap().to_ascii_lowercase();
                *run.notices.entry(email).or_default() += 1;
            }
        }
        (400, "POST", _) if a.code() == "INVALID_CONFIRMATION_CODE" => {
            assert!(audited.is_empty(), "a wrong code is not audited");
            let counted: Vec<(&String, i64)> = new
                .iter()
                .filter_map(|(id, is)| {
                    let was = old.get(id)?;
                    (code_tries(was) != code_tries(is)).then(|| (id, code_tries(is).unwrap()))
                })
                .collect();
            assert_eq!(counted.len(), 1, "one contact counted a try: {counted:?}");
            let (id, tries) = counted[0];
            assert_eq!(code_tries(old[id]), Some(tries - 1), "one try");
            assert_eq!(
                a.body["error"]["details"]["attemptsLeft"],
                json!(5 - tries),
                "{}",
                a.raw
            );
            assert_eq!(s_attr(new[id], "PK"), Some(caller.as_str()), "its own");
        }
        _ => assert!(audited.is_empty(), "audited: {audited:?} for {}", a.raw),
    }
    // What the answer shows of contacts, and never.
    let shown: Vec<&Value> = match a.body["items"].as_array() {
        Some(items) => items.iter().collect(),
        None if answered_contact.is_some() => vec![&a.body],
        None => Vec::new(),
    };
    for c in &shown {
        let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut want = CONTACT_FIELDS.to_vec();
        want.sort();
        assert_eq!(keys, want, "{}", a.raw);
    }
    if method == "GET" && a.status == 200 {
        assert!(shown.len() <= 5, "{}", a.raw);
        let own: Vec<&String> = new
            .iter()
            .filter(|(_, c)| s_attr(c, "PK") == Some(caller.as_str()))
            .map(|(id, _)| id)
            .collect();
        let listed: Vec<&str> = shown.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(listed, own, "the caller's contacts, oldest first");
    }
    if let Some(code) = code_in(&a.raw, &run.codes) {
        panic!("a confirmation code ({code}) in an answer: {}", a.raw);
    }
    for c in old.values().chain(new.values()) {
        if let Some(hash) = s_attr(c, "codeHash") {
            assert!(
                !a.raw.contains(hash),
                "a code's hash in an answer: {}",
                a.raw
            );
        }
        // Another tenant's contact is never named.
        if s_attr(c, "PK") != Some(caller.as_str()) {
            assert!(!a.raw.contains(s_attr(c, "id").unwrap()), "{}", a.raw);
        }
    }
    if (a.status, a.code()) == (404, "ALERT_CONTACT_NOT_FOUND") {
        let first = run.not_found.get_or_insert_with(|| a.raw.clone());
        assert_eq!(&a.raw, first, "every unknown contact answers the same");
    }
    contacts_invariants(&after, run);
    Some(a)
}

#[derive(Debug, Clone, Copy)]
enum ContactOp {
    List,
    Add,
    Confirm,
    Patch,
    Remove,
}

/// Which contact a generated request names.
#[derive(Debug, Clone)]
enum Aim {
    /// The i-th (wrapping) of t-100's contacts when the request is sent.
    Live(usize),
    /// The i-th of the contacts made before the run (some removed since).
    Seeded(usize),
    /// t-200's contact.
    Theirs,
    Unknown,
    /// A live id bent: lower case, without `ac_`, one character more.
    Bent(usize, u8),
    Junk(String),
}

fn aim() -> BoxedStrategy<Aim> {
    prop_oneof![
        6 => any::<usize>().prop_map(Aim::Live),
        2 => any::<usize>().prop_map(Aim::Seeded),
        2 => Just(Aim::Theirs),
        1 => Just(Aim::Unknown),
        1 => (any::<usize>(), 0u8..3).prop_map(|(i, how)| Aim::Bent(i, how)),
        1 => junk().prop_map(Aim::Junk),
    ]
    .boxed()
}

/// `types`: absent, a valid list (shuffled, with repeats), or not valid.
fn contact_types() -> BoxedStrategy<Option<Value>> {
    let names: Vec<&'static str> = portguard_store::AuditType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let all = names.len();
    prop_oneof![
        3 => Just(None),
        4 => (prop::sample::subsequence(names, 1..=all), any::<bool>()).prop_map(|(mut v, odd)| {
            if odd {
                v.push(v[0]);
                v.reverse();
            }
            Some(json!(v))
        }),
        1 => prop::sample::select(vec![
            json!([]),
            json!(["pin.stolen"]),
            json!("pin.set"),
            json!([7]),
            json!([null]),
            json!(["PIN.SET"]),
            json!(["pin.set", ""]),
            json!({"pin.set": true}),
        ])
        .prop_map(Some),
        1 => json_value().prop_map(Some),
    ]
    .boxed()
}

/// An address: one of the run's own (sometimes in capitals), one that §17
/// refuses, or anything.
fn contact_email(pool: Vec<String>) -> BoxedStrategy<Value> {
    let refused = vec![
        "Ops <ops@example.com>".to_owned(),
        "not-an-address".to_owned(),
        " ops@example.com".to_owned(),
        "ops@example.com ".to_owned(),
        "ops@example.com\n".to_owned(),
        "ops@localhost".to_owned(),
        "opé@example.com".to_owned(),
        "ops@@example.com".to_owned(),
        "\"ops\"@example.com".to_owned(),
        "ops(x)@example.com".to_owned(),
        "o ps@example.com".to_owned(),
        String::new(),
        format!("{}@{}.com", "a".repeat(64), "b".repeat(186)),
    ];
    prop_oneof![
        8 => (prop::sample::select(pool), any::<bool>())
            .prop_map(|(a, caps)| json!(if caps { a.to_uppercase() } else { a })),
        3 => prop::sample::select(refused).prop_map(Value::from),
        1 => junk().prop_map(Value::from),
        1 => json_value(),
    ]
    .boxed()
}

/// `code`: mostly 6 digits (never a live code: see the run), else not.
fn contact_code() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        6 => "[0-9]{6}".prop_map(|c| Some(json!(c))),
        1 => junk().prop_map(|c| Some(json!(c))),
        1 => Just(Some(json!(123456))),
        1 => Just(Some(Value::Null)),
        1 => Just(None),
    ]
    .boxed()
}

/// A field beside the route's own: refused, whatever it says.
fn contact_extra() -> BoxedStrategy<Option<(&'static str, Value)>> {
    prop_oneof![
        8 => Just(None),
        1 => Just(Some(("status", json!("confirmed")))),
        1 => (
            prop::sample::select(&["tenantId", "code", "email", "types", "id", "codeHash", "x"][..]),
            json_value()
        )
            .prop_map(Some),
    ]
    .boxed()
}

/// Paths beside the routes (`{id}` stands for the aimed id).
const ODD_CONTACT_PATHS: [&str; 12] = [
    "/v1/alert-contacts/",
    "/v1/alert-contacts/{id}/",
    "/v1/alert-contacts/{id}/confirm/",
    "/v1/alert-contacts/{id}/confirm/x",
    "/v1/alert-contacts/{id}/x",
    "/v1/alert-contacts//confirm",
    "/v1/alert-contacts/confirm",
    "/v1/alert-contacts/{id}/CONFIRM",
    "/v1/ALERT-CONTACTS",
    "/v1/alert-contacts/{id}%2Fconfirm",
    "/v1/alert-contacts/{id}/{id}",
    "/v1/alert-contacts/../pin",
];

fn contacts_who() -> BoxedStrategy<As> {
    prop_oneof![
        10 => Just(As::Admin(TENANT)),
        3 => Just(As::Admin("t-200")),
        1 => Just(As::Admin("t-unknown")),
        2 => who(),
    ]
    .boxed()
}

/// A 6-digit guess that is none of the codes the run has seen: the
/// property never presents a live code, even by chance.
fn not_a_code(guess: &str, codes: &BTreeSet<String>) -> String {
    let mut n: u32 = guess.parse().unwrap_or(0);
    let mut guess = guess.to_owned();
    while codes.contains(&guess) {
        n = (n + 1) % 1_000_000;
        guess = format!("{n:06}");
    }
    guess
}

#[test]
fn alert_contacts_survive_arbitrary_events() {
    let w = world();
    let tally = Tally::default();
    let ses = portguard_tests::ses::needs_ses_local();
    // With the local SES set-pin sends its codes, and the property reads
    // them back (to look for them where they must not be); without it (as
    // under `make soak`) nothing is sent and the rest is checked alike.
    let pin = w.rt.block_on(async {
        let mailer = match ses {
            true => {
                portguard_email::Mailer::connect(
                    Some(
                        portguard_validation::EmailAddress::parse("alerts@portguard.test").unwrap(),
                    ),
                    "https://console.portguard.test".into(),
                    None,
                )
                .await
            }
            false => portguard_email::Mailer::disabled(),
        };
        set_pin::App::new(w.apps.store.clone(), portguard_tests::hasher()).with_mailer(mailer)
    });
    let run = RefCell::new(ContactsRun {
        ses,
        ..ContactsRun::default()
    });
    // Addresses of this run only, so the local SES's mail to them is ours.
    let tag = ulid::Ulid::new().to_string().to_lowercase();
    let pool: Vec<String> = (0..8)
        .map(|i| format!("hostile{i}-{tag}@example.com"))
        .collect();
    let kept = format!("kept-{tag}@example.com");
    let send = |method: &str, path: &str, who: As, body: Option<Value>| {
        let ev = event_with(
            method,
            path,
            "",
            who,
            body.map(|b| b.to_string()).as_deref(),
            &[],
        );
        let mut run = run.borrow_mut();
        w.rt.block_on(contact_request(&w, &pin, &ev, &tally, &mut run))
            .expect("a request")
    };
    let expect = |a: Answer, status: u16, code: &str| {
        assert_eq!((a.status, a.code()), (status, code), "{}", a.raw);
        a
    };
    let id_of = |a: &Answer| a.body["id"].as_str().unwrap().to_owned();
    let add = |email: &str, who: As| send("POST", CONTACTS, who, Some(json!({ "email": email })));

    // Before the run: t-100's contact confirmed with its code (read from
    // its email; without the local SES, confirmed in the table), two more
    // of t-100's, and one of t-200's at an address t-100 has too.
    let confirmed = id_of(&expect(add(&kept, As::Admin(TENANT)), 201, ""));
    run.borrow_mut().presented.insert(confirmed.clone());
    if ses {
        let code = w.rt.block_on(codes_sent_to(&kept)).pop().unwrap();
        let path = format!("{CONTACTS}/{confirmed}/confirm");
        let body = json!({ "code": code });
        expect(send("POST", &path, As::Admin(TENANT), Some(body)), 200, "");
    } else {
        w.rt.block_on(async {
            let store = &w.apps.store;
            let c = store
                .get_alert_contact(&tid(TENANT), &confirmed.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            let audit = portguard_store::AuditEvent::new(
                &tid(TENANT),
                portguard_store::clock::now(),
                portguard_store::AuditType::AlertContactConfirmed,
                portguard_store::Actor {
                    kind: portguard_store::ActorKind::TenantAdmin,
                    id: Some("admin-of-t-100".into()),
                },
            )
            .email(&kept);
            let done = store.confirm_alert_contact(&c, portguard_store::clock::now(), &audit);
            assert!(matches!(
                done.await.unwrap(),
                portguard_store::tenants::Written::Done(())
            ));
        });
    }
    let mut seeded = vec![confirmed.clone()];
    for email in &pool[..2] {
        seeded.push(id_of(&expect(add(email, As::Admin(TENANT)), 201, "")));
    }
    let theirs = id_of(&expect(add(&pool[0], As::Admin("t-200")), 201, ""));

    // Every answer of §17 once, on every run, not by chance.
    let at = |id: &str| format!("{CONTACTS}/{id}");
    let confirm_at = |id: &str| format!("{CONTACTS}/{id}/confirm");
    let admin = || As::Admin(TENANT);
    expect(send("GET", CONTACTS, admin(), None), 200, "");
    let third = id_of(&expect(add(&pool[2], admin()), 201, ""));
    expect(
        add(&pool[2].to_uppercase(), admin()),
        409,
        "ALERT_CONTACT_EXISTS",
    );
    let fifth = id_of(&expect(add(&pool[3], admin()), 201, ""));
    expect(add(&pool[4], admin()), 409, "TOO_MANY_ALERT_CONTACTS");
    expect(add("Ops <ops@example.com>", admin()), 400, "INVALID_EMAIL");
    let bad_types = json!({"email": pool[5], "types": []});
    expect(
        send("POST", CONTACTS, admin(), Some(bad_types)),
        400,
        "INVALID_REQUEST",
    );
    expect(
        add(&pool[5], As::Admin("t-unknown")),
        404,
        "TENANT_NOT_FOUND",
    );
    let types = json!({"types": ["pin.changed"]});
    expect(
        send("PATCH", &at(&confirmed), admin(), Some(types.clone())),
        200,
        "",
    );
    expect(
        send("PATCH", &at(&third), admin(), Some(types.clone())),
        200,
        "",
    );
    expect(
        send("PATCH", &at(&third), admin(), Some(json!({}))),
        400,
        "INVALID_REQUEST",
    );
    let sly = json!({"types": ["pin.set"], "status": "confirmed"});
    expect(
        send("PATCH", &at(&third), admin(), Some(sly)),
        400,
        "INVALID_REQUEST",
    );
    let guess = || json!({ "code": not_a_code("000000", &run.borrow().codes) });
    expect(
        send("POST", &confirm_at(&confirmed), admin(), Some(guess())),
        200,
        "",
    );
    for _ in 0..5 {
        let a = send("POST", &confirm_at(&fifth), admin(), Some(guess()));
        expect(a, 400, "INVALID_CONFIRMATION_CODE");
    }
    let a = send("POST", &confirm_at(&fifth), admin(), Some(guess()));
    expect(a, 410, "CONFIRMATION_EXPIRED");
    expect(
        send("POST", &confirm_at(&third), admin(), Some(json!({}))),
        400,
        "INVALID_REQUEST",
    );
    expect(send("DELETE", &at(&fifth), admin(), None), 204, "");
    expect(
        send("DELETE", &at(&fifth), admin(), None),
        404,
        "ALERT_CONTACT_NOT_FOUND",
    );
    expect(
        send("DELETE", &at(UNKNOWN_CONTACT), admin(), None),
        404,
        "ALERT_CONTACT_NOT_FOUND",
    );
    expect(
        send("DELETE", &at("whatever"), admin(), None),
        404,
        "ALERT_CONTACT_NOT_FOUND",
    );
    let t200 = || As::Admin("t-200");
    expect(
        send("DELETE", &at(&confirmed), t200(), None),
        404,
        "ALERT_CONTACT_NOT_FOUND",
    );
    expect(
        send("PATCH", &at(&third), t200(), Some(types)),
        404,
        "ALERT_CONTACT_NOT_FOUND",
    );
    let a = send("POST", &confirm_at(&third), t200(), Some(guess()));
    expect(a, 404, "ALERT_CONTACT_NOT_FOUND");
    expect(
        send("GET", CONTACTS, As::Carrier("carrier-a"), None),
        403,
        "FORBIDDEN",
    );
    expect(add(&pool[6], As::Nobody), 401, "UNAUTHENTICATED");
    expect(
        send("PUT", CONTACTS, admin(), None),
        405,
        "METHOD_NOT_ALLOWED",
    );
    expect(
        send("GET", &at(&third), admin(), None),
        405,
        "METHOD_NOT_ALLOWED",
    );
    expect(
        send("GET", &confirm_at(&third), admin(), None),
        405,
        "METHOD_NOT_ALLOWED",
    );
    expect(
        send("POST", &format!("{}/x", at(&third)), admin(), None),
        404,
        "NOT_FOUND",
    );

    let strategy = (
        prop_oneof![
            1 => Just(ContactOp::List),
            4 => Just(ContactOp::Add),
            2 => Just(ContactOp::Confirm),
            2 => Just(ContactOp::Patch),
            2 => Just(ContactOp::Remove),
        ],
        aim(),
        (
            contact_email(pool.clone()),
            contact_types(),
            contact_code(),
            contact_extra(),
        ),
        (
            prop_oneof![
                9 => Just(None),
                1 => prop::sample::select(&["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"][..]).prop_map(Some),
            ],
            prop_oneof![9 => Just(None), 1 => prop::sample::select(&ODD_CONTACT_PATHS[..]).prop_map(Some)],
            prop_oneof![
                9 => Just(None),
                1 => prop_oneof![
                    Just(None),
                    junk().prop_map(Some),
                    json_value().prop_map(|v| Some(v.to_string())),
                ]
                .prop_map(Some),
            ],
        ),
        (
            any::<usize>(),
            any::<usize>(),
            any::<u8>(),
            any::<u8>(),
            prop::bool::weighted(0.08),
        ),
        contacts_who(),
        prop_oneof![4 => Just(Vec::new()), 1 => mutations()],
    );
    let mut runner = runner(96);
    let result = runner.run(
        &strategy,
        |(
            op,
            aim,
            (email, types, code, extra),
            (method, path, body),
            (cut, at, byte, how, broken),
            who,
            muts,
        )| {
            let live: Vec<String> =
                w.rt.block_on(w.apps.store.alert_contacts(&tid(TENANT)))
                    .unwrap()
                    .contacts
                    .into_iter()
                    .map(|c| c.id.to_string())
                    .collect();
            let pick = |i: usize| {
                live.get(i % live.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| UNKNOWN_CONTACT.to_owned())
            };
            let id = match aim {
                Aim::Live(i) => pick(i),
                Aim::Seeded(i) => seeded[i % seeded.len()].clone(),
                Aim::Theirs => theirs.clone(),
                Aim::Unknown => UNKNOWN_CONTACT.to_owned(),
                Aim::Bent(i, 0) => pick(i).to_lowercase(),
                Aim::Bent(i, 1) => pick(i).trim_start_matches("ac_").to_owned(),
                Aim::Bent(i, _) => format!("{}A", pick(i)),
                Aim::Junk(j) => j.replace(['?', '#'], ""),
            };
            let code = code.map(|c| match c.as_str() {
                Some(g) if g.len() == 6 => json!(not_a_code(g, &run.borrow().codes)),
                _ => c,
            });
            let mut sent = match op {
                ContactOp::Add => {
                    let mut b = json!({ "email": email });
                    if let Some(t) = types {
                        b["types"] = t;
                    }
                    Some(b)
                }
                ContactOp::Confirm => Some(match code {
                    Some(c) => json!({ "code": c }),
                    None => json!({}),
                }),
                ContactOp::Patch => Some(json!({
                    "types": types.unwrap_or_else(|| json!(["port_out.requested"]))
                })),
                ContactOp::List | ContactOp::Remove => None,
            };
            if let (Some(b), Some((k, v))) = (sent.as_mut(), extra) {
                b[k] = v;
            }
            let text = match body {
                Some(replaced) => replaced,
                None => sent.map(|b| b.to_string()),
            };
            let text = text.map(|t| {
                if broken {
                    damage(t, cut, at, byte, how)
                } else {
                    t
                }
            });
            let method = method.unwrap_or(match op {
                ContactOp::List => "GET",
                ContactOp::Add | ContactOp::Confirm => "POST",
                ContactOp::Patch => "PATCH",
                ContactOp::Remove => "DELETE",
            });
            let path = match (path, op) {
                (Some(p), _) => p.replace("{id}", &id),
                (None, ContactOp::List | ContactOp::Add) => CONTACTS.to_owned(),
                (None, ContactOp::Confirm) => format!("{CONTACTS}/{id}/confirm"),
                (None, ContactOp::Patch | ContactOp::Remove) => format!("{CONTACTS}/{id}"),
            };
            let ev = apply(
                event_with(method, &path, "", who, text.as_deref(), &[]),
                &muts,
            );
            let mut run = run.borrow_mut();
            w.rt.block_on(contact_request(&w, &pin, &ev, &tally, &mut run));
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    tally.report("alert contacts", 48);
    let run = run.into_inner();
    eprintln!("alert contacts: answers {:?}", run.answers);
    // The mail: each of the run's addresses got one code per 201 and
    // nothing else (none was confirmed); the confirmed contact, its code and
    // a notice per change of its types.
    if ses {
        w.rt.block_on(async {
            for address in pool.iter().chain([&kept]) {
                let mails = portguard_tests::ses::sent_emails_to(address).await;
                let codes = mails.iter().filter(|m| m.subject == CODE_SUBJECT).count();
                let notices = mails.iter().filter(|m| m.subject == TYPES_SUBJECT).count();
                let key = address.to_ascii_lowercase();
                assert_eq!(
                    codes,
                    run.added.get(&key).copied().unwrap_or(0),
                    "{address}"
                );
                assert_eq!(
                    notices,
                    run.notices.get(&key).copied().unwrap_or(0),
                    "{address}"
                );
                assert_eq!(codes + notices, mails.len(), "{address}: {mails:#?}");
            }
        });
    }
    w.rt.block_on(audit_consistency(&w.apps.store));
}

// ---------------------------------------------------------------- submit-port-out

/// A port-out body with some fields replaced, removed or added.
fn port_out_body_strategy() -> BoxedStrategy<String> {
    let field = prop::sample::select(
        &[
            "accountNumber",
            "pin",
            "phoneNumbers",
            "pon",
            "authorizedName",
            "requestedFocDate",
            "extra",
        ][..],
    );
    (
        prop::sample::select(&[ACCOUNT, "ACC-2001", "ACC-3001", "ACC-404"][..]),
        pin_guess(),
        prop::collection::vec(phone(), 0..4),
        prop::collection::vec(
            (
                field,
                prop_oneof![json_value(), junk().prop_map(Value::from)],
                any::<bool>(),
            ),
            0..3,
        ),
        (
            any::<usize>(),
            any::<usize>(),
            any::<u8>(),
            any::<u8>(),
            prop::bool::weighted(0.15),
        ),
    )
        .prop_map(
            |(account, pin, phones, edits, (cut, at, byte, how, broken))| {
                let mut b = port_out_body(account, &pin, &phones);
                for (field, value, remove) in edits {
                    if remove {
                        b.as_object_mut().unwrap().remove(field);
                    } else {
                        b[field] = value;
                    }
                }
                let text = b.to_string();
                if broken {
                    damage(text, cut, at, byte, how)
                } else {
                    text
                }
            },
        )
        .boxed()
}

#[test]
fn submit_port_out_survives_arbitrary_events() {
    let w = world();
    let tally = Tally::default();
    // Live transfer PINs of t-100, so that bodies also reach check 10's
    // transfer-PIN path and the consumption in the order's transaction.
    let transfer_pins: Vec<String> = w.rt.block_on(async {
        let mut pins = Vec::new();
        for i in 0..5 {
            let issued = issue_transfer_pin(&w.apps, numbers("206", 100 + 2 * i, 2)).await;
            pins.push(issued["pin"].as_str().unwrap().to_owned());
        }
        pins
    });
    let transfer_pin_body = (prop::sample::select(transfer_pins), 0usize..12)
        .prop_map(|(pin, i)| port_out_body(ACCOUNT, &pin, &numbers("206", 100 + i, 1)).to_string());
    let ids: Vec<String> = w.orders.iter().map(|(id, _)| id.clone()).collect();
    let path = prop_oneof![
        3 => Just("/v1/port-outs".to_owned()),
        2 => prop::sample::select(ids.clone()).prop_map(|id| format!("/v1/port-outs/{id}")),
        2 => prop::sample::select(ids).prop_map(|id| format!("/v1/port-outs/{id}/reject")),
        2 => junk().prop_map(|j| format!("/v1/port-outs/{}", j.replace(['?', '#'], ""))),
        1 => Just("/v1/port-outs/".to_owned()),
        1 => Just("/v1/port-outs/a/b".to_owned()),
    ];
    let strategy = (
        prop::sample::select(&["POST", "POST", "GET", "PUT", "DELETE"][..]),
        path,
        who(),
        prop_oneof![
            Just(None),
            port_out_body_strategy().prop_map(Some),
            junk().prop_map(Some),
            transfer_pin_body.prop_map(Some),
        ],
        prop_oneof![
            Just(String::new()),
            "(status|limit|nextToken)=[ -~]{0,16}",
            (0i64..200).prop_map(|l| format!("limit={l}")),
            prop::sample::select(
                &[
                    "status=pending",
                    "status=PENDING",
                    "limit=1e2",
                    "limit=-1",
                    "nextToken=eyJ0byI6ImEifQ"
                ][..]
            )
            .prop_map(String::from),
        ],
        prop_oneof![
            Just(None),
            junk().prop_map(Some),
            "[a-z0-9-]{1,300}".prop_map(Some)
        ],
        mutations(),
    );
    let mut run = runner(128);
    let result = run.run(&strategy, |(method, path, who, body, query, key, muts)| {
        let headers: Vec<(&str, &str)> = key
            .as_deref()
            .map(|k| ("Idempotency-Key", k))
            .into_iter()
            .collect();
        let ev = apply(
            event_with(method, &path, &query, who, body.as_deref(), &headers),
            &muts,
        );
        w.rt.block_on(check(&w.apps, Target::Submit, &ev, &tally));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    tally.report("submit-port-out", 48);
    // Whatever was accepted on the way, the table still adds up.
    w.rt.block_on(audit_consistency(&w.apps.store));
}

// ---------------------------------------------------------------- Bandwidth

/// A validation request as Bandwidth might send it, with elements dropped,
/// replaced by junk, repeated or wrapped in CDATA, and sometimes damaged
/// bytes.
fn bandwidth_body_strategy() -> BoxedStrategy<String> {
    let element = prop::sample::select(
        &[
            "PON",
            "Pin",
            "AccountNumber",
            "TelephoneNumbers",
            "ZipCode",
            "Extra",
        ][..],
    );
    (
        prop::sample::select(&[ACCOUNT, "ACC-2001", "ACC-3001", "ACC-404", ""][..]),
        pin_guess(),
        prop::collection::vec(phone(), 0..4),
        prop::collection::vec((element, junk(), 0u8..4), 0..2),
        (
            any::<usize>(),
            any::<usize>(),
            any::<u8>(),
            any::<u8>(),
            prop::bool::weighted(0.15),
        ),
    )
        .prop_map(
            |(account, pin, phones, edits, (cut, at, byte, how, broken))| {
                let mut text = bw_request(account, &pin, "PON-7781", &phones);
                for (element, junk, how) in edits {
                    let escaped = junk
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;");
                    let open = format!("<{element}>");
                    text = match how {
                        // the element's text replaced by junk
                        0 => text.replacen(&open, &format!("{open}{escaped}"), 1),
                        // the element dropped (its opening tag renamed)
                        1 => text.replacen(&open, "<Dropped>", 1).replacen(
                            &format!("</{element}>"),
                            "</Dropped>",
                            1,
                        ),
                        // a second one
                        2 => text.replacen(
                            "</PortOutValidationRequest>",
                            &format!("{open}{escaped}</{element}></PortOutValidationRequest>"),
                            1,
                        ),
                        // CDATA
                        _ => text.replacen(
                            &open,
                            &format!("{open}<![CDATA[{}]]>", junk.replace("]]>", "")),
                            1,
                        ),
                    };
                }
                if broken {
                    damage(text, cut, at, byte, how)
                } else {
                    text
                }
            },
        )
        .boxed()
}

#[test]
fn bandwidth_routes_survive_arbitrary_events() {
    let w = world();
    let tally = Tally::default();
    let strategy = (
        prop_oneof![9 => Just("POST"), 1 => Just("GET"), 1 => Just("PUT")],
        prop_oneof![
            8 => Just("/v1/integrations/bandwidth/port-out-validation"),
            1 => Just("/v1/integrations/bandwidth/port-out-validation/"),
            2 => Just("/v1/integrations/bandwidth/notifications"),
            1 => Just("/v1/integrations/bandwidth"),
            1 => Just("/v1/integrations/bandwidth/port-out-validation/x"),
        ],
        prop_oneof![
            10 => Just(Some(portguard_tests::BANDWIDTH_BASIC.to_owned())),
            1 => Just(None),
            1 => junk().prop_map(Some),
            1 => "Basic [A-Za-z0-9+/=]{0,40}".prop_map(Some),
        ],
        prop_oneof![
            10 => bandwidth_body_strategy().prop_map(Some),
            1 => junk().prop_map(Some),
            1 => Just(None),
            1 => Just(Some("<Notification><OrderType>portouts</OrderType><Status>COMPLETE</Status><CompletedTelephoneNumbers><TelephoneNumber>2065550126</TelephoneNumber></CompletedTelephoneNumbers></Notification>".to_owned())),
        ],
        mutations(),
    );
    let mut run = runner(128);
    let result = run.run(&strategy, |(method, path, auth, body, muts)| {
        let mut headers = vec![("content-type", "application/xml")];
        headers.extend(auth.as_deref().map(|a| ("authorization", a)));
        let ev = apply(
            event_with(method, path, "", As::Nobody, body.as_deref(), &headers),
            &muts,
        );
        let a =
            w.rt.block_on(check(&w.apps, Target::Bandwidth, &ev, &tally));
        // After authentication the validation route says no in its own
        // format, whatever came: never an error Bandwidth would approve on.
        if let Some(a) = a {
            let validation = ev["rawPath"]
                .as_str()
                .is_some_and(|p| p.trim_end_matches('/').ends_with("port-out-validation"));
            let authenticated = ev["headers"]["authorization"].is_string();
            let post = ev.pointer("/requestContext/http/method") == Some(&json!("POST"));
            if validation && authenticated && post {
                let v = Verdict::of(&a);
                assert!(v.portable || v.code.is_some(), "{}", a.raw);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    tally.report("bandwidth", 48);
    w.rt.block_on(audit_consistency(&w.apps.store));
}

// ---------------------------------------------------------------- Telnyx

/// t-400's PIN in the Telnyx world: the one another tenant's numbers are
/// tried with.
const T400_PIN: &str = "11223344";

/// PINs distinctive enough that finding one anywhere it was not sent is a
/// leak (no id, number or time of the table spells them by chance).
const MARKED_PINS: [&str; 3] = [PIN, WRONG, T400_PIN];

/// How a generated event is signed.
#[derive(Debug, Clone)]
enum TxSig {
    Good,
    OtherKey,
    Stale,
    Missing,
    /// Signed, then one byte of the body changed.
    BodyChanged(usize),
}

/// A Telnyx number a port-out might name: mostly t-100's, some of t-300
/// (no PIN) and t-400 (another tenant with a PIN), and junk.
fn tx_phone() -> BoxedStrategy<String> {
    prop_oneof![
        8 => (100u32..126).prop_map(|i| format!("+1206555{i:04}")),
        3 => phone(),
        1 => Just("+13125550100".to_owned()),
        2 => (200u32..203).prop_map(|i| format!("+1312555{i:04}")),
    ]
    .boxed()
}

/// A port-out event as Telnyx might send it: mostly `pending` with a PIN
/// (right, wrong, another tenant's, junk, none) for one of 40 port-outs, so
/// that decisions are taken and repeated and later events find orders;
/// sometimes fields replaced or removed, and damaged bytes. `None` as the
/// event id: a fresh one, given when the event is sent.
#[allow(clippy::type_complexity)]
fn telnyx_body_strategy() -> BoxedStrategy<(Option<String>, Value, (usize, usize, u8, u8, bool))> {
    let pointer = prop::sample::select(
        &[
            "/data/payload/phone_numbers",
            "/data/payload/attempted_pin",
            "/data/payload/status",
            "/data/payload/id",
            "/data/payload/foc_date",
            "/data/payload/extra",
            "/data/payload",
            "/data/id",
            "/data/event_type",
            "/data",
            "/meta",
        ][..],
    );
    (
        prop_oneof![
            8 => Just(None),
            1 => prop::sample::select(&["ev-dup-0", "ev-dup-1"][..]).prop_map(|e| Some(e.to_owned())),
            1 => junk().prop_map(Some),
        ],
        prop_oneof![
            12 => Just("portout.status_changed".to_owned()),
            2 => Just("portout.foc_date_changed".to_owned()),
            1 => Just("portout.new_comment".to_owned()),
            1 => junk(),
        ],
        prop_oneof![
            20 => Just("pending".to_owned()),
            2 => Just("ported".to_owned()),
            1 => Just("canceled".to_owned()),
            1 => Just("rejected".to_owned()),
            1 => Just("authorized".to_owned()),
            1 => Just("rejected-pending".to_owned()),
            1 => junk(),
        ],
        prop_oneof![
            10 => (0usize..40).prop_map(|i| Some(json!(format!("po-hostile-{i}")))),
            1 => junk().prop_map(|j| Some(json!(j))),
            1 => Just(None),
        ],
        prop_oneof![
            6 => prop::collection::vec(tx_phone(), 1..3),
            1 => prop::collection::vec(tx_phone(), 0..6),
        ],
        prop_oneof![
            3 => Just(Some(json!(PIN))),
            3 => Just(Some(json!(WRONG))),
            1 => Just(Some(json!(T400_PIN))),
            2 => pin_guess().prop_map(|p| Some(json!(p))),
            1 => Just(None),
            1 => Just(Some(Value::Null)),
            1 => json_value().prop_map(Some),
        ],
        prop_oneof![
            4 => (-3i64..150).prop_map(portguard_tests::date_in),
            1 => (0i64..20).prop_map(|d| format!("{}T23:30:00Z", portguard_tests::date_in(d))),
            1 => junk(),
        ],
        prop_oneof![
            6 => Just(Vec::new()),
            1 => prop::collection::vec((pointer, json_value(), any::<bool>()), 1..3),
        ],
        (
            any::<usize>(),
            any::<usize>(),
            any::<u8>(),
            any::<u8>(),
            prop::bool::weighted(0.1),
        ),
    )
        .prop_map(
            |(event_id, event_type, status, po, phones, pin, foc, edits, damage)| {
                let mut payload = json!({
                    "phone_numbers": phones,
                    "carrier_name": "Example Wireless",
                    "spid": "073H",
                    "status": status,
                    "foc_date": foc,
                });
                if let Some(po) = po {
                    payload["id"] = po;
                }
                if let Some(pin) = pin {
                    payload["attempted_pin"] = pin;
                }
                let mut body = json!({
                    "data": {"event_type": event_type, "id": "", "occurred_at": "2026-12-05T10:00:00Z",
                             "record_type": "event", "payload": payload},
                    "meta": {"attempt": 1, "delivered_to": "https://portguard.example/v1/integrations/telnyx/port-out-events"}
                });
                for (pointer, value, remove) in edits {
                    if remove {
                        delete_pointer(&mut body, pointer);
                    } else {
                        set_pointer(&mut body, pointer, value);
                    }
                }
                (event_id, body, damage)
            },
        )
        .boxed()
}

fn tx_sig() -> BoxedStrategy<TxSig> {
    prop_oneof![
        24 => Just(TxSig::Good),
        1 => Just(TxSig::OtherKey),
        1 => Just(TxSig::Stale),
        1 => Just(TxSig::Missing),
        1 => any::<usize>().prop_map(TxSig::BodyChanged),
    ]
    .boxed()
}

/// `body` to Telnyx's route at `path`, signed as `sig` says.
fn tx_event(method: &str, path: &str, body: &str, sig: &TxSig) -> Value {
    let now = portguard_store::clock::now();
    let key = portguard_tests::fixtures::TELNYX_PRIVATE_KEY;
    // Base64 of 32 bytes of 'A': a key that is not Telnyx's.
    let other = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
    let (ts, key, sent) = match sig {
        TxSig::Stale => (now - 301, key, body.to_owned()),
        TxSig::OtherKey => (now, other, body.to_owned()),
        TxSig::BodyChanged(at) => {
            let mut bytes = body.as_bytes().to_vec();
            let at = at % bytes.len().max(1);
            if let Some(b) = bytes.get_mut(at) {
                *b = if *b == b'0' { b'1' } else { b'0' };
            } else {
                bytes.push(b' ');
            }
            (now, key, String::from_utf8_lossy(&bytes).into_owned())
        }
        TxSig::Good | TxSig::Missing => (now, key, body.to_owned()),
    };
    let signature = telnyx_stand_in::sign(key, ts, body.as_bytes()).unwrap();
    let ts = ts.to_string();
    let mut headers = vec![
        ("content-type", "application/json"),
        ("telnyx-timestamp", ts.as_str()),
    ];
    if !matches!(sig, TxSig::Missing) {
        headers.push(("telnyx-signature-ed25519", signature.as_str()));
    }
    event_with(method, path, "", As::Nobody, Some(&sent), &headers)
}

fn s_attr<'a>(
    item: &'a std::collections::HashMap<String, AttributeValue>,
    k: &str,
) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// Codes Telnyx's door decides before a tenant is read, and the one with
/// no tenant: none is audited.
const TX_UNAUDITED: [&str; 7] = [
    "INVALID_REQUEST",
    "INVALID_PHONE_NUMBER",
    "DUPLICATE_PHONE_NUMBER",
    "TOO_MANY_NUMBERS",
    "PIN_REQUIRED",
    "INVALID_PIN_FORMAT",
    "ACCOUNT_NOT_FOUND",
];

/// Telnyx's books, whatever was answered: no claim left behind (nothing
/// half-decided); every decision whole (an accepted one names an order of
/// Telnyx's carrier with `source: telnyx` and this port-out's `externalId`;
/// a refusal was told to Telnyx exactly once, `CODE: sentence`); every
/// Telnyx order a decision's; and the audit trail holding exactly one
/// record per decision that reached a tenant (counted once, however often
/// the port-out came). Returns the decisions, port-out id → code.
async fn telnyx_books(
    store: &portguard_store::Store,
    stand_in: &telnyx_stand_in::StandIn,
) -> std::collections::BTreeMap<String, Option<String>> {
    use std::collections::BTreeMap;
    let items = portguard_tests::scan_items(store, None).await;
    let prefix = format!("UPSTREAM#{TELNYX}#");
    let mut decisions: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut decided_orders: BTreeMap<String, String> = BTreeMap::new();
    let orders: BTreeMap<&str, _> = items
        .iter()
        .filter(|i| s_attr(i, "PK").is_some_and(|pk| pk.starts_with("ORDER#")))
        .map(|o| (s_attr(o, "id").unwrap(), o))
        .collect();
    let rejects = stand_in.rejects();
    for item in &items {
        let Some(po) = s_attr(item, "PK").and_then(|pk| pk.strip_prefix(&prefix)) else {
            continue;
        };
        assert_eq!(
            s_attr(item, "state"),
            Some("decided"),
            "{po}: a claim was left behind: {item:?}"
        );
        let code = s_attr(item, "code").map(str::to_owned);
        let told = item.get("told").and_then(|v| v.as_bool().ok()).copied();
        match &code {
            None => {
                let order_id = s_attr(item, "orderId")
                    .unwrap_or_else(|| panic!("{po}: accepted without an order"));
                let order = orders
                    .get(order_id)
                    .unwrap_or_else(|| panic!("{po}: its order {order_id} is missing"));
                assert_eq!(s_attr(order, "source"), Some("telnyx"), "{po}");
                assert_eq!(s_attr(order, "externalId"), Some(po), "{po}");
                assert_eq!(s_attr(order, "carrierId"), Some(TELNYX), "{po}");
                assert!(
                    rejects.iter().all(|(id, _)| id != po),
                    "{po}: accepted, yet rejected at Telnyx"
                );
                decided_orders.insert(order_id.to_owned(), po.to_owned());
            }
            Some(code) => {
                assert_eq!(s_attr(item, "orderId"), None, "{po}: refused with an order");
                assert_eq!(told, Some(true), "{po}: the stand-in is up, yet not told");
                let told: Vec<&String> = rejects
                    .iter()
                    .filter(|(id, _)| id == po)
                    .map(|(_, reason)| reason)
                    .collect();
                assert_eq!(told.len(), 1, "{po}: told {} times", told.len());
                assert!(
                    told[0].starts_with(&format!("{code}: ")),
                    "{po}: {code} told as {}",
                    told[0]
                );
            }
        }
        decisions.insert(po.to_owned(), code);
    }
    assert!(
        rejects.iter().all(|(id, _)| decisions.contains_key(id)),
        "a reject without a decision: {rejects:?}"
    );
    for (id, order) in &orders {
        if s_attr(order, "source") == Some("telnyx") {
            assert!(
                decided_orders.contains_key(*id),
                "Telnyx order {id} is no decision's"
            );
        }
    }
    // The audit trail: one `port_out.requested` per accepted decision (its
    // order), one `port_out.rejected` per refusal that reached a tenant.
    let by_telnyx = |kind: portguard_store::AuditType| {
        items
            .iter()
            .filter(|i| {
                s_attr(i, "SK").is_some_and(|sk| sk.starts_with("AUDIT#"))
                    && s_attr(i, "actorId") == Some(TELNYX)
                    && s_attr(i, "type") == Some(kind.as_str())
            })
            .collect::<Vec<_>>()
    };
    let mut requested: Vec<&str> = by_telnyx(portguard_store::AuditType::PortOutRequested)
        .iter()
        .map(|i| s_attr(i, "portOutId").unwrap())
        .collect();
    requested.sort();
    let mut expected: Vec<&str> = decided_orders.keys().map(String::as_str).collect();
    expected.sort();
    assert_eq!(
        requested, expected,
        "one port_out.requested per accepted port-out"
    );
    // Refusals that do not look at the PIN are audited once per tenant,
    // carrier, code and hour (contract §4.1): at least one and at most one
    // a refusal, never two in one tenant's hour; every other refusal once.
    let once = |c: &str| TX_AUDITED_HOURLY.contains(&c);
    let rejected = by_telnyx(portguard_store::AuditType::PortOutRejected);
    let mut refused: Vec<&str> = rejected
        .iter()
        .map(|i| s_attr(i, "code").unwrap())
        .filter(|c| !once(c))
        .collect();
    refused.sort();
    let codes = || decisions.values().flatten().map(String::as_str);
    let mut expected: Vec<&str> = codes()
        .filter(|c| !TX_UNAUDITED.contains(c) && !once(c))
        .collect();
    expected.sort();
    assert_eq!(
        refused, expected,
        "one port_out.rejected per refusal of a tenant's port-out"
    );
    let mut hourly = std::collections::BTreeSet::new();
    for item in rejected.iter().filter(|i| once(s_attr(i, "code").unwrap())) {
        let key = (
            s_attr(item, "PK").unwrap(),
            s_attr(item, "code").unwrap(),
            &s_attr(item, "time").unwrap()[..13],
        );
        assert!(hourly.insert(key), "audited twice in one hour: {key:?}");
    }
    for code in TX_AUDITED_HOURLY {
        let told = codes().filter(|c| *c == code).count();
        let audited = hourly.iter().filter(|(_, c, _)| *c == code).count();
        assert!(
            audited <= told && (told == 0 || audited >= 1),
            "{code}: {told} refusals, {audited} audit items"
        );
    }
    decisions
}

/// Telnyx refusals audited once per tenant, carrier, code and hour.
const TX_AUDITED_HOURLY: [&str; 3] = ["PORT_OUT_LOCKED", "PIN_NOT_SET", "TENANT_NOT_ELIGIBLE"];

#[test]
fn telnyx_route_survives_arbitrary_events() {
    let w = world_with(true);
    let stand_in = w.stand_in.as_ref().unwrap();
    let tally = Tally::default();
    let decided = AtomicUsize::new(0);
    let strategy = (
        prop_oneof![16 => Just("POST"), 1 => Just("GET"), 1 => Just("PUT")],
        prop_oneof![
            20 => Just(TX_EVENTS.to_owned()),
            1 => Just(format!("{TX_EVENTS}/")),
            1 => Just("/v1/integrations/telnyx".to_owned()),
            1 => Just(format!("{TX_EVENTS}/x")),
        ],
        telnyx_body_strategy(),
        tx_sig(),
        prop_oneof![5 => Just(Vec::new()), 1 => mutations()],
    );
    let mut run = runner(192);
    let result = run.run(
        &strategy,
        |(method, path, (event_id, mut body, (cut, at, byte, how, broken)), sig, muts)| {
            let event_id = event_id.unwrap_or_else(|| format!("ev-{}", ulid::Ulid::new()));
            if body.pointer("/data/id") == Some(&json!("")) {
                body["data"]["id"] = json!(event_id);
            }
            let text = body.to_string();
            let text = if broken {
                damage(text, cut, at, byte, how)
            } else {
                text
            };
            let unmutated = muts.is_empty();
            let ev = apply(tx_event(method, &path, &text, &sig), &muts);
            let before = w.rt.block_on(portguard_tests::dump_table(&w.apps.store));
            let a = w.rt.block_on(check(&w.apps, Target::Telnyx, &ev, &tally));
            let decisions = w.rt.block_on(telnyx_books(&w.apps.store, stand_in));
            let Some(a) = a else { return Ok(()) };
            // A PIN sent once, in `attempted_pin`, is found nowhere after:
            // not in the answer, the table or what Telnyx was told.
            let after = w.rt.block_on(portguard_tests::dump_table(&w.apps.store));
            let attempted = body
                .pointer("/data/payload/attempted_pin")
                .and_then(Value::as_str)
                .unwrap_or("");
            let sent_once = |pin: &str| {
                attempted.contains(pin)
                    && body.to_string().matches(pin).count() == 1
                    && text.matches(pin).count() == 1
            };
            for pin in MARKED_PINS {
                if sent_once(pin) && !before.contains(pin) {
                    assert!(!a.raw.contains(pin), "the PIN in the answer: {}", a.raw);
                    assert!(!after.contains(pin), "the PIN stored");
                    assert!(
                        stand_in.calls().iter().all(|c| !c
                            .reason
                            .as_deref()
                            .unwrap_or("")
                            .contains(pin)),
                        "the PIN told to Telnyx"
                    );
                }
            }
            let exact = ev["rawPath"] == json!(TX_EVENTS)
                && ev.pointer("/requestContext/http/method") == Some(&json!("POST"));
            // A signed event reaching the route is always answered: never a
            // 401, 404 or 5xx; a decision answers what was decided.
            if exact && unmutated && matches!(sig, TxSig::Good) {
                let code = a.code();
                assert!(
                    a.status == 200
                        || (a.status, code) == (400, "INVALID_EVENT")
                        || (a.status, code) == (409, "INVALID_TRANSITION")
                        || (a.status, code) == (413, "PAYLOAD_TOO_LARGE"),
                    "a signed event: {}",
                    a.raw
                );
                if ["accepted", "rejected"].contains(&a.body["result"].as_str().unwrap_or("")) {
                    decided.fetch_add(1, Ordering::Relaxed);
                    // The id the function read: a damaged body can still be
                    // JSON, naming another port-out than `body` does.
                    let sent: Value = serde_json::from_str(&text).expect("a decided body is JSON");
                    let po = sent
                        .pointer("/data/payload/id")
                        .and_then(Value::as_str)
                        .unwrap();
                    assert_eq!(
                        decisions.get(po).map(|c| c.as_deref()),
                        Some(a.body["code"].as_str()),
                        "{po}: answered other than decided: {}",
                        a.raw
                    );
                }
            }
            if a.status == 401 {
                assert_eq!(a.code(), "INVALID_SIGNATURE", "{}", a.raw);
            }
            if !matches!(sig, TxSig::Good) && exact {
                assert_eq!(a.status, 401, "{sig:?}: {}", a.raw);
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    tally.report("telnyx", 48);
    let decided = decided.load(Ordering::Relaxed);
    eprintln!("telnyx: {decided} answers were decisions");
    assert!(decided >= 16, "only {decided} events reached a decision");
    let decisions = w.rt.block_on(telnyx_books(&w.apps.store, stand_in));
    let accepted = decisions.values().filter(|c| c.is_none()).count();
    assert!(
        accepted >= 1 && decisions.len() > accepted,
        "both outcomes reached: {decisions:?}"
    );
    w.rt.block_on(audit_consistency(&w.apps.store));
}

// ---------------------------------------------------------------- carrier-webhook

/// Ways to spoil a correctly signed webhook; each must be 401 and write
/// nothing, whatever the body says.
#[derive(Debug, Clone)]
enum Tamper {
    BodyByte(usize, u8),
    BodyAppend(String),
    TimestampShift(i64),
    TimestampText(String),
    OtherId(String),
    SignatureChar(usize, u8),
    SignatureJunk(String),
    SignatureVersion(String),
    DropHeader(&'static str),
    OtherSecret,
    OtherCarrierPath(&'static str),
    /// The signature of another (id, timestamp, body) triple.
    Transplant,
}

fn tamper() -> BoxedStrategy<Tamper> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Tamper::BodyByte(i, b)),
        "[ -~]{1,8}".prop_map(Tamper::BodyAppend),
        prop_oneof![
            301i64..100_000,
            -100_000i64..-301,
            Just(i64::MAX / 2),
            Just(-(1i64 << 40))
        ]
        .prop_map(Tamper::TimestampShift),
        prop_oneof![
            Just(String::new()),
            junk(),
            Just("1e9".to_owned()),
            Just("+1".to_owned())
        ]
        .prop_map(Tamper::TimestampText),
        "[ -~]{1,40}".prop_map(Tamper::OtherId),
        (
            0usize..40,
            prop::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()
            )
        )
            .prop_map(|(i, c)| Tamper::SignatureChar(i, c)),
        junk().prop_map(Tamper::SignatureJunk),
        prop::sample::select(&["v2", "v1a", "V1", "", "v0"][..])
            .prop_map(|v| Tamper::SignatureVersion(v.to_owned())),
        prop::sample::select(&["webhook-id", "webhook-timestamp", "webhook-signature"][..])
            .prop_map(Tamper::DropHeader),
        Just(Tamper::OtherSecret),
        prop::sample::select(
            &[
                "carrier-b",
                "carrier-c",
                "CARRIER-A",
                "carrier-a.",
                "carrier-a%2F"
            ][..]
        )
        .prop_map(Tamper::OtherCarrierPath),
        Just(Tamper::Transplant),
    ]
    .boxed()
}

fn webhook_body(ids: Vec<String>) -> BoxedStrategy<String> {
    let id = prop_oneof![3 => prop::sample::select(ids), 1 => junk()];
    (
        prop::sample::select(
            &[
                "port_out.foc_confirmed",
                "port_out.completed",
                "port_out.cancelled",
                "port_out.rejected",
                "port_out.expired",
                "",
            ][..],
        ),
        id,
        prop_oneof![Just(portguard_tests::date_in(7)), junk()],
        prop::collection::vec(
            (
                prop::sample::select(&["type", "portOutId", "focDate", "reason", "x"][..]),
                json_value(),
            ),
            0..2,
        ),
    )
        .prop_map(|(kind, id, date, edits)| {
            let mut b = json!({"type": kind, "portOutId": id, "focDate": date, "reason": "r"});
            for (k, v) in edits {
                b[k] = v;
            }
            b.to_string()
        })
        .boxed()
}

fn tampered(body: &str, t: &Tamper) -> Value {
    let id = format!("msg_{}", ulid::Ulid::new());
    let now = portguard_store::clock::now();
    let mut ev = webhook_event("carrier-a", SECRET_A, &id, now, body);
    let h = |ev: &mut Value, k: &str, v: Value| ev["headers"][k] = v;
    match t {
        Tamper::BodyByte(i, b) => {
            let mut bytes = body.as_bytes().to_vec();
            let i = i % bytes.len();
            bytes[i] ^= b;
            ev["body"] = json!(String::from_utf8_lossy(&bytes));
            if ev["body"] == json!(body) {
                ev["body"] = json!(format!("{body} "));
            }
        }
        Tamper::BodyAppend(s) => ev["body"] = json!(format!("{body}{s}")),
        Tamper::TimestampShift(d) => h(&mut ev, "webhook-timestamp", json!((now + d).to_string())),
        Tamper::TimestampText(s) => {
            let s = if s == &now.to_string() {
                format!("{s}0")
            } else {
                s.clone()
            };
            h(&mut ev, "webhook-timestamp", json!(s))
        }
        Tamper::OtherId(s) => h(&mut ev, "webhook-id", json!(format!("{id}{s}"))),
        Tamper::SignatureChar(i, c) => {
            let sig = ev["headers"]["webhook-signature"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut bytes = sig.into_bytes();
            // Only the first 40 base64 characters: each carries 6 bits of
            // the MAC, so any change there changes the MAC.
            let at = 3 + i;
            if bytes[at] == *c {
                bytes[at] = if *c == b'A' { b'B' } else { b'A' };
            } else {
                bytes[at] = *c;
            }
            h(
                &mut ev,
                "webhook-signature",
                json!(String::from_utf8(bytes).unwrap()),
            );
        }
        Tamper::SignatureJunk(s) => h(&mut ev, "webhook-signature", json!(s)),
        Tamper::SignatureVersion(v) => {
            let sig = ev["headers"]["webhook-signature"]
                .as_str()
                .unwrap()
                .replacen("v1", v, 1);
            h(&mut ev, "webhook-signature", json!(sig));
        }
        Tamper::DropHeader(name) => {
            ev["headers"].as_object_mut().unwrap().remove(*name);
        }
        Tamper::OtherSecret => ev = webhook_event("carrier-a", SECRET_B, &id, now, body),
        Tamper::OtherCarrierPath(c) => {
            ev["rawPath"] = json!(format!("/v1/carrier-events/{c}"));
            ev["requestContext"]["http"]["path"] = ev["rawPath"].clone();
        }
        Tamper::Transplant => {
            let other = webhook_event("carrier-a", SECRET_A, &format!("{id}x"), now, body);
            h(
                &mut ev,
                "webhook-signature",
                other["headers"]["webhook-signature"].clone(),
            );
        }
    }
    ev
}

#[test]
fn tampered_webhooks_are_401_and_write_nothing() {
    let w = world();
    let tally = Tally::default();
    let ids: Vec<String> = w.orders.iter().map(|(id, _)| id.clone()).collect();
    let mut run = runner(128);
    let result = run.run(&(webhook_body(ids), tamper()), |(body, t)| {
        let ev = tampered(&body, &t);
        let a = w.rt.block_on(check(&w.apps, Target::Webhook, &ev, &tally));
        if let Some(a) = a {
            let expected = match t {
                // Not this route's carrier: unknown carrier or wrong secret.
                Tamper::OtherCarrierPath(c) if c.contains('%') => {
                    a.status == 401 || a.status == 404
                }
                _ => a.status == 401,
            };
            assert!(expected, "{t:?}: {}", a.raw);
            if a.status == 401 {
                assert_eq!(a.code(), "INVALID_SIGNATURE");
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    tally.report("tampered webhooks", 100);
    w.rt.block_on(audit_consistency(&w.apps.store));
}

#[test]
fn signed_webhooks_with_arbitrary_bodies_and_events() {
    let w = world();
    let tally = Tally::default();
    let ids: Vec<String> = w.orders.iter().map(|(id, _)| id.clone()).collect();
    let strategy = (
        prop::sample::select(&["carrier-a", "carrier-b"][..]),
        prop_oneof![3 => webhook_body(ids), 1 => junk(), 1 => json_value().prop_map(|v| v.to_string())],
        prop_oneof![Just("POST"), Just("POST"), Just("PUT"), Just("GET")],
        mutations(),
    );
    let mut run = runner(96);
    let result = run.run(&strategy, |(carrier, body, method, muts)| {
        let mut ev = webhook_event(
            carrier,
            secret_of(carrier),
            &format!("msg_{}", ulid::Ulid::new()),
            portguard_store::clock::now(),
            &body,
        );
        ev["requestContext"]["http"]["method"] = json!(method);
        let ev = apply(ev, &muts);
        w.rt.block_on(check(&w.apps, Target::Webhook, &ev, &tally));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    tally.report("signed webhooks", 48);
    w.rt.block_on(audit_consistency(&w.apps.store));
}

// ---------------------------------------------------------------- status-check

#[test]
fn status_check_survives_arbitrary_scheduled_events() {
    let w = world();
    let handled = AtomicUsize::new(0);
    let fixture: Value =
        serde_json::from_str(include_str!("../../events/status-check.json")).unwrap();
    let strategy = (
        prop_oneof![
            // Any instant from 1970 to 9999.
            (0i64..253_402_300_799).prop_map(|t| {
                json!(time::OffsetDateTime::from_unix_timestamp(t)
                    .unwrap()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap())
            }),
            Just(json!("2026-11-26T10:00:00+14:00")),
            Just(json!("9999-12-31T23:59:59.999999999Z")), // fixed-date: the end of time, on purpose
            Just(json!("0000-01-01T00:00:00Z")),
            json_value(),
        ],
        prop::collection::vec(
            (
                prop::sample::select(
                    &[
                        "detail",
                        "id",
                        "source",
                        "detail-type",
                        "resources",
                        "version",
                    ][..],
                ),
                json_value(),
            ),
            0..2,
        ),
    );
    let mut run = runner(48);
    let result = run.run(&strategy, |(time, edits)| {
        let mut v = fixture.clone();
        v["time"] = time;
        for (k, val) in edits {
            v[k] = val;
        }
        let Ok(ev) = serde_json::from_value::<EventBridgeEvent>(v) else {
            return Ok(());
        };
        handled.fetch_add(1, Ordering::Relaxed);
        let mut context = Context::default();
        context.deadline = (std::time::SystemTime::now() + std::time::Duration::from_secs(30))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let out =
            w.rt.block_on(w.apps.check.handle(LambdaEvent::new(ev, context)));
        match out {
            Ok(_) | Err(status_check::CheckError::InvalidEvent(_)) => {}
            Err(e) => panic!("a scheduled event is never an internal failure: {e}"),
        }
        w.rt.block_on(audit_consistency(&w.apps.store));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let handled = handled.load(Ordering::Relaxed);
    eprintln!("status-check: {handled} scheduled events handled");
    assert!(handled >= 16, "too few valid scheduled events");
}
