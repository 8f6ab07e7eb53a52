//! One-time transfer PINs (contract §12) through real API Gateway v2 events
//! against DynamoDB Local: issuing, listing, revoking, expiry, and check 10
//! of contract §4.1 (a port-out opened by a transfer PIN that covers its numbers,
//! consumed in the order's transaction).

use portguard_tests::support;
use portguard_tests::typed::*;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use portguard_rules::LockPolicy;
use portguard_secrets::WebhookSecrets;
use portguard_store::Store;
use portguard_tests::{
    event, event_with, fresh_store, hasher, items_with_prefix, provision, snapshot, Answer, As,
    WEBHOOK_SECRETS,
};
use portguard_validation::Pin;
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

const PATH: &str = "/v1/transfer-pins";

/// The four functions over one table, set-pin with transfer PINs living
/// `ttl` seconds and protections turning off at once.
fn apps_ttl(store: &Store, policy: LockPolicy, ttl: i64) -> Arc<Apps> {
    Arc::new(Apps {
        store: store.clone(),
        pin: set_pin::App::new(store.clone(), hasher())
            .with_transfer_pin_ttl(ttl)
            .with_protection_delay(0),
        submit: submit_port_out::App::new(store.clone(), hasher(), policy),
        webhook: carrier_webhook::App::new(
            store.clone(),
            WebhookSecrets::from_secret(WEBHOOK_SECRETS, "CARRIER_WEBHOOK_SECRETS").unwrap(),
        ),
        check: status_check::App::new(store.clone(), Default::default()),
    })
}

/// t-100 (US, PIN set, 10 numbers +1206555010x), t-200 (US, no PIN, 3
/// numbers +1312555010x), t-300 (not US).
async fn world(ttl: i64) -> Arc<Apps> {
    world_with(ttl, EASY).await
}

async fn world_with(ttl: i64, policy: LockPolicy) -> Arc<Apps> {
    let store = fresh_store().await;
    let apps = apps_ttl(&store, policy, ttl);
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 10)).await;
    let t200 = numbers("312", 100, 3);
    let refs: Vec<&str> = t200.iter().map(String::as_str).collect();
    provision(&store, "t-200", "ACC-2002", "US", &refs).await;
    provision(&store, "t-300", "ACC-3003", "GB", &[]).await;
    apps
}

async fn create(apps: &Apps, tenant: &'static str, nums: &[String]) -> Answer {
    let body = json!({ "phoneNumbers": nums }).to_string();
    send_pin(apps, &event("POST", PATH, As::Admin(tenant), Some(&body))).await
}

/// A transfer PIN that must be issued: (id, pin).
async fn issue(apps: &Apps, tenant: &'static str, nums: &[String]) -> (String, String) {
    let a = create(apps, tenant, nums).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    (
        a.body["id"].as_str().unwrap().to_owned(),
        a.body["pin"].as_str().unwrap().to_owned(),
    )
}

async fn list(apps: &Apps, tenant: &'static str, query: &str) -> Answer {
    send_pin(
        apps,
        &event_with("GET", PATH, query, As::Admin(tenant), None, &[]),
    )
    .await
}

async fn revoke(apps: &Apps, tenant: &'static str, id: &str) -> Answer {
    send_pin(
        apps,
        &event("DELETE", &format!("{PATH}/{id}"), As::Admin(tenant), None),
    )
    .await
}

async fn audit_items(apps: &Apps, tenant: &'static str) -> Vec<Value> {
    let a = send_pin(apps, &portguard_tests::audit_trail_event(tenant)).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["items"].as_array().unwrap().clone()
}

fn of_type(items: &[Value], kind: &str) -> Vec<Value> {
    items
        .iter()
        .filter(|i| i["type"] == kind)
        .cloned()
        .collect()
}

// ------------------------------------------------------------- POST

#[tokio::test]
async fn a_transfer_pin_is_shown_once_and_stored_only_as_a_hash() {
    let apps = world(3600).await;
    let nums = numbers("206", 100, 3);
    // Numbers as a person types them: normalised, duplicates counted once.
    let a = create(
        &apps,
        TENANT,
        &[
            "(206) 555-0100".into(),
            nums[1].clone(),
            nums[2].clone(),
            "206.555.0100".into(),
        ],
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let pin = a.body["pin"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 10);
    assert!(pin.bytes().all(|b| b.is_ascii_digit()));
    let id = a.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tp_") && id.len() == 29, "{id}");
    assert_eq!(a.body["status"], "active");
    assert_eq!(a.body["phoneNumbers"], json!(nums));
    assert_eq!(a.body["portOutId"], Value::Null);
    let created = portguard_store::clock::parse(a.body["createdAt"].as_str().unwrap()).unwrap();
    let expires = portguard_store::clock::parse(a.body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, 3600, "TRANSFER_PIN_TTL_SECONDS");

    // The record holds the Argon2id hash with its pepper version; it verifies.
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert_eq!(tenant.transfer_pins.len(), 1);
    let entry = &tenant.transfer_pins[0];
    assert_eq!(
        (entry.id.as_str(), &entry.numbers),
        (id.as_str(), &portguard_tests::nums(&nums))
    );
    assert!(entry
        .stored
        .hash
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(entry.stored.pepper_version, "v1");
    let presented = Pin::parse_presented(&pin).unwrap();
    assert!(hasher().verify(&presented, &entry.stored));
    assert!(!format!("{entry:?}").contains("argon2"), "Debug redacts");

    // Lists and DELETE never show it; the audit trail records the issue.
    let l = list(&apps, TENANT, "").await;
    assert_eq!(l.status, 200, "{}", l.raw);
    let mut shown = a.body.clone();
    shown.as_object_mut().unwrap().remove("pin");
    assert_eq!(l.body, json!({"items": [shown], "nextToken": null}));
    let d = revoke(&apps, TENANT, &id).await;
    assert_eq!(d.status, 200, "{}", d.raw);
    assert!(d.body.get("pin").is_none());
    assert_eq!(d.body["status"], "revoked");

    let audit = audit_items(&apps, TENANT).await;
    let created_ev = of_type(&audit, "transfer_pin.created");
    assert_eq!(created_ev.len(), 1, "{audit:?}");
    let ev = &created_ev[0];
    assert_eq!(ev["transferPinId"], id.as_str());
    assert_eq!(ev["phoneNumbers"], json!(nums));
    assert_eq!(ev["until"], a.body["expiresAt"]);
    assert_eq!(
        ev["actor"],
        json!({"kind": "tenant_admin", "id": "admin-of-t-100"})
    );
    assert_eq!(ev["sourceIp"], "203.0.113.7");
    let revoked_ev = of_type(&audit, "transfer_pin.revoked");
    assert_eq!(revoked_ev.len(), 1, "{audit:?}");
    assert_eq!(revoked_ev[0]["transferPinId"], id.as_str());
    assert_eq!(revoked_ev[0]["phoneNumbers"], json!(nums));
    assert_eq!(revoked_ev[0]["until"], a.body["expiresAt"]);
}

#[tokio::test]
async fn the_tenants_own_pin_need_not_be_set() {
    let apps = world(3600).await;
    let (id, _) = issue(&apps, "t-200", &numbers("312", 100, 2)).await;
    assert!(id.starts_with("tp_"));
}

#[tokio::test]
async fn refusals_come_in_spec_order_and_write_nothing() {
    let apps = world(3600).await;
    let mine = numbers("206", 100, 2);
    let foreign = numbers("312", 100, 1); // t-200's
    let unknown = numbers("206", 190, 1); // nobody's
    let bad_body = Some("{not json");
    let before = snapshot(&apps.store).await;

    // 1. unknown tenant, whatever the body.
    let ev = event("POST", PATH, As::Admin("t-404"), bad_body);
    send_pin(&apps, &ev)
        .await
        .expect_error(404, "TENANT_NOT_FOUND");
    create(&apps, "t-404", &mine)
        .await
        .expect_error(404, "TENANT_NOT_FOUND");
    // 2. outside the US, whatever the body.
    let ev = event("POST", PATH, As::Admin("t-300"), bad_body);
    send_pin(&apps, &ev)
        .await
        .expect_error(422, "TENANT_NOT_ELIGIBLE");
    // 3. malformed body, empty or over 50.
    let fifty_one = numbers("206", 100, 51);
    for body in [
        "{not json".to_owned(),
        "[]".into(),
        "{}".into(),
        r#"{"phoneNumbers": []}"#.into(),
        r#"{"phoneNumbers": "+12065550100"}"#.into(),
        r#"{"phoneNumbers": [2065550100]}"#.into(),
        json!({ "phoneNumbers": fifty_one }).to_string(),
    ] {
        let ev = event("POST", PATH, As::Admin(TENANT), Some(&body));
        send_pin(&apps, &ev)
            .await
            .expect_error(400, "INVALID_REQUEST");
    }
    // 4. an invalid number (before the account is looked at), as given.
    let a = create(
        &apps,
        TENANT,
        &[foreign[0].clone(), "+44 20 7183 8750".into(), "555".into()],
    )
    .await;
    a.expect_error(400, "INVALID_PHONE_NUMBER");
    assert_eq!(
        a.body["error"]["details"]["numbers"],
        json!(["+44 20 7183 8750", "555"])
    );
    // 5. numbers not on the account: another tenant's and nobody's.
    let mut asked = mine.clone();
    asked.extend(foreign.clone());
    asked.extend(unknown.clone());
    let a = create(&apps, TENANT, &asked).await;
    a.expect_error(422, "NUMBER_NOT_ON_ACCOUNT");
    assert_eq!(
        a.body["error"]["details"]["numbers"],
        json!([foreign[0], unknown[0]])
    );
    assert_eq!(snapshot(&apps.store).await, before, "nothing was written");

    // 6. the sixth active PIN; nothing is written for it either.
    for i in 0..5 {
        issue(&apps, TENANT, &numbers("206", 100 + i, 1)).await;
    }
    let before = snapshot(&apps.store).await;
    let a = create(&apps, TENANT, &mine).await;
    a.expect_error(409, "TOO_MANY_TRANSFER_PINS");
    assert!(!a.raw.contains("\"pin\""));
    // ...but an invalid body still answers 400 first.
    let ev = event("POST", PATH, As::Admin(TENANT), Some("{}"));
    send_pin(&apps, &ev)
        .await
        .expect_error(400, "INVALID_REQUEST");
    assert_eq!(snapshot(&apps.store).await, before);
    let l = list(&apps, TENANT, "status=active").await;
    assert_eq!(l.item_ids().len(), 5);
}

#[tokio::test]
async fn revoked_and_expired_pins_make_room_for_new_ones() {
    // PINs live 15 s: long enough that the first five are still active when
    // the eighth is asked for on a loaded machine (4 s was not, there),
    // short enough to wait for them to expire.
    let apps = world(15).await;
    let n = numbers("206", 100, 1);
    let mut first = Vec::new();
    for _ in 0..5 {
        first.push(issue(&apps, TENANT, &n).await.0);
    }
    create(&apps, TENANT, &n)
        .await
        .expect_error(409, "TOO_MANY_TRANSFER_PINS");
    // A revoked one makes room for one.
    assert_eq!(revoke(&apps, TENANT, &first[0]).await.status, 200);
    issue(&apps, TENANT, &n).await;
    create(&apps, TENANT, &n)
        .await
        .expect_error(409, "TOO_MANY_TRANSFER_PINS");
    // Expired ones make room with no sweep, and are pruned from the record.
    tokio::time::sleep(std::time::Duration::from_secs(16)).await;
    for _ in 0..5 {
        issue(&apps, TENANT, &n).await;
    }
    create(&apps, TENANT, &n)
        .await
        .expect_error(409, "TOO_MANY_TRANSFER_PINS");
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert_eq!(tenant.transfer_pins.len(), 5, "expired entries pruned");
}

#[tokio::test]
async fn concurrent_issues_never_exceed_five_active() {
    let apps = world(3600).await;
    let n = numbers("206", 100, 1);
    let answers = join_all((0..9).map(|_| {
        let apps = apps.clone();
        let n = n.clone();
        tokio::spawn(async move { create(&apps, TENANT, &n).await })
    }))
    .await;
    let statuses: Vec<(u16, String)> = answers
        .into_iter()
        .map(|a| {
            let a = a.unwrap();
            (a.status, a.code().to_owned())
        })
        .collect();
    let ok = statuses.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(ok, 5, "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|(s, c)| *s == 201 || (*s, c.as_str()) == (409, "TOO_MANY_TRANSFER_PINS")));
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert_eq!(tenant.transfer_pins.len(), 5);
    assert_eq!(
        items_with_prefix(&apps.store, "TENANT#t-100").await.len(),
        1 + 5 + 1 + 5,
        "pointer, 5 TPIN items, pin.set and 5 transfer_pin.created audit items"
    );
}

// ------------------------------------------------------------- GET

#[tokio::test]
async fn lists_are_newest_first_filtered_and_paginated() {
    let apps = world(3).await;
    let n = numbers("206", 100, 1);
    let (old, _) = issue(&apps, TENANT, &n).await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await; // `old` expires
    let (second, _) = issue(&apps, TENANT, &n).await;
    let (revoked, _) = issue(&apps, TENANT, &n).await;
    let (active, _) = issue(&apps, TENANT, &n).await;
    assert_eq!(revoke(&apps, TENANT, &revoked).await.status, 200);

    let all = list(&apps, TENANT, "").await;
    assert_eq!(all.status, 200, "{}", all.raw);
    assert_eq!(
        all.item_ids(),
        [&active, &revoked, &second, &old].map(String::clone),
        "newest first"
    );
    let statuses: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "revoked", "active", "expired"]);
    assert!(!all.raw.contains("\"pin\""));
    for (status, want) in [
        ("active", vec![active.clone(), second.clone()]),
        ("revoked", vec![revoked.clone()]),
        ("expired", vec![old.clone()]),
        ("used", vec![]),
    ] {
        let l = list(&apps, TENANT, &format!("status={status}")).await;
        assert_eq!(l.status, 200, "{}", l.raw);
        assert_eq!(l.item_ids(), want, "{status}");
        assert_eq!(l.body["nextToken"], Value::Null);
    }

    // Pages of one, with the filter: the token follows it.
    let mut seen = Vec::new();
    let mut query = "status=active&limit=1".to_owned();
    loop {
        let l = list(&apps, TENANT, &query).await;
        assert_eq!(l.status, 200, "{}", l.raw);
        seen.extend(l.item_ids());
        match l.body["nextToken"].as_str() {
            Some(t) => query = format!("status=active&limit=1&nextToken={t}"),
            None => break,
        }
        assert!(seen.len() <= 2, "pagination ends");
    }
    assert_eq!(seen, [active.clone(), second.clone()]);

    // Bad parameters, and a token for another list or another tenant.
    let page = list(&apps, TENANT, "limit=1").await;
    let token = page.body["nextToken"].as_str().unwrap().to_owned();
    for q in [
        "status=ACTIVE".to_owned(),
        "status=pending".into(),
        "limit=0".into(),
        "limit=101".into(),
        "limit=x".into(),
        "nextToken=forged".into(),
        format!("status=revoked&nextToken={token}"),
    ] {
        list(&apps, TENANT, &q)
            .await
            .expect_error(400, "INVALID_REQUEST");
    }
    list(&apps, "t-200", &format!("nextToken={token}"))
        .await
        .expect_error(400, "INVALID_REQUEST");
    assert_eq!(
        list(&apps, "t-200", "").await.item_ids(),
        Vec::<String>::new()
    );
    list(&apps, "t-404", "")
        .await
        .expect_error(404, "TENANT_NOT_FOUND");
}

#[tokio::test]
async fn routes_need_a_tenant_admin_and_known_methods() {
    let apps = world(3600).await;
    let (id, _) = issue(&apps, TENANT, &numbers("206", 100, 1)).await;
    let item = format!("{PATH}/{id}");
    for (method, path) in [("GET", PATH), ("POST", PATH), ("DELETE", item.as_str())] {
        let a = send_pin(&apps, &event(method, path, As::Nobody, None)).await;
        a.expect_error(401, "UNAUTHENTICATED");
        let a = send_pin(&apps, &event(method, path, As::Carrier("carrier-a"), None)).await;
        a.expect_error(403, "FORBIDDEN");
    }
    for (method, path) in [
        ("PUT", PATH),
        ("DELETE", PATH),
        ("PATCH", PATH),
        ("GET", item.as_str()),
        ("POST", item.as_str()),
    ] {
        let a = send_pin(&apps, &event(method, path, As::Admin(TENANT), None)).await;
        a.expect_error(405, "METHOD_NOT_ALLOWED");
    }
    let a = send_pin(
        &apps,
        &event("DELETE", &format!("{item}/x"), As::Admin(TENANT), None),
    )
    .await;
    a.expect_error(404, "NOT_FOUND");
}

// ------------------------------------------------------------- DELETE

#[tokio::test]
async fn delete_revokes_once_and_answers_others_as_they_are() {
    let apps = world(3).await;
    let n = numbers("206", 100, 2);
    let (id, _) = issue(&apps, TENANT, &n).await;
    let (expiring, _) = issue(&apps, TENANT, &n).await;
    let a = revoke(&apps, TENANT, &id).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["status"], "revoked");
    assert_eq!(a.body["id"], id.as_str());
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert_eq!(
        tenant
            .transfer_pins
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>(),
        [expiring.as_str()],
        "the revoked PIN left the record"
    );
    // Again: 200, as it is, nothing written.
    let before = snapshot(&apps.store).await;
    let again = revoke(&apps, TENANT, &id).await;
    assert_eq!((again.status, &again.body), (200, &a.body));
    // An expired one is not revoked: it answers as it is.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let e = revoke(&apps, TENANT, &expiring).await;
    assert_eq!(e.status, 200, "{}", e.raw);
    assert_eq!(e.body["status"], "expired");
    assert_eq!(snapshot(&apps.store).await, before);
    let audit = audit_items(&apps, TENANT).await;
    assert_eq!(of_type(&audit, "transfer_pin.revoked").len(), 1);
}

#[tokio::test]
async fn another_tenants_unknown_and_malformed_ids_answer_alike() {
    let apps = world(3600).await;
    let (theirs, _) = issue(&apps, "t-200", &numbers("312", 100, 1)).await;
    let before = snapshot(&apps.store).await;
    let unknown = format!("tp_{}", "0".repeat(26));
    let reference = revoke(&apps, TENANT, &unknown).await;
    reference.expect_error(404, "TRANSFER_PIN_NOT_FOUND");
    for id in [
        theirs.as_str(),
        "tp_",
        "tp_x",
        "po_01JF0000000000000000000000",
        &theirs.to_lowercase(),
        "%2e%2e",
        "TPIN%2301JF0000000000000000000000",
    ] {
        let a = revoke(&apps, TENANT, id).await;
        assert_eq!(a.raw, reference.raw, "{id}");
        assert_eq!(a.headers, reference.headers, "{id}");
    }
    assert_eq!(snapshot(&apps.store).await, before);
    // Still active for its owner.
    let l = list(&apps, "t-200", "status=active").await;
    assert_eq!(l.item_ids(), [theirs]);
}

/// The hash is stored where contract §12 says and nowhere else: never on the
/// history item nor in the audit trail.
#[tokio::test]
async fn history_items_and_audit_hold_no_hash() {
    let apps = world(3600).await;
    let (id, _) = issue(&apps, TENANT, &numbers("206", 100, 1)).await;
    let items = items_with_prefix(&apps.store, "TENANT#t-100").await;
    let tpin: Vec<_> = items
        .iter()
        .filter(|i| matches!(i.get("SK"), Some(AttributeValue::S(sk)) if sk.starts_with("TPIN#")))
        .collect();
    assert_eq!(tpin.len(), 1);
    assert_eq!(tpin[0].get("id"), Some(&AttributeValue::S(id.clone())));
    for item in &items {
        let text = format!("{item:?}");
        assert!(!text.contains("argon2"), "{text}");
    }
}

// ------------------------------------------------------------- check 10

async fn protection(apps: &Apps, tenant: &'static str, body: Value) -> Answer {
    let a = send_pin(
        apps,
        &event(
            "PATCH",
            "/v1/port-out-protection",
            As::Admin(tenant),
            Some(&body.to_string()),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a
}

async fn status_of(apps: &Apps, tenant: &'static str, id: &str) -> Value {
    let l = list(apps, tenant, "").await;
    l.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not listed: {}", l.raw))
}

async fn failed_attempts(apps: &Apps, tenant: &str) -> u32 {
    let t = apps.store.get_tenant(&tid(tenant)).await.unwrap().unwrap();
    // Every carrier's count (contract §4.1 counts per carrier).
    t.locks.iter().map(|(_, l)| l.failed_attempts).sum()
}

#[tokio::test]
async fn a_covering_transfer_pin_opens_one_port_out_and_is_used() {
    let apps = world(3600).await;
    let nums = numbers("206", 100, 3);
    let (id, pin) = issue(&apps, TENANT, &nums).await;
    // Any subset of its numbers, in any order.
    let asked = vec![nums[1].clone(), nums[0].clone()];
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, &pin, &asked)).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let order = a.body["id"].as_str().unwrap().to_owned();

    // Used, by that order; gone from the record; the audit names it.
    let shown = status_of(&apps, TENANT, &id).await;
    assert_eq!(shown["status"], "used");
    assert_eq!(shown["portOutId"], order.as_str());
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert!(tenant.transfer_pins.is_empty());
    let audit = audit_items(&apps, TENANT).await;
    let requested = of_type(&audit, "port_out.requested");
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["transferPinId"], id.as_str());
    assert_eq!(requested[0]["portOutId"], order.as_str());
    assert_eq!(requested[0]["phoneNumbers"], json!(asked));

    // A second order with it is a wrong PIN, and counted.
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body(ACCOUNT, &pin, &nums[2..3]),
    )
    .await;
    a.expect_error(422, "PIN_MISMATCH");
    assert_eq!(failed_attempts(&apps, TENANT).await, 1);
    // DELETE answers it as it is.
    let d = revoke(&apps, TENANT, &id).await;
    assert_eq!((d.status, &d.body["status"]), (200, &json!("used")));
    // The tenant's own PIN still opens a port-out (and resets the count);
    // an order by the tenant's PIN names no transfer PIN.
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body(ACCOUNT, PIN, &nums[2..3]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(failed_attempts(&apps, TENANT).await, 0);
    let audit = audit_items(&apps, TENANT).await;
    assert_eq!(
        of_type(&audit, "port_out.requested")[0]["transferPinId"],
        Value::Null
    );
    audit_consistency(&apps.store).await;
}

#[tokio::test]
async fn a_transfer_pin_opens_nothing_beyond_its_numbers() {
    let apps = world(3600).await;
    let nums = numbers("206", 100, 4);
    let (id, pin) = issue(&apps, TENANT, &nums[..2]).await;
    let before = items_with_prefix(&apps.store, "ORDER#").await.len();
    // One number it does not name spoils the request; so does another set.
    for asked in [&nums[1..3], &nums[2..4]] {
        let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, &pin, asked)).await;
        a.expect_error(422, "PIN_MISMATCH");
    }
    assert_eq!(failed_attempts(&apps, TENANT).await, 2, "wrong PINs count");
    assert_eq!(items_with_prefix(&apps.store, "ORDER#").await.len(), before);
    // Still active, and still opens what it names.
    assert_eq!(status_of(&apps, TENANT, &id).await["status"], "active");
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, &pin, &nums[..1]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(
        failed_attempts(&apps, TENANT).await,
        0,
        "a right PIN resets"
    );
}

#[tokio::test]
async fn revoked_and_expired_transfer_pins_open_nothing() {
    let apps = world(3).await;
    let nums = numbers("206", 100, 2);
    let (revoked, revoked_pin) = issue(&apps, TENANT, &nums).await;
    let (_expiring, expiring_pin) = issue(&apps, TENANT, &nums).await;
    assert_eq!(revoke(&apps, TENANT, &revoked).await.status, 200);
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, &revoked_pin, &nums[..1]),
    )
    .await;
    a.expect_error(422, "PIN_MISMATCH");
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, &expiring_pin, &nums[..1]),
    )
    .await;
    a.expect_error(422, "PIN_MISMATCH");
    let l = list(&apps, TENANT, "status=expired").await;
    assert_eq!(l.item_ids().len(), 1, "{}", l.raw);
    assert!(items_with_prefix(&apps.store, "ORDER#").await.is_empty());
}

#[tokio::test]
async fn pin_not_set_only_without_pin_and_live_transfer_pin() {
    let apps = world(3).await;
    let nums = numbers("312", 100, 3); // t-200 has no PIN of its own
    let post_200 = |pin: String, n: Vec<String>| {
        let apps = apps.clone();
        async move { post(&apps, "carrier-a", &port_out_body("ACC-2002", &pin, &n)).await }
    };
    post_200(WRONG.into(), nums[..1].to_vec())
        .await
        .expect_error(422, "PIN_NOT_SET");
    let (_, first) = issue(&apps, "t-200", &nums[..1]).await;
    let (_, second) = issue(&apps, "t-200", &nums[1..2]).await;
    // A live transfer PIN, whatever numbers it names, passes check 8.
    post_200(WRONG.into(), nums[2..3].to_vec())
        .await
        .expect_error(422, "PIN_MISMATCH");
    let a = post_200(first, nums[..1].to_vec()).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    post_200(WRONG.into(), nums[2..3].to_vec())
        .await
        .expect_error(422, "PIN_MISMATCH");
    // Once the last one has expired: no PIN, no port-out.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    post_200(second, nums[1..2].to_vec())
        .await
        .expect_error(422, "PIN_NOT_SET");
}

#[tokio::test]
async fn transfer_pin_required_shuts_the_tenants_pin_out() {
    let apps = world(3600).await;
    let nums = numbers("206", 100, 4);
    let (_, pin) = issue(&apps, TENANT, &nums[..2]).await;
    protection(&apps, TENANT, json!({"transferPinRequired": true})).await;
    // The tenant's PIN is wrong now (and counted); the transfer PIN opens.
    post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &nums[2..3]),
    )
    .await
    .expect_error(422, "PIN_MISMATCH");
    assert_eq!(failed_attempts(&apps, TENANT).await, 1);
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, &pin, &nums[..2]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    // Turned off (no delay in this configuration): the tenant's PIN again.
    protection(&apps, TENANT, json!({"transferPinRequired": false})).await;
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, PIN, &nums[2..3]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
}

#[tokio::test]
async fn a_transfer_pin_does_not_open_a_lock() {
    let apps = world(3600).await;
    let nums = numbers("206", 100, 2);
    let (id, pin) = issue(&apps, TENANT, &nums).await;
    protection(&apps, TENANT, json!({"lock": true})).await;
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, &pin, &nums)).await;
    a.expect_error(422, "PORT_OUT_LOCKED");
    assert_eq!(status_of(&apps, TENANT, &id).await["status"], "active");
    assert_eq!(failed_attempts(&apps, TENANT).await, 0, "nothing counted");
}

#[tokio::test]
async fn wrong_transfer_pin_guesses_share_the_tenants_lockout() {
    let apps = world_with(
        3600,
        LockPolicy {
            max_failed_attempts: 3,
            lockout_seconds: 3600,
        },
    )
    .await;
    let nums = numbers("206", 100, 2);
    let (id, pin) = issue(&apps, TENANT, &nums).await;
    for (i, guess) in ["5820317946", "7391046285", "1029384756"]
        .iter()
        .enumerate()
    {
        let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, guess, &nums)).await;
        if i < 2 {
            a.expect_error(422, "PIN_MISMATCH");
        } else {
            a.expect_error(429, "PIN_LOCKED");
        }
    }
    // Locked for carrier-a: the right transfer PIN and the right tenant PIN
    // are refused (another carrier is not locked, contract §4.1).
    for right in [pin.as_str(), PIN] {
        post(&apps, "carrier-a", &port_out_body(ACCOUNT, right, &nums))
            .await
            .expect_error(429, "PIN_LOCKED");
    }
    assert_eq!(status_of(&apps, TENANT, &id).await["status"], "active");
}

/// A wrong guess costs one Argon2 run per candidate, at most 6: the tenant's
/// PIN and the transfer PINs that name every requested number, no others.
#[tokio::test]
async fn a_wrong_guess_costs_at_most_six_argon2_runs() {
    let _ = portguard_tests::captured_logs();
    let apps = world(3600).await;
    let nums = numbers("415", 100, 2);
    let refs: Vec<&str> = nums.iter().map(String::as_str).collect();
    provision(&apps.store, "t-argon", "ACC-ARGON", "US", &refs).await;
    let a = put_pin(&apps, "t-argon", PIN).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    for _ in 0..4 {
        issue(&apps, "t-argon", &nums).await;
    }
    issue(&apps, "t-argon", &nums[1..]).await; // names only the second number
    let runs = |for_number: usize| {
        let apps = apps.clone();
        let n = vec![nums[for_number].clone()];
        async move {
            let a = post(&apps, "carrier-a", &port_out_body("ACC-ARGON", WRONG, &n)).await;
            a.expect_error(422, "PIN_MISMATCH");
            let logs = portguard_tests::captured_logs();
            let line = logs
                .lines()
                .rfind(|l| l.contains("no stored PIN matches") && l.contains("\"t-argon\""))
                .expect("the mismatch is logged")
                .to_owned();
            let v: Value = serde_json::from_str(&line).unwrap();
            let fields = if v["fields"].is_object() {
                &v["fields"]
            } else {
                &v
            };
            fields["argon2_runs"]
                .as_u64()
                .expect("argon2_runs is logged")
        }
    };
    assert_eq!(runs(0).await, 5, "the tenant's PIN and the 4 that name it");
    assert_eq!(runs(1).await, 6, "the tenant's PIN and all 5");
}

/// Two port-outs with one transfer PIN, for different numbers it names,
/// sent together: exactly one is accepted, every round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_pin_opens_exactly_one_port_out_under_races() {
    const ROUNDS: usize = 20;
    // The loser's wrong PIN counts: no lock may end the run early.
    let apps = world_with(
        3600,
        LockPolicy {
            max_failed_attempts: 1_000_000,
            lockout_seconds: 1,
        },
    )
    .await;
    let nums = numbers("503", 100, 2 * ROUNDS);
    let refs: Vec<&str> = nums.iter().map(String::as_str).collect();
    provision(&apps.store, "t-race", "ACC-RACE", "US", &refs).await;
    // With a PIN of its own the loser's answer is check 10's: PIN_MISMATCH
    // (without one, and no other live transfer PIN, check 8's PIN_NOT_SET).
    let a = put_pin(&apps, "t-race", PIN).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let mut overlapping = 0;
    for round in 0..ROUNDS {
        let pair = &nums[2 * round..2 * round + 2];
        let (id, pin) = issue(&apps, "t-race", pair).await;
        let tasks = pair.iter().enumerate().map(|(i, n)| {
            let apps = apps.clone();
            let body = port_out_body("ACC-RACE", &pin, std::slice::from_ref(n));
            let carrier = if i == 0 { "carrier-a" } else { "carrier-b" };
            tokio::spawn(async move {
                let start = std::time::Instant::now();
                let a = post(&apps, carrier, &body).await;
                (start, std::time::Instant::now(), a)
            })
        });
        let timed: Vec<_> = join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        // Really together: each request started before the other ended.
        if timed[0].0 < timed[1].1 && timed[1].0 < timed[0].1 {
            overlapping += 1;
        }
        let answers: Vec<Answer> = timed.into_iter().map(|(_, _, a)| a).collect();
        let accepted: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
        assert_eq!(
            accepted.len(),
            1,
            "round {round}: {:?}",
            answers.iter().map(|a| &a.raw).collect::<Vec<_>>()
        );
        let loser = answers.iter().find(|a| a.status != 201).unwrap();
        loser.expect_error(422, "PIN_MISMATCH");
        let shown = status_of(&apps, "t-race", &id).await;
        assert_eq!(shown["status"], "used");
        assert_eq!(shown["portOutId"], accepted[0].body["id"]);
    }
    assert_eq!(items_with_prefix(&apps.store, "ORDER#").await.len(), ROUNDS);
    assert_eq!(
        overlapping, ROUNDS,
        "the two requests of every round overlapped"
    );
    audit_consistency(&apps.store).await;
}

/// The fixtures `make dev` prints are answered as documented.
#[tokio::test]
async fn the_local_event_fixtures_work() {
    let apps = world(3600).await;
    for (fixture, status) in [
        (include_str!("../../events/transfer-pins-post.json"), 201),
        (include_str!("../../events/transfer-pins-list.json"), 200),
    ] {
        let ev: Value = serde_json::from_str(fixture).unwrap();
        let a = send_pin(&apps, &ev).await;
        assert_eq!(a.status, status, "{}", a.raw);
    }
}
