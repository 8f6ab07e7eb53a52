//! Bandwidth's door (contract §15) on DynamoDB Local: every row of the code
//! table, the order it creates, transfer PINs, per-carrier lockout,
//! resubmissions and their race, authentication, hostile XML and the
//! completion notifications.

use portguard_tests::support;
use portguard_tests::typed::*;

use portguard_store::Store;
use portguard_tests::{
    answer, event, event_with, fresh_store, provision, request, snapshot, As, BANDWIDTH_BASIC,
};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

/// t-100 (US, PIN set, 10 numbers +1206555010x), t-200 (US, no PIN, 3
/// numbers +1312555010x), t-300 (not US, one number +1415555010x).
async fn world() -> Arc<Apps> {
    let store = fresh_store().await;
    let apps = apps(&store, EASY);
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 10)).await;
    let t200 = numbers("312", 100, 3);
    let refs: Vec<&str> = t200.iter().map(String::as_str).collect();
    provision(&store, "t-200", "ACC-2002", "US", &refs).await;
    provision(&store, "t-300", "ACC-3003", "GB", &["+14155550100"]).await;
    apps
}

fn n(i: usize) -> String {
    format!("+1206555{:04}", 100 + i)
}

async fn failed(store: &Store, carrier: &str) -> u32 {
    let t = store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    t.locks.of(carrier).failed_attempts
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

async fn admin(apps: &Apps, method: &str, path: &str, body: &str) -> Value {
    let a = send_pin(apps, &event(method, path, As::Admin(TENANT), Some(body))).await;
    assert!(a.status < 300, "{method} {path}: {}", a.raw);
    a.body
}

#[track_caller]
fn refused(v: &Verdict, code: u16) {
    assert_eq!((v.portable, v.code), (false, Some(code)), "{v:?}");
    let d = v.description.as_deref().unwrap();
    assert!(!d.is_empty() && d.len() <= 100, "{d}");
    assert!(!d.contains(PIN) && !d.contains(WRONG), "{d}");
}

#[tokio::test]
async fn every_row_of_the_code_table_in_order_and_only_a_wrong_pin_counts() {
    let apps = world().await;
    let nums = vec![n(0), n(1)];
    let before = snapshot(&apps.store).await;
    // Checks on the body alone: nothing read, nothing written.
    let body_rows: Vec<(String, u16)> = vec![
        ("<PortOutValidationRequest><Pin>1</Pin".into(), 7598),
        ("<Other/>".into(), 7598),
        (bw_request(ACCOUNT, PIN, "PON-1", &[]), 7598),
        (bw_request(ACCOUNT, PIN, "PON-1", &[n(0), n(0)]), 7598),
        (
            bw_request(ACCOUNT, PIN, "PON-1", &numbers("206", 100, 51)),
            7517,
        ),
        (
            bw_request(ACCOUNT, PIN, "PON-1", &[n(0), "555".into()]),
            7516,
        ),
        (bw_request(ACCOUNT, "", "PON-1", &nums), 7512),
        (bw_request(ACCOUNT, "4815", "PON-1", &nums), 7513),
        (bw_request(ACCOUNT, "48151623x", "PON-1", &nums), 7513),
        (bw_request("", PIN, "PON-1", &nums), 7510),
    ];
    for (body, code) in &body_rows {
        refused(&bw_validate(&apps, body).await, *code);
    }
    assert_eq!(snapshot(&apps.store).await, before, "nothing written");

    // Checks of the decision: the tenant, then its state.
    refused(
        &bw_validate(&apps, &bw_request("ACC-NONE", PIN, "PON-1", &nums)).await,
        7511,
    );
    let gb = bw_request("ACC-3003", PIN, "PON-1", &["+14155550100".into()]);
    refused(&bw_validate(&apps, &gb).await, 7519);
    let t200 = bw_request("ACC-2002", PIN, "PON-1", &numbers("312", 100, 1));
    refused(&bw_validate(&apps, &t200).await, 7512);
    let foreign = bw_request(ACCOUNT, PIN, "PON-1", &[n(0), "+13125550100".into()]);
    refused(&bw_validate(&apps, &foreign).await, 7516);

    admin(
        &apps,
        "PATCH",
        &format!("/v1/numbers/{}", n(0)),
        r#"{"lock": true}"#,
    )
    .await;
    let v = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-1", &nums)).await;
    refused(&v, 7519);
    assert!(v.description.unwrap().contains("locked"));
    assert_eq!(
        failed(&apps.store, BANDWIDTH).await,
        0,
        "nothing counted so far"
    );

    // A wrong PIN counts for Bandwidth's carrier only.
    let v = bw_validate(&apps, &bw_request(ACCOUNT, WRONG, "PON-1", &[n(2)])).await;
    refused(&v, 7513);
    assert_eq!(v.pon.as_deref(), Some("PON-1"), "a valid PON is echoed");
    assert_eq!(failed(&apps.store, BANDWIDTH).await, 1);
    assert_eq!(failed(&apps.store, "carrier-a").await, 0);

    // An order of another carrier holds a number: in progress.
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(3)])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    refused(
        &bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-1", &[n(3)])).await,
        7519,
    );

    // Right: portable, and an order exactly as POST /v1/port-outs makes.
    let v = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-7781", &[n(4), n(5)])).await;
    assert_eq!(
        (v.portable, v.pon.as_deref()),
        (true, Some("PON-7781")),
        "{v:?}"
    );
    assert_eq!(
        failed(&apps.store, BANDWIDTH).await,
        0,
        "a right PIN resets"
    );
    let orders = orders_of(&apps, TENANT).await;
    let bw: Vec<&Value> = orders
        .iter()
        .filter(|o| o["source"] == "bandwidth")
        .collect();
    assert_eq!(bw.len(), 1, "{orders:?}");
    assert_eq!(bw[0]["carrierId"], BANDWIDTH);
    assert_eq!(bw[0]["pon"], "PON-7781");
    assert_eq!(bw[0]["externalId"], Value::Null);
    assert_eq!(bw[0]["phoneNumbers"], json!([n(4), n(5)]));
    assert_eq!(bw[0]["status"], "pending");
    let api: Vec<&Value> = orders.iter().filter(|o| o["source"] == "api").collect();
    assert_eq!(api.len(), 1, "the API's order says so too");

    // Without a valid PON: an order with pon null, nothing echoed.
    let v = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "not a pon!", &[n(6)])).await;
    assert_eq!((v.portable, v.pon), (true, None));
    let orders = orders_of(&apps, TENANT).await;
    assert!(orders
        .iter()
        .any(|o| o["phoneNumbers"] == json!([n(6)]) && o["pon"].is_null()));
}

#[tokio::test]
async fn lockout_is_bandwidths_alone_and_a_locked_carrier_hears_7513() {
    let apps = world().await;
    for _ in 0..EASY.max_failed_attempts {
        let v = bw_validate(&apps, &bw_request(ACCOUNT, WRONG, "PON-1", &[n(0)])).await;
        refused(&v, 7513);
    }
    // Locked: even the right PIN is refused, and nothing more is counted.
    let v = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-1", &[n(0)])).await;
    refused(&v, 7513);
    assert!(v.description.unwrap().contains("too many"));
    let t = apps.store.get_tenant(&tid(TENANT)).await.unwrap().unwrap();
    let now = portguard_store::clock::now();
    assert!(t.locks.of(BANDWIDTH).status(now).is_locked());
    assert!(!t.locks.of("carrier-a").status(now).is_locked());
    // Another carrier is not locked out.
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(1)])).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    // The tenant sees Bandwidth's carrier among the locked ones.
    let a = send_pin(&apps, &event("GET", "/v1/pin", As::Admin(TENANT), None)).await;
    assert_eq!(
        a.body["lockedCarriers"][0]["carrierId"], BANDWIDTH,
        "{}",
        a.raw
    );
}

#[tokio::test]
async fn a_transfer_pin_opens_one_validation_and_is_used() {
    let apps = world().await;
    let nums = vec![n(0), n(1)];
    let issued = admin(
        &apps,
        "POST",
        "/v1/transfer-pins",
        &json!({ "phoneNumbers": nums }).to_string(),
    )
    .await;
    let (id, pin) = (
        issued["id"].as_str().unwrap(),
        issued["pin"].as_str().unwrap(),
    );
    let v = bw_validate(&apps, &bw_request(ACCOUNT, pin, "PON-1", &nums)).await;
    assert!(v.portable, "{v:?}");
    let listed = send_pin(
        &apps,
        &event("GET", "/v1/transfer-pins", As::Admin(TENANT), None),
    )
    .await;
    let item = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
        .unwrap();
    assert_eq!(item["status"], "used", "{item}");
    // Used: it opens nothing else (n(2) is free, the PIN is spent).
    let v = bw_validate(&apps, &bw_request(ACCOUNT, pin, "PON-2", &[n(2)])).await;
    refused(&v, 7513);
}

#[tokio::test]
async fn a_resubmission_answers_true_again_and_creates_and_counts_nothing() {
    let apps = world().await;
    let nums = vec![n(0), n(1)];
    let first = bw_request(ACCOUNT, PIN, "PON-9", &nums);
    assert!(bw_validate(&apps, &first).await.portable);
    let after_first = snapshot(&apps.store).await;
    // The same again, the numbers in another order and another spelling,
    // even with a wrong PIN: recognised before the PIN is looked at.
    let again = bw_request(ACCOUNT, PIN, "PON-9", &[n(1), n(0)]);
    assert!(bw_validate(&apps, &again).await.portable);
    let wrong = bw_request(ACCOUNT, WRONG, "PON-9", &nums);
    assert!(bw_validate(&apps, &wrong).await.portable);
    assert_eq!(snapshot(&apps.store).await, after_first, "nothing written");
    assert_eq!(failed(&apps.store, BANDWIDTH).await, 0);
    // Another PON, or part of the numbers, is another port-out.
    refused(
        &bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-10", &nums)).await,
        7519,
    );
    refused(
        &bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-9", &[n(0)])).await,
        7519,
    );
    // portguard's own API never repeats an order this way.
    let a = post(&apps, BANDWIDTH, &port_out_body(ACCOUNT, PIN, &nums)).await;
    a.expect_error(409, "PORT_OUT_IN_PROGRESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_identical_validations_racing_make_one_order_and_both_say_true() {
    for round in 0..3 {
        let apps = world().await;
        let nums = vec![n(round), n(round + 3)];
        let body = bw_request(ACCOUNT, PIN, "PON-RACE", &nums);
        let (a, b) = tokio::join!(
            tokio::spawn({
                let (apps, body) = (apps.clone(), body.clone());
                async move { bw_validate(&apps, &body).await }
            }),
            tokio::spawn({
                let (apps, body) = (apps.clone(), body.clone());
                async move { bw_validate(&apps, &body).await }
            }),
        );
        assert!(a.unwrap().portable && b.unwrap().portable);
        let orders = orders_of(&apps, TENANT).await;
        assert_eq!(orders.len(), 1, "{orders:?}");
        assert_eq!(failed(&apps.store, BANDWIDTH).await, 0);
    }
}

#[tokio::test]
async fn basic_authentication_challenges_refuses_and_fails_closed() {
    let _ = portguard_tests::captured_logs();
    let apps = world().await;
    let body = bw_request(ACCOUNT, PIN, "PON-1", &[n(0)]);
    let before = snapshot(&apps.store).await;
    for path in [BW_VALIDATION, BW_NOTIFICATIONS] {
        let a = send_submit(&apps, &bw_event(path, &body, None)).await;
        a.expect_error(401, "UNAUTHENTICATED");
        assert_eq!(a.headers["www-authenticate"], "Basic realm=\"portguard\"");
    }
    let wrong = "Basic YmFuZHdpZHRoOndyb25nLXBhc3N3b3JkLXdyb25nLXdyb25n";
    // Validation: a well-formed no, the body unread.
    let a = send_submit(&apps, &bw_event(BW_VALIDATION, &body, Some(wrong))).await;
    let v = Verdict::of(&a);
    assert_eq!((v.portable, v.code, v.pon), (false, Some(7598), None));
    let a = send_submit(&apps, &bw_event(BW_NOTIFICATIONS, "<x/>", Some(wrong))).await;
    a.expect_error(401, "UNAUTHENTICATED");
    // Counted (IntegrationAuthFailed) on the branch that logs this.
    assert!(portguard_tests::captured_logs().contains("wrong Basic credentials"));
    for bearer in ["Bearer abc", "Basic", "Basic !!!"] {
        let a = send_submit(&apps, &bw_event(BW_VALIDATION, &body, Some(bearer))).await;
        assert_eq!(Verdict::of(&a).code, Some(7598));
    }
    // Another method; and a function without Bandwidth configured.
    let get = event_with(
        "GET",
        BW_VALIDATION,
        "",
        As::Nobody,
        None,
        &[("authorization", BANDWIDTH_BASIC)],
    );
    send_submit(&apps, &get)
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    let plain = submit_port_out::App::new(apps.store.clone(), portguard_tests::hasher(), EASY);
    let a = answer(
        plain
            .handle(request(&bw_event(
                BW_VALIDATION,
                &body,
                Some(BANDWIDTH_BASIC),
            )))
            .await,
    );
    a.expect_error(404, "NOT_FOUND");
    assert_eq!(snapshot(&apps.store).await, before, "nothing written");
}

#[tokio::test]
async fn hostile_xml_is_a_well_formed_no_and_writes_nothing() {
    let apps = world().await;
    let deep = format!(
        "<PortOutValidationRequest>{}{}</PortOutValidationRequest>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    let good = bw_request(ACCOUNT, PIN, "PON-1", &[n(0)]);
    let big = format!("{good}{}", " ".repeat(64 * 1024 + 1 - good.len()));
    let billion = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
        <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\
        <PortOutValidationRequest><Pin>&lol2;</Pin></PortOutValidationRequest>";
    let xxe = format!(
        "<!DOCTYPE r [<!ENTITY pin SYSTEM \"file:///etc/passwd\">]>{}",
        good.replace(PIN, "&pin;")
    );
    let attributes = format!(
        "<PortOutValidationRequest Pin=\"{PIN}\" AccountNumber=\"{ACCOUNT}\">\
         <TelephoneNumbers TelephoneNumber=\"2065550100\"/></PortOutValidationRequest>"
    );
    let before = snapshot(&apps.store).await;
    for body in [
        billion,
        &xxe,
        &deep,
        &big,
        &attributes,
        &good.replace("<PON>", "<PON>&undefined;"),
    ] {
        let v = bw_validate(&apps, body).await;
        assert_eq!(v.code, Some(7598), "{}", &body[..body.len().min(120)]);
    }
    // Over 64 KiB through the runtime's own size check: still no 413.
    let ev = bw_event(BW_VALIDATION, &big, Some(BANDWIDTH_BASIC));
    let resp = portguard_api::answer_event_with(
        |r| apps.submit.handle(r),
        |r| apps.submit.too_large(r),
        ev,
    )
    .await;
    assert_eq!(Verdict::of(&answer(resp)).code, Some(7598));
    // Bytes that are not UTF-8.
    let mut ev = bw_event(BW_VALIDATION, "", Some(BANDWIDTH_BASIC));
    use base64::Engine;
    ev["body"] = json!(base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b'<', 0x80]));
    ev["isBase64Encoded"] = json!(true);
    assert_eq!(
        Verdict::of(&answer(apps.submit.handle(request(&ev)).await)).code,
        Some(7598)
    );
    assert_eq!(snapshot(&apps.store).await, before, "nothing written");
    // CDATA is text: the right PIN in it is the right PIN.
    let cdata = good.replace(
        &format!("<Pin>{PIN}</Pin>"),
        &format!("<Pin><![CDATA[{PIN}]]></Pin>"),
    );
    assert!(bw_validate(&apps, &cdata).await.portable);
}

async fn notify(apps: &Apps, status: &str, nums: &[String]) -> portguard_tests::Answer {
    let numbers = bw_numbers(nums);
    let body = format!(
        "<Notification><OrderType>portouts</OrderType><OrderId>bw-1</OrderId>\
         <Status>{status}</Status><CompletedTelephoneNumbers>{numbers}\
         </CompletedTelephoneNumbers></Notification>"
    );
    send_submit(
        apps,
        &bw_event(BW_NOTIFICATIONS, &body, Some(BANDWIDTH_BASIC)),
    )
    .await
}

#[tokio::test]
async fn a_complete_notification_closes_the_order_once() {
    let apps = world().await;
    assert!(
        bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-1", &[n(0), n(1)]))
            .await
            .portable
    );
    let a = post(&apps, "carrier-a", &port_out_body(ACCOUNT, PIN, &[n(2)])).await;
    assert_eq!(a.status, 201, "{}", a.raw);

    // Not a completion, or numbers of no Bandwidth order: nothing changes.
    let before = snapshot(&apps.store).await;
    assert_eq!(notify(&apps, "FOC", &[n(0)]).await.status, 200);
    assert_eq!(notify(&apps, "COMPLETE", &[n(2), n(9)]).await.status, 200);
    assert_eq!(snapshot(&apps.store).await, before);
    let bad = send_submit(
        &apps,
        &bw_event(BW_NOTIFICATIONS, "<Notification>", Some(BANDWIDTH_BASIC)),
    )
    .await;
    bad.expect_error(400, "INVALID_EVENT");

    // Only n(0) ported: it leaves the inventory, n(1) is freed.
    let a = notify(&apps, "COMPLETE", &[n(0)]).await;
    assert_eq!((a.status, a.raw.as_str()), (200, ""));
    let orders = orders_of(&apps, TENANT).await;
    let bw = orders.iter().find(|o| o["source"] == "bandwidth").unwrap();
    assert_eq!(
        (bw["status"].as_str(), bw["closedBy"].as_str()),
        (Some("completed"), Some("carrier"))
    );
    assert_eq!(apps.store.number_owner(&num(&n(0))).await.unwrap(), None);
    let n1 = apps.store.number_records(&[num(&n(1))]).await.unwrap();
    assert_eq!(
        (n1[0].tenant_id.as_str(), n1[0].open_port_out_id.as_ref()),
        (TENANT, None)
    );
    // carrier-a's order is untouched; a second delivery changes nothing.
    assert!(orders
        .iter()
        .any(|o| o["source"] == "api" && o["status"] == "pending"));
    let after = snapshot(&apps.store).await;
    assert_eq!(notify(&apps, "COMPLETE", &[n(0)]).await.status, 200);
    assert_eq!(snapshot(&apps.store).await, after);
    // Audited as any transition, by Bandwidth's carrier.
    let trail = send_pin(&apps, &portguard_tests::audit_trail_event(TENANT)).await;
    let changed: Vec<&Value> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "port_out.status_changed")
        .collect();
    assert_eq!(changed.len(), 1, "{}", trail.raw);
    assert_eq!(
        changed[0]["actor"],
        json!({"kind": "carrier", "id": BANDWIDTH})
    );
}
