//! One-time transfer PINs (SPEC 12) through real API Gateway v2 events
//! against DynamoDB Local: issuing, listing, revoking, expiry, and check 10
//! of SPEC 4.1 (a port-out opened by a transfer PIN that covers its numbers,
//! consumed in the order's transaction).

mod support;

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
/// `ttl` seconds.
fn apps_ttl(store: &Store, policy: LockPolicy, ttl: i64) -> Arc<Apps> {
    Arc::new(Apps {
        store: store.clone(),
        pin: set_pin::App::new(store.clone(), hasher()).with_transfer_pin_ttl(ttl),
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
    let store = fresh_store().await;
    let apps = apps_ttl(&store, EASY, ttl);
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
    let a = send_pin(
        apps,
        &event_with(
            "GET",
            "/v1/audit-events",
            "limit=100",
            As::Admin(tenant),
            None,
            &[],
        ),
    )
    .await;
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

fn ids(a: &Answer) -> Vec<String> {
    a.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
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
    let tenant = apps.store.get_tenant(TENANT).await.unwrap().unwrap();
    assert_eq!(tenant.transfer_pins.len(), 1);
    let entry = &tenant.transfer_pins[0];
    assert_eq!((entry.id.as_str(), &entry.numbers), (id.as_str(), &nums));
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
    assert_eq!(ev["actor"], json!({"kind": "tenant_admin", "id": "admin-of-t-100"}));
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
    assert_eq!(ids(&l).len(), 5);
}

#[tokio::test]
async fn revoked_and_expired_pins_make_room_for_new_ones() {
    let apps = world(4).await;
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
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    for _ in 0..5 {
        issue(&apps, TENANT, &n).await;
    }
    create(&apps, TENANT, &n)
        .await
        .expect_error(409, "TOO_MANY_TRANSFER_PINS");
    let tenant = apps.store.get_tenant(TENANT).await.unwrap().unwrap();
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
    let tenant = apps.store.get_tenant(TENANT).await.unwrap().unwrap();
    assert_eq!(tenant.transfer_pins.len(), 5);
    assert_eq!(items_with_prefix(&apps.store, "TENANT#t-100").await.len(), 1 + 5 + 1 + 5,
        "pointer, 5 TPIN items, pin.set and 5 transfer_pin.created audit items");
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
        ids(&all),
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
        assert_eq!(ids(&l), want, "{status}");
        assert_eq!(l.body["nextToken"], Value::Null);
    }

    // Pages of one, with the filter: the token follows it.
    let mut seen = Vec::new();
    let mut query = "status=active&limit=1".to_owned();
    loop {
        let l = list(&apps, TENANT, &query).await;
        assert_eq!(l.status, 200, "{}", l.raw);
        seen.extend(ids(&l));
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
    assert_eq!(ids(&list(&apps, "t-200", "").await), Vec::<String>::new());
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
    let tenant = apps.store.get_tenant(TENANT).await.unwrap().unwrap();
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
    assert_eq!(ids(&l), [theirs]);
}

/// The hash is stored where SPEC 12 says and nowhere else: never on the
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
    assert_eq!(
        tpin[0].get("id"),
        Some(&AttributeValue::S(id.clone()))
    );
    for item in &items {
        let text = format!("{item:?}");
        assert!(!text.contains("argon2"), "{text}");
    }
}
