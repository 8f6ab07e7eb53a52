//! Telnyx's door (contract §16) on DynamoDB Local, its API a local
//! stand-in: the signature, one decision per Telnyx port-out (counted once
//! however often delivered), the reject sent to Telnyx and repeated when it
//! failed, and the later events' transitions.

use portguard_tests::notify_support;
use portguard_tests::support;
use portguard_tests::typed::*;

use portguard_store::Store;
use portguard_tests::{event, fresh_store, snapshot, As};
use serde_json::Value;
use std::sync::Arc;
use support::*;
use telnyx_stand_in::StandIn;

/// t-100 (US, PIN set, +1206555010x), t-200 (US, PIN set, +1312555010x).
async fn world() -> (Arc<Apps>, StandIn) {
    let stand_in = telnyx_stand_in().await;
    let store = fresh_store().await;
    let apps = apps_with_telnyx(&store, EASY, &stand_in.base_url());
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 10)).await;
    tenant_with_pin(
        &apps,
        "t-200",
        "ACC-2002",
        "11223344",
        &numbers("312", 100, 3),
    )
    .await;
    (apps, stand_in)
}

fn n(i: usize) -> String {
    format!("+1206555{:04}", 100 + i)
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new())
}

async fn failed(store: &Store) -> u32 {
    let t = store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    t.locks.of(TELNYX).failed_attempts
}

async fn send(apps: &Apps, body: &str) -> portguard_tests::Answer {
    send_submit(apps, &tx_signed(body)).await
}

/// A pending port-out's answer, checked for the shape of contract §16.
async fn pending(
    apps: &Apps,
    event_id: &str,
    po: &str,
    nums: &[String],
    pin: Option<&str>,
) -> Value {
    let a = send(apps, &tx_status(event_id, po, "pending", nums, pin)).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body
}

async fn orders_of(apps: &Apps, tenant: &'static str) -> Vec<Value> {
    let a = send_submit(
        apps,
        &event("GET", "/v1/port-outs", As::Admin(tenant), None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_signature_is_checked_before_anything_else() {
    let (apps, stand_in) = world().await;
    let body = tx_status(
        &new_id("ev"),
        &new_id("po"),
        "pending",
        &[n(0)],
        Some(WRONG),
    );
    let now = portguard_store::clock::now();
    let key = portguard_tests::fixtures::TELNYX_PRIVATE_KEY;
    let sig = |ts: i64, body: &str| telnyx_stand_in::sign(key, ts, body.as_bytes()).unwrap();
    // Base64 of 32 bytes of 'A': a key that is not Telnyx's.
    let other_key = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
    let other = telnyx_stand_in::sign(other_key, now, body.as_bytes()).unwrap();
    let mut changed = body.clone().into_bytes();
    let at = body.find("attempted_pin").unwrap();
    changed[at] = b'b';
    let changed = String::from_utf8(changed).unwrap();
    let before = snapshot(&apps.store).await;
    let now_s = now.to_string();
    let stale = (now - 301).to_string();
    let cases: Vec<(&str, Value)> = vec![
        (
            "another key",
            tx_event_with(&body, Some(&now_s), Some(&other)),
        ),
        (
            "missing signature",
            tx_event_with(&body, Some(&now_s), None),
        ),
        (
            "missing timestamp",
            tx_event_with(&body, None, Some(&sig(now, &body))),
        ),
        (
            "stale",
            tx_event_with(&body, Some(&stale), Some(&sig(now - 301, &body))),
        ),
        (
            "one byte changed",
            tx_event_with(&changed, Some(&now_s), Some(&sig(now, &body))),
        ),
        (
            "garbage",
            tx_event_with(&body, Some(&now_s), Some("bm90IGEgc2lnbmF0dXJl")),
        ),
    ];
    for (what, ev) in cases {
        let a = send_submit(&apps, &ev).await;
        a.expect_error(401, "INVALID_SIGNATURE");
        assert!(!a.raw.contains(WRONG), "{what}: {}", a.raw);
    }
    assert_eq!(snapshot(&apps.store).await, before, "nothing written");
    assert!(stand_in.calls().is_empty());
    assert_eq!(failed(&apps.store).await, 0);
    // Right: decided.
    let a = send_submit(
        &apps,
        &tx_event_with(&body, Some(&now_s), Some(&sig(now, &body))),
    )
    .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (200, Some("PIN_MISMATCH")),
        "{}",
        a.raw
    );
}

#[tokio::test]
async fn the_route_is_absent_without_a_public_key() {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    let body = tx_status("ev-1", "po-1", "pending", &[n(0)], Some(PIN));
    send_submit(&apps, &tx_signed(&body))
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn the_right_pin_opens_an_order_and_calls_nothing() {
    let (apps, stand_in) = world().await;
    let po = new_id("po");
    let body = pending(&apps, &new_id("ev"), &po, &[n(0), n(1)], Some(PIN)).await;
    assert_eq!(
        body,
        serde_json::json!({"result": "accepted", "code": null})
    );
    let orders = orders_of(&apps, TENANT).await;
    assert_eq!(orders.len(), 1);
    let o = &orders[0];
    assert_eq!(o["source"], "telnyx");
    assert_eq!(o["externalId"], po.as_str());
    assert_eq!(o["carrierId"], TELNYX);
    assert_eq!(o["accountNumber"], ACCOUNT);
    assert_eq!(o["pon"], Value::Null);
    assert_eq!(o["phoneNumbers"], serde_json::json!([n(0), n(1)]));
    assert!(stand_in.calls().is_empty(), "{:?}", stand_in.calls());
    // Another delivery of the same port-out (a new event id) answers the
    // first decision and opens nothing.
    let again = pending(&apps, &new_id("ev"), &po, &[n(0), n(1)], Some(PIN)).await;
    assert_eq!(again["result"], "accepted");
    assert_eq!(orders_of(&apps, TENANT).await.len(), 1);
}

#[tokio::test]
async fn a_wrong_pin_is_rejected_at_telnyx_once_and_counted_once() {
    let (apps, stand_in) = world().await;
    let (ev, po) = (new_id("ev"), new_id("po"));
    let first = pending(&apps, &ev, &po, &[n(0)], Some(WRONG)).await;
    assert_eq!(
        first,
        serde_json::json!({"result": "rejected", "code": "PIN_MISMATCH"})
    );
    for _ in 0..2 {
        let a = send(&apps, &tx_status(&ev, &po, "pending", &[n(0)], Some(WRONG))).await;
        assert_eq!(
            (a.status, a.body["result"].as_str()),
            (200, Some("duplicate")),
            "{}",
            a.raw
        );
    }
    // The same port-out under a new event id: the first decision again,
    // neither counted nor called again.
    let repeat = pending(&apps, &new_id("ev"), &po, &[n(0)], Some(WRONG)).await;
    assert_eq!(repeat, first);
    assert_eq!(failed(&apps.store).await, 1);
    let rejects = stand_in.rejects();
    assert_eq!(rejects.len(), 1, "{:?}", stand_in.calls());
    assert_eq!(rejects[0].0, po);
    assert!(
        rejects[0].1.starts_with("PIN_MISMATCH: "),
        "{}",
        rejects[0].1
    );
    assert!(!rejects[0].1.contains(WRONG) && !rejects[0].1.contains(PIN));
    assert!(orders_of(&apps, TENANT).await.is_empty());
}

#[tokio::test]
async fn no_attempted_pin_is_pin_required_and_not_counted() {
    let (apps, stand_in) = world().await;
    let po = new_id("po");
    let body = pending(&apps, &new_id("ev"), &po, &[n(0)], None).await;
    assert_eq!(
        body,
        serde_json::json!({"result": "rejected", "code": "PIN_REQUIRED"})
    );
    let with_null = tx_status(&new_id("ev"), &new_id("po"), "pending", &[n(1)], None).replace(
        "\"carrier_name\"",
        "\"attempted_pin\":null,\"carrier_name\"",
    );
    let a = send(&apps, &with_null).await;
    assert_eq!(a.body["code"], "PIN_REQUIRED", "{}", a.raw);
    assert_eq!(failed(&apps.store).await, 0);
    let rejects = stand_in.rejects();
    assert_eq!(rejects.len(), 2);
    assert!(rejects.iter().all(|(_, r)| r.starts_with("PIN_REQUIRED: ")));
}

#[tokio::test]
async fn a_failed_call_answers_503_and_the_redelivery_only_repeats_the_call() {
    let (apps, stand_in) = world().await;
    let (ev, po) = (new_id("ev"), new_id("po"));
    let body = tx_status(&ev, &po, "pending", &[n(0)], Some(WRONG));
    stand_in.fail_with(Some(500));
    for _ in 0..2 {
        send(&apps, &body).await.expect_error(503, "UNAVAILABLE");
    }
    assert_eq!(failed(&apps.store).await, 1, "decided and counted once");
    assert!(stand_in.rejects().is_empty());
    stand_in.fail_with(None);
    let a = send(&apps, &body).await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (200, Some("PIN_MISMATCH")),
        "{}",
        a.raw
    );
    let a = send(&apps, &body).await;
    assert_eq!(a.body["result"], "duplicate", "{}", a.raw);
    assert_eq!(stand_in.rejects().len(), 1, "{:?}", stand_in.calls());
    assert_eq!(
        stand_in.calls().len(),
        3,
        "two failed calls, one that worked"
    );
    assert_eq!(failed(&apps.store).await, 1);
}

#[tokio::test]
async fn the_tenant_is_the_holder_of_the_first_number() {
    let (apps, stand_in) = world().await;
    // Nobody holds it: rejected at Telnyx, nothing counted or audited.
    let before = send_pin(&apps, &portguard_tests::audit_trail_event(TENANT)).await;
    let a = pending(
        &apps,
        &new_id("ev"),
        &new_id("po"),
        &["+14255550100".into(), n(0)],
        Some(PIN),
    )
    .await;
    assert_eq!(a["code"], "ACCOUNT_NOT_FOUND");
    // Another tenant's number after one of t-100's, with t-100's PIN.
    let a = pending(
        &apps,
        &new_id("ev"),
        &new_id("po"),
        &[n(0), "+13125550100".into()],
        Some(PIN),
    )
    .await;
    assert_eq!(a["code"], "NUMBER_NOT_ON_ACCOUNT");
    // t-200's PIN does not open t-100's numbers.
    let a = pending(
        &apps,
        &new_id("ev"),
        &new_id("po"),
        &[n(2)],
        Some("11223344"),
    )
    .await;
    assert_eq!(a["code"], "PIN_MISMATCH");
    let codes: Vec<String> = stand_in
        .rejects()
        .iter()
        .map(|(_, r)| r.split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        codes,
        ["ACCOUNT_NOT_FOUND", "NUMBER_NOT_ON_ACCOUNT", "PIN_MISMATCH"]
    );
    let after = send_pin(&apps, &portguard_tests::audit_trail_event(TENANT)).await;
    let count = |a: &portguard_tests::Answer| a.body["items"].as_array().unwrap().len();
    assert_eq!(
        count(&after),
        count(&before) + 2,
        "ACCOUNT_NOT_FOUND is not audited"
    );
    assert!(orders_of(&apps, "t-200").await.is_empty());
}

async fn accepted(apps: &Apps, nums: &[String]) -> String {
    let po = new_id("po");
    let a = pending(apps, &new_id("ev"), &po, nums, Some(PIN)).await;
    assert_eq!(a["result"], "accepted");
    po
}

async fn later(apps: &Apps, body: String) -> portguard_tests::Answer {
    send(apps, &body).await
}

fn status(po: &str, status: &str) -> String {
    tx_status(&new_id("ev"), po, status, &[], None)
}

fn foc(po: &str, date: &str) -> String {
    telnyx_stand_in::event_body(
        &new_id("ev"),
        "portout.foc_date_changed",
        po,
        None,
        &[],
        None,
        Some(date),
    )
}

#[tokio::test]
async fn later_events_move_the_order() {
    let (apps, stand_in) = world().await;
    let po = accepted(&apps, &[n(0)]).await;
    let a = later(&apps, status(&po, "authorized")).await;
    assert_eq!(a.body["result"], "unchanged", "{}", a.raw);
    let a = later(&apps, status(&po, "rejected-pending")).await;
    assert_eq!(a.body["result"], "unchanged", "{}", a.raw);
    // A date-time: its UTC date.
    let date = portguard_tests::date_in(10);
    let a = later(&apps, foc(&po, &format!("{date}T23:30:00Z"))).await;
    assert_eq!(a.body["result"], "applied", "{}", a.raw);
    assert_eq!(a.body["portOut"]["status"], "foc_confirmed");
    assert_eq!(a.body["portOut"]["focDate"], date.as_str());
    let a = later(&apps, foc(&po, &portguard_tests::date_in(200))).await;
    a.expect_error(400, "INVALID_EVENT");
    let ported = status(&po, "ported");
    let a = later(&apps, ported.clone()).await;
    assert_eq!(a.body["result"], "applied", "{}", a.raw);
    assert_eq!(a.body["portOut"]["status"], "completed");
    assert_eq!(a.body["portOut"]["closedBy"], "carrier");
    assert_eq!(later(&apps, ported).await.body["result"], "duplicate");
    assert_eq!(
        later(&apps, status(&po, "ported")).await.body["result"],
        "unchanged"
    );
    later(&apps, status(&po, "canceled"))
        .await
        .expect_error(409, "INVALID_TRANSITION");

    let po = accepted(&apps, &[n(1)]).await;
    let a = later(&apps, status(&po, "canceled")).await;
    assert_eq!(
        (
            a.body["portOut"]["status"].as_str(),
            a.body["portOut"]["closedBy"].as_str()
        ),
        (Some("cancelled"), Some("carrier")),
        "{}",
        a.raw
    );
    let po = accepted(&apps, &[n(1)]).await;
    let a = later(&apps, status(&po, "rejected")).await;
    assert_eq!(a.body["portOut"]["status"], "rejected", "{}", a.raw);

    let comment = telnyx_stand_in::event_body(
        &new_id("ev"),
        "portout.new_comment",
        &po,
        None,
        &[],
        None,
        None,
    );
    assert_eq!(later(&apps, comment).await.body["result"], "ignored");
    let unknown = telnyx_stand_in::event_body(
        &new_id("ev"),
        "portout.something_new",
        &po,
        None,
        &[],
        None,
        None,
    );
    assert_eq!(later(&apps, unknown).await.body["result"], "ignored");
    assert_eq!(
        later(&apps, status(&new_id("po"), "ported")).await.body["result"],
        "ignored"
    );
    later(&apps, "{\"data\": 1}".into())
        .await
        .expect_error(400, "INVALID_EVENT");
    assert!(stand_in.calls().is_empty());
}

/// Two deliveries of one pending port-out at once: one decision, one count.
#[tokio::test]
async fn racing_deliveries_decide_once() {
    let (apps, stand_in) = world().await;
    let po = new_id("po");
    let bodies: Vec<String> = (0..4)
        .map(|_| tx_status(&new_id("ev"), &po, "pending", &[n(3)], Some(WRONG)))
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|b| send(&apps, b))).await;
    for a in &answers {
        assert!(a.status == 200 || a.status == 503, "{}", a.raw);
    }
    assert_eq!(failed(&apps.store).await, 1);
    // Whatever was answered 503 is delivered again and settles.
    for (a, b) in answers.iter().zip(&bodies) {
        if a.status == 503 {
            let again = send(&apps, b).await;
            assert_eq!(again.body["code"], "PIN_MISMATCH", "{}", again.raw);
        }
    }
    assert_eq!(failed(&apps.store).await, 1);
    assert_eq!(stand_in.rejects().len(), 1, "{:?}", stand_in.calls());
}

/// The tenant's reject of a Telnyx order (contract §13) is sent to Telnyx
/// by the notifier, retried on its schedule while the API is down.
#[tokio::test]
async fn the_tenants_reject_reaches_telnyx_even_when_it_was_down_at_first() {
    use notify_support::{batch, scheduled, StreamReader};
    let (apps, stand_in) = world().await;
    let po = new_id("po");
    let body = pending(&apps, &new_id("ev"), &po, &[n(3)], Some(PIN)).await;
    assert_eq!(body["result"], "accepted", "{body}");
    let order = orders_of(&apps, TENANT).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stream = StreamReader::new(&apps.store).await;
    stand_in.fail_with(Some(503));
    let reject = send_submit(
        &apps,
        &event(
            "POST",
            &format!("/v1/port-outs/{order}/reject"),
            As::Admin(TENANT),
            Some(r#"{"reason": "not ours"}"#),
        ),
    )
    .await;
    assert_eq!(reject.status, 200, "{}", reject.raw);
    assert_eq!(
        reject.body["status"], "rejected",
        "the reject stands at once"
    );

    let api = portguard_telnyx::TelnyxApi::new(
        &stand_in.base_url(),
        portguard_tests::fixtures::TELNYX_API_KEY,
    )
    .unwrap();
    let notifier = notifier::App::new(apps.store.clone(), notifier::Sender::new(true).unwrap())
        .with_telnyx(api);
    let records = stream.read_at_least(1).await;
    notifier.handle(batch(records)).await.unwrap();
    assert_eq!(stand_in.calls().len(), 1, "tried at once");
    assert!(stand_in.rejects().is_empty(), "and failed");

    stand_in.fail_with(None);
    let due = match portguard_rules::notify::after_failure(1, portguard_store::clock::now()) {
        portguard_rules::notify::AfterFailure::RetryAt(at) => at,
        other => panic!("{other:?}"),
    };
    let report = notifier.handle(scheduled(due)).await.unwrap();
    assert_eq!(report["delivered"], 1, "{report}");
    let rejects = stand_in.rejects();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0].0, po);
    assert!(
        rejects[0].1.starts_with("REJECTED_BY_HOLDER: "),
        "{}",
        rejects[0].1
    );
    // Once delivered, nothing more is sent.
    let later = notifier.handle(scheduled(due + 86_400)).await.unwrap();
    assert_eq!(later["attempted"], 0);
    assert_eq!(stand_in.calls().len(), 2);
}

/// The function died after opening the order and before storing its
/// decision: the claim it left lapses, and the redelivery that takes it
/// over finds that order (its `externalId`, `source: telnyx`) and answers
/// accepted, instead of finding the numbers busy with it and rejecting
/// Telnyx's port-out as `PORT_OUT_IN_PROGRESS`.
#[tokio::test]
async fn a_redelivery_after_a_crash_finds_the_order_the_dead_delivery_opened() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (apps, stand_in) = world().await;
    let po = new_id("po");
    let nums = [n(4), n(5)];
    let a = pending(&apps, &new_id("ev"), &po, &nums, Some(PIN)).await;
    assert_eq!(a["result"], "accepted");
    let orders = orders_of(&apps, TENANT).await;
    assert_eq!(orders.len(), 1);
    let order_id = orders[0]["id"].as_str().unwrap().to_owned();
    let audited = |apps: Arc<Apps>| async move {
        let a = send_pin(&apps, &portguard_tests::audit_trail_event(TENANT)).await;
        a.body["items"].as_array().unwrap().len()
    };
    let audit_before = audited(apps.clone()).await;
    // What the dead delivery left: the order (above), and its claim, lapsed,
    // where the decision would have been.
    let now = portguard_store::clock::now();
    let key = |pk: String, sk: &str| {
        [
            ("PK".to_owned(), AttributeValue::S(pk)),
            ("SK".to_owned(), AttributeValue::S(sk.to_owned())),
        ]
    };
    let mut claim: std::collections::HashMap<_, _> =
        key(format!("UPSTREAM#{TELNYX}#{po}"), "DECISION").into();
    claim.insert("state".into(), AttributeValue::S("deciding".into()));
    claim.insert(
        "claimedUntil".into(),
        AttributeValue::N((now - 1).to_string()),
    );
    claim.insert(
        "expiresAt".into(),
        AttributeValue::N((now + 3600).to_string()),
    );
    apps.store
        .client()
        .put_item()
        .table_name(apps.store.table())
        .set_item(Some(claim))
        .send()
        .await
        .unwrap();
    assert_eq!(
        apps.store
            .upstream_decision(&cid(TELNYX), &po)
            .await
            .unwrap(),
        None
    );

    // Telnyx delivers the port-out again (the first delivery got no answer).
    let again = pending(&apps, &new_id("ev"), &po, &nums, Some(PIN)).await;
    assert_eq!(
        again,
        serde_json::json!({"result": "accepted", "code": null})
    );
    assert!(stand_in.calls().is_empty(), "{:?}", stand_in.calls());
    let decided = apps
        .store
        .upstream_decision(&cid(TELNYX), &po)
        .await
        .unwrap()
        .expect("the decision is stored");
    assert_eq!(decided.code, None);
    assert_eq!(
        decided.order_id.as_ref().map(|i| i.as_str()),
        Some(order_id.as_str())
    );
    let orders = orders_of(&apps, TENANT).await;
    assert_eq!(orders.len(), 1, "no second order");
    assert_eq!(orders[0]["status"], "pending");
    assert_eq!(
        audited(apps.clone()).await,
        audit_before,
        "nothing audited again"
    );
    assert_eq!(failed(&apps.store).await, 0);
    // The order answers the later events again.
    let a = later(&apps, status(&po, "ported")).await;
    assert_eq!(a.body["result"], "applied", "{}", a.raw);
    assert_eq!(a.body["portOut"]["id"], order_id.as_str());
}

/// A claim that has not lapsed is another delivery deciding: `503`, and
/// nothing is decided, counted or called. One that lapsed, with no order of
/// the port-out to find, is decided afresh.
#[tokio::test]
async fn a_live_claim_answers_503_and_a_lapsed_one_is_decided() {
    use portguard_store::upstream::{Claim, CLAIM_SECONDS};
    let (apps, stand_in) = world().await;
    let (live, lapsed) = (new_id("po"), new_id("po"));
    let now = portguard_store::clock::now();
    let store = &apps.store;
    assert_eq!(
        store
            .claim_upstream_decision(&cid(TELNYX), &live, now)
            .await
            .unwrap(),
        Claim::Claimed
    );
    let body = tx_status(&new_id("ev"), &live, "pending", &[n(6)], Some(WRONG));
    send(&apps, &body).await.expect_error(503, "UNAVAILABLE");
    assert_eq!(failed(store).await, 0);
    assert!(stand_in.calls().is_empty());
    // A claim taken at a time long past has lapsed: the store says so to the
    // one who takes it over.
    let past = now - 2 * CLAIM_SECONDS;
    assert_eq!(
        store
            .claim_upstream_decision(&cid(TELNYX), &lapsed, past)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store
            .claim_upstream_decision(&cid(TELNYX), &lapsed, past + CLAIM_SECONDS + 1)
            .await
            .unwrap(),
        Claim::TakenOver
    );
    let past = now - 2 * CLAIM_SECONDS;
    let other = new_id("po");
    store
        .claim_upstream_decision(&cid(TELNYX), &other, past)
        .await
        .unwrap();
    let body = tx_status(&new_id("ev"), &other, "pending", &[n(6)], Some(WRONG));
    let a = send(&apps, &body).await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (200, Some("PIN_MISMATCH")),
        "{}",
        a.raw
    );
    assert_eq!(failed(store).await, 1);
    assert_eq!(stand_in.rejects().len(), 1, "{:?}", stand_in.calls());
}

/// The door remembers which account the holder of a first number has, and
/// reads it directly next time; a tenant an operator moved to another
/// account number is found again through its pointer, not refused.
#[tokio::test]
async fn a_tenant_moved_to_another_account_is_found_again() {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let (apps, _stand_in) = world().await;
    let first = pending(&apps, &new_id("ev"), &new_id("po"), &[n(0)], Some(PIN)).await;
    assert_eq!(first["result"], "accepted", "{first}");
    // The operator's move: the record under a new account number, the
    // pointer following it, the old key gone.
    let (db, table) = (apps.store.client(), apps.store.table());
    let key = |pk: String, sk: &str| {
        std::collections::HashMap::from([
            ("PK".to_owned(), V::S(pk)),
            ("SK".to_owned(), V::S(sk.to_owned())),
        ])
    };
    let old = key(format!("ACCOUNT#{ACCOUNT}"), "ACCOUNT");
    let mut record = db
        .get_item()
        .table_name(table)
        .set_key(Some(old.clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    record.insert("PK".into(), V::S("ACCOUNT#ACC-MOVED".into()));
    record.insert("accountNumber".into(), V::S("ACC-MOVED".into()));
    db.put_item()
        .table_name(table)
        .set_item(Some(record))
        .send()
        .await
        .unwrap();
    db.delete_item()
        .table_name(table)
        .set_key(Some(old))
        .send()
        .await
        .unwrap();
    db.update_item()
        .table_name(table)
        .set_key(Some(key(format!("TENANT#{TENANT}"), "TENANT")))
        .update_expression("SET accountNumber = :a")
        .expression_attribute_values(":a", V::S("ACC-MOVED".into()))
        .send()
        .await
        .unwrap();
    let po = new_id("po");
    let second = pending(&apps, &new_id("ev"), &po, &[n(1)], Some(PIN)).await;
    assert_eq!(second["result"], "accepted", "{second}");
    let orders = orders_of(&apps, TENANT).await;
    let moved = orders
        .iter()
        .find(|o| o["externalId"] == po.as_str())
        .unwrap();
    assert_eq!(moved["accountNumber"], "ACC-MOVED");
}
