//! Fraud: what an attacker holding one party's credentials, a stolen webhook
//! or a list of guesses can do. One test per route proves that one tenant's
//! or carrier's credentials never reach another's data (answers are the
//! same as for data that does not exist, and the other party's items are
//! untouched); stolen webhooks replayed later are refused; concurrent wrong
//! guesses lose no increment.

use portguard_tests::notify_support;
use portguard_tests::support;
use portguard_tests::typed::*;

use futures::future::join_all;
use portguard_rules::LockPolicy;
use portguard_store::clock;
use portguard_tests::{event, event_with, fresh_store, items_with_prefix, provision, As};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const PIN_200: &str = "27182818";

/// t-100 (PIN, 10 numbers) and t-200 (PIN, 5 numbers), both US.
async fn world(policy: LockPolicy) -> Arc<Apps> {
    let store = fresh_store().await;
    let apps = apps(&store, policy);
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 10)).await;
    tenant_with_pin(&apps, "t-200", "ACC-2002", PIN_200, &numbers("312", 100, 5)).await;
    apps
}

/// Items whose PK starts with `prefix`, canonical, to prove they did not change.
async fn items_of(apps: &Apps, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = items_with_prefix(&apps.store, prefix)
        .await
        .iter()
        .map(portguard_tests::canonical_item)
        .collect();
    v.sort();
    v
}

/// Everything t-100 owns: its tenant item and audit trail, its numbers.
async fn t100(apps: &Apps) -> (Vec<String>, Vec<String>) {
    let mut held = Vec::new();
    for n in numbers("206", 100, 10) {
        held.extend(items_of(apps, &format!("NUMBER#{n}")).await);
    }
    (items_of(apps, "TENANT#t-100").await, held)
}

// ------------------------------------------------------------- GET/PUT /v1/pin

#[tokio::test]
async fn get_pin_shows_only_the_callers_tenant() {
    let apps = world(EASY).await;
    // Claims of t-200; every other place names t-100.
    let ev = event_with(
        "GET",
        "/v1/pin",
        "tenantId=t-100&tenant_id=t-100",
        As::Admin("t-200"),
        Some(r#"{"tenantId":"t-100"}"#),
        &[("x-tenant-id", "t-100"), ("tenant_id", "t-100")],
    );
    let a = send_pin(&apps, &ev).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["tenantId"], "t-200");
    // A carrier token, even with a tenant_id claim, has no admin scope.
    let ev = event(
        "GET",
        "/v1/pin",
        As::Raw(
            json!({"carrier_id": "carrier-a", "tenant_id": "t-100"}),
            vec!["portguard/carrier"],
        ),
        None,
    );
    let a = send_pin(&apps, &ev).await;
    a.expect_error(403, "FORBIDDEN");
    assert!(!a.raw.contains("t-100"));
}

#[tokio::test]
async fn put_pin_changes_only_the_callers_tenant() {
    let apps = world(EASY).await;
    let before = t100(&apps).await;
    let ev = event_with(
        "PUT",
        "/v1/pin",
        "tenantId=t-100",
        As::Admin("t-200"),
        Some(
            r#"{"pin":"55501234","tenantId":"t-100","tenant_id":"t-100","accountNumber":"ACC-1001"}"#,
        ),
        &[("x-tenant-id", "t-100")],
    );
    let a = send_pin(&apps, &ev).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["tenantId"], "t-200");
    assert_eq!(t100(&apps).await, before, "t-100 untouched");
    // t-100's PIN still works, t-200's new one does not open t-100.
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, "55501234", &numbers("206", 100, 1)),
    )
    .await;
    assert_eq!(a.code(), "PIN_MISMATCH", "{}", a.raw);
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &numbers("206", 100, 1)),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
}

// ------------------------------------------------------------- GET /v1/audit-events

#[tokio::test]
async fn audit_events_show_only_the_callers_tenant() {
    let apps = world(EASY).await;
    // Activity on t-100: a rejection and an order.
    post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, WRONG, &numbers("206", 100, 1)),
    )
    .await;
    post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &numbers("206", 101, 1)),
    )
    .await;
    let list = |who: As, query: &str| event_with("GET", "/v1/audit-events", query, who, None, &[]);
    let own = send_pin(&apps, &list(As::Admin(TENANT), "limit=2")).await;
    assert_eq!(own.status, 200);
    let t100_ids: Vec<Value> = own.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(t100_ids.len(), 2);
    let token = own.body["nextToken"]
        .as_str()
        .expect("more pages")
        .to_owned();

    let other = send_pin(&apps, &list(As::Admin("t-200"), "tenantId=t-100&limit=100")).await;
    assert_eq!(other.status, 200);
    let items = other.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "t-200 sees its own pin.set only: {}",
        other.raw
    );
    assert_eq!(items[0]["type"], "pin.set");
    for i in items {
        assert!(!t100_ids.contains(&i["id"]));
    }
    // t-100's page token is refused for t-200 and for a carrier.
    let q = format!("nextToken={token}");
    let a = send_pin(&apps, &list(As::Admin("t-200"), &q)).await;
    a.expect_error(400, "INVALID_REQUEST");
    let a = send_pin(&apps, &list(As::Carrier("carrier-a"), "")).await;
    a.expect_error(403, "FORBIDDEN");
}

// ------------------------------------------------------------- POST /v1/port-outs

#[tokio::test]
async fn post_port_out_cannot_cross_tenants() {
    let apps = world(EASY).await;
    let t100_numbers = numbers("206", 100, 2);
    let before = t100(&apps).await;
    // t-200's account and PIN, t-100's numbers: not on the account; nothing
    // of t-100 is reserved or changed, and no order is written.
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body("ACC-2002", PIN_200, &t100_numbers),
    )
    .await;
    a.expect_error(422, "NUMBER_NOT_ON_ACCOUNT");
    assert_eq!(t100(&apps).await, before);
    // t-100's PIN on t-200's account: a wrong PIN for t-200, not a way in.
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body("ACC-2002", PIN, &numbers("312", 100, 1)),
    )
    .await;
    a.expect_error(422, "PIN_MISMATCH");
    assert_eq!(t100(&apps).await, before, "t-100's counters untouched");
    // Mixed numbers of both tenants under t-100's account and PIN.
    let mut mixed = numbers("206", 100, 1);
    mixed.extend(numbers("312", 100, 1));
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &mixed)).await;
    a.expect_error(422, "NUMBER_NOT_ON_ACCOUNT");
    assert_eq!(
        a.body["error"]["details"]["numbers"],
        json!(["+13125550100"])
    );
    assert!(items_with_prefix(&apps.store, "ORDER#").await.is_empty());
    // Claims naming another carrier in the body are ignored: the order is
    // the token's carrier's.
    let mut b = port_out_body(ACCOUNT, PIN, &numbers("206", 102, 1));
    b["carrierId"] = json!("carrier-b");
    let a = post(&apps, "carrier-a", &b).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(a.body["carrierId"], "carrier-a");
}

// ------------------------------------------------------------- Bandwidth (contract §15)

/// Bandwidth's door is one carrier for every gaining carrier behind it: one
/// tenant's account and PIN never reach another tenant's numbers, a PIN of
/// one tenant is a wrong PIN for another (counted there, for Bandwidth's
/// carrier only), and a completion closes only Bandwidth's own orders.
#[tokio::test]
async fn bandwidth_cannot_cross_tenants_or_carriers() {
    let apps = world(EASY).await;
    let t100_numbers = numbers("206", 100, 2);
    let before = t100(&apps).await;
    let v = bw_validate(
        &apps,
        &bw_request("ACC-2002", PIN_200, "PON-1", &t100_numbers),
    )
    .await;
    assert_eq!(v.code, Some(7516), "{v:?}");
    assert_eq!(t100(&apps).await, before);
    let v = bw_validate(
        &apps,
        &bw_request("ACC-2002", PIN, "PON-1", &numbers("312", 100, 1)),
    )
    .await;
    assert_eq!(v.code, Some(7513), "t-100's PIN is wrong for t-200");
    assert_eq!(t100(&apps).await, before, "t-100's counters untouched");
    let t200 = apps.store.get_tenant(&tid("t-200")).await.unwrap().unwrap();
    assert_eq!(t200.locks.of(BANDWIDTH).failed_attempts, 1);
    assert_eq!(t200.locks.of("carrier-a").failed_attempts, 0);
    let mut mixed = numbers("206", 100, 1);
    mixed.extend(numbers("312", 100, 1));
    let v = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-1", &mixed)).await;
    assert_eq!(v.code, Some(7516));
    assert!(items_with_prefix(&apps.store, "ORDER#").await.is_empty());

    // carrier-a's open order is not Bandwidth's to complete, nor to repeat.
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &t100_numbers),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let v = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-7781", &t100_numbers)).await;
    assert_eq!(
        v.code,
        Some(7519),
        "another carrier's order is not a resubmission"
    );
    let orders = items_of(&apps, "ORDER#").await;
    let body = format!(
        "<Notification><OrderType>portouts</OrderType><Status>COMPLETE</Status>\
         <CompletedTelephoneNumbers><TelephoneNumber>{}</TelephoneNumber>\
         </CompletedTelephoneNumbers></Notification>",
        &t100_numbers[0][2..]
    );
    let ev = bw_event(
        BW_NOTIFICATIONS,
        &body,
        Some(portguard_tests::BANDWIDTH_BASIC),
    );
    assert_eq!(send_submit(&apps, &ev).await.status, 200);
    assert_eq!(items_of(&apps, "ORDER#").await, orders, "untouched");
}

// ------------------------------------------------------------- Telnyx (contract §16)

/// [`world`] with Telnyx's door, its API a stand-in.
async fn telnyx_world() -> (Arc<Apps>, telnyx_stand_in::StandIn) {
    let stand_in = telnyx_stand_in().await;
    let store = fresh_store().await;
    let apps = apps_with_telnyx(&store, EASY, &stand_in.base_url());
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 10)).await;
    tenant_with_pin(&apps, "t-200", "ACC-2002", PIN_200, &numbers("312", 100, 5)).await;
    (apps, stand_in)
}

/// Everything t-200 owns: its tenant item and audit trail, its numbers.
async fn t200(apps: &Apps) -> (Vec<String>, Vec<String>) {
    let mut held = Vec::new();
    for n in numbers("312", 100, 5) {
        held.extend(items_of(apps, &format!("NUMBER#{n}")).await);
    }
    (items_of(apps, "TENANT#t-200").await, held)
}

fn tx_id(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new())
}

/// A signed `portout.status_changed` event.
async fn tx_send(
    apps: &Apps,
    po: &str,
    status: &str,
    nums: &[String],
    pin: Option<&str>,
) -> portguard_tests::Answer {
    let body = tx_status(&tx_id("ev"), po, status, nums, pin);
    send_submit(apps, &tx_signed(&body)).await
}

/// Telnyx names no account: the tenant is the holder of the first number,
/// and that never reaches another tenant. Numbers of two tenants in one
/// port-out are `NUMBER_NOT_ON_ACCOUNT` whichever comes first (rejected at
/// Telnyx, the other tenant untouched); one tenant's PIN is a wrong PIN for
/// the other's numbers, counted against the holder (for Telnyx's carrier
/// only), never against the tenant whose PIN it is.
#[tokio::test]
async fn telnyx_cannot_cross_tenants() {
    let (apps, stand_in) = telnyx_world().await;
    let (t100_before, t200_before) = (t100(&apps).await, t200(&apps).await);
    // t-100's number first, with t-100's PIN, then one of t-200's.
    let mut mixed = numbers("206", 100, 1);
    mixed.extend(numbers("312", 100, 1));
    let a = tx_send(&apps, &tx_id("po"), "pending", &mixed, Some(PIN)).await;
    assert_eq!(
        a.body,
        json!({"result": "rejected", "code": "NUMBER_NOT_ON_ACCOUNT"}),
        "{}",
        a.raw
    );
    assert_eq!(t200(&apps).await, t200_before, "t-200 untouched");
    // t-200's number first, with t-200's PIN, then one of t-100's.
    let mixed: Vec<String> = mixed.into_iter().rev().collect();
    let a = tx_send(&apps, &tx_id("po"), "pending", &mixed, Some(PIN_200)).await;
    assert_eq!(a.body["code"], "NUMBER_NOT_ON_ACCOUNT", "{}", a.raw);
    assert_eq!(
        t100(&apps).await.1,
        t100_before.1,
        "t-100's numbers untouched"
    );
    assert!(items_with_prefix(&apps.store, "ORDER#").await.is_empty());
    // t-200's PIN for t-100's numbers: a wrong PIN, counted against t-100.
    let a = tx_send(
        &apps,
        &tx_id("po"),
        "pending",
        &numbers("206", 101, 2),
        Some(PIN_200),
    )
    .await;
    assert_eq!(a.body["code"], "PIN_MISMATCH", "{}", a.raw);
    let t100_now = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert_eq!(t100_now.locks.of(TELNYX).failed_attempts, 1);
    assert_eq!(t100_now.locks.of("carrier-a").failed_attempts, 0);
    let t200_now = apps.store.get_tenant(&tid("t-200")).await.unwrap().unwrap();
    assert_eq!(t200_now.locks.of(TELNYX).failed_attempts, 0);
    assert_eq!(t200(&apps).await.1, t200_before.1);
    // Every refusal was sent to Telnyx, with portguard's code and no PIN.
    let rejects = stand_in.rejects();
    let codes: Vec<&str> = rejects
        .iter()
        .map(|(_, r)| r.split(':').next().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "NUMBER_NOT_ON_ACCOUNT",
            "NUMBER_NOT_ON_ACCOUNT",
            "PIN_MISMATCH"
        ]
    );
    for (_, reason) in &rejects {
        assert!(
            !reason.contains(PIN) && !reason.contains(PIN_200),
            "{reason}"
        );
    }
    assert!(items_with_prefix(&apps.store, "ORDER#").await.is_empty());
}

/// A later event names a port-out by Telnyx's id (`payload.id`), and that
/// id reaches only the order Telnyx's own port-out opened: never an order
/// of another carrier or door, whatever id the event carries — the order's
/// own id, a Bandwidth order's, or a decision that (forged or corrupt)
/// points at an order that is not Telnyx's.
#[tokio::test]
async fn telnyx_events_cannot_move_another_carriers_or_doors_orders() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (apps, stand_in) = telnyx_world().await;
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &numbers("206", 100, 1)),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let api_order = a.body["id"].as_str().unwrap().to_owned();
    let v = bw_validate(
        &apps,
        &bw_request(ACCOUNT, PIN, "PON-BW-1", &numbers("206", 101, 1)),
    )
    .await;
    assert!(v.portable, "{v:?}");
    // A Telnyx order of t-100, for the last case.
    let telnyx_po = tx_id("po");
    let a = tx_send(
        &apps,
        &telnyx_po,
        "pending",
        &numbers("206", 102, 1),
        Some(PIN),
    )
    .await;
    assert_eq!(a.body["result"], "accepted", "{}", a.raw);
    let by_source = |source: &'static str| {
        let apps = apps.clone();
        async move {
            items_with_prefix(&apps.store, "ORDER#")
                .await
                .into_iter()
                .find(|o| o["source"].as_s().unwrap() == source)
                .unwrap()["id"]
                .as_s()
                .unwrap()
                .clone()
        }
    };
    // An order through portguard's own API by a JWT carrier whose id is
    // Telnyx's carrier id: the same carrier (contract §9), another door.
    let a = post(
        &apps,
        TELNYX,
        &port_out_body(ACCOUNT, PIN, &numbers("206", 103, 1)),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let api_telnyx_order = a.body["id"].as_str().unwrap().to_owned();
    let bw_order = by_source("bandwidth").await;
    let tx_order = by_source("telnyx").await;
    let orders = items_of(&apps, "ORDER#").await;
    // Ids of other orders as payload.id: no Telnyx port-out of that id.
    for id in [
        &api_order,
        &api_telnyx_order,
        &bw_order,
        &"PON-BW-1".to_owned(),
    ] {
        for status in ["ported", "canceled", "rejected"] {
            let a = tx_send(&apps, id, status, &[], None).await;
            assert_eq!(a.body["result"], "ignored", "{id} {status}: {}", a.raw);
        }
    }
    assert_eq!(items_of(&apps, "ORDER#").await, orders, "untouched");
    // A decision that points at an order that is not Telnyx's own for that
    // port-out: another door's order, or a Telnyx order of another port-out.
    for (po, target) in [
        (tx_id("po"), &api_order),
        (tx_id("po"), &api_telnyx_order),
        (tx_id("po"), &bw_order),
        (tx_id("po"), &tx_order),
    ] {
        let mut item = std::collections::HashMap::from([
            (
                "PK".to_owned(),
                AttributeValue::S(format!("UPSTREAM#{TELNYX}#{po}")),
            ),
            ("SK".to_owned(), AttributeValue::S("DECISION".into())),
            ("state".to_owned(), AttributeValue::S("decided".into())),
            ("told".to_owned(), AttributeValue::Bool(false)),
        ]);
        item.insert("orderId".into(), AttributeValue::S(target.clone()));
        apps.store
            .client()
            .put_item()
            .table_name(apps.store.table())
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        for status in ["ported", "canceled", "rejected"] {
            let a = tx_send(&apps, &po, status, &[], None).await;
            assert_eq!(a.body["result"], "ignored", "{target} {status}: {}", a.raw);
        }
        let foc = telnyx_stand_in::event_body(
            &tx_id("ev"),
            "portout.foc_date_changed",
            &po,
            None,
            &[],
            None,
            Some(&portguard_tests::date_in(10)),
        );
        let a = send_submit(&apps, &tx_signed(&foc)).await;
        assert_eq!(a.body["result"], "ignored", "{target} foc: {}", a.raw);
    }
    assert_eq!(items_of(&apps, "ORDER#").await, orders, "untouched");
    // Telnyx's own port-out still moves its own order.
    let a = tx_send(&apps, &telnyx_po, "canceled", &[], None).await;
    assert_eq!(a.body["result"], "applied", "{}", a.raw);
    assert_eq!(a.body["portOut"]["id"], tx_order.as_str());
    assert!(stand_in.calls().is_empty(), "{:?}", stand_in.calls());
}

// ------------------------------------------------------------- /v1/transfer-pins

#[tokio::test]
async fn transfer_pins_cannot_cross_tenants() {
    let apps = world(EASY).await;
    let t100_numbers = numbers("206", 100, 2);
    let body = json!({ "phoneNumbers": t100_numbers }).to_string();
    let a = send_pin(
        &apps,
        &event("POST", "/v1/transfer-pins", As::Admin(TENANT), Some(&body)),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let pin = a.body["pin"].as_str().unwrap().to_owned();
    let before = (t100(&apps).await, items_of(&apps, "ACCOUNT#ACC-1001").await);

    // t-200 does not see it, whatever names t-100 in the request.
    let l = send_pin(
        &apps,
        &event_with(
            "GET",
            "/v1/transfer-pins",
            "tenantId=t-100&tenant_id=t-100",
            As::Admin("t-200"),
            None,
            &[("x-tenant-id", "t-100")],
        ),
    )
    .await;
    assert_eq!(l.status, 200, "{}", l.raw);
    assert_eq!(l.body, json!({"items": [], "nextToken": null}));
    // Its id answers t-200 exactly as an id that does not exist.
    let revoke = |path: String| event("DELETE", &path, As::Admin("t-200"), None);
    let foreign = send_pin(&apps, &revoke(format!("/v1/transfer-pins/{id}"))).await;
    let absent = send_pin(
        &apps,
        &revoke("/v1/transfer-pins/tp_01JF0000000000000000000000".into()),
    )
    .await;
    foreign.expect_error(404, "TRANSFER_PIN_NOT_FOUND");
    assert_eq!(
        foreign.raw, absent.raw,
        "indistinguishable from a missing one"
    );
    assert_eq!(foreign.headers, absent.headers);
    // t-200 cannot bind t-100's numbers to a PIN of its own.
    let a = send_pin(
        &apps,
        &event("POST", "/v1/transfer-pins", As::Admin("t-200"), Some(&body)),
    )
    .await;
    a.expect_error(422, "NUMBER_NOT_ON_ACCOUNT");
    assert_eq!(a.body["error"]["details"]["numbers"], json!(t100_numbers));
    // t-100's transfer PIN opens nothing of t-200's (a wrong PIN there).
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body("ACC-2002", &pin, &numbers("312", 100, 1)),
    )
    .await;
    a.expect_error(422, "PIN_MISMATCH");
    // A carrier token reaches no transfer-PIN route.
    let a = send_pin(
        &apps,
        &event("GET", "/v1/transfer-pins", As::Carrier("carrier-a"), None),
    )
    .await;
    a.expect_error(403, "FORBIDDEN");
    assert_eq!(
        (t100(&apps).await, items_of(&apps, "ACCOUNT#ACC-1001").await),
        before,
        "t-100 untouched"
    );
    // And it still opens t-100's port-out of its numbers.
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, &pin, &t100_numbers[..1]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
}

// ------------------------------------------------- /v1/port-out-protection, /v1/numbers

#[tokio::test]
async fn protection_routes_cannot_cross_tenants() {
    let apps = world(EASY).await;
    let theirs = numbers("206", 100, 1).remove(0);
    let before = (t100(&apps).await, items_of(&apps, "ACCOUNT#ACC-1001").await);
    // t-200 locking or reading t-100's number is told exactly what an
    // unknown number answers, whatever in the request names t-100.
    for (method, body) in [("GET", None), ("PATCH", Some(r#"{"lock": true}"#))] {
        let as_t200 = |path: String| {
            event_with(
                method,
                &path,
                "tenantId=t-100",
                As::Admin("t-200"),
                body,
                &[("x-tenant-id", "t-100")],
            )
        };
        let foreign = send_pin(&apps, &as_t200(format!("/v1/numbers/{theirs}"))).await;
        let encoded = send_pin(&apps, &as_t200("/v1/numbers/%2B12065550100".into())).await;
        let absent = send_pin(&apps, &as_t200("/v1/numbers/+12065559999".into())).await;
        foreign.expect_error(404, "NUMBER_NOT_FOUND");
        assert_eq!(foreign.raw, absent.raw, "byte for byte");
        assert_eq!(encoded.raw, absent.raw, "byte for byte");
        assert_eq!(foreign.headers, absent.headers);
    }
    // Its protection and its numbers list are its own.
    let p = send_pin(
        &apps,
        &event_with(
            "PATCH",
            "/v1/port-out-protection",
            "tenantId=t-100",
            As::Admin("t-200"),
            Some(r#"{"lock": true, "tenantId": "t-100"}"#),
            &[("x-tenant-id", "t-100")],
        ),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.raw);
    assert_eq!(p.body["tenantId"], "t-200");
    let l = send_pin(
        &apps,
        &event_with(
            "GET",
            "/v1/numbers",
            "tenantId=t-100",
            As::Admin("t-200"),
            None,
            &[],
        ),
    )
    .await;
    let listed: Vec<&str> = l.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["phoneNumber"].as_str().unwrap())
        .collect();
    assert_eq!(listed, numbers("312", 100, 5));
    // A carrier token reaches none of the routes.
    for path in [
        "/v1/port-out-protection",
        "/v1/numbers",
        "/v1/numbers/+12065550100",
    ] {
        send_pin(&apps, &event("GET", path, As::Carrier("carrier-a"), None))
            .await
            .expect_error(403, "FORBIDDEN");
    }
    assert_eq!(
        (t100(&apps).await, items_of(&apps, "ACCOUNT#ACC-1001").await),
        before,
        "t-100 untouched"
    );
    // t-200's lock does not lock t-100's port-outs.
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[theirs])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    // And t-100's locked number cannot be probed through t-200's account
    // (locked by t-200's own lock above): t-100's number is not listed.
    let a = send_pin(
        &apps,
        &event(
            "PATCH",
            "/v1/numbers/+12065550101",
            As::Admin(TENANT),
            Some(r#"{"lock": true}"#),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body("ACC-2002", PIN_200, &numbers("206", 101, 1)),
    )
    .await;
    a.expect_error(422, "PORT_OUT_LOCKED");
    assert_eq!(a.body["error"]["details"], json!({"numbers": []}));
}

// ------------------------------------------------------------- GET /v1/port-outs

#[tokio::test]
async fn list_port_outs_shows_only_the_callers_orders() {
    let apps = world(EASY).await;
    for i in 0..3 {
        let a = post(
            &apps,
            "carrier-a",
            &port_out_body(ACCOUNT, PIN, &numbers("206", 100 + i, 1)),
        )
        .await;
        assert_eq!(a.status, 201);
    }
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body("ACC-2002", PIN_200, &numbers("312", 100, 1)),
    )
    .await;
    assert_eq!(a.status, 201);
    let b_order = a.body["id"].clone();
    let list = |who: As, query: &str| event_with("GET", "/v1/port-outs", query, who, None, &[]);
    let ids = |v: &Value| -> Vec<Value> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].clone())
            .collect()
    };

    let b = send_submit(
        &apps,
        &list(As::Carrier("carrier-b"), "carrierId=carrier-a"),
    )
    .await;
    assert_eq!(ids(&b.body), vec![b_order.clone()], "{}", b.raw);
    let t200 = send_submit(&apps, &list(As::Admin("t-200"), "tenantId=t-100")).await;
    assert_eq!(ids(&t200.body), vec![b_order.clone()], "{}", t200.raw);
    let a = send_submit(&apps, &list(As::Carrier("carrier-a"), "limit=1")).await;
    assert_eq!(ids(&a.body).len(), 1);
    assert!(!ids(&a.body).contains(&b_order));
    let token = a.body["nextToken"].as_str().unwrap().to_owned();
    // carrier-a's token for carrier-b, for t-100's admin, for another filter.
    for (who, q) in [
        (As::Carrier("carrier-b"), format!("nextToken={token}")),
        (As::Admin(TENANT), format!("nextToken={token}")),
        (
            As::Carrier("carrier-a"),
            format!("status=pending&nextToken={token}"),
        ),
    ] {
        let r = send_submit(&apps, &list(who, &q)).await;
        r.expect_error(400, "INVALID_REQUEST");
    }
}

// ------------------------------------------------------------- GET /v1/port-outs/{id}

#[tokio::test]
async fn another_partys_order_answers_as_a_missing_one() {
    let apps = world(EASY).await;
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &numbers("206", 100, 1)),
    )
    .await;
    let path = a.headers["location"].clone();
    let missing = "/v1/port-outs/po_01JF0000000000000000000000";
    for who in [As::Carrier("carrier-b"), As::Admin("t-200")] {
        let foreign = send_submit(&apps, &event("GET", &path, who.clone(), None)).await;
        let absent = send_submit(&apps, &event("GET", missing, who, None)).await;
        assert_eq!(
            (foreign.status, foreign.code()),
            (404, "PORT_OUT_NOT_FOUND")
        );
        assert_eq!(
            foreign.raw, absent.raw,
            "indistinguishable from a missing order"
        );
        assert_eq!(foreign.headers, absent.headers);
    }
}

#[tokio::test]
async fn another_tenants_order_cannot_be_rejected() {
    let apps = world(EASY).await;
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &numbers("206", 101, 1)),
    )
    .await;
    let id = a.body["id"].as_str().unwrap().to_owned();
    let before = t100(&apps).await;
    let order_before = items_of(&apps, &format!("ORDER#{id}")).await;
    let missing = "po_01JF0000000000000000000000";
    let reject =
        |id: &str, who: As| event("POST", &format!("/v1/port-outs/{id}/reject"), who, None);
    let foreign = send_submit(&apps, &reject(&id, As::Admin("t-200"))).await;
    let absent = send_submit(&apps, &reject(missing, As::Admin("t-200"))).await;
    foreign.expect_error(404, "PORT_OUT_NOT_FOUND");
    assert_eq!(
        foreign.raw, absent.raw,
        "indistinguishable from a missing order"
    );
    assert_eq!(foreign.headers, absent.headers);
    // The carrier that holds the order cannot reject it either.
    send_submit(&apps, &reject(&id, As::Carrier("carrier-a")))
        .await
        .expect_error(403, "FORBIDDEN");
    assert_eq!(t100(&apps).await, before, "t-100 untouched");
    assert_eq!(items_of(&apps, &format!("ORDER#{id}")).await, order_before);
}

#[tokio::test]
async fn a_notification_endpoint_is_only_the_callers_tenants() {
    let apps = world(EASY).await;
    // The endpoint routes allow a loopback URL only with the development
    // switch; an https URL on a public name needs none.
    let body = json!({"url": "https://hooks.example.com/t-100"}).to_string();
    let put = |who: As, body: &str| event("PUT", "/v1/notification-endpoint", who, Some(body));
    let a = send_pin(&apps, &put(As::Admin(TENANT), &body)).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let before = items_of(&apps, "ENDPOINT#").await;
    // t-200 sees none, and its own PUT and DELETE touch only its own.
    let get = send_pin(
        &apps,
        &event("GET", "/v1/notification-endpoint", As::Admin("t-200"), None),
    )
    .await;
    get.expect_error(404, "NOTIFICATION_ENDPOINT_NOT_FOUND");
    assert!(!get.raw.contains("hooks.example.com"), "{}", get.raw);
    // 204 has no body, so not through the JSON-checking helper.
    let gone = apps
        .pin
        .handle(portguard_tests::request(&event(
            "DELETE",
            "/v1/notification-endpoint",
            As::Admin("t-200"),
            None,
        )))
        .await;
    assert_eq!(gone.status(), 204);
    assert_eq!(
        items_of(&apps, "ENDPOINT#").await,
        before,
        "t-100's endpoint untouched"
    );
    let theirs = json!({"url": "https://hooks.example.com/t-200"}).to_string();
    let a = send_pin(&apps, &put(As::Admin("t-200"), &theirs)).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let mine = send_pin(
        &apps,
        &event("GET", "/v1/notification-endpoint", As::Admin(TENANT), None),
    )
    .await;
    assert_eq!(mine.body["url"], "https://hooks.example.com/t-100");
    // A carrier's token reaches none of it.
    send_pin(
        &apps,
        &event(
            "GET",
            "/v1/notification-endpoint",
            As::Carrier("carrier-a"),
            None,
        ),
    )
    .await
    .expect_error(403, "FORBIDDEN");
}

// ------------------------------------------------------------- /v1/alert-contacts (contract §17)

/// An address no other test (or earlier run against the same local SES) used.
fn alert_address(who: &str) -> String {
    format!(
        "{who}-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

/// set-pin sending its confirmation codes, and the notifier sending alerts,
/// both through the local SES.
async fn alert_mailer() -> portguard_email::Mailer {
    portguard_email::Mailer::connect(
        Some(portguard_validation::EmailAddress::parse("alerts@portguard.test").unwrap()),
        "https://console.portguard.test".into(),
        None,
    )
    .await
}

const CODE_SUBJECT: &str = "portguard: confirm your alert contact";

/// The 6-digit codes of every code email sent to `email`, oldest first.
async fn codes_sent_to(email: &str) -> Vec<String> {
    portguard_tests::ses::sent_emails_to(email)
        .await
        .iter()
        .filter(|m| m.subject == CODE_SUBJECT)
        .map(|m| {
            m.text
                .as_deref()
                .unwrap()
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .expect("a 6-digit code in the text")
                .to_owned()
        })
        .collect()
}

/// The subjects of every email to `email` that is not a code email.
async fn alerts_sent_to(email: &str) -> Vec<String> {
    portguard_tests::ses::sent_emails_to(email)
        .await
        .into_iter()
        .filter(|m| m.subject != CODE_SUBJECT)
        .map(|m| m.subject)
        .collect()
}

/// Hands every stream record written so far to the notifier.
async fn drain_stream(reader: &mut notify_support::StreamReader, notifier: &notifier::App) {
    let mut records = reader.read_at_least(1).await;
    while !records.is_empty() {
        notifier
            .handle(notify_support::batch(records))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        records = reader.read().await;
    }
}

/// One tenant's contact is another tenant's unknown id, whatever the route
/// (list, confirm with the right code read from the contact's own email,
/// patch, delete): every answer is byte for byte an unknown id's 404 and
/// the contact is untouched (its code still works, no try was counted). A
/// carrier's token, or none, reaches no contacts route. Adding another
/// tenant's contact's address makes the caller's own unconfirmed contact,
/// with its own code, and the other tenant's contact hears of nothing of
/// the caller's.
#[tokio::test]
async fn alert_contacts_cannot_cross_tenants() {
    if !portguard_tests::ses::needs_ses_local() {
        return;
    }
    let apps = world(EASY).await;
    let pin = set_pin::App::new(apps.store.clone(), portguard_tests::hasher())
        .with_mailer(alert_mailer().await);
    let notifier = notifier::App::new(apps.store.clone(), notifier::Sender::new(true).unwrap())
        .with_mailer(alert_mailer().await);
    let mut reader = notify_support::StreamReader::new(&apps.store).await;
    let send = |ev: Value| {
        let pin = &pin;
        async move { portguard_tests::answer(pin.handle(portguard_tests::request(&ev)).await) }
    };
    // Whatever names t-100 besides the token: query, header.
    let as_t200 = |method: &str, path: &str, body: Option<Value>| {
        event_with(
            method,
            path,
            "tenantId=t-100&tenant_id=t-100",
            As::Admin("t-200"),
            body.map(|b| b.to_string()).as_deref(),
            &[("x-tenant-id", "t-100")],
        )
    };

    // t-100's contact, unconfirmed, and the code its address was sent.
    let theirs = alert_address("t100-ops");
    let a = send(event(
        "POST",
        "/v1/alert-contacts",
        As::Admin(TENANT),
        Some(&json!({ "email": theirs }).to_string()),
    ))
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let codes = codes_sent_to(&theirs).await;
    assert_eq!(codes.len(), 1, "one code to t-100's address");
    let code = codes[0].clone();
    let contact = format!("/v1/alert-contacts/{id}");
    let confirm = format!("{contact}/confirm");
    let before = portguard_tests::snapshot(&apps.store).await;

    // The 404 of an id that does not exist, on each of the three routes.
    let unknown_id = "/v1/alert-contacts/ac_01JF0000000000000000000000";
    let unknown = send(as_t200("DELETE", unknown_id, None)).await;
    unknown.expect_error(404, "ALERT_CONTACT_NOT_FOUND");
    for (method, path, body) in [
        (
            "PATCH",
            unknown_id.to_owned(),
            Some(json!({"types": ["pin.set"]})),
        ),
        (
            "POST",
            format!("{unknown_id}/confirm"),
            Some(json!({ "code": code })),
        ),
    ] {
        let a = send(as_t200(method, &path, body)).await;
        assert_eq!(a.raw, unknown.raw, "{method} {path}");
    }

    // t-200 lists its own (none), not t-100's.
    let list = send(as_t200("GET", "/v1/alert-contacts", None)).await;
    assert_eq!(list.status, 200, "{}", list.raw);
    assert_eq!(list.body, json!({"items": []}));
    // t-200 confirming t-100's contact with the right code, more often than
    // a code has tries; patching it; deleting it: each exactly an unknown
    // id's 404.
    let mut tries: Vec<(&str, &str, Option<Value>)> =
        vec![("POST", confirm.as_str(), Some(json!({ "code": code }))); 6];
    tries.push((
        "PATCH",
        contact.as_str(),
        Some(json!({"types": ["pin.set"]})),
    ));
    tries.push(("DELETE", contact.as_str(), None));
    tries.push(("POST", confirm.as_str(), Some(json!({ "code": code }))));
    for (method, path, body) in tries {
        let a = send(as_t200(method, path, body)).await;
        assert_eq!(a.raw, unknown.raw, "t-200: {method} {path}");
        assert_eq!(a.headers, unknown.headers, "t-200: {method} {path}");
        assert!(!a.raw.contains(&theirs));
    }

    // A carrier's token (even one naming t-100), or none, reaches no route.
    let callers = [
        (As::Nobody, 401, "UNAUTHENTICATED"),
        (
            As::Raw(json!({"sub": "admin-1"}), vec!["portguard/admin"]),
            401,
            "UNAUTHENTICATED",
        ),
        (As::Carrier("carrier-a"), 403, "FORBIDDEN"),
        (
            As::Raw(
                json!({"carrier_id": "carrier-a", "tenant_id": "t-100"}),
                vec!["portguard/carrier"],
            ),
            403,
            "FORBIDDEN",
        ),
    ];
    let routes = [
        ("GET", "/v1/alert-contacts".to_owned(), None),
        (
            "POST",
            "/v1/alert-contacts".to_owned(),
            Some(json!({ "email": alert_address("carrier") })),
        ),
        ("POST", confirm.clone(), Some(json!({ "code": code }))),
        (
            "PATCH",
            contact.clone(),
            Some(json!({"types": ["pin.set"]})),
        ),
        ("DELETE", contact.clone(), None),
    ];
    for (who, status, error) in callers {
        for (method, path, body) in &routes {
            let ev = event(
                method,
                path,
                who.clone(),
                body.as_ref().map(|b| b.to_string()).as_deref(),
            );
            let a = send(ev).await;
            assert_eq!(
                (a.status, a.code()),
                (status, error),
                "{who:?} {method} {path}: {}",
                a.raw
            );
            assert!(
                !a.raw.contains(&theirs) && !a.raw.contains(&id),
                "{}",
                a.raw
            );
        }
    }
    assert_eq!(
        portguard_tests::snapshot(&apps.store).await,
        before,
        "nothing was written: t-100's contact has all its tries"
    );

    // t-100 still sees its contact unconfirmed, and its code still works.
    let mine = send(event("GET", "/v1/alert-contacts", As::Admin(TENANT), None)).await;
    assert_eq!(mine.item_ids(), std::slice::from_ref(&id));
    assert_eq!(mine.body["items"][0]["status"], "unconfirmed");
    let c = send(event(
        "POST",
        &confirm,
        As::Admin(TENANT),
        Some(&json!({ "code": code }).to_string()),
    ))
    .await;
    assert_eq!(c.status, 200, "{}", c.raw);
    assert_eq!(c.body["status"], "confirmed");
    // The notifier sends t-100's own items to its confirmed contact: the
    // pipeline is live.
    drain_stream(&mut reader, &notifier).await;
    let heard = alerts_sent_to(&theirs).await;
    assert!(
        heard.contains(&format!("portguard: Alert contact confirmed: {theirs}")),
        "{heard:?}"
    );
    let t100_before = items_of(&apps, "TENANT#t-100").await;

    // t-200 adds t-100's contact's address: its own contact, unconfirmed,
    // with its own code; t-100's is untouched.
    let b = send(as_t200(
        "POST",
        "/v1/alert-contacts",
        Some(json!({ "email": theirs })),
    ))
    .await;
    assert_eq!(b.status, 201, "{}", b.raw);
    let b_id = b.body["id"].as_str().unwrap().to_owned();
    assert_ne!(b_id, id);
    assert_eq!(b.body["status"], "unconfirmed");
    assert_eq!(b.body["email"], theirs.as_str());
    assert!(!b.raw.contains(&id) && !b.raw.contains(&code), "{}", b.raw);
    let codes = codes_sent_to(&theirs).await;
    assert_eq!(codes.len(), 2, "t-200's code was sent: {codes:?}");
    let b_code = codes[1].clone();
    let list = send(as_t200("GET", "/v1/alert-contacts", None)).await;
    assert_eq!(list.item_ids(), std::slice::from_ref(&b_id));
    let mine = send(event("GET", "/v1/alert-contacts", As::Admin(TENANT), None)).await;
    assert_eq!(mine.item_ids(), std::slice::from_ref(&id));
    assert_eq!(mine.body["items"][0]["status"], "confirmed");
    // t-100's code does not open t-200's contact (nor t-200's t-100's).
    if b_code != code {
        send(as_t200(
            "POST",
            &format!("/v1/alert-contacts/{b_id}/confirm"),
            Some(json!({ "code": code })),
        ))
        .await
        .expect_error(400, "INVALID_CONFIRMATION_CODE");
    }
    let a = send(as_t200("POST", &confirm, Some(json!({ "code": b_code })))).await;
    assert_eq!(a.raw, unknown.raw);
    // More of t-200's own activity: a PIN change.
    let p = put_pin(&apps, "t-200", "31415926").await;
    assert_eq!(p.status, 200, "{}", p.raw);
    drain_stream(&mut reader, &notifier).await;
    assert_eq!(
        items_of(&apps, "TENANT#t-100").await,
        t100_before,
        "t-100's contact, book and trail untouched (no alert went to it)"
    );
    assert_eq!(
        alerts_sent_to(&theirs).await,
        heard,
        "nothing of t-200's reached t-100's contact"
    );
    assert_eq!(codes_sent_to(&theirs).await.len(), 2);

    // t-100's own next item still reaches it.
    let p = put_pin(&apps, TENANT, "27361849").await;
    assert_eq!(p.status, 200, "{}", p.raw);
    drain_stream(&mut reader, &notifier).await;
    let now_heard = alerts_sent_to(&theirs).await;
    assert_eq!(now_heard.len(), heard.len() + 1, "{now_heard:?}");
    assert_eq!(now_heard.last().unwrap(), "portguard: Port-out PIN changed");
}

// ------------------------------------------------------------- POST /v1/carrier-events/{carrierId}

#[tokio::test]
async fn a_webhook_signed_with_another_carriers_secret_is_refused() {
    let apps = world(EASY).await;
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &numbers("206", 100, 1)),
    )
    .await;
    let id = a.body["id"].as_str().unwrap().to_owned();
    let body = json!({"type": "port_out.cancelled", "portOutId": id, "reason": "x"}).to_string();
    let before = items_of(&apps, "ORDER#").await;
    let now = clock::now();
    // carrier-b's secret on carrier-a's route, and on carrier-b's route
    // for carrier-a's order.
    let forged = webhook_event("carrier-a", SECRET_B, "msg_forged", now, &body);
    let a = send_webhook(&apps, &forged).await;
    a.expect_error(401, "INVALID_SIGNATURE");
    let own_route = webhook_event("carrier-b", SECRET_B, "msg_b", now, &body);
    let a = send_webhook(&apps, &own_route).await;
    a.expect_error(404, "PORT_OUT_NOT_FOUND");
    let missing =
        json!({"type": "port_out.cancelled", "portOutId": "po_01JF0000000000000000000000"})
            .to_string();
    let absent = send_webhook(
        &apps,
        &webhook_event("carrier-b", SECRET_B, "msg_c", now, &missing),
    )
    .await;
    assert_eq!(a.raw, absent.raw, "indistinguishable from a missing order");
    assert_eq!(items_of(&apps, "ORDER#").await, before);
    assert!(items_with_prefix(&apps.store, "WEBHOOK#").await.is_empty());
}

// ------------------------------------------------------------- stolen webhooks

#[tokio::test]
async fn a_stolen_webhook_replayed_later_is_refused() {
    let apps = world(EASY).await;
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &numbers("206", 100, 1)),
    )
    .await;
    let id = a.body["id"].as_str().unwrap().to_owned();
    let body = json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": portguard_tests::date_in(7)})
        .to_string();
    // Signed 297 s ago (still inside the 300 s tolerance): applied.
    let signed_at = clock::now() - 297;
    let stolen = webhook_event("carrier-a", SECRET_A, "msg_stolen", signed_at, &body);
    let a = send_webhook(&apps, &stolen).await;
    assert_eq!(a.body["result"], "applied", "{}", a.raw);

    // Replayed at once: the dedupe answers, nothing changes.
    let orders = items_of(&apps, "ORDER#").await;
    let a = send_webhook(&apps, &stolen).await;
    assert_eq!(a.body["result"], "duplicate", "{}", a.raw);
    assert_eq!(items_of(&apps, "ORDER#").await, orders);

    // Later, after the dedupe record is gone (TTL), the same bytes are
    // refused by their timestamp: 401, nothing changes.
    for item in items_with_prefix(&apps.store, "WEBHOOK#").await {
        apps.store
            .client()
            .delete_item()
            .table_name(apps.store.table())
            .set_key(Some(
                item.into_iter()
                    .filter(|(k, _)| k == "PK" || k == "SK")
                    .collect(),
            ))
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let a = send_webhook(&apps, &stolen).await;
    a.expect_error(401, "INVALID_SIGNATURE");
    assert_eq!(items_of(&apps, "ORDER#").await, orders);

    // Refreshing the timestamp of the stolen event breaks its signature.
    let mut refreshed = stolen.clone();
    refreshed["headers"]["webhook-timestamp"] = json!(clock::now().to_string());
    let a = send_webhook(&apps, &refreshed).await;
    a.expect_error(401, "INVALID_SIGNATURE");
    // ... and so does a new id (to dodge the dedupe).
    let mut renamed = stolen.clone();
    renamed["headers"]["webhook-id"] = json!("msg_renamed");
    let a = send_webhook(&apps, &renamed).await;
    a.expect_error(401, "INVALID_SIGNATURE");
    assert_eq!(items_of(&apps, "ORDER#").await, orders);
    assert!(items_with_prefix(&apps.store, "WEBHOOK#").await.is_empty());
}

// ------------------------------------------------------------- guessing

/// `submit_port_out.rs` proves that the fifth of eight concurrent wrong
/// guesses locks. This proves the count itself: with a limit above the
/// number of guesses, 24 concurrent wrong guesses from two carriers leave
/// exactly 12 failed attempts for each and 24 audited rejections.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_guesses_are_all_counted() {
    let apps = world(LockPolicy {
        max_failed_attempts: 100,
        lockout_seconds: 3600,
    })
    .await;
    let calls = (0..24).map(|i| {
        let apps = apps.clone();
        tokio::spawn(async move {
            let carrier = if i % 2 == 0 { "carrier-a" } else { "carrier-b" };
            let guess = format!("{:08}", 10_000_000 + i * 7919);
            post(
                &apps,
                carrier,
                &port_out_body(ACCOUNT, &guess, &numbers("206", 100, 1)),
            )
            .await
        })
    });
    for a in join_all(calls).await {
        let a = a.unwrap();
        a.expect_error(422, "PIN_MISMATCH");
    }
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    // Counted per carrier (contract §4.1): 12 each, none lost.
    for carrier in ["carrier-a", "carrier-b"] {
        assert_eq!(
            tenant.locks.of(carrier).failed_attempts,
            12,
            "{carrier}: no increment lost"
        );
    }
    let audit = apps
        .store
        .list_audit(&tid(TENANT), 100, None)
        .await
        .unwrap()
        .items;
    let rejected = audit
        .iter()
        .filter(|e| e.code.as_deref() == Some("PIN_MISMATCH"))
        .count();
    assert_eq!(rejected, 24);
    // t-200 is untouched by t-100's guesses.
    let other = apps.store.get_tenant(&tid("t-200")).await.unwrap().unwrap();
    assert!(other.locks.is_empty());
    let _ = provision;
}
