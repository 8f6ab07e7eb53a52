//! Secrets: a broad mix of traffic through all four functions (PINs set,
//! changed, refused as weak, blank or malformed; port-outs with right,
//! wrong and malformed PINs, with idempotent replays, a lockout; webhooks
//! good, forged and stale; reads; the scheduled check; requests against an
//! unreachable table), then every captured log line (trace level, the SDK
//! at info), every response and every table item is searched for every PIN
//! used (valid or not), the pepper and the webhook secrets; logs and
//! responses also for the stored PIN hashes. Generated transfer PINs are
//! issued, listed, used, refused and revoked: each appears in its one `201`
//! and nowhere else.

use portguard_tests::notify_support;
use portguard_tests::support;
use portguard_tests::typed::*;

use portguard_rules::LockPolicy;
use portguard_store::{clock, Store};
use portguard_tests::{
    captured_logs, dump_table, event, event_with, fresh_store, items_with_prefix, Answer, As,
    PEPPER,
};
use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

/// Distinctive PINs (no run of them occurs in phone numbers, ids or times).
const SET_FIRST: &str = "73194655";
const SET_SECOND: &str = "8642097531";
const T200_PIN: &str = "59173048";
const WRONG_GUESSES: [&str; 6] = [
    "61829374",
    "9081726354",
    "3141592653",
    "271828",
    "46372819",
    "5647382910",
];
const WEAK: [&str; 3] = ["777777", "3456789012", "8765432"];
/// Refused before any comparison: letters, signs, unicode digits, too long.
const MALFORMED: [&str; 6] = [
    "7319x84",
    "+73194655",
    "٧٣١٩٤٦٥٥",
    "73 19 46 55",
    "7319465512345",
    "73-19-46",
];

const LOCK: LockPolicy = LockPolicy {
    max_failed_attempts: 3,
    lockout_seconds: 3600,
};

/// Telnyx's door (contract §16): PINs in `attempted_pin`, malformed, wrong,
/// right, as a JSON number, and with a bad signature; every reason Telnyx
/// was sent joins the answers searched.
async fn telnyx_traffic(
    apps: &Apps,
    telnyx: &telnyx_stand_in::StandIn,
    seen: &mut Seen,
    nums: &[String],
) {
    let tx_nums = &nums[10..11];
    let pins = MALFORMED
        .iter()
        .chain(&WRONG_GUESSES[..3])
        .chain([&SET_SECOND]);
    for (i, pin) in pins.enumerate() {
        let (ev, po) = (format!("ev-s-{i}"), format!("po-s-{i}"));
        let body = tx_status(&ev, &po, "pending", tx_nums, Some(pin));
        seen.push(send_submit(apps, &tx_signed(&body)).await);
        let ts = portguard_store::clock::now().to_string();
        let forged = tx_event_with(&body, Some(&ts), Some("AAAA"));
        seen.push(send_submit(apps, &forged).await);
    }
    let number_pin = tx_status("ev-s-n", "po-s-n", "pending", &nums[11..12], None).replace(
        "\"carrier_name\"",
        &format!("\"attempted_pin\":{SET_SECOND},\"carrier_name\""),
    );
    seen.push(send_submit(apps, &tx_signed(&number_pin)).await);
    assert!(!telnyx.rejects().is_empty(), "rejects reached the stand-in");
    seen.0.push(serde_json::to_string(&telnyx.calls()).unwrap());
}

/// `attempted_pin` (contract §16) in no log line, stored item, answer or
/// reason sent to Telnyx, and neither Telnyx key anywhere.
#[tokio::test]
async fn telnyx_attempted_pin_is_never_logged_stored_or_echoed() {
    let _ = captured_logs();
    let store = fresh_store().await;
    let telnyx = telnyx_stand_in().await;
    let apps = apps_with_telnyx(&store, LOCK, &telnyx.base_url());
    let nums = numbers("206", 100, 12);
    tenant_with_pin(&apps, TENANT, ACCOUNT, SET_SECOND, &nums).await;
    let mut seen = Seen(Vec::new());
    telnyx_traffic(&apps, &telnyx, &mut seen, &nums).await;
    let logs = captured_logs();
    assert!(logs.contains("Telnyx event handled"), "the capture works");
    let texts = [
        ("logs", logs),
        ("responses", seen.0.join("\n")),
        ("table", dump_table(&store).await),
    ];
    let mut pins: Vec<&str> = vec![SET_SECOND];
    pins.extend(&WRONG_GUESSES[..3]);
    pins.extend(MALFORMED);
    let mut leaks = Vec::new();
    for (name, text) in &texts {
        for needle in pins.iter().flat_map(|p| needles(p)) {
            if text.contains(&needle) {
                leaks.push(format!("PIN {needle:?} in {name}"));
            }
        }
        for (what, secret) in [
            ("Telnyx API key", portguard_tests::fixtures::TELNYX_API_KEY),
            (
                "Telnyx signing key",
                portguard_tests::fixtures::TELNYX_PRIVATE_KEY,
            ),
        ] {
            if text.contains(secret) {
                leaks.push(format!("{what} in {name}"));
            }
        }
    }
    assert!(leaks.is_empty(), "leaks: {leaks:#?}");
}

struct Seen(Vec<String>);
impl Seen {
    fn push(&mut self, a: Answer) -> Answer {
        assert!(a.status != 500, "{}", a.raw);
        self.0.push(format!("{:?} {}", a.headers, a.raw));
        a
    }
}

/// The distinctive part of a malformed PIN (its digits, or itself).
fn needles(pin: &str) -> Vec<String> {
    let mut v = vec![pin.to_owned()];
    let digits: String = pin.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 6 {
        v.push(digits);
    }
    v
}

async fn issue_transfer_pin(apps: &Apps, nums: &[String]) -> Answer {
    let body = json!({ "phoneNumbers": nums }).to_string();
    send_pin(
        apps,
        &event("POST", "/v1/transfer-pins", As::Admin(TENANT), Some(&body)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pin_pepper_hash_or_webhook_secret_anywhere() {
    let _ = captured_logs();
    let store = fresh_store().await;
    let apps = apps(&store, LOCK);
    let mut seen = Seen(Vec::new());
    let nums = numbers("206", 100, 12);
    portguard_tests::provision(
        &store,
        TENANT,
        ACCOUNT,
        "US",
        &nums.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    portguard_tests::provision(&store, "t-200", "ACC-2002", "US", &["+13125550100"]).await;
    portguard_tests::provision(&store, "t-300", "ACC-3003", "CA", &[]).await;

    // --- set-pin: refused, set, changed, same again, DELETE, non-US, audit.
    for pin in WEAK.iter().chain(MALFORMED.iter()) {
        let a = seen.push(put_pin(&apps, TENANT, pin).await);
        assert_eq!(a.status, 400, "{}", a.raw);
    }
    for body in [
        r#"{"pin":"   "}"#.to_owned(),
        format!(r#"{{"pin":{SET_FIRST}}}"#),
        format!(r#"{{"pin":"{SET_FIRST}""#),
    ] {
        seen.push(
            send_pin(
                &apps,
                &event("PUT", "/v1/pin", As::Admin(TENANT), Some(&body)),
            )
            .await,
        );
    }
    seen.push(put_pin(&apps, "t-300", SET_FIRST).await);
    assert_eq!(
        seen.push(put_pin(&apps, TENANT, SET_FIRST).await).status,
        200
    );
    assert_eq!(
        seen.push(put_pin(&apps, TENANT, SET_FIRST).await).status,
        200
    );
    assert_eq!(
        seen.push(put_pin(&apps, "t-200", T200_PIN).await).status,
        200
    );
    seen.push(
        send_pin(
            &apps,
            &event(
                "DELETE",
                "/v1/pin",
                As::Admin(TENANT),
                Some(&json!({"pin": SET_FIRST}).to_string()),
            ),
        )
        .await,
    );
    seen.push(send_pin(&apps, &event("GET", "/v1/pin", As::Admin(TENANT), None)).await);

    // --- submit-port-out: malformed, wrong, right, idempotent replay,
    // reuse of a key with another PIN, numbers taken, lockout, locked.
    for pin in MALFORMED {
        let a = seen.push(post(&apps, "carrier-a", &port_out_body(ACCOUNT, pin, &nums[..1])).await);
        assert_eq!(a.code(), "INVALID_PIN_FORMAT", "{}", a.raw);
    }
    let a = seen.push(
        send_submit(
            &apps,
            &post_event(
                "carrier-a",
                &port_out_body(ACCOUNT, SET_FIRST, &nums[..2]),
                Some("key-1"),
            ),
        )
        .await,
    );
    assert_eq!(a.status, 201, "{}", a.raw);
    let order = a.body["id"].as_str().unwrap().to_owned();
    let a = seen.push(
        send_submit(
            &apps,
            &post_event(
                "carrier-a",
                &port_out_body(ACCOUNT, SET_FIRST, &nums[..2]),
                Some("key-1"),
            ),
        )
        .await,
    );
    assert_eq!(
        a.headers.get("idempotent-replayed").map(String::as_str),
        Some("true")
    );
    seen.push(
        send_submit(
            &apps,
            &post_event(
                "carrier-a",
                &port_out_body(ACCOUNT, WRONG_GUESSES[0], &nums[..2]),
                Some("key-1"),
            ),
        )
        .await,
    );
    seen.push(
        post(
            &apps,
            "carrier-b",
            &port_out_body(ACCOUNT, SET_FIRST, &nums[..1]),
        )
        .await,
    );
    seen.push(
        post(
            &apps,
            "carrier-b",
            &port_out_body(ACCOUNT, SET_FIRST, &["+13125550100".to_owned()]),
        )
        .await,
    );
    seen.push(
        post(
            &apps,
            "carrier-b",
            &port_out_body("ACC-3003", SET_FIRST, &nums[3..4]),
        )
        .await,
    );
    seen.push(
        post(
            &apps,
            "carrier-b",
            &port_out_body("ACC-404", SET_FIRST, &nums[3..4]),
        )
        .await,
    );
    // A PIN in a malformed body, and in unexpected fields.
    seen.push(
        send_submit(
            &apps,
            &event(
                "POST",
                "/v1/port-outs",
                As::Carrier("carrier-a"),
                Some(&format!(r#"{{"pin":"{SET_FIRST}","accountNumber":"#)),
            ),
        )
        .await,
    );
    seen.push(send_submit(&apps, &event("POST", "/v1/port-outs", As::Carrier("carrier-a"), Some(&json!({"pin": SET_FIRST, "accountNumber": ACCOUNT, "phoneNumbers": [], "pon": "P"}).to_string()))).await);
    seen.push(
        send_submit(
            &apps,
            &event_with(
                "POST",
                "/v1/port-outs",
                "",
                As::Carrier("carrier-a"),
                Some(&port_out_body(ACCOUNT, SET_FIRST, &nums[4..5]).to_string()),
                &[("Idempotency-Key", &"k".repeat(300))],
            ),
        )
        .await,
    );
    // Wrong guesses lock t-100 for carrier-a; then even its right PIN is
    // locked out.
    for pin in &WRONG_GUESSES[..4] {
        seen.push(
            post(
                &apps,
                "carrier-a",
                &port_out_body(ACCOUNT, pin, &nums[5..6]),
            )
            .await,
        );
    }
    let a = seen.push(
        post(
            &apps,
            "carrier-a",
            &port_out_body(ACCOUNT, SET_FIRST, &nums[5..6]),
        )
        .await,
    );
    assert_eq!(a.code(), "PIN_LOCKED", "{}", a.raw);
    for pin in &WRONG_GUESSES[4..] {
        seen.push(
            post(
                &apps,
                "carrier-a",
                &port_out_body("ACC-2002", pin, &["+13125550100".to_owned()]),
            )
            .await,
        );
    }
    // The admin changes the PIN (clears the lock), a port-out with it.
    assert_eq!(
        seen.push(put_pin(&apps, TENANT, SET_SECOND).await).status,
        200
    );
    let a = seen.push(
        post(
            &apps,
            "carrier-b",
            &port_out_body(ACCOUNT, SET_SECOND, &nums[6..8]),
        )
        .await,
    );
    assert_eq!(a.status, 201, "{}", a.raw);
    let order_b = a.body["id"].as_str().unwrap().to_owned();

    // --- transfer PINs: each shown in its one 201 (kept apart from `seen`),
    // listed, used by a port-out, refused when used again, revoked.
    let first = issue_transfer_pin(&apps, &nums[10..12]).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let second = issue_transfer_pin(&apps, &nums[11..12]).await;
    assert_eq!(second.status, 201, "{}", second.raw);
    let transfer_pins: Vec<String> = [&first, &second]
        .iter()
        .map(|a| a.body["pin"].as_str().unwrap().to_owned())
        .collect();
    let transfer_hashes: Vec<String> = store
        .get_tenant(&tid(TENANT))
        .await
        .unwrap()
        .unwrap()
        .transfer_pins
        .iter()
        .map(|e| e.stored.hash.clone())
        .collect();
    assert_eq!(transfer_hashes.len(), 2);
    let issued = [&first, &second].map(|a| format!("{:?} {}", a.headers, a.raw));
    seen.push(
        send_pin(
            &apps,
            &event("GET", "/v1/transfer-pins", As::Admin(TENANT), None),
        )
        .await,
    );
    let a = seen.push(
        post(
            &apps,
            "carrier-a",
            &port_out_body(ACCOUNT, &transfer_pins[0], &nums[10..11]),
        )
        .await,
    );
    assert_eq!(a.status, 201, "{}", a.raw);
    let transfer_pin_order = a.body["id"].as_str().unwrap().to_owned();
    let a = seen.push(
        post(
            &apps,
            "carrier-b",
            &port_out_body(ACCOUNT, &transfer_pins[0], &nums[11..12]),
        )
        .await,
    );
    assert_eq!(a.code(), "PIN_MISMATCH", "used: {}", a.raw);
    let second_id = second.body["id"].as_str().unwrap();
    let a = seen.push(
        send_pin(
            &apps,
            &event(
                "DELETE",
                &format!("/v1/transfer-pins/{second_id}"),
                As::Admin(TENANT),
                None,
            ),
        )
        .await,
    );
    assert_eq!(a.body["status"], "revoked", "{}", a.raw);
    let a = seen.push(
        post(
            &apps,
            "carrier-b",
            &port_out_body(ACCOUNT, &transfer_pins[1], &nums[11..12]),
        )
        .await,
    );
    assert_eq!(a.code(), "PIN_MISMATCH", "revoked: {}", a.raw);
    seen.push(
        send_pin(
            &apps,
            &event_with(
                "GET",
                "/v1/transfer-pins",
                "status=used",
                As::Admin(TENANT),
                None,
                &[],
            ),
        )
        .await,
    );

    // --- protection (contract §11): a locked number refuses the right and a
    // wrong PIN alike; the lock, the settings and the numbers are read.
    let a = seen.push(
        send_pin(
            &apps,
            &event(
                "PATCH",
                &format!("/v1/numbers/{}", nums[8]),
                As::Admin(TENANT),
                Some(r#"{"lock": true}"#),
            ),
        )
        .await,
    );
    assert_eq!(a.status, 200, "{}", a.raw);
    for pin in [SET_SECOND, WRONG_GUESSES[0]] {
        let a = seen.push(
            post(
                &apps,
                "carrier-a",
                &port_out_body(ACCOUNT, pin, &nums[8..9]),
            )
            .await,
        );
        assert_eq!(a.code(), "PORT_OUT_LOCKED", "{}", a.raw);
    }
    for (method, path, body) in [
        (
            "PATCH",
            "/v1/port-out-protection",
            Some(r#"{"transferPinRequired": false, "pin": "48151623"}"#),
        ),
        ("GET", "/v1/port-out-protection", None),
        ("GET", "/v1/numbers", None),
        (
            "PATCH",
            "/v1/numbers/+12065550108",
            Some(r#"{"lock": "48151623"}"#),
        ),
    ] {
        seen.push(send_pin(&apps, &event(method, path, As::Admin(TENANT), body)).await);
    }

    // --- reads.
    for (who, path, q) in [
        (As::Carrier("carrier-a"), "/v1/port-outs", "limit=1"),
        (As::Admin(TENANT), "/v1/port-outs", ""),
        (As::Admin(TENANT), &*format!("/v1/port-outs/{order}"), ""),
    ] {
        seen.push(send_submit(&apps, &event_with("GET", path, q, who, None, &[])).await);
    }
    seen.push(
        send_pin(
            &apps,
            &event_with(
                "GET",
                "/v1/audit-events",
                "limit=100",
                As::Admin(TENANT),
                None,
                &[],
            ),
        )
        .await,
    );

    // --- the tenant's reject (contract §13): a PIN where the reason should be (a
    // number: refused, not echoed), the carrier trying it, and the admin's
    // reject.
    let reject = format!("/v1/port-outs/{transfer_pin_order}/reject");
    for (who, body) in [
        (
            As::Admin(TENANT),
            json!({ "reason": SET_FIRST.parse::<u64>().unwrap() }),
        ),
        (As::Carrier("carrier-a"), json!({ "reason": "not ours" })),
    ] {
        let a = seen
            .push(send_submit(&apps, &event("POST", &reject, who, Some(&body.to_string()))).await);
        assert!(a.status >= 400, "{}", a.raw);
    }
    let a = seen.push(
        send_submit(
            &apps,
            &event(
                "POST",
                &reject,
                As::Admin(TENANT),
                Some(&json!({ "reason": "we did not ask for this" }).to_string()),
            ),
        )
        .await,
    );
    assert_eq!(a.status, 200, "{}", a.raw);

    // --- webhooks: applied, duplicate, forged, stale, malformed, wrong carrier.
    let foc = json!({"type": "port_out.foc_confirmed", "portOutId": order, "focDate": portguard_tests::date_in(7)});
    let good = signed("carrier-a", &foc);
    seen.push(send_webhook(&apps, &good).await);
    seen.push(send_webhook(&apps, &good).await);
    let body = foc.to_string();
    seen.push(
        send_webhook(
            &apps,
            &webhook_event("carrier-a", SECRET_B, "msg_1", clock::now(), &body),
        )
        .await,
    );
    seen.push(
        send_webhook(
            &apps,
            &webhook_event("carrier-a", SECRET_A, "msg_2", clock::now() - 3600, &body),
        )
        .await,
    );
    seen.push(
        send_webhook(
            &apps,
            &webhook_event("carrier-c", SECRET_A, "msg_3", clock::now(), &body),
        )
        .await,
    );
    seen.push(
        send_webhook(
            &apps,
            &signed("carrier-a", &json!({"type": "port_out.completed"})),
        )
        .await,
    );
    seen.push(
        send_webhook(
            &apps,
            &signed(
                "carrier-a",
                &json!({"type": "port_out.completed", "portOutId": order_b}),
            ),
        )
        .await,
    );
    seen.push(
        send_webhook(
            &apps,
            &signed(
                "carrier-b",
                &json!({"type": "port_out.completed", "portOutId": order_b}),
            ),
        )
        .await,
    );

    // --- the scheduled check, far in the future: expires what is open.
    let report = apps
        .check
        .run_check(
            clock::now() + 400 * 3600,
            Instant::now() + Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(report.expired >= 1, "{report:?}");

    // --- an unreachable table: the error path's logs too.
    let down = {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "test",
            ))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        Store::new(aws_sdk_dynamodb::Client::from_conf(config), store.table())
    };
    let down = support::apps(&down, LOCK);
    let a = seen.push(put_pin(&down, TENANT, SET_FIRST).await);
    assert_eq!(a.status, 503);
    let body = json!({ "phoneNumbers": &nums[10..12] }).to_string();
    let a = seen.push(
        send_pin(
            &down,
            &event("POST", "/v1/transfer-pins", As::Admin(TENANT), Some(&body)),
        )
        .await,
    );
    assert_eq!(a.status, 503);
    let a = seen.push(
        post(
            &down,
            "carrier-a",
            &port_out_body(ACCOUNT, SET_SECOND, &nums[9..10]),
        )
        .await,
    );
    assert_eq!(a.status, 503);
    seen.push(send_webhook(&down, &signed("carrier-a", &foc)).await);

    // --- Bandwidth's door (contract §15): PINs in `Pin`, malformed, wrong
    // (locking Bandwidth's carrier out), right, in CDATA, in a body that is
    // not XML, and with wrong credentials.
    let bw_nums = &nums[8..9];
    for pin in MALFORMED.iter().chain(&WRONG_GUESSES[..5]) {
        let ev = bw_event(
            BW_VALIDATION,
            &bw_request(ACCOUNT, pin, "PON-1", bw_nums),
            Some(portguard_tests::BANDWIDTH_BASIC),
        );
        seen.push(send_submit(&apps, &ev).await);
    }
    for body in [
        bw_request(ACCOUNT, SET_SECOND, "PON-2", bw_nums),
        bw_request(ACCOUNT, SET_SECOND, "PON-2", bw_nums).replace(SET_SECOND, &format!("<![CDATA[{SET_SECOND}]]>")),
        format!("<PortOutValidationRequest><Pin>{SET_SECOND}</Pin>"),
        format!("<!DOCTYPE x [<!ENTITY p \"{SET_SECOND}\">]><PortOutValidationRequest><Pin>&p;</Pin></PortOutValidationRequest>"),
    ] {
        let ev = bw_event(BW_VALIDATION, &body, Some(portguard_tests::BANDWIDTH_BASIC));
        seen.push(send_submit(&apps, &ev).await);
        let ev = bw_event(BW_VALIDATION, &body, Some("Basic d3Jvbmc6d3Jvbmc="));
        seen.push(send_submit(&apps, &ev).await);
    }
    let ev = bw_event(
        BW_VALIDATION,
        &bw_request("ACC-2002", T200_PIN, "PON-3", &["+13125550100".to_owned()]),
        Some(portguard_tests::BANDWIDTH_BASIC),
    );
    seen.push(send_submit(&apps, &ev).await);

    // --- the search.
    let logs = captured_logs();
    assert!(logs.contains("port-out accepted"), "the capture works");
    assert!(
        logs.contains("dependency unavailable"),
        "the error path was logged"
    );
    let answers = seen.0.join("\n");
    let table = dump_table(&store).await;
    let hashes: Vec<String> = items_with_prefix(&store, "ACCOUNT#")
        .await
        .iter()
        .filter_map(|i| i.get("pinHash").and_then(|h| h.as_s().ok()).cloned())
        .collect();
    assert_eq!(hashes.len(), 2, "t-100 and t-200 have hashes");
    let mut hashes = hashes;
    hashes.extend(transfer_hashes);
    // Each transfer PIN is in its own 201, and (below) nowhere else.
    for (pin, answer) in transfer_pins.iter().zip(&issued) {
        assert_eq!(answer.matches(pin.as_str()).count(), 1, "{answer}");
    }

    let mut pins: Vec<&str> = vec![SET_FIRST, SET_SECOND, T200_PIN];
    pins.extend(WRONG_GUESSES);
    pins.extend(WEAK);
    pins.extend(MALFORMED);
    pins.extend(transfer_pins.iter().map(String::as_str));
    let mut leaks = Vec::new();
    for (name, text) in [("logs", &logs), ("responses", &answers), ("table", &table)] {
        for pin in &pins {
            for needle in needles(pin) {
                if let Some(at) = text.find(&needle) {
                    let from = text[..at]
                        .char_indices()
                        .rev()
                        .nth(120)
                        .map_or(0, |(i, _)| i);
                    let context: String = text[from..].chars().take(300).collect();
                    leaks.push(format!("PIN {needle:?} in {name}: …{context}…"));
                }
            }
        }
        for (what, secret) in [
            ("pepper", PEPPER),
            ("webhook secret A", SECRET_A.trim_start_matches("whsec_")),
            ("webhook secret B", SECRET_B.trim_start_matches("whsec_")),
            ("a whsec_ secret", "whsec_"),
            ("Telnyx API key", portguard_tests::fixtures::TELNYX_API_KEY),
            (
                "Telnyx signing key",
                portguard_tests::fixtures::TELNYX_PRIVATE_KEY,
            ),
        ] {
            if text.contains(secret) {
                leaks.push(format!("{what} in {name}"));
            }
        }
    }
    for (name, text) in [("logs", &logs), ("responses", &answers)] {
        for hash in &hashes {
            // The whole PHC string and its salt and digest parts.
            for part in std::iter::once(hash.as_str()).chain(hash.rsplit('$').take(2)) {
                if part.len() >= 16 && text.contains(part) {
                    leaks.push(format!("PIN hash part {part:?} in {name}"));
                }
            }
        }
        if text.contains("$argon2") {
            leaks.push(format!("an argon2 hash in {name}"));
        }
    }
    assert!(leaks.is_empty(), "leaks: {leaks:#?}");
    eprintln!(
        "searched {} log bytes, {} responses, {} table bytes for {} PINs, the pepper, 2 secrets, {} hashes",
        logs.len(),
        seen.0.len(),
        table.len(),
        pins.len(),
        hashes.len()
    );
}

/// Notifications: the same kind of traffic (PINs set, changed, wrong,
/// malformed; a lockout; port-outs; webhooks; the scheduled check; endpoint
/// changes and a rotated secret), every audit item delivered from the real
/// stream to the tenant's and the carrier's receivers; then every body and
/// header they got is searched for every PIN, the stored hashes, the pepper
/// and every webhook secret (the endpoints' own included), and the logs for
/// the endpoints' secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pin_hash_or_secret_in_any_notification() {
    use notify_support::{batch, Behaviour, Receiver, StreamReader};
    let _ = captured_logs();
    let store = fresh_store().await;
    let mut stream = StreamReader::new(&store).await;
    let apps = apps(&store, LOCK);
    let endpoints =
        set_pin::App::new(store.clone(), portguard_tests::hasher()).allow_loopback_http(true);
    let tenant_hook = Receiver::start(Behaviour::Status(200)).await;
    let carrier_hook = Receiver::start(Behaviour::Status(200)).await;
    let nums = numbers("206", 700, 4);
    portguard_tests::provision(
        &store,
        TENANT,
        ACCOUNT,
        "US",
        &nums.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let mut endpoint_secrets = Vec::new();
    let put = |body: serde_json::Value| {
        event(
            "PUT",
            "/v1/notification-endpoint",
            As::Admin(TENANT),
            Some(&body.to_string()),
        )
    };
    let a = portguard_tests::answer(
        endpoints
            .handle(portguard_tests::request(&put(
                json!({"url": tenant_hook.url}),
            )))
            .await,
    );
    endpoint_secrets.push(a.body["secret"].as_str().unwrap().to_owned());
    let a = portguard_tests::answer(
        endpoints
            .handle(portguard_tests::request(&put(
                json!({"url": tenant_hook.url, "rotateSecret": true}),
            )))
            .await,
    );
    endpoint_secrets.push(a.body["secret"].as_str().unwrap().to_owned());
    let carrier_secret = portguard_secrets::new_endpoint_secret();
    let now = Timestamp::now();
    store
        .write_endpoint(
            &portguard_store::notify::Target::Carrier(cid("carrier-a")),
            None,
            portguard_store::notify::EndpointChange {
                url: &carrier_hook.url,
                secret: Some(&carrier_secret),
                now,
            },
            None,
        )
        .await
        .unwrap();
    endpoint_secrets.push(carrier_secret);

    for pin in WEAK.iter().chain(MALFORMED.iter()) {
        put_pin(&apps, TENANT, pin).await;
    }
    assert_eq!(put_pin(&apps, TENANT, SET_FIRST).await.status, 200);
    for pin in MALFORMED {
        post(&apps, "carrier-a", &port_out_body(ACCOUNT, pin, &nums[..1])).await;
    }
    for pin in &WRONG_GUESSES[..4] {
        post(&apps, "carrier-b", &port_out_body(ACCOUNT, pin, &nums[..1])).await;
    }
    assert_eq!(put_pin(&apps, TENANT, SET_SECOND).await.status, 200);
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, SET_SECOND, &nums[..2]),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let order = a.body["id"].as_str().unwrap().to_owned();
    let a = post(
        &apps,
        "carrier-a",
        &port_out_body(ACCOUNT, SET_SECOND, &nums[2..3]),
    )
    .await;
    let stale = a.body["id"].as_str().unwrap().to_owned();
    // Bandwidth's door (contract §15): wrong, malformed and right PINs in
    // `Pin`, each audited and notified like the API's.
    for pin in WRONG_GUESSES[4..]
        .iter()
        .chain(&MALFORMED[..2])
        .chain([&SET_SECOND])
    {
        bw_validate(&apps, &bw_request(ACCOUNT, pin, "PON-BW", &nums[3..4])).await;
    }
    let foc = json!({"type": "port_out.foc_confirmed", "portOutId": order, "focDate": portguard_tests::date_in(7)});
    send_webhook(&apps, &signed("carrier-a", &foc)).await;
    apps.check
        .run_check(
            clock::now() + 400 * 3600,
            Instant::now() + Duration::from_secs(30),
        )
        .await
        .unwrap();

    let records = stream.read_at_least(1).await;
    let notifier = notifier::App::new(store.clone(), notifier::Sender::new(true).unwrap());
    let out = notifier.handle(batch(records)).await.unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    let tenant_got = tenant_hook.got();
    let carrier_got = carrier_hook.got();
    assert!(tenant_got.len() >= 10, "{}", tenant_got.len());
    assert!(
        carrier_got.iter().any(|r| r.body.contains(&stale)),
        "the carrier heard of the expiry"
    );
    let sent: String = tenant_got
        .iter()
        .chain(carrier_got.iter())
        .map(|r| {
            let mut headers: Vec<_> = r
                .headers
                .iter()
                .filter(|(k, _)| k.as_str() != "webhook-signature")
                .collect();
            headers.sort();
            format!("{headers:?} {}", r.body)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let hashes: Vec<String> = items_with_prefix(&store, "ACCOUNT#")
        .await
        .iter()
        .filter_map(|i| i.get("pinHash").and_then(|h| h.as_s().ok()).cloned())
        .collect();
    assert_eq!(hashes.len(), 1);
    let logs = captured_logs();

    let mut pins: Vec<&str> = vec![SET_FIRST, SET_SECOND];
    pins.extend(&WRONG_GUESSES[..4]);
    pins.extend(WEAK);
    pins.extend(MALFORMED);
    let mut leaks = Vec::new();
    for pin in &pins {
        for needle in needles(pin) {
            if sent.contains(&needle) {
                leaks.push(format!("PIN {needle:?} in a notification"));
            }
        }
    }
    for hash in &hashes {
        for part in std::iter::once(hash.as_str()).chain(hash.rsplit('$').take(2)) {
            if part.len() >= 16 && sent.contains(part) {
                leaks.push(format!("PIN hash part {part:?} in a notification"));
            }
        }
    }
    for (what, secret) in [
        ("pepper", PEPPER),
        ("webhook secret A", SECRET_A.trim_start_matches("whsec_")),
        ("webhook secret B", SECRET_B.trim_start_matches("whsec_")),
        ("a whsec_ secret", "whsec_"),
        ("an argon2 hash", "$argon2"),
    ] {
        if sent.contains(secret) {
            leaks.push(format!("{what} in a notification"));
        }
    }
    // The table holds only the stored forms of the secrets set-pin issued
    // (contract §14); the carrier's, written by the test as items before
    // derived secrets were, is the one stored as is.
    let table = portguard_tests::dump_table(&store).await;
    for secret in &endpoint_secrets[..2] {
        if table.contains(secret.trim_start_matches("whsec_")) {
            leaks.push("an issued endpoint secret in the table".into());
        }
    }
    assert!(table.matches("derived:v1:").count() >= 2, "stored forms");
    for secret in &endpoint_secrets {
        let key = secret.trim_start_matches("whsec_");
        if sent.contains(key) {
            leaks.push("an endpoint secret in a notification".into());
        }
        if logs.contains(key) {
            leaks.push("an endpoint secret in the logs".into());
        }
    }
    assert!(leaks.is_empty(), "leaks: {leaks:#?}");
    eprintln!(
        "searched {} notifications ({} bytes) for {} PINs, {} hashes, the pepper and {} secrets",
        tenant_got.len() + carrier_got.len(),
        sent.len(),
        pins.len(),
        hashes.len(),
        endpoint_secrets.len() + 2
    );
}

/// A tiny stand-in for the Lambda Runtime API on 127.0.0.1: it hands the
/// runtime `event` once on `GET …/invocation/next`, sends back the body the
/// runtime POSTs to `…/response`, and never answers a second `next` (the
/// test then drops the runtime loop).
mod runtime_api {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;

    pub async fn start(event: String) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::channel(1);
        let served = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(
                    stream,
                    event.clone(),
                    tx.clone(),
                    served.clone(),
                ));
            }
        });
        (addr, rx)
    }

    async fn connection(
        stream: TcpStream,
        event: String,
        responses: mpsc::Sender<String>,
        served: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let mut stream = BufReader::new(stream);
        loop {
            let mut request_line = String::new();
            if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                return;
            }
            let (mut length, mut chunked) = (0usize, false);
            loop {
                let mut line = String::new();
                stream.read_line(&mut line).await.unwrap();
                let line = line.trim_end().to_ascii_lowercase();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                chunked |= line == "transfer-encoding: chunked";
            }
            let mut body = vec![0; length];
            stream.read_exact(&mut body).await.unwrap();
            if chunked {
                loop {
                    let mut size = String::new();
                    stream.read_line(&mut size).await.unwrap();
                    let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                    let mut chunk = vec![0; n + 2];
                    stream.read_exact(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
            }
            let reply = if request_line.contains("/invocation/next") {
                if served.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                let deadline = (std::time::SystemTime::now() + std::time::Duration::from_secs(30))
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis();
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     lambda-runtime-aws-request-id: runtime-loop-req-1\r\n\
                     lambda-runtime-deadline-ms: {deadline}\r\n\
                     lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:set-pin\r\n\
                     content-length: {}\r\n\r\n{event}",
                    event.len()
                )
            } else {
                let _ = responses
                    .send(String::from_utf8_lossy(&body).into_owned())
                    .await;
                "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}".to_owned()
            };
            stream.get_mut().write_all(reply.as_bytes()).await.unwrap();
        }
    }
}

/// The deployed runtime loop (`portguard_api::serve`, lambda_runtime and
/// all) at `LOG_LEVEL=trace`: the runtime traces the raw event, PIN and
/// all, unless `shared/api/src/logging.rs` caps it. One event, loopback
/// only, bounded in time.
#[tokio::test]
async fn the_runtime_loop_at_trace_never_logs_the_pin() {
    captured_logs();
    const RUNTIME_PIN: &str = "60718293";
    let store = fresh_store().await;
    portguard_tests::provision(&store, "t-777", "ACC-7007", "US", &[]).await;
    let app = &set_pin::App::new(store.clone(), portguard_tests::hasher());
    let body = json!({ "pin": RUNTIME_PIN }).to_string();
    let ev = event("PUT", "/v1/pin", As::Admin("t-777"), Some(&body)).to_string();
    let (addr, mut responses) = runtime_api::start(ev).await;
    for (k, v) in [
        ("AWS_LAMBDA_RUNTIME_API", addr.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "set-pin"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ] {
        std::env::set_var(k, v);
    }
    let response = tokio::select! {
        ended = portguard_api::serve("set-pin", |req| async move { app.route(&req).await }) => {
            panic!("the runtime loop ended: {ended:?}")
        }
        response = responses.recv() => response.expect("a response"),
        _ = tokio::time::sleep(Duration::from_secs(30)) => panic!("no response within 30 s"),
    };
    let response: serde_json::Value = serde_json::from_str(&response).unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let logs = captured_logs();
    assert!(
        logs.contains("runtime-loop-req-1"),
        "the request ran inside the runtime's span"
    );
    assert!(
        !logs.contains(RUNTIME_PIN),
        "the PIN reached a log line through the runtime"
    );
}

/// Alert emails (contract §17): a confirmed contact hearing every type is
/// mailed the alerts of PINs set, changed, refused and right, a transfer
/// PIN issued, an endpoint created with its secret; no subject or body
/// holds a PIN, a hash, the pepper, a transfer PIN or a secret, and the
/// confirmation code is in its one email only (not in a log, an answer,
/// the table or another email).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pin_hash_secret_or_code_in_any_email() {
    use notify_support::{batch, StreamReader};
    use portguard_tests::{answer, request, sent_emails_to};
    let _ = captured_logs();
    let store = fresh_store().await;
    if !portguard_tests::needs_ses_local() {
        return;
    }
    let mut stream = StreamReader::new(&store).await;
    let mailer = || {
        portguard_email::Mailer::connect(
            Some(portguard_validation::EmailAddress::parse("alerts@portguard.test").unwrap()),
            "https://console.portguard.test".into(),
            None,
        )
    };
    let apps = apps(&store, LOCK);
    let pin_app = set_pin::App::new(store.clone(), portguard_tests::hasher())
        .allow_loopback_http(true)
        .with_mailer(mailer().await);
    let notifier = notifier::App::new(store.clone(), notifier::Sender::new(true).unwrap())
        .with_mailer(mailer().await);
    let nums = numbers("206", 720, 3);
    portguard_tests::provision(
        &store,
        TENANT,
        ACCOUNT,
        "US",
        &nums.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let mut seen = Seen(Vec::new());
    let admin = |method: &str, path: &str, body: serde_json::Value| {
        event(method, path, As::Admin(TENANT), Some(&body.to_string()))
    };
    let address = format!(
        "sec-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let added = seen.push(answer(
        pin_app
            .handle(request(&admin(
                "POST",
                "/v1/alert-contacts",
                json!({ "email": address }),
            )))
            .await,
    ));
    assert_eq!(added.status, 201, "{}", added.raw);
    let id = added.body["id"].as_str().unwrap().to_owned();
    let code_mail = sent_emails_to(&address).await;
    assert_eq!(code_mail.len(), 1);
    let code: String = code_mail[0]
        .text
        .as_deref()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    let confirmed = seen.push(answer(
        pin_app
            .handle(request(&admin(
                "POST",
                &format!("/v1/alert-contacts/{id}/confirm"),
                json!({ "code": code }),
            )))
            .await,
    ));
    assert_eq!(confirmed.status, 200, "{}", confirmed.raw);

    // Traffic: PINs set and changed, weak and malformed ones refused,
    // wrong and right port-outs, a transfer PIN, an endpoint's secret.
    for pin in WEAK.iter().chain(&MALFORMED[..2]) {
        seen.push(put_pin(&apps, TENANT, pin).await);
    }
    assert_eq!(
        seen.push(put_pin(&apps, TENANT, SET_FIRST).await).status,
        200
    );
    assert_eq!(
        seen.push(put_pin(&apps, TENANT, SET_SECOND).await).status,
        200
    );
    for pin in &WRONG_GUESSES[..2] {
        seen.push(post(&apps, "carrier-a", &port_out_body(ACCOUNT, pin, &nums[..1])).await);
    }
    let right = seen.push(
        post(
            &apps,
            "carrier-a",
            &port_out_body(ACCOUNT, SET_SECOND, &nums[..1]),
        )
        .await,
    );
    assert_eq!(right.status, 201, "{}", right.raw);
    let tp = seen.push(issue_transfer_pin(&apps, &nums[1..2]).await);
    let transfer_pin = tp.body["pin"].as_str().unwrap().to_owned();
    let hook = seen.push(answer(
        pin_app
            .handle(request(&admin(
                "PUT",
                "/v1/notification-endpoint",
                json!({ "url": "http://127.0.0.1:9/hook" }),
            )))
            .await,
    ));
    let endpoint_secret = hook.body["secret"].as_str().unwrap().to_owned();

    // Every item to the notifier, until the stream is quiet.
    let mut records = stream.read_at_least(1).await;
    while !records.is_empty() {
        notifier.handle(batch(records)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        records = stream.read().await;
    }
    let mails = sent_emails_to(&address).await;
    let alerts: Vec<_> = mails
        .iter()
        .filter(|m| m.subject != "portguard: confirm your alert contact")
        .collect();
    assert!(
        alerts.len() >= 8,
        "{:#?}",
        alerts.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let emailed: String = alerts
        .iter()
        .map(|m| {
            format!(
                "{}\n{}\n{}",
                m.subject,
                m.text.as_deref().unwrap_or(""),
                m.html.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let hashes: Vec<String> = items_with_prefix(&store, "ACCOUNT#")
        .await
        .iter()
        .filter_map(|i| i.get("pinHash").and_then(|h| h.as_s().ok()).cloned())
        .collect();
    let code_hash = dump_table(&store).await;
    let logs = captured_logs();

    let mut leaks = Vec::new();
    let mut pins: Vec<&str> = vec![SET_FIRST, SET_SECOND, &transfer_pin];
    pins.extend(&WRONG_GUESSES[..2]);
    pins.extend(WEAK);
    pins.extend(&MALFORMED[..2]);
    for pin in pins {
        for needle in needles(pin) {
            if emailed.contains(&needle) {
                leaks.push(format!("PIN {needle:?} in an email"));
            }
        }
    }
    for hash in &hashes {
        for part in std::iter::once(hash.as_str()).chain(hash.rsplit('$').take(2)) {
            if part.len() >= 16 && emailed.contains(part) {
                leaks.push(format!("PIN hash part {part:?} in an email"));
            }
        }
    }
    for (what, secret) in [
        ("pepper", PEPPER),
        (
            "the endpoint's secret",
            endpoint_secret.trim_start_matches("whsec_"),
        ),
        ("a whsec_ secret", "whsec_"),
        ("an argon2 hash", "$argon2"),
        ("the confirmation code", code.as_str()),
    ] {
        if emailed.contains(secret) {
            leaks.push(format!("{what} in an email"));
        }
    }
    // The code: its one email, nowhere else.
    if logs.contains(&code) {
        leaks.push("the confirmation code in the logs".into());
    }
    if seen.0.iter().any(|a| a.contains(&code)) {
        leaks.push("the confirmation code in an answer".into());
    }
    if code_hash.contains(&format!("\"{code}\"")) || code_hash.contains(&format!(":{code}")) {
        leaks.push("the confirmation code in the table".into());
    }
    assert!(leaks.is_empty(), "leaks: {leaks:#?}");
}
