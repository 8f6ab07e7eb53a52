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

mod support;

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
    // Three wrong guesses lock t-100; then even the right PIN is locked out.
    for pin in &WRONG_GUESSES[..4] {
        seen.push(
            post(
                &apps,
                "carrier-b",
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
        .get_tenant(TENANT)
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

    // --- protection (SPEC 11): a locked number refuses the right and a
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

    // --- webhooks: applied, duplicate, forged, stale, malformed, wrong carrier.
    let foc =
        json!({"type": "port_out.foc_confirmed", "portOutId": order, "focDate": "2026-12-03"});
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
