//! `set-pin` through real API Gateway v2 events against DynamoDB Local.

use portguard_store::AuditType;
use portguard_tests::typed::*;
use portguard_tests::*;
use serde_json::json;
use set_pin::App;

async fn app() -> (App, portguard_store::Store) {
    let store = fresh_store().await;
    provision(&store, "t-100", "ACC-1001", "US", &["+12065550100"]).await;
    provision(&store, "t-200", "ACC-2001", "GB", &[]).await;
    (App::new(store.clone(), hasher()), store)
}

async fn call(app: &App, method: &str, path: &str, who: As, body: Option<&str>) -> Answer {
    answer(app.handle(request(&event(method, path, who, body))).await)
}

/// A PUT that must succeed.
async fn set_ok(app: &App, tenant: &'static str, pin: &str) {
    let a = put_pin(app, tenant, &json!({ "pin": pin }).to_string()).await;
    assert_eq!(a.status, 200, "{}", a.raw);
}

async fn put_pin(app: &App, tenant: &'static str, body: &str) -> Answer {
    call(app, "PUT", "/v1/pin", As::Admin(tenant), Some(body)).await
}

#[tokio::test]
async fn a_new_tenant_has_a_blank_pin() {
    let (app, _) = app().await;
    let a = call(&app, "GET", "/v1/pin", As::Admin("t-100"), None).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"tenantId": "t-100", "pinSet": false, "updatedAt": null, "locked": false, "lockedUntil": null, "lockedCarriers": []})
    );
}

#[tokio::test]
async fn set_then_change_then_same_again() {
    let (app, store) = app().await;
    let a = put_pin(&app, "t-100", r#"{"pin": "48151623"}"#).await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.body["pinSet"], true);
    assert!(a.body["updatedAt"].as_str().unwrap().ends_with('Z'));
    let get = call(&app, "GET", "/v1/pin", As::Admin("t-100"), None).await;
    assert_eq!(get.body, a.body);

    set_ok(&app, "t-100", "2718281828").await;
    set_ok(&app, "t-100", "2718281828").await;

    let tenant = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();
    let stored = tenant.pin.unwrap();
    assert!(
        stored.hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "OWASP parameters"
    );
    assert_eq!(stored.pepper_version, "v1");
    assert!(
        !format!("{stored:?}").contains("argon2"),
        "Debug redacts the hash"
    );
    let pin = portguard_validation::Pin::parse_presented("2718281828").unwrap();
    assert!(hasher().verify(&pin, &stored));

    let audit = call(&app, "GET", "/v1/audit-events", As::Admin("t-100"), None).await;
    let types: Vec<_> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        ["pin.changed", "pin.changed", "pin.set"],
        "newest first"
    );
    let first = &audit.body["items"][2];
    assert_eq!(
        first["actor"],
        json!({"kind": "tenant_admin", "id": "admin-of-t-100"})
    );
    assert_eq!(first["sourceIp"], "203.0.113.7");
}

#[tokio::test]
async fn the_pin_can_never_be_blanked() {
    let (app, _) = app().await;
    for body in [
        r#"{}"#,
        r#"{"pin": null}"#,
        r#"{"pin": ""}"#,
        r#"{"pin": "   "}"#,
        r#"{"pin": "\t"}"#,
    ] {
        let a = put_pin(&app, "t-100", body).await;
        assert_eq!((a.status, a.code()), (400, "PIN_REQUIRED"), "{body}");
    }
    set_ok(&app, "t-100", "48151623").await;
    let a = put_pin(&app, "t-100", r#"{"pin": ""}"#).await;
    assert_eq!(a.code(), "PIN_REQUIRED");
    let a = call(&app, "DELETE", "/v1/pin", As::Admin("t-100"), None).await;
    assert_eq!((a.status, a.code()), (405, "PIN_CANNOT_BE_REMOVED"));
    let get = call(&app, "GET", "/v1/pin", As::Admin("t-100"), None).await;
    assert_eq!(get.body["pinSet"], true, "still set");
}

#[tokio::test]
async fn format_and_weak_rules_change_nothing() {
    let (app, store) = app().await;
    let cases = [
        ("48151", "INVALID_PIN_FORMAT"),
        ("48151623420", "INVALID_PIN_FORMAT"),
        ("4815a623", "INVALID_PIN_FORMAT"),
        ("4815-1623", "INVALID_PIN_FORMAT"),
        (" 48151623", "INVALID_PIN_FORMAT"),
        ("+4815162", "INVALID_PIN_FORMAT"),
        ("٤٨١٥١٦٢٣", "INVALID_PIN_FORMAT"),
        ("000000", "WEAK_PIN"),
        ("123456", "WEAK_PIN"),
        ("7890123", "WEAK_PIN"),
        ("987654", "WEAK_PIN"),
        ("3210987", "WEAK_PIN"),
    ];
    for (pin, code) in cases {
        let a = put_pin(&app, "t-100", &json!({ "pin": pin }).to_string()).await;
        assert_eq!((a.status, a.code()), (400, code), "{pin:?}");
        assert!(
            !a.raw.contains(pin.trim()),
            "the answer never echoes the PIN"
        );
    }
    assert!(store
        .get_tenant(&tid("t-100"))
        .await
        .unwrap()
        .unwrap()
        .pin
        .is_none());
}

#[tokio::test]
async fn malformed_bodies_are_invalid_requests() {
    let (app, _) = app().await;
    for body in [
        "not json",
        "[1,2]",
        r#""48151623""#,
        r#"{"pin": 48151623}"#,
        r#"{"pin": ["4"]}"#,
    ] {
        let a = put_pin(&app, "t-100", body).await;
        assert_eq!((a.status, a.code()), (400, "INVALID_REQUEST"), "{body}");
    }
    let a = call(&app, "PUT", "/v1/pin", As::Admin("t-100"), None).await;
    assert_eq!(a.code(), "INVALID_REQUEST");
}

#[tokio::test]
async fn unknown_and_non_us_tenants() {
    let (app, _) = app().await;
    let a = put_pin(&app, "t-999", r#"{"pin": "48151623"}"#).await;
    assert_eq!((a.status, a.code()), (404, "TENANT_NOT_FOUND"));
    let a = call(&app, "GET", "/v1/pin", As::Admin("t-999"), None).await;
    assert_eq!((a.status, a.code()), (404, "TENANT_NOT_FOUND"));
    let a = put_pin(&app, "t-200", r#"{"pin": "48151623"}"#).await;
    assert_eq!((a.status, a.code()), (422, "TENANT_NOT_ELIGIBLE"));
    // The rule order: tenant checks come before the PIN's own rules.
    let a = put_pin(&app, "t-200", r#"{"pin": ""}"#).await;
    assert_eq!(a.code(), "TENANT_NOT_ELIGIBLE");
    let a = put_pin(&app, "t-999", r#"{"pin": "12"}"#).await;
    assert_eq!(a.code(), "TENANT_NOT_FOUND");
}

#[tokio::test]
async fn identity_and_scope() {
    let (app, _) = app().await;
    let a = call(&app, "GET", "/v1/pin", As::Nobody, None).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    let a = call(
        &app,
        "PUT",
        "/v1/pin",
        As::Carrier("carrier-a"),
        Some(r#"{"pin":"48151623"}"#),
    )
    .await;
    assert_eq!((a.status, a.code()), (403, "FORBIDDEN"));
    let no_scope = As::Raw(json!({"tenant_id": "t-100"}), vec!["openid"]);
    let a = call(&app, "GET", "/v1/pin", no_scope, None).await;
    assert_eq!((a.status, a.code()), (403, "FORBIDDEN"));
    let no_claim = As::Raw(json!({"sub": "x"}), vec!["portguard/admin"]);
    let a = call(&app, "GET", "/v1/pin", no_claim, None).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    // The tenant comes from the token, never from the body.
    let a = put_pin(&app, "t-100", r#"{"pin": "48151623", "tenantId": "t-200"}"#).await;
    assert_eq!(a.body["tenantId"], "t-100");
}

#[tokio::test]
async fn routes_and_methods() {
    let (app, _) = app().await;
    let a = call(&app, "POST", "/v1/pin", As::Admin("t-100"), Some("{}")).await;
    assert_eq!((a.status, a.code()), (405, "METHOD_NOT_ALLOWED"));
    let a = call(&app, "GET", "/v1/nothing", As::Admin("t-100"), None).await;
    assert_eq!((a.status, a.code()), (404, "NOT_FOUND"));
    let a = call(&app, "POST", "/v1/audit-events", As::Admin("t-100"), None).await;
    assert_eq!((a.status, a.code()), (405, "METHOD_NOT_ALLOWED"));
}

#[tokio::test]
async fn a_successful_put_clears_failures_and_locks() {
    let (app, store) = app().await;
    set_ok(&app, "t-100", "48151623").await;
    let tenant = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();
    let hard = portguard_rules::LockState {
        failed_attempts: 0,
        locked_until: None,
        hard_locked: true,
        recent_locks: vec![1, 2, 3],
    };
    store
        .write_lock_state(&tenant, &cid("carrier-a"), &hard)
        .await
        .unwrap();
    let a = call(&app, "GET", "/v1/pin", As::Admin("t-100"), None).await;
    assert_eq!(
        (a.body["locked"].clone(), a.body["lockedUntil"].clone()),
        (json!(true), json!(null))
    );
    assert_eq!(
        a.body["lockedCarriers"],
        json!([{"carrierId": "carrier-a", "until": null}])
    );
    // Hard-locked: the current PIN must change (contract §3, PIN_UNCHANGED).
    put_pin(&app, "t-100", r#"{"pin": "48151623"}"#)
        .await
        .expect_error(400, "PIN_UNCHANGED");
    assert_eq!(
        put_pin(&app, "t-100", r#"{"pin": "2718281828"}"#)
            .await
            .body["locked"],
        false
    );
    let tenant = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();
    assert_eq!(tenant.locks, portguard_rules::CarrierLocks::default());
}

#[tokio::test]
async fn audit_events_page_and_refuse_foreign_tokens() {
    let (app, store) = app().await;
    provision(&store, "t-300", "ACC-3001", "US", &[]).await;
    for pin in ["48151623", "27182818", "31415926"] {
        assert_eq!(
            put_pin(&app, "t-100", &json!({ "pin": pin }).to_string())
                .await
                .status,
            200
        );
    }
    let ev = |q: &str, who| request(&event_with("GET", "/v1/audit-events", q, who, None, &[]));
    let p1 = answer(app.handle(ev("limit=2", As::Admin("t-100"))).await);
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
    let token = p1.body["nextToken"].as_str().unwrap().to_owned();
    let p2 = answer(
        app.handle(ev(
            &format!("limit=2&nextToken={token}"),
            As::Admin("t-100"),
        ))
        .await,
    );
    assert_eq!(p2.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2.body["items"][0]["type"], "pin.set");
    let foreign = answer(
        app.handle(ev(&format!("nextToken={token}"), As::Admin("t-300")))
            .await,
    );
    assert_eq!((foreign.status, foreign.code()), (400, "INVALID_REQUEST"));
    for q in ["limit=0", "limit=101", "limit=abc", "nextToken=garbage"] {
        let a = answer(app.handle(ev(q, As::Admin("t-100"))).await);
        assert_eq!((a.status, a.code()), (400, "INVALID_REQUEST"), "{q}");
    }
    let other = answer(app.handle(ev("", As::Admin("t-300"))).await);
    assert_eq!(
        other.body["items"],
        json!([]),
        "another tenant sees nothing"
    );
}

#[tokio::test]
async fn concurrent_puts_all_land() {
    let (app, store) = app().await;
    let app = std::sync::Arc::new(app);
    let pins = ["48151623", "27182818", "31415926", "16180339"];
    let tasks: Vec<_> = pins
        .iter()
        .map(|pin| {
            let app = app.clone();
            let body = json!({ "pin": pin }).to_string();
            tokio::spawn(async move { put_pin(&app, "t-100", &body).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let tenant = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();
    assert_eq!(tenant.state_version, 4, "every write counted once");
    // The racers all read "no PIN yet"; exactly one may say it set the PIN.
    let kinds: Vec<AuditType> = store
        .list_audit(&tid("t-100"), 10, None)
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| e.kind)
        .collect();
    let set = kinds.iter().filter(|k| **k == AuditType::PinSet).count();
    let changed = kinds
        .iter()
        .filter(|k| **k == AuditType::PinChanged)
        .count();
    assert_eq!((set, changed), (1, 3), "{kinds:?}");
}

#[tokio::test]
async fn renumbering_a_tenant_moves_its_pin_and_lock() {
    let (app, store) = app().await;
    set_ok(&app, "t-100", "48151623").await;
    let before = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();
    let mut lock = before.locks.of("carrier-a");
    lock.failed_attempts = 3;
    store
        .write_lock_state(&before, &cid("carrier-a"), &lock)
        .await
        .unwrap();
    let before = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();

    let now = Timestamp::now();
    store
        .put_tenant(&tid("t-100"), "ACC-9999", "US", Some("Renamed"), now)
        .await
        .unwrap()
        .expect("a free account number");
    let after = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();
    assert_eq!(after.account_number, "ACC-9999");
    assert_eq!(after.name.as_deref(), Some("Renamed"));
    assert_eq!((after.pin, after.locks), (before.pin.clone(), before.locks));
    assert!(
        store
            .tenant_by_account(&before.account_number)
            .await
            .unwrap()
            .is_none(),
        "the old account number no longer leads anywhere"
    );
    let by_new = store.tenant_by_account("ACC-9999").await.unwrap().unwrap();
    assert_eq!(by_new.tenant_id, "t-100");
    // Another tenant cannot take it, and the old number is free again.
    portguard_tests::provision(&store, "t-300", "ACC-3001", "US", &[]).await;
    let taken = store
        .put_tenant(&tid("t-300"), "ACC-9999", "US", None, now)
        .await
        .unwrap();
    assert!(taken.is_err(), "ACC-9999 belongs to t-100");
    store
        .put_tenant(&tid("t-300"), &before.account_number, "US", None, now)
        .await
        .unwrap()
        .expect("the old number was released");
    // set-pin still finds the record through the pointer.
    set_ok(&app, "t-100", "27182818").await;
    let after = store.get_tenant(&tid("t-100")).await.unwrap().unwrap();
    assert!(
        after.locks.is_empty(),
        "a new PIN ends every carrier's count"
    );
}

#[tokio::test]
async fn no_pin_in_the_table_the_logs_or_the_answers() {
    let _ = captured_logs();
    let (app, store) = app().await;
    // Trace-level logs, SDK wire logs included, are searched.
    let pins = ["48151623", "2718281828", "123456", "4815a623", "77777777"];
    let mut answers = String::new();
    for pin in pins {
        let a = put_pin(&app, "t-100", &json!({ "pin": pin }).to_string()).await;
        answers.push_str(&a.raw);
        answers.push_str(&format!("{:?}", a.headers));
    }
    let get = call(&app, "GET", "/v1/pin", As::Admin("t-100"), None).await;
    answers.push_str(&get.raw);
    let table = dump_table(&store).await;
    let logs = captured_logs();
    assert!(!logs.is_empty(), "logs were captured");
    for pin in pins {
        assert!(!table.contains(pin), "table holds {pin}");
        assert!(!logs.contains(pin), "logs hold {pin}");
        assert!(!answers.contains(pin), "answers hold {pin}");
    }
    assert!(!logs.contains("argon2id"), "no hash in logs");
    assert!(!answers.contains("argon2id"), "no hash in answers");
    assert!(!logs.contains(PEPPER) && !answers.contains(PEPPER));
}

#[tokio::test]
async fn the_event_fixtures_work() {
    let (app, _) = app().await;
    let fixture =
        |raw: &str| portguard_tests::request(&serde_json::from_str(raw).expect("fixture is JSON"));
    let a = answer(
        app.handle(fixture(include_str!("../../events/set-pin-get.json")))
            .await,
    );
    assert_eq!((a.status, a.body["pinSet"].clone()), (200, json!(false)));
    let a = answer(
        app.handle(fixture(include_str!("../../events/set-pin-put.json")))
            .await,
    );
    assert_eq!((a.status, a.body["pinSet"].clone()), (200, json!(true)));
    let a = answer(
        app.handle(fixture(include_str!("../../events/set-pin-delete.json")))
            .await,
    );
    assert_eq!(a.code(), "PIN_CANNOT_BE_REMOVED");
    let a = answer(
        app.handle(fixture(include_str!("../../events/audit-events-list.json")))
            .await,
    );
    assert_eq!(a.body["items"][0]["type"], "pin.set");
}

/// `PUT /v1/pin` remembers a tenant's account number to read the record
/// and the numbers at once; an operator moving the tenant to another
/// account number between two PUTs must not make the second one write the
/// old record or fail.
#[tokio::test]
async fn a_tenant_moved_to_another_account_number_still_sets_its_pin() {
    let (app, store) = app().await;
    set_ok(&app, "t-100", "48151623").await;
    let now = Timestamp::now();
    store
        .put_tenant(&tid("t-100"), "ACC-1009", "US", Some("Moved"), now)
        .await
        .unwrap()
        .unwrap();
    set_ok(&app, "t-100", "2718281828").await;
    let moved = store.tenant_by_account("ACC-1009").await.unwrap().unwrap();
    assert_eq!(moved.tenant_id, "t-100");
    assert!(hasher().verify(
        &portguard_validation::Pin::parse_presented("2718281828").unwrap(),
        moved.pin.as_ref().unwrap()
    ));
    assert!(store.tenant_by_account("ACC-1001").await.unwrap().is_none());
}
