//! contract §13: the tenant admin rejects a port-out it did not ask for.
//! Against DynamoDB Local.

use portguard_tests::support;
use portguard_tests::typed::*;

use portguard_tests::{event, fresh_store, items_with_prefix, As};
use serde_json::{json, Value};
use support::*;

fn reject_event(who: As, id: &str, body: Option<&str>) -> Value {
    event("POST", &format!("/v1/port-outs/{id}/reject"), who, body)
}

/// A tenant with a PIN and an open order for `nums`; returns the order id.
async fn open_order(apps: &Apps, nums: &[String]) -> String {
    tenant_with_pin(apps, TENANT, ACCOUNT, PIN, nums).await;
    let a = post(apps, "carrier-a", &port_out_body(ACCOUNT, PIN, nums)).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    a.body["id"].as_str().unwrap().to_owned()
}

/// Another order for a tenant that already exists.
async fn open_order_again(apps: &Apps, nums: &[String]) -> String {
    let refs: Vec<&str> = nums.iter().map(String::as_str).collect();
    let now = Timestamp::now();
    for n in refs {
        apps.store
            .add_number(&tid(TENANT), &num(n), now)
            .await
            .unwrap();
    }
    let a = post(apps, "carrier-a", &port_out_body(ACCOUNT, PIN, nums)).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    a.body["id"].as_str().unwrap().to_owned()
}

async fn number_holder(apps: &Apps, e164: &str) -> Option<Option<String>> {
    let items = items_with_prefix(&apps.store, &format!("NUMBER#{e164}")).await;
    items.first().map(|item| {
        item.get("openPortOutId")
            .and_then(|v| v.as_s().ok())
            .cloned()
    })
}

#[tokio::test]
async fn the_tenant_rejects_an_open_order_and_its_numbers_are_free_again() {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    let nums = numbers("206", 100, 2);
    let id = open_order(&apps, &nums).await;

    let body = json!({"reason": "we never asked for this"}).to_string();
    let a = send_submit(&apps, &reject_event(As::Admin(TENANT), &id, Some(&body))).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["status"], "rejected");
    assert_eq!(a.body["closedBy"], "tenant_admin");
    assert_eq!(a.body["id"], id.as_str());
    for n in &nums {
        assert_eq!(number_holder(&apps, n).await, Some(None), "{n} is free");
    }
    // The order as read says the same.
    let got = send_submit(
        &apps,
        &event(
            "GET",
            &format!("/v1/port-outs/{id}"),
            As::Carrier("carrier-a"),
            None,
        ),
    )
    .await;
    assert_eq!(got.body["closedBy"], "tenant_admin");
    // Audited, by the admin who did it.
    let audit = send_pin(
        &apps,
        &event("GET", "/v1/audit-events", As::Admin(TENANT), None),
    )
    .await;
    let latest = &audit.body["items"][0];
    assert_eq!(latest["type"], "port_out.status_changed");
    assert_eq!(latest["status"], "rejected");
    assert_eq!(latest["portOutId"], id.as_str());
    assert_eq!(
        latest["actor"],
        json!({"kind": "tenant_admin", "id": "admin-of-t-100"})
    );
    // The numbers can be ported again.
    let again = post(&apps, "carrier-b", &port_out_body(ACCOUNT, PIN, &nums)).await;
    assert_eq!(again.status, 201, "{}", again.raw);
}

#[tokio::test]
async fn a_body_is_optional_and_the_reason_is_bounded() {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    let id = open_order(&apps, &numbers("206", 110, 1)).await;
    let long = json!({"reason": "x".repeat(501)}).to_string();
    send_submit(&apps, &reject_event(As::Admin(TENANT), &id, Some(&long)))
        .await
        .expect_error(400, "INVALID_REQUEST");
    send_submit(
        &apps,
        &reject_event(As::Admin(TENANT), &id, Some(r#"{"reason": 7}"#)),
    )
    .await
    .expect_error(400, "INVALID_REQUEST");
    send_submit(&apps, &reject_event(As::Admin(TENANT), &id, Some("[1]")))
        .await
        .expect_error(400, "INVALID_REQUEST");
    // Bad bodies changed nothing.
    let order = store.get_order(&oid(&id)).await.unwrap().unwrap();
    assert_eq!(order.status.as_str(), "pending");
    let a = send_submit(&apps, &reject_event(As::Admin(TENANT), &id, None)).await;
    assert_eq!(a.status, 200, "{}", a.raw);
}

#[tokio::test]
async fn a_closed_order_answers_409_with_its_status() {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    let id = open_order(&apps, &numbers("206", 120, 1)).await;
    let done = json!({"type": "port_out.completed", "portOutId": id});
    let a = send_webhook(&apps, &signed("carrier-a", &done)).await;
    assert_eq!(a.body["result"], "applied", "{}", a.raw);
    assert_eq!(a.body["portOut"]["closedBy"], "carrier");

    let a = send_submit(&apps, &reject_event(As::Admin(TENANT), &id, None)).await;
    a.expect_error(409, "INVALID_TRANSITION");
    assert_eq!(a.body["error"]["details"]["status"], "completed");

    // Rejecting twice: the second finds it closed.
    let id2 = open_order_again(&apps, &numbers("206", 121, 1)).await;
    let first = send_submit(&apps, &reject_event(As::Admin(TENANT), &id2, None)).await;
    assert_eq!(first.status, 200, "{}", first.raw);
    let second = send_submit(&apps, &reject_event(As::Admin(TENANT), &id2, None)).await;
    second.expect_error(409, "INVALID_TRANSITION");
    assert_eq!(second.body["error"]["details"]["status"], "rejected");
}

#[tokio::test]
async fn another_tenants_or_an_unknown_order_is_404_and_a_carrier_is_403() {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    let id = open_order(&apps, &numbers("206", 130, 1)).await;
    portguard_tests::provision(&store, "t-300", "ACC-3001", "US", &[]).await;

    let foreign = send_submit(&apps, &reject_event(As::Admin("t-300"), &id, None)).await;
    foreign.expect_error(404, "PORT_OUT_NOT_FOUND");
    let unknown = send_submit(
        &apps,
        &reject_event(As::Admin("t-300"), "po_01JF0000000000000000000000", None),
    )
    .await;
    assert_eq!(foreign.raw, unknown.raw, "byte for byte the same");
    let malformed = send_submit(&apps, &reject_event(As::Admin("t-300"), "nope", None)).await;
    assert_eq!(malformed.raw, unknown.raw);

    send_submit(&apps, &reject_event(As::Carrier("carrier-a"), &id, None))
        .await
        .expect_error(403, "FORBIDDEN");
    send_submit(&apps, &reject_event(As::Nobody, &id, None))
        .await
        .expect_error(401, "UNAUTHENTICATED");
    let get = event(
        "GET",
        &format!("/v1/port-outs/{id}/reject"),
        As::Admin(TENANT),
        None,
    );
    send_submit(&apps, &get)
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    // None of it touched the order.
    let order = store.get_order(&oid(&id)).await.unwrap().unwrap();
    assert_eq!(order.status.as_str(), "pending");
    assert_eq!(order.closed_by, None);
}

#[tokio::test]
async fn a_webhook_after_the_reject_is_unchanged_or_409() {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    let id = open_order(&apps, &numbers("206", 140, 1)).await;
    let a = send_submit(&apps, &reject_event(As::Admin(TENANT), &id, None)).await;
    assert_eq!(a.status, 200, "{}", a.raw);

    let completed = json!({"type": "port_out.completed", "portOutId": id});
    let a = send_webhook(&apps, &signed("carrier-a", &completed)).await;
    a.expect_error(409, "INVALID_TRANSITION");
    assert_eq!(a.body["error"]["details"]["status"], "rejected");
    let rejected = json!({"type": "port_out.rejected", "portOutId": id, "reason": "r"});
    let a = send_webhook(&apps, &signed("carrier-a", &rejected)).await;
    assert_eq!(a.body["result"], "unchanged", "{}", a.raw);
    let order = store.get_order(&oid(&id)).await.unwrap().unwrap();
    assert_eq!(order.closed_by.map(|k| k.as_str()), Some("tenant_admin"));
}

/// The tenant's reject and the carrier's `completed` sent together, many
/// times: exactly one wins, and the numbers are where its state says
/// (free after a reject, gone from the inventory after a completion).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reject_racing_completed_ends_with_exactly_one() {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    let nums = numbers("206", 200, 20);
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &nums).await;
    let (mut rejected, mut completed) = (0, 0);
    for n in &nums {
        let one = vec![n.clone()];
        let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &one)).await;
        assert_eq!(a.status, 201, "{}", a.raw);
        let id = a.body["id"].as_str().unwrap().to_owned();
        let (r, w) = {
            let (ra, wa) = (apps.clone(), apps.clone());
            let rid = id.clone();
            let done = json!({"type": "port_out.completed", "portOutId": id});
            tokio::join!(
                tokio::spawn(async move {
                    send_submit(&ra, &reject_event(As::Admin(TENANT), &rid, None)).await
                }),
                tokio::spawn(async move { send_webhook(&wa, &signed("carrier-a", &done)).await }),
            )
        };
        let (r, w) = (r.unwrap(), w.unwrap());
        let order = store.get_order(&oid(&id)).await.unwrap().unwrap();
        match order.status.as_str() {
            "rejected" => {
                rejected += 1;
                assert_eq!(r.status, 200, "{}", r.raw);
                w.expect_error(409, "INVALID_TRANSITION");
                assert_eq!(number_holder(&apps, n).await, Some(None), "{n} freed");
            }
            "completed" => {
                completed += 1;
                assert_eq!(w.body["result"], "applied", "{}", w.raw);
                r.expect_error(409, "INVALID_TRANSITION");
                assert_eq!(
                    number_holder(&apps, n).await,
                    None,
                    "{n} left the inventory"
                );
            }
            other => panic!("the order ended {other}: {} / {}", r.raw, w.raw),
        }
    }
    assert_eq!(rejected + completed, nums.len());
    eprintln!("reject won {rejected}, completed won {completed}");
}
