//! `status-check` (contract §6) against DynamoDB Local: what expires and what
//! does not, where the numbers go, replay, cost that grows with open orders
//! only, pagination, the deadline guard, and races with webhooks and with
//! another copy of itself.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use portguard_rules::{expiry::ExpiryPolicy, OrderStatus};
use portguard_secrets::WebhookSecrets;
use portguard_store::{
    clock, orders::CreateOutcome, Actor, ActorKind, AuditEvent, AuditType, NewOrder, Order, Source,
    Store,
};
use portguard_tests::typed::*;
use portguard_tests::{
    answer, captured_logs, event_with, fresh_store, items_with_prefix, provision, request, sign,
    snapshot, As, WEBHOOK_SECRETS,
};
use serde_json::{json, Value};
use status_check::{App, CheckError, Report};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portguard_tests::fixtures::{ACCOUNT, TENANT};
const HOUR: i64 = 3600;
const FIXTURE: &str = include_str!("../../events/status-check.json");

/// The fixture's `time`: 2026-11-26T10:00:00Z.
fn now() -> i64 {
    clock::parse("2026-11-26T10:00:00Z").unwrap()
}

/// Numbers on t-100's account: +1 206 555 1000 and up.
fn numbers(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("+1206555{:04}", 1000 + i))
        .collect()
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

async fn setup(count: usize) -> (Store, Vec<String>) {
    let _ = captured_logs();
    let store = fresh_store().await;
    let nums = numbers(count);
    let refs: Vec<&str> = nums.iter().map(String::as_str).collect();
    provision(&store, TENANT, ACCOUNT, "US", &refs).await;
    (store, nums)
}

fn app(store: &Store) -> App {
    App::new(store.clone(), ExpiryPolicy::default())
}

/// An order created at `created_at` in `status` (pending, or foc_confirmed
/// with `foc_date`, or closed), reserving `nums` when open. Written straight
/// with the store, as the life cycle would leave it.
async fn order_at(
    store: &Store,
    nums_in: &[String],
    created_at: i64,
    status: OrderStatus,
    foc_date: Option<&str>,
) -> Order {
    let mut order = Order::new(NewOrder {
        tenant_id: &tid(TENANT),
        carrier_id: &cid("carrier-a"),
        account_number: ACCOUNT,
        phone_numbers: nums(nums_in),
        pon: Some("PON-1"),
        source: Source::Api,
        external_id: None,
        authorized_name: None,
        requested_foc_date: None,
        now: Timestamp::from_unix(created_at),
    });
    order.status = status;
    order.foc_date = foc_date.map(|d| Day::parse(d).expect("a test date"));
    let audit = AuditEvent::new(
        &tid(TENANT),
        created_at,
        AuditType::PortOutRequested,
        Actor {
            kind: ActorKind::Carrier,
            id: Some("carrier-a".into()),
        },
    )
    .port_out(&order.id);
    // An order created while the tenant changed (a failed attempt, a
    // protection change) re-reads it, as submit-port-out does.
    for _ in 0..50 {
        let tenant = store.tenant_by_account(ACCOUNT).await.unwrap().unwrap();
        let out = store
            .create_order(&order, &tenant, None, &audit, None)
            .await
            .unwrap();
        if out != CreateOutcome::TenantChanged {
            assert_eq!(out, CreateOutcome::Created);
            return order;
        }
        portguard_store::conflict_backoff(0).await;
    }
    panic!("the tenant kept changing");
}

async fn pending_at(store: &Store, nums: &[String], created_at: i64) -> Order {
    order_at(store, nums, created_at, OrderStatus::Pending, None).await
}

async fn foc_at(store: &Store, nums: &[String], foc_date: &str) -> Order {
    // Created long ago: the FOC date, not createdAt, is its clock.
    order_at(
        store,
        nums,
        now() - 60 * 24 * HOUR,
        OrderStatus::FocConfirmed,
        Some(foc_date),
    )
    .await
}

async fn status_of(store: &Store, id: &OrderId) -> Order {
    store.get_order(id).await.unwrap().unwrap()
}

async fn open_port_out_of(store: &Store, e164: &str) -> Option<Option<String>> {
    let items = items_with_prefix(store, &format!("NUMBER#{e164}")).await;
    items
        .first()
        .map(|i| i.get("openPortOutId").and_then(|v| v.as_s().ok()).cloned())
}

async fn assert_free(store: &Store, nums: &[String]) {
    for n in nums {
        assert_eq!(open_port_out_of(store, n).await, Some(None), "{n} free");
    }
}

async fn assert_reserved(store: &Store, nums: &[String], by: &OrderId) {
    for n in nums {
        assert_eq!(
            open_port_out_of(store, n).await,
            Some(Some(by.to_string())),
            "{n} reserved"
        );
    }
}

fn scheduled(time: Option<&str>) -> EventBridgeEvent {
    let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
    match time {
        Some(t) => v["time"] = json!(t),
        None => {
            v.as_object_mut().unwrap().remove("time");
        }
    }
    serde_json::from_value(v).unwrap()
}

fn invocation(event: EventBridgeEvent, deadline_ms: u64) -> LambdaEvent<EventBridgeEvent> {
    let mut context = Context::default();
    context.request_id = "test-invocation".into();
    context.deadline = deadline_ms;
    LambdaEvent::new(event, context)
}

fn epoch_ms_in(d: Duration) -> u64 {
    (SystemTime::now() + d)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn expiries(store: &Store) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = store.list_audit(&tid(TENANT), 100, start).await.unwrap();
        out.extend(
            page.items
                .into_iter()
                .filter(|e| e.kind == AuditType::PortOutStatusChanged),
        );
        start = page.next;
        if start.is_none() {
            return out;
        }
    }
}

// ---------------------------------------------------------------------------
// what expires
// ---------------------------------------------------------------------------

#[tokio::test]
async fn expires_stale_orders_and_leaves_fresh_ones() {
    let (store, nums) = setup(8).await;
    let n = |i: usize| nums[i..i + 1].to_vec();
    // pending: the clock is createdAt, 168 h
    let stale = pending_at(&store, &n(0), now() - 169 * HOUR).await;
    let just_stale = pending_at(&store, &n(1), now() - 168 * HOUR - 1).await;
    let on_the_limit = pending_at(&store, &n(2), now() - 168 * HOUR).await;
    let fresh = pending_at(&store, &n(3), now() - HOUR).await;
    // foc_confirmed: the clock is focDate 00:00 UTC, 72 h grace.
    // 2026-11-23T00:00Z is 82 h before now; 2026-11-24T00:00Z is 58 h.
    let foc_stale = foc_at(&store, &n(4), "2026-11-23").await;
    let foc_fresh = foc_at(&store, &n(5), "2026-11-24").await;
    // fixed-date: 7 days after the fixture's own clock, which never moves.
    let foc_future = foc_at(&store, &n(6), "2026-12-03").await; // fixed-date: as above
                                                                // closed orders never expire
    let done = order_at(
        &store,
        &[],
        now() - 900 * HOUR,
        OrderStatus::Completed,
        None,
    )
    .await;

    let report = app(&store)
        .handle(invocation(scheduled(Some("2026-11-26T10:00:00Z")), 0))
        .await
        .unwrap();
    assert_eq!((report.examined, report.expired), (3, 3), "{report:?}");
    assert!(report.finished);
    assert_eq!(
        serde_json::to_value(report).unwrap(),
        json!({"examined": 3, "expired": 3})
    );

    for (order, i) in [(&stale, 0), (&just_stale, 1), (&foc_stale, 4)] {
        let stored = status_of(&store, &order.id).await;
        assert_eq!(stored.status, OrderStatus::Expired, "{}", order.id);
        assert_eq!(
            stored.updated_at, "2026-11-26T10:00:00Z",
            "the event's time"
        );
        assert_free(&store, &n(i)).await;
        let item = items_with_prefix(&store, &format!("ORDER#{}", order.id)).await;
        assert!(!item[0].contains_key("OPENPK"), "left the OpenOrders index");
    }
    assert_eq!(
        status_of(&store, &foc_stale.id)
            .await
            .foc_date
            .map(|d| d.to_string())
            .as_deref(),
        Some("2026-11-23")
    );
    for (order, i) in [
        (&on_the_limit, 2),
        (&fresh, 3),
        (&foc_fresh, 5),
        (&foc_future, 6),
    ] {
        let stored = status_of(&store, &order.id).await;
        assert_eq!(stored.status, order.status, "{} untouched", order.id);
        assert_eq!(stored.version, 0);
        assert_reserved(&store, &n(i), &order.id).await;
    }
    assert_eq!(
        status_of(&store, &done.id).await.status,
        OrderStatus::Completed
    );
    assert_free(&store, &n(7)).await;

    // Audited as the scheduler, with no source IP.
    let audits = expiries(&store).await;
    assert_eq!(audits.len(), 3);
    for e in &audits {
        assert_eq!(
            e.actor,
            Actor {
                kind: ActorKind::Scheduler,
                id: None
            }
        );
        assert_eq!(e.status.as_deref(), Some("expired"));
        assert_eq!(e.source_ip, None);
        assert_eq!(e.time, now());
        let shown = serde_json::to_value(e).unwrap();
        assert_eq!(shown["actor"], json!({"kind": "scheduler", "id": null}));
    }
    let ids: Vec<_> = audits
        .iter()
        .filter_map(|e| e.port_out_id.clone())
        .collect();
    for o in [&stale, &just_stale, &foc_stale] {
        assert!(ids.contains(&o.id));
    }

    // An expired order's numbers can be reserved again.
    pending_at(&store, &n(0), now()).await;
}

#[tokio::test]
async fn policy_comes_from_the_configuration() {
    let (store, nums) = setup(2).await;
    let pending = pending_at(&store, &nums[..1], now() - 3 * HOUR).await;
    let foc = foc_at(&store, &nums[1..], "2026-11-26").await; // 10 h ago
    let strict = App::new(
        store.clone(),
        ExpiryPolicy {
            pending_expiry_hours: 2,
            foc_grace_hours: 0,
        },
    );
    // The default policy expires neither...
    let r = app(&store).run_check(now(), far()).await.unwrap();
    assert_eq!((r.examined, r.expired), (0, 0));
    // ...a stricter one expires both.
    let r = strict.run_check(now(), far()).await.unwrap();
    assert_eq!((r.examined, r.expired), (2, 2));
    for o in [&pending, &foc] {
        assert_eq!(status_of(&store, &o.id).await.status, OrderStatus::Expired);
    }
}

#[tokio::test]
async fn the_event_time_is_required() {
    let (store, nums) = setup(1).await;
    let order = pending_at(&store, &nums, now() - 400 * HOUR).await;
    let err = app(&store)
        .handle(invocation(scheduled(None), 0))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::InvalidEvent(_)), "{err}");
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "InvalidEvent");
    // A time that is not RFC 3339 does not even make an event: the runtime
    // answers the invocation with a deserialisation error.
    for bad in ["yesterday", "2026-11-26", "26/Nov/2026:10:00:00 +0000", ""] {
        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["time"] = json!(bad);
        assert!(
            serde_json::from_value::<EventBridgeEvent>(v).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        status_of(&store, &order.id).await.status,
        OrderStatus::Pending
    );
}

#[tokio::test]
async fn the_committed_fixture_is_a_scheduled_event() {
    let event: EventBridgeEvent = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    assert!(["aws.events", "aws.scheduler"].contains(&event.source.as_str()));
    assert_eq!(event.time.unwrap().timestamp(), now());
    assert_eq!(event.detail, json!({}));
    let (store, nums) = setup(1).await;
    pending_at(&store, &nums, now() - 200 * HOUR).await;
    let report = app(&store).handle(invocation(event, 0)).await.unwrap();
    assert_eq!((report.examined, report.expired), (1, 1));
    let logs = captured_logs();
    assert!(
        logs.contains("status check done") && logs.contains("\"examined\""),
        "the result is logged"
    );
}

// ---------------------------------------------------------------------------
// replay, cost, pagination
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_replayed_event_gives_the_same_result() {
    let (store, nums) = setup(6).await;
    for (i, n) in nums.chunks(2).enumerate() {
        pending_at(&store, n, now() - (170 + i as i64) * HOUR).await;
    }
    pending_at(&store, &[], now() - HOUR).await;
    let app = app(&store);
    let first = app
        .handle(invocation(scheduled(Some("2026-11-26T10:00:00Z")), 0))
        .await
        .unwrap();
    assert_eq!((first.examined, first.expired), (3, 3));
    let table = snapshot(&store).await;
    let again = app
        .handle(invocation(scheduled(Some("2026-11-26T10:00:00Z")), 0))
        .await
        .unwrap();
    assert_eq!((again.examined, again.expired), (0, 0));
    assert_eq!(snapshot(&store).await, table, "a replay writes nothing");
    assert_eq!(expiries(&store).await.len(), 3);
}

/// Closed orders, old enough that they would be stale if open: they are
/// written straight as the life cycle leaves them (`create_order` with a
/// closed status puts no OpenOrders key), plus a few driven through real
/// transitions.
async fn closed_orders(store: &Store, count: usize, spare: &[String]) {
    let closed = [
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
    ];
    let jobs: Vec<_> = (0..count)
        .map(|i| {
            let created = now() - (200 + i as i64) * HOUR;
            order_at(store, &[], created, closed[i % closed.len()], None)
        })
        .collect();
    use futures::StreamExt;
    futures::stream::iter(jobs)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    // And some that really went pending → foc_confirmed → cancelled.
    for n in spare {
        let order = pending_at(store, std::slice::from_ref(n), now() - 500 * HOUR).await;
        let audit = |status: &str| {
            AuditEvent::new(
                &tid(TENANT),
                now(),
                AuditType::PortOutStatusChanged,
                Actor {
                    kind: ActorKind::Carrier,
                    id: Some("carrier-a".into()),
                },
            )
            .status(status)
        };
        let t = Timestamp::from_unix(now() - 400 * HOUR);
        let out = store
            .transition_order(
                &order,
                OrderStatus::FocConfirmed,
                Day::parse("2026-10-01"),
                t,
                &audit("foc_confirmed"),
                None,
            )
            .await
            .unwrap();
        let portguard_store::orders::TransitionOutcome::Applied(order) = out else {
            panic!("{out:?}")
        };
        store
            .transition_order(
                &order,
                OrderStatus::Cancelled,
                None,
                t,
                &audit("cancelled"),
                None,
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn cost_grows_with_open_orders_only() {
    let (big, big_nums) = setup(16).await;
    let (small, small_nums) = setup(6).await;
    // The same open orders in both tables: 4 stale, 2 fresh.
    for (store, nums) in [(&big, &big_nums), (&small, &small_nums)] {
        for i in 0..4 {
            pending_at(store, &nums[i..i + 1], now() - (300 + i as i64) * HOUR).await;
        }
        pending_at(store, &nums[4..5], now() - HOUR).await;
        foc_at(store, &nums[5..6], "2026-12-03").await; // fixed-date: after the fixture's fixed clock
    }
    // The big table also holds 300 closed orders.
    closed_orders(&big, 300, &big_nums[6..16]).await;
    assert!(items_with_prefix(&big, "ORDER#").await.len() >= 316);

    // Measured with a page size that would need many pages for 300 items.
    let big_report = app(&big)
        .with_page_size(5)
        .run_check(now(), far())
        .await
        .unwrap();
    let small_report = app(&small)
        .with_page_size(5)
        .run_check(now(), far())
        .await
        .unwrap();
    assert_eq!((big_report.examined, big_report.expired), (4, 4));
    assert_eq!(
        (big_report.examined, big_report.expired),
        (small_report.examined, small_report.expired)
    );
    eprintln!("read units: {big_report:?} / {small_report:?}");
    assert!(big_report.read_units > 0.0, "DynamoDB reports what it read");
    assert_eq!(
        big_report.read_units, small_report.read_units,
        "the same read capacity with or without 300 closed orders"
    );
}

#[tokio::test]
async fn follows_pagination_with_small_pages() {
    let (store, nums) = setup(40).await;
    let mut stale = Vec::new();
    for i in 0..23 {
        stale.push(pending_at(&store, &nums[i..i + 1], now() - (169 + i as i64) * HOUR).await);
    }
    for i in 23..30 {
        stale.push(foc_at(&store, &nums[i..i + 1], "2026-11-01").await);
    }
    // fresh ones in between
    for i in 30..40 {
        pending_at(&store, &nums[i..i + 1], now() - (i as i64) * HOUR).await;
    }
    for page in [1, 3] {
        let report = app(&store)
            .with_page_size(page)
            .run_check(now(), far())
            .await
            .unwrap();
        if page == 1 {
            assert_eq!((report.examined, report.expired), (30, 30));
        } else {
            assert_eq!((report.examined, report.expired), (0, 0), "nothing left");
        }
        assert!(report.finished);
    }
    for o in &stale {
        assert_eq!(status_of(&store, &o.id).await.status, OrderStatus::Expired);
    }
    assert_free(&store, &nums[..30]).await;
    for n in &nums[30..] {
        assert!(open_port_out_of(&store, n).await.unwrap().is_some());
    }
}

// ---------------------------------------------------------------------------
// the deadline
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stops_before_the_deadline_and_the_next_run_finishes() {
    let (store, nums) = setup(12).await;
    for i in 0..12 {
        pending_at(&store, &nums[i..i + 1], now() - (200 + i as i64) * HOUR).await;
    }
    let app = app(&store).with_page_size(2);
    // A deadline already reached: nothing starts, the run says so.
    let first = app.run_check(now(), Instant::now()).await.unwrap();
    assert_eq!(
        (first.examined, first.expired, first.finished),
        (0, 0, false)
    );
    assert!(captured_logs().contains("stopping before the deadline"));
    // A tight one: some, maybe none, maybe all get done, never half.
    let second = app
        .run_check(now(), Instant::now() + Duration::from_millis(40))
        .await
        .unwrap();
    assert!(second.expired <= 12);
    // The next run finishes the rest.
    let third = app.run_check(now(), far()).await.unwrap();
    assert!(third.finished);
    assert_eq!(second.expired + third.expired, 12, "{second:?} {third:?}");
    let fourth = app.run_check(now(), far()).await.unwrap();
    assert_eq!((fourth.examined, fourth.expired), (0, 0));
    assert_free(&store, &nums).await;
    assert_eq!(expiries(&store).await.len(), 12, "each expired once");
}

#[tokio::test]
async fn the_invocation_deadline_is_respected() {
    let (store, nums) = setup(3).await;
    for i in 0..3 {
        pending_at(&store, &nums[i..i + 1], now() - 200 * HOUR).await;
    }
    let app = app(&store);
    // One second left is inside the 2 s margin: stop at once.
    let r = app
        .handle(invocation(
            scheduled(Some("2026-11-26T10:00:00Z")),
            epoch_ms_in(Duration::from_secs(1)),
        ))
        .await
        .unwrap();
    assert_eq!((r.examined, r.expired, r.finished), (0, 0, false));
    // `cargo lambda watch` 1.9.2 hands out epoch + 600 000 ms: unknown, so
    // the run uses its own budget and finishes.
    let r = app
        .handle(invocation(scheduled(Some("2026-11-26T10:00:00Z")), 600_000))
        .await
        .unwrap();
    assert_eq!((r.examined, r.expired, r.finished), (3, 3, true));
    // A real deadline with time to spare.
    pending_at(&store, &[], now() - 200 * HOUR).await;
    let r = app
        .handle(invocation(
            scheduled(Some("2026-11-26T10:00:00Z")),
            epoch_ms_in(Duration::from_secs(30)),
        ))
        .await
        .unwrap();
    assert_eq!((r.examined, r.expired, r.finished), (1, 1, true));
}

// ---------------------------------------------------------------------------
// races
// ---------------------------------------------------------------------------

#[tokio::test]
async fn two_copies_of_the_check_expire_each_order_once() {
    let (store, nums) = setup(20).await;
    for i in 0..20 {
        pending_at(&store, &nums[i..i + 1], now() - (200 + i as i64) * HOUR).await;
    }
    let (a, b) = (app(&store).with_page_size(3), app(&store).with_page_size(7));
    let (ra, rb) = tokio::join!(a.run_check(now(), far()), b.run_check(now(), far()));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.expired + rb.expired, 20, "{ra:?} {rb:?}");
    assert_eq!(
        expiries(&store).await.len(),
        20,
        "one audit event per order"
    );
    assert_free(&store, &nums).await;
}

fn completed_webhook(order_id: &OrderId) -> Value {
    let body = json!({"type": "port_out.completed", "portOutId": order_id}).to_string();
    let id = format!("msg_{}", ulid::Ulid::new());
    let ts = clock::now();
    let sig = sign(portguard_tests::fixtures::SECRET_A, &id, ts, &body);
    let ts = ts.to_string();
    event_with(
        "POST",
        "/v1/carrier-events/carrier-a",
        "",
        As::Nobody,
        Some(&body),
        &[
            ("webhook-id", &id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &sig),
        ],
    )
}

#[tokio::test]
async fn a_webhook_and_the_check_racing_for_one_order() {
    let (store, nums) = setup(2).await;
    let secrets = WebhookSecrets::from_secret(WEBHOOK_SECRETS, "CARRIER_WEBHOOK_SECRETS").unwrap();
    let webhook = carrier_webhook::App::new(store.clone(), secrets);
    let check = app(&store);
    let (mut completed_wins, mut expired_wins) = (0, 0);
    for round in 0..10 {
        // Real time here: the webhook's signature is checked against it.
        let real_now = clock::now();
        let order = pending_at(&store, &nums, real_now - 200 * HOUR).await;
        let event = completed_webhook(&order.id);
        let (hook, report) = tokio::join!(
            async { answer(webhook.handle(request(&event)).await) },
            check.run_check(real_now, far()),
        );
        let report: Report = report.unwrap();
        let stored = status_of(&store, &order.id).await;
        let audits: Vec<_> = expiries(&store)
            .await
            .into_iter()
            .filter(|e| e.port_out_id.as_ref().map(|i| i.as_str()) == Some(order.id.as_str()))
            .collect();
        assert_eq!(audits.len(), 1, "round {round}: exactly one transition");
        // The check may not even see an order the webhook completed first.
        assert!(report.examined <= 1, "round {round}");
        match stored.status {
            OrderStatus::Completed => {
                completed_wins += 1;
                assert_eq!(hook.status, 200, "round {round}: {}", hook.raw);
                assert_eq!(hook.body["result"], "applied");
                assert_eq!(report.expired, 0);
                for n in &nums {
                    assert_eq!(open_port_out_of(&store, n).await, None, "{n} ported away");
                }
                // give the tenant its numbers back for the next round
                let t = Timestamp::now();
                for n in &nums {
                    store.add_number(&tid(TENANT), &num(n), t).await.unwrap();
                }
            }
            OrderStatus::Expired => {
                expired_wins += 1;
                assert_eq!(hook.status, 409, "round {round}: {}", hook.raw);
                assert_eq!(hook.code(), "INVALID_TRANSITION");
                assert_eq!(report.expired, 1);
                assert_free(&store, &nums).await;
            }
            other => panic!("round {round}: half state {other}"),
        }
        assert_eq!(audits[0].status.as_deref(), Some(stored.status.as_str()));
    }
    eprintln!("completed won {completed_wins}, expired won {expired_wins}");
}

/// Issue 23: a scheduled `time` more than 5 minutes ahead of the function's
/// own clock is refused as an invalid event (contract §6), and touches no
/// order; a `time` a little ahead (clocks differ) is still the clock.
#[tokio::test]
async fn a_time_far_in_the_future_is_refused_and_expires_nothing() {
    let (store, nums) = setup(2).await;
    let wall = clock::now();
    // Stale a year from now, fresh today.
    let order = pending_at(&store, &nums[..1], wall - HOUR).await;
    let before = portguard_tests::scan_items(&store, None).await;
    for ahead in [6 * 60, 30 * 24 * HOUR, 365 * 24 * HOUR] {
        let time = clock::format(clock::now() + ahead);
        let err = app(&store)
            .handle(invocation(scheduled(Some(&time)), 0))
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::InvalidEvent(_)), "{time}: {err}");
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "InvalidEvent");
    }
    assert_eq!(
        portguard_tests::scan_items(&store, None).await,
        before,
        "nothing written"
    );
    assert_eq!(
        status_of(&store, &order.id).await.status,
        OrderStatus::Pending
    );
    assert_reserved(&store, &nums[..1], &order.id).await;
    // Within 5 minutes ahead: run, and this order is not stale yet.
    let time = clock::format(clock::now() + 4 * 60);
    let report = app(&store)
        .handle(invocation(scheduled(Some(&time)), 0))
        .await
        .unwrap();
    assert_eq!(report.expired, 0);
    assert_eq!(
        status_of(&store, &order.id).await.status,
        OrderStatus::Pending
    );
}
