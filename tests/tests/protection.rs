//! Port-out protection (contract §11) and check 8a of `POST /v1/port-outs`,
//! through real API Gateway v2 events against DynamoDB Local.

use portguard_tests::support;
use portguard_tests::typed::*;

use portguard_store::clock;
use portguard_store::tenants::Written;
use portguard_tests::{event, event_with, fresh_store, hasher, provision, snapshot, Answer, As};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const PIN_200: &str = "27182818";
const DAY: i64 = 86_400;

/// t-100 (PIN, 206-555-0100..0109), t-200 (PIN, 312-555-0100..0104), and
/// t-300 outside the US; set-pin with turn-offs delayed by `delay` seconds.
async fn world(delay: i64) -> Arc<Apps> {
    let store = fresh_store().await;
    let mut inner = Arc::try_unwrap(apps(&store, EASY))
        .ok()
        .expect("fresh apps");
    inner.pin = set_pin::App::new(store.clone(), hasher()).with_protection_delay(delay);
    let apps = Arc::new(inner);
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 10)).await;
    tenant_with_pin(&apps, "t-200", "ACC-2002", PIN_200, &numbers("312", 100, 5)).await;
    provision(&store, "t-300", "ACC-3003", "GB", &["+12125550100"]).await;
    apps
}

fn n(i: usize) -> String {
    format!("+1206555{:04}", 100 + i)
}

async fn call(apps: &Apps, method: &str, path: &str, who: As, body: Option<&str>) -> Answer {
    send_pin(apps, &event(method, path, who, body)).await
}

async fn protection(apps: &Apps, tenant: &'static str) -> Answer {
    call(
        apps,
        "GET",
        "/v1/port-out-protection",
        As::Admin(tenant),
        None,
    )
    .await
}

async fn patch_protection(apps: &Apps, tenant: &'static str, body: &str) -> Answer {
    call(
        apps,
        "PATCH",
        "/v1/port-out-protection",
        As::Admin(tenant),
        Some(body),
    )
    .await
}

async fn number(apps: &Apps, tenant: &'static str, segment: &str) -> Answer {
    let path = format!("/v1/numbers/{segment}");
    call(apps, "GET", &path, As::Admin(tenant), None).await
}

async fn patch_number(apps: &Apps, tenant: &'static str, segment: &str, body: &str) -> Answer {
    let path = format!("/v1/numbers/{segment}");
    call(apps, "PATCH", &path, As::Admin(tenant), Some(body)).await
}

#[track_caller]
fn ok(a: &Answer) -> &Value {
    assert_eq!(a.status, 200, "{}", a.raw);
    &a.body
}

/// The tenant's audit items, newest first.
async fn audit(apps: &Apps, tenant: &'static str) -> Vec<Value> {
    let a = call(apps, "GET", "/v1/audit-events", As::Admin(tenant), None).await;
    ok(&a)["items"].as_array().unwrap().clone()
}

fn of_type<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["type"] == kind).collect()
}

fn off() -> Value {
    json!({"enabled": false, "disableAt": null})
}

fn on() -> Value {
    json!({"enabled": true, "disableAt": null})
}

fn time(v: &Value) -> i64 {
    clock::parse(v.as_str().expect("a time")).expect("RFC 3339")
}

// ------------------------------------------------------ /v1/port-out-protection

#[tokio::test]
async fn a_new_tenant_has_no_protection() {
    let apps = world(DAY).await;
    let a = protection(&apps, TENANT).await;
    assert_eq!(
        ok(&a),
        &json!({"tenantId": "t-100", "lock": off(), "transferPinRequired": off(), "updatedAt": null})
    );
}

#[tokio::test]
async fn the_lock_is_on_at_once_and_off_after_the_delay() {
    let apps = world(2).await;
    let before = clock::now();
    let a = patch_protection(&apps, TENANT, r#"{"lock": true}"#).await;
    assert_eq!(ok(&a)["lock"], on());
    assert_eq!(a.body["transferPinRequired"], off());
    assert!(time(&a.body["updatedAt"]) >= before);
    assert_eq!(ok(&protection(&apps, TENANT).await), &a.body);

    let a = patch_protection(&apps, TENANT, r#"{"lock": false}"#).await;
    let asked = time(&a.body["updatedAt"]);
    assert_eq!(ok(&a)["lock"]["enabled"], true, "still on: {}", a.raw);
    let disable_at = time(&a.body["lock"]["disableAt"]);
    assert_eq!(disable_at, asked + 2);

    // A port-out is still refused while the turn-off waits.
    let post_a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(0)])).await;
    post_a.expect_error(422, "PORT_OUT_LOCKED");

    while clock::now() < disable_at {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let a = protection(&apps, TENANT).await;
    assert_eq!(ok(&a)["lock"], off());
    let post_a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(0)])).await;
    assert_eq!(post_a.status, 201, "{}", post_a.raw);

    let items = audit(&apps, TENANT).await;
    let enabled = of_type(&items, "protection.enabled");
    assert_eq!(enabled.len(), 1);
    assert_eq!(enabled[0]["setting"], "lock");
    assert_eq!(enabled[0]["phoneNumbers"], Value::Null, "the tenant's lock");
    assert_eq!(enabled[0]["until"], Value::Null);
    assert_eq!(
        enabled[0]["actor"],
        json!({"kind": "tenant_admin", "id": "admin-of-t-100"})
    );
    assert_eq!(enabled[0]["sourceIp"], "203.0.113.7");
    let requested = of_type(&items, "protection.disable_requested");
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["setting"], "lock");
    assert_eq!(time(&requested[0]["until"]), disable_at);
}

#[tokio::test]
async fn turning_on_cancels_a_waiting_turn_off() {
    let apps = world(DAY).await;
    ok(&patch_protection(
        &apps,
        TENANT,
        r#"{"lock": true, "transferPinRequired": true}"#,
    )
    .await);
    let a = patch_protection(
        &apps,
        TENANT,
        r#"{"lock": false, "transferPinRequired": false}"#,
    )
    .await;
    assert_eq!(ok(&a)["lock"]["enabled"], true);
    assert!(a.body["lock"]["disableAt"].is_string());
    assert!(a.body["transferPinRequired"]["disableAt"].is_string());
    let a = patch_protection(&apps, TENANT, r#"{"lock": true}"#).await;
    assert_eq!(ok(&a)["lock"], on(), "cancelled");
    assert!(
        a.body["transferPinRequired"]["disableAt"].is_string(),
        "the other setting's turn-off still waits"
    );
    let items = audit(&apps, TENANT).await;
    let kinds: Vec<(&str, &str)> = items
        .iter()
        .filter(|i| i["type"].as_str().unwrap().starts_with("protection."))
        .map(|i| (i["type"].as_str().unwrap(), i["setting"].as_str().unwrap()))
        .collect();
    let mut newest = kinds[..1].to_vec();
    let mut middle = kinds[1..3].to_vec();
    let mut oldest = kinds[3..].to_vec();
    newest.sort();
    middle.sort();
    oldest.sort();
    assert_eq!(newest, [("protection.enabled", "lock")]);
    assert_eq!(
        middle,
        [
            ("protection.disable_requested", "lock"),
            ("protection.disable_requested", "transferPinRequired")
        ]
    );
    assert_eq!(
        oldest,
        [
            ("protection.enabled", "lock"),
            ("protection.enabled", "transferPinRequired")
        ]
    );
}

#[tokio::test]
async fn a_zero_delay_turns_off_at_once_and_is_still_recorded() {
    let apps = world(0).await;
    ok(&patch_number(&apps, TENANT, &n(0), r#"{"lock": true}"#).await);
    ok(&patch_protection(&apps, TENANT, r#"{"transferPinRequired": true}"#).await);
    let a = patch_protection(&apps, TENANT, r#"{"transferPinRequired": false}"#).await;
    assert_eq!(ok(&a)["transferPinRequired"], off());
    let a = patch_number(&apps, TENANT, &n(0), r#"{"lock": false}"#).await;
    assert_eq!(ok(&a)["lock"], off());
    let items = audit(&apps, TENANT).await;
    let requested = of_type(&items, "protection.disable_requested");
    assert_eq!(requested.len(), 2);
    for r in requested {
        assert_eq!(
            time(&r["until"]),
            time(&r["time"]),
            "took effect at once: {r}"
        );
    }
}

#[tokio::test]
async fn no_op_patches_answer_the_same_and_write_nothing() {
    let apps = world(DAY).await;
    let before = snapshot(&apps.store).await;
    let a = patch_protection(
        &apps,
        TENANT,
        r#"{"lock": false, "transferPinRequired": false}"#,
    )
    .await;
    assert_eq!(ok(&a), &ok(&protection(&apps, TENANT).await).clone());
    let a = patch_number(&apps, TENANT, &n(1), r#"{"lock": false}"#).await;
    assert_eq!(
        ok(&a),
        &json!({"phoneNumber": n(1), "lock": off(), "portOutId": null})
    );
    assert_eq!(snapshot(&apps.store).await, before, "off asked off");

    ok(&patch_protection(&apps, TENANT, r#"{"lock": true}"#).await);
    ok(&patch_number(&apps, TENANT, &n(1), r#"{"lock": true}"#).await);
    let before = snapshot(&apps.store).await;
    let shown = ok(&protection(&apps, TENANT).await).clone();
    assert_eq!(
        ok(&patch_protection(&apps, TENANT, r#"{"lock": true}"#).await),
        &shown
    );
    let a = patch_number(&apps, TENANT, &n(1), r#"{"lock": true}"#).await;
    assert_eq!(ok(&a)["lock"], on());
    assert_eq!(snapshot(&apps.store).await, before, "on asked on");

    ok(&patch_protection(&apps, TENANT, r#"{"lock": false}"#).await);
    ok(&patch_number(&apps, TENANT, &n(1), r#"{"lock": false}"#).await);
    let before = snapshot(&apps.store).await;
    let shown = ok(&protection(&apps, TENANT).await).clone();
    assert!(shown["lock"]["disableAt"].is_string());
    assert_eq!(
        ok(&patch_protection(&apps, TENANT, r#"{"lock": false}"#).await),
        &shown
    );
    let a = patch_number(&apps, TENANT, &n(1), r#"{"lock": false}"#).await;
    assert!(ok(&a)["lock"]["disableAt"].is_string());
    assert_eq!(
        snapshot(&apps.store).await,
        before,
        "waiting turn-off asked off"
    );
    let items = audit(&apps, TENANT).await;
    assert_eq!(of_type(&items, "protection.enabled").len(), 2);
    assert_eq!(of_type(&items, "protection.disable_requested").len(), 2);
}

#[tokio::test]
async fn transfer_pin_required_is_stored_and_shown() {
    let apps = world(DAY).await;
    let a = patch_protection(
        &apps,
        TENANT,
        r#"{"transferPinRequired": true, "note": "x"}"#,
    )
    .await;
    assert_eq!(ok(&a)["transferPinRequired"], on());
    assert_eq!(a.body["lock"], off());
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert!(tenant
        .protection
        .transfer_pin_required
        .effective(clock::now()));
    assert!(!tenant.protection.lock.effective(clock::now()));
    let items = audit(&apps, TENANT).await;
    let enabled = of_type(&items, "protection.enabled");
    assert_eq!(enabled.len(), 1);
    assert_eq!(enabled[0]["setting"], "transferPinRequired");
    // Settings stay when the PIN changes.
    assert_eq!(put_pin(&apps, TENANT, "2718281828").await.status, 200);
    assert_eq!(
        ok(&protection(&apps, TENANT).await)["transferPinRequired"],
        on()
    );
}

#[tokio::test]
async fn bad_bodies_are_invalid_requests_and_change_nothing() {
    let apps = world(DAY).await;
    let before = snapshot(&apps.store).await;
    for body in [
        "",
        "not json",
        "[]",
        "true",
        "{}",
        r#"{"enabled": true}"#,
        r#"{"lock": "true"}"#,
        r#"{"lock": null}"#,
        r#"{"lock": 1}"#,
        r#"{"lock": true, "transferPinRequired": "no"}"#,
        r#"{"lock": {"enabled": true}}"#,
    ] {
        patch_protection(&apps, TENANT, body)
            .await
            .expect_error(400, "INVALID_REQUEST");
        let a = patch_number(&apps, TENANT, &n(0), body).await;
        // `transferPinRequired` is not a field of a number: ignored.
        if body.starts_with(r#"{"lock": true,"#) {
            continue;
        }
        a.expect_error(400, "INVALID_REQUEST");
    }
    patch_number(&apps, TENANT, &n(0), r#"{"transferPinRequired": true}"#)
        .await
        .expect_error(400, "INVALID_REQUEST");
    // Only the one accepted number PATCH above changed anything.
    let after = snapshot(&apps.store).await;
    assert_eq!(after.len(), before.len() + 1, "one audit item");
}

#[tokio::test]
async fn unknown_tenants_and_tenants_outside_the_us() {
    let apps = world(DAY).await;
    for (method, path, body) in [
        ("GET", "/v1/port-out-protection".to_owned(), None),
        (
            "PATCH",
            "/v1/port-out-protection".to_owned(),
            Some(r#"{"lock": true}"#),
        ),
        ("GET", "/v1/numbers".to_owned(), None),
        ("GET", format!("/v1/numbers/{}", n(0)), None),
        (
            "PATCH",
            format!("/v1/numbers/{}", n(0)),
            Some(r#"{"lock": true}"#),
        ),
        ("GET", "/v1/numbers/12".to_owned(), None),
    ] {
        call(&apps, method, &path, As::Admin("t-999"), body)
            .await
            .expect_error(404, "TENANT_NOT_FOUND");
    }
    let before = snapshot(&apps.store).await;
    patch_protection(&apps, "t-300", r#"{"lock": true}"#)
        .await
        .expect_error(422, "TENANT_NOT_ELIGIBLE");
    patch_number(&apps, "t-300", "+12125550100", r#"{"lock": true}"#)
        .await
        .expect_error(422, "TENANT_NOT_ELIGIBLE");
    assert_eq!(snapshot(&apps.store).await, before);
    // Reading is fine.
    assert_eq!(ok(&protection(&apps, "t-300").await)["lock"], off());
    assert_eq!(
        ok(&number(&apps, "t-300", "+12125550100").await)["lock"],
        off()
    );
}

#[tokio::test]
async fn routes_methods_and_scopes() {
    let apps = world(DAY).await;
    for (method, path) in [
        ("PUT", "/v1/port-out-protection"),
        ("DELETE", "/v1/port-out-protection"),
        ("POST", "/v1/numbers"),
        ("PATCH", "/v1/numbers"),
        ("DELETE", "/v1/numbers/+12065550100"),
        ("POST", "/v1/numbers/+12065550100"),
    ] {
        call(&apps, method, path, As::Admin(TENANT), Some("{}"))
            .await
            .expect_error(405, "METHOD_NOT_ALLOWED");
    }
    call(
        &apps,
        "GET",
        "/v1/numbers/+12065550100/lock",
        As::Admin(TENANT),
        None,
    )
    .await
    .expect_error(404, "NOT_FOUND");
    for path in [
        "/v1/port-out-protection",
        "/v1/numbers",
        "/v1/numbers/+12065550100",
    ] {
        call(&apps, "GET", path, As::Nobody, None)
            .await
            .expect_error(401, "UNAUTHENTICATED");
        call(&apps, "GET", path, As::Carrier("carrier-a"), None)
            .await
            .expect_error(403, "FORBIDDEN");
    }
}

// ------------------------------------------------------------ /v1/numbers/{n}

#[tokio::test]
async fn number_paths_are_parsed_like_port_out_numbers() {
    let apps = world(DAY).await;
    let expected = json!({"phoneNumber": "+12065550100", "lock": off(), "portOutId": null});
    for segment in [
        "+12065550100",
        "%2B12065550100",
        "2065550100",
        "%28206%29%20555-0100",
        "1-206-555-0100",
    ] {
        let a = number(&apps, TENANT, segment).await;
        assert_eq!(ok(&a), &expected, "{segment}");
    }
    // Any accepted form locks the same number.
    let a = patch_number(&apps, TENANT, "%28206%29%20555-0100", r#"{"lock": true}"#).await;
    assert_eq!(ok(&a)["phoneNumber"], "+12065550100");
    assert_eq!(
        ok(&number(&apps, TENANT, "%2B12065550100").await)["lock"],
        on()
    );

    let before = snapshot(&apps.store).await;
    for segment in [
        "12",
        "abc",
        "%ZZ",
        "%2B4420718387",
        "+14165550100",
        "%FF",
        "2065550100x",
    ] {
        let a = number(&apps, TENANT, segment).await;
        a.expect_error(400, "INVALID_PHONE_NUMBER");
        assert!(
            a.body["error"]["details"]["numbers"].is_array(),
            "{}",
            a.raw
        );
        patch_number(&apps, TENANT, segment, r#"{"lock": true}"#)
            .await
            .expect_error(400, "INVALID_PHONE_NUMBER");
    }
    let long = "9".repeat(500);
    let a = number(&apps, TENANT, &long).await;
    a.expect_error(400, "INVALID_PHONE_NUMBER");
    assert!(
        !a.raw.contains(&"9".repeat(65)),
        "echoes at most 64 characters"
    );
    assert_eq!(snapshot(&apps.store).await, before);
}

#[tokio::test]
async fn another_tenants_number_answers_exactly_like_an_unknown_one() {
    let apps = world(DAY).await;
    let theirs = "+13125550100";
    let unknown = "+13125559999";
    let before = snapshot(&apps.store).await;
    for (method, body) in [("GET", None), ("PATCH", Some(r#"{"lock": true}"#))] {
        let a = call(
            &apps,
            method,
            &format!("/v1/numbers/{theirs}"),
            As::Admin(TENANT),
            body,
        )
        .await;
        let b = call(
            &apps,
            method,
            &format!("/v1/numbers/{unknown}"),
            As::Admin(TENANT),
            body,
        )
        .await;
        a.expect_error(404, "NUMBER_NOT_FOUND");
        assert_eq!(a.raw, b.raw, "byte for byte");
        assert_eq!(a.headers, b.headers);
    }
    assert_eq!(
        snapshot(&apps.store).await,
        before,
        "t-200's number untouched"
    );
    // Its owner sees it.
    assert_eq!(
        ok(&number(&apps, "t-200", theirs).await)["phoneNumber"],
        theirs
    );
}

#[tokio::test]
async fn a_number_lock_is_on_at_once_and_off_after_the_delay() {
    let apps = world(2).await;
    let a = patch_number(&apps, TENANT, &n(2), r#"{"lock": true}"#).await;
    assert_eq!(
        ok(&a),
        &json!({"phoneNumber": n(2), "lock": on(), "portOutId": null})
    );
    let record = apps
        .store
        .admin_number(&tid(TENANT), &num(&n(2)))
        .await
        .unwrap()
        .1
        .unwrap();
    assert!(record.lock_updated_at.is_some());
    let a = patch_number(&apps, TENANT, &n(2), r#"{"lock": false}"#).await;
    assert_eq!(ok(&a)["lock"]["enabled"], true);
    let disable_at = time(&a.body["lock"]["disableAt"]);
    post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(2)]))
        .await
        .expect_error(422, "PORT_OUT_LOCKED");
    while clock::now() < disable_at {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ok(&number(&apps, TENANT, &n(2)).await)["lock"], off());
    let p = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(2)])).await;
    assert_eq!(p.status, 201, "{}", p.raw);
    let a = number(&apps, TENANT, &n(2)).await;
    assert_eq!(
        ok(&a)["portOutId"],
        p.body["id"],
        "the open order holding it"
    );

    let items = audit(&apps, TENANT).await;
    let enabled = of_type(&items, "protection.enabled");
    assert_eq!(enabled[0]["setting"], "lock");
    assert_eq!(enabled[0]["phoneNumbers"], json!([n(2)]));
    let requested = of_type(&items, "protection.disable_requested");
    assert_eq!(requested[0]["phoneNumbers"], json!([n(2)]));
    assert_eq!(time(&requested[0]["until"]), disable_at);
    // Every audit item has every field of contract §7, null where it does not apply.
    for item in &items {
        for field in [
            "id",
            "time",
            "type",
            "actor",
            "sourceIp",
            "portOutId",
            "code",
            "status",
            "phoneNumbers",
            "setting",
            "until",
            "transferPinId",
        ] {
            assert!(item.get(field).is_some(), "{field} missing in {item}");
        }
    }
    let requested_order = of_type(&items, "port_out.requested");
    assert_eq!(requested_order[0]["phoneNumbers"], json!([n(2)]));
    assert_eq!(requested_order[0]["setting"], Value::Null);
}

#[tokio::test]
async fn numbers_are_listed_in_pages_by_number() {
    let apps = world(DAY).await;
    ok(&patch_number(&apps, TENANT, &n(4), r#"{"lock": true}"#).await);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &token {
            None => "limit=3".to_owned(),
            Some(t) => format!("limit=3&nextToken={t}"),
        };
        let ev = event_with("GET", "/v1/numbers", &query, As::Admin(TENANT), None, &[]);
        let a = send_pin(&apps, &ev).await;
        let items = ok(&a)["items"].as_array().unwrap().clone();
        assert!(items.len() <= 3);
        pages += 1;
        for item in &items {
            seen.push(item["phoneNumber"].as_str().unwrap().to_owned());
            let locked = item["phoneNumber"] == n(4);
            assert_eq!(item["lock"]["enabled"], locked, "{item}");
        }
        match a.body["nextToken"].as_str() {
            Some(t) => {
                // Another tenant cannot use the token.
                let ev = event_with(
                    "GET",
                    "/v1/numbers",
                    &format!("nextToken={t}"),
                    As::Admin("t-200"),
                    None,
                    &[],
                );
                send_pin(&apps, &ev)
                    .await
                    .expect_error(400, "INVALID_REQUEST");
                token = Some(t.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        numbers("206", 100, 10),
        "every number once, ascending"
    );
    assert!(pages >= 4);
    for query in ["limit=0", "limit=101", "limit=x", "nextToken=forged"] {
        let ev = event_with("GET", "/v1/numbers", query, As::Admin(TENANT), None, &[]);
        send_pin(&apps, &ev)
            .await
            .expect_error(400, "INVALID_REQUEST");
    }
    let a = call(&apps, "GET", "/v1/numbers", As::Admin("t-200"), None).await;
    assert_eq!(ok(&a)["items"].as_array().unwrap().len(), 5, "its own only");
    assert_eq!(a.body["nextToken"], Value::Null);
}

// ---------------------------------------------------- check 8a: PORT_OUT_LOCKED

#[tokio::test]
async fn a_locked_number_refuses_the_right_and_a_wrong_pin_alike() {
    let apps = world(DAY).await;
    // One wrong PIN first: the count must stay at 1.
    post(&apps, "carrier-a", &port_out_body(ACCOUNT, WRONG, &[n(0)]))
        .await
        .expect_error(422, "PIN_MISMATCH");
    ok(&patch_number(&apps, TENANT, &n(3), r#"{"lock": true}"#).await);
    let requested = [n(0), "(206) 555-0103".to_owned(), "+13125550100".to_owned()];
    let right = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &requested)).await;
    let wrong = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, WRONG, &requested),
    )
    .await;
    right.expect_error(422, "PORT_OUT_LOCKED");
    assert_eq!(right.raw, wrong.raw, "no PIN oracle");
    assert_eq!(right.body["error"]["details"], json!({"numbers": [n(3)]}));
    for _ in 0..6 {
        post(
            &apps,
            "carrier-a",
            &port_out_body(ACCOUNT, WRONG, &requested),
        )
        .await
        .expect_error(422, "PORT_OUT_LOCKED");
    }
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert_eq!(
        tenant.locks.of("carrier-a").failed_attempts,
        1,
        "nothing counted, nothing burnt"
    );
    assert!(!tenant
        .locks
        .of("carrier-a")
        .status(clock::now())
        .is_locked());
    let items = audit(&apps, TENANT).await;
    let rejected: Vec<_> = of_type(&items, "port_out.rejected")
        .into_iter()
        .filter(|i| i["code"] == "PORT_OUT_LOCKED")
        .collect();
    // Recorded once per tenant, carrier, code and clock hour (contract
    // §4.1): 8 refusals in a row leave one item (two across an hour).
    assert!((1..=2).contains(&rejected.len()), "{rejected:?}");
    assert_eq!(
        rejected[0]["phoneNumbers"],
        json!([n(0), n(3), "+13125550100"]),
        "as normalised"
    );
    // Unlocked numbers of the same account still port.
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(0)])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    assert_eq!(tenant.locks.of("carrier-a").failed_attempts, 0);
}

#[tokio::test]
async fn the_tenant_lock_refuses_every_number_of_the_account() {
    let apps = world(DAY).await;
    ok(&patch_protection(&apps, TENANT, r#"{"lock": true}"#).await);
    let requested = [n(5), n(6), "+13125550101".to_owned()];
    for pin in [PIN, WRONG] {
        let a = post(&apps, "carrier-b", &port_out_body(ACCOUNT, pin, &requested)).await;
        a.expect_error(422, "PORT_OUT_LOCKED");
        assert_eq!(
            a.body["error"]["details"],
            json!({"numbers": [n(5), n(6)]}),
            "the requested numbers of the account"
        );
    }
    assert_eq!(
        apps.store
            .get_tenant(&tid(TENANT))
            .await
            .unwrap()
            .unwrap()
            .locks
            .of("carrier-a")
            .failed_attempts,
        0
    );
    // Another tenant is not affected.
    let a = post(
        &apps,
        "carrier-b",
        &port_out_body("ACC-2002", PIN_200, &["+13125550101".to_owned()]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    // A tenant without a PIN answers PIN_NOT_SET first (check 8 before 8a).
    provision(&apps.store, "t-400", "ACC-4004", "US", &["+14155550100"]).await;
    let a = call(
        &apps,
        "PATCH",
        "/v1/port-out-protection",
        As::Admin("t-400"),
        Some(r#"{"lock": true}"#),
    )
    .await;
    ok(&a);
    post(
        &apps,
        "carrier-b",
        &port_out_body("ACC-4004", PIN, &["+14155550100".to_owned()]),
    )
    .await
    .expect_error(422, "PIN_NOT_SET");
}

#[tokio::test]
async fn a_lock_leaves_an_open_order_alone() {
    let apps = world(DAY).await;
    let p = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(7)])).await;
    assert_eq!(p.status, 201, "{}", p.raw);
    let id = p.body["id"].as_str().unwrap().to_owned();
    let a = patch_number(&apps, TENANT, &n(7), r#"{"lock": true}"#).await;
    assert_eq!(
        ok(&a),
        &json!({"phoneNumber": n(7), "lock": on(), "portOutId": id})
    );
    ok(&patch_protection(&apps, TENANT, r#"{"lock": true}"#).await);
    let order = apps.store.get_order(&oid(&id)).await.unwrap().unwrap();
    assert_eq!(order.status.as_str(), "pending");
    // The carrier can still move it along; the tenant rejects it if it must.
    let ev = signed(
        "carrier-a",
        &json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": clock::format(clock::now() + DAY)[..10]}),
    );
    let w = send_webhook(&apps, &ev).await;
    assert_eq!(w.status, 200, "{}", w.raw);
    assert_eq!(w.body["portOut"]["status"], "foc_confirmed");
    let items = audit(&apps, TENANT).await;
    let changed = of_type(&items, "port_out.status_changed");
    assert_eq!(changed[0]["status"], "foc_confirmed");
    assert_eq!(changed[0]["phoneNumbers"], json!([n(7)]));
}

/// The transaction itself refuses a number locked after the port-out's
/// read, and a tenant lock after the read fails the tenant guard: the
/// decision is taken again and check 8a answers.
#[tokio::test]
async fn a_lock_after_the_read_refuses_the_order_transaction() {
    use portguard_store::orders::CreateOutcome;
    use portguard_store::{Actor, ActorKind, AuditEvent, AuditType, NewOrder, Order, Source};
    let apps = world(DAY).await;
    let order_of = |tenant_id: &str, numbers: Vec<String>| {
        Order::new(NewOrder {
            tenant_id: &tid(tenant_id),
            carrier_id: &cid("carrier-a"),
            account_number: ACCOUNT,
            phone_numbers: nums(&numbers),
            pon: Some("PON-1"),
            source: Source::Api,
            external_id: None,
            authorized_name: None,
            requested_foc_date: None,
            now: Timestamp::from_unix(clock::now()),
        })
    };
    let audit = AuditEvent::new(
        &tid(TENANT),
        clock::now(),
        AuditType::PortOutRequested,
        Actor {
            kind: ActorKind::Carrier,
            id: Some("carrier-a".into()),
        },
    );
    let view = apps
        .store
        .port_out_view(ACCOUNT, &nums(&[n(8), n(9)]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.locked(&nums(&[n(8), n(9)]), clock::now()), None);
    ok(&patch_number(&apps, TENANT, &n(9), r#"{"lock": true}"#).await);
    let order = order_of(TENANT, vec![n(8), n(9)]);
    let outcome = apps
        .store
        .create_order(&order, &view.tenant, None, &audit, None)
        .await
        .unwrap();
    assert_eq!(outcome, CreateOutcome::Locked(nums(&[n(9)])));
    assert!(apps.store.get_order(&order.id).await.unwrap().is_none());

    // The tenant's lock bumps its version: an order decided before fails.
    let view = apps
        .store
        .port_out_view(ACCOUNT, &nums(&[n(8)]))
        .await
        .unwrap()
        .unwrap();
    ok(&patch_protection(&apps, TENANT, r#"{"lock": true}"#).await);
    let order = order_of(TENANT, vec![n(8)]);
    let outcome = apps
        .store
        .create_order(&order, &view.tenant, None, &audit, None)
        .await
        .unwrap();
    assert_eq!(outcome, CreateOutcome::TenantChanged);
    // And an accepted order records its time, so a protection change
    // decided before the order re-reads; orders do not bump the version,
    // so they do not invalidate each other.
    let before = apps.store.get_tenant(&tid("t-200")).await.unwrap().unwrap();
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body("ACC-2002", PIN_200, &["+13125550102".to_owned()]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let after = apps.store.get_tenant(&tid("t-200")).await.unwrap().unwrap();
    assert_eq!(after.state_version, before.state_version);
    assert!(after.last_order_at.is_some() && after.last_order_at != before.last_order_at);
    let stale = apps
        .store
        .write_protection(&before, &before.protection, &[])
        .await
        .unwrap();
    assert_eq!(
        stale,
        Written::Conflict,
        "a change decided before the order"
    );
}

// --------------------------------------------------------------------- races

/// A lock turned on while a port-out for the same number is decided: the
/// order, if accepted, was created no later than the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_number_lock_and_a_port_out_racing_never_admit_an_order_after_the_lock() {
    let apps = world(DAY).await;
    let rounds = 30;
    let fresh = numbers("206", 200, rounds);
    let refs: Vec<&str> = fresh.iter().map(String::as_str).collect();
    provision(&apps.store, TENANT, ACCOUNT, "US", &refs).await;
    let mut accepted = 0;
    for (round, number) in fresh.into_iter().enumerate() {
        let lock = {
            let apps = apps.clone();
            let number = number.clone();
            // Scattered over the port-out's PIN check, so both orders occur.
            let delay = Duration::from_millis((round as u64 * 37) % 90);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                patch_number(&apps, TENANT, &number, r#"{"lock": true}"#).await
            })
        };
        let port = {
            let apps = apps.clone();
            let number = number.clone();
            tokio::spawn(async move {
                post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[number])).await
            })
        };
        let (lock, port) = (lock.await.unwrap(), port.await.unwrap());
        assert_eq!(lock.status, 200, "{}", lock.raw);
        let record = apps
            .store
            .admin_number(&tid(TENANT), &num(&number))
            .await
            .unwrap()
            .1
            .unwrap();
        let locked_at = record.lock_updated_at.expect("locked");
        match port.status {
            201 => {
                accepted += 1;
                assert!(
                    time(&port.body["createdAt"]) <= locked_at,
                    "round {round}: order {} after the lock at {locked_at}",
                    port.raw
                );
                assert_eq!(
                    record.open_port_out_id.as_ref().map(|i| i.as_str()),
                    port.body["id"].as_str()
                );
            }
            _ => port.expect_error(422, "PORT_OUT_LOCKED"),
        }
    }
    eprintln!("{accepted} of {rounds} port-outs won the race");
    audit_consistency(&apps.store).await;
}

/// The same with the tenant's lock: a turn-on and port-outs for several
/// numbers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_tenant_lock_and_port_outs_racing_never_admit_an_order_after_the_lock() {
    let apps = world(0).await;
    let rounds = 8;
    for round in 0..rounds {
        ok(&patch_protection(&apps, TENANT, r#"{"lock": false}"#).await);
        let lock = {
            let apps = apps.clone();
            tokio::spawn(async move { patch_protection(&apps, TENANT, r#"{"lock": true}"#).await })
        };
        let ports: Vec<_> = (0..2)
            .map(|k| {
                let apps = apps.clone();
                let number = n((round * 2 + k) % 10);
                tokio::spawn(async move {
                    post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[number])).await
                })
            })
            .collect();
        let lock = lock.await.unwrap();
        let locked_at = time(&ok(&lock)["updatedAt"]);
        for port in ports {
            let port = port.await.unwrap();
            match port.status {
                201 => {
                    assert!(
                        time(&port.body["createdAt"]) <= locked_at,
                        "round {round}: {} after {locked_at}",
                        port.raw
                    );
                    // Free the number for a later round.
                    let id = port.body["id"].as_str().unwrap();
                    let ev = signed(
                        "carrier-a",
                        &json!({"type": "port_out.cancelled", "portOutId": id, "reason": "test"}),
                    );
                    assert_eq!(send_webhook(&apps, &ev).await.status, 200);
                }
                409 => port.expect_error(409, "PORT_OUT_IN_PROGRESS"),
                _ => port.expect_error(422, "PORT_OUT_LOCKED"),
            }
        }
    }
    let items = audit(&apps, TENANT).await;
    assert!(!of_type(&items, "protection.enabled").is_empty());
    audit_consistency(&apps.store).await;
}

// ------------------------------------------------------------ audit fields

/// `pin.locked` carries `until` (the end of the timed lock); a rejection
/// carries `phoneNumbers` as normalised and no protection fields.
#[tokio::test]
async fn pin_locked_carries_until_and_rejections_their_numbers() {
    let apps = world(DAY).await;
    let asked = ["(206) 555-0105".to_owned()];
    for _ in 0..5 {
        post(&apps, "carrier-a", &port_out_body(ACCOUNT, WRONG, &asked)).await;
    }
    let tenant = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    let until = tenant
        .locks
        .of("carrier-a")
        .locked_until
        .expect("a timed lock");
    let items = audit(&apps, TENANT).await;
    let locked = of_type(&items, "pin.locked");
    assert_eq!(locked.len(), 1);
    assert_eq!(time(&locked[0]["until"]), until);
    assert_eq!(locked[0]["phoneNumbers"], Value::Null);
    let rejected = of_type(&items, "port_out.rejected");
    assert!(!rejected.is_empty());
    for r in rejected {
        assert_eq!(r["phoneNumbers"], json!([n(5)]), "{r}");
        assert_eq!(r["setting"], Value::Null);
        assert_eq!(r["until"], Value::Null);
        assert_eq!(r["transferPinId"], Value::Null);
    }
}

/// Not a check: in-process latency of a number PATCH and of a
/// `PORT_OUT_LOCKED` answer against DynamoDB Local (`--ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn measure_lock_latency() {
    let apps = world(0).await;
    let (mut patch, mut locked) = (Vec::new(), Vec::new());
    for i in 0..40 {
        let want = if i % 2 == 0 { "true" } else { "false" };
        let started = std::time::Instant::now();
        let a = patch_number(&apps, TENANT, &n(9), &format!(r#"{{"lock": {want}}}"#)).await;
        patch.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(a.status, 200);
    }
    ok(&patch_number(&apps, TENANT, &n(8), r#"{"lock": true}"#).await);
    for _ in 0..40 {
        let started = std::time::Instant::now();
        let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(8)])).await;
        locked.push(started.elapsed().as_secs_f64() * 1e3);
        a.expect_error(422, "PORT_OUT_LOCKED");
    }
    for (what, v) in [
        ("PATCH /v1/numbers/{n}", &mut patch),
        ("PORT_OUT_LOCKED", &mut locked),
    ] {
        v.sort_by(f64::total_cmp);
        eprintln!(
            "{what}: p50 {:.1} ms, p90 {:.1} ms",
            v[v.len() / 2],
            v[v.len() * 9 / 10]
        );
    }
}
