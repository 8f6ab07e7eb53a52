//! Attack scenarios: one scripted attack per row of the attacker table
//! (issue 23, docs/attacks.md), run against the local stack — the functions
//! in-process on DynamoDB Local, the notifier fed by the table's stream as
//! it is written, alerts read back from the local SES and a loopback
//! webhook receiver. Each prints (`--nocapture`) what the attacker achieved
//! and how long after the first attack request the tenant had its first
//! notice, and asserts the defences.
//!
//! Each scenario is bounded (a few seconds), loopback only, and ends by
//! itself. Without DynamoDB Local the binary skips (`fresh_store`); without
//! the local SES each test returns at once (`needs_ses_local`); `make test`
//! requires both.

use portguard_tests::notify_support;
#[path = "attacks/stage.rs"]
mod stage;
use portguard_tests::support;

use notify_support::{Behaviour, Receiver};
use portguard_rules::LockPolicy;
use portguard_tests::{event, As};
use serde_json::{json, Value};
use stage::*;
use std::time::{Duration, Instant};
use support::*;

/// The tenant's PIN after it recovers from a hard lock.
const NEW_PIN: &str = "27182818";

/// Whether `b` (a webhook body) is a refused attempt of `carrier` with `code`.
fn rejected(b: &Value, carrier: &str, code: &str) -> bool {
    b["type"] == "port_out.rejected"
        && b["data"]["code"] == code
        && b["data"]["actor"]["id"] == carrier
}

/// Whether `i` (an audit item) is a refused attempt of `carrier` with `code`.
fn rejected_item(i: &Value, carrier: &str, code: &str) -> bool {
    i["type"] == "port_out.rejected" && i["code"] == code && i["actor"]["id"] == carrier
}

fn pin_locked_item(i: &Value, carrier: &str) -> bool {
    i["type"] == "pin.locked" && i["actor"]["id"] == carrier
}

async fn orders(apps: &Apps) -> Vec<Value> {
    let a = send_submit(
        apps,
        &event("GET", "/v1/port-outs", As::Admin(TENANT), None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body["items"].as_array().unwrap().clone()
}

/// The tenant heard of audit item `id` at its endpoint and by email: a
/// line for the report.
async fn heard(stage: &Stage, id: &str, what: &str) -> String {
    stage.webhook_of(id).await;
    let mail = stage.email_of(id).await;
    format!("{what}: webhook and email \"{}\"", mail.subject)
}

// ---------------------------------------------------------------------------
// 1. Account number + numbers: a gaining carrier guessing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn attack_1_account_number_and_numbers_a_gaining_carrier_guessing() {
    let mut report = Report::new("attack 1: account number + numbers (a gaining carrier guessing)");
    let Some(stage) = Stage::new(Setup {
        policy: EASY,
        telnyx: false,
        contact_types: None,
    })
    .await
    else {
        return;
    };
    report.line(
        "attacker",
        format!(
            "carrier-a's token, account {ACCOUNT} and {} from a bill; guesses PINs",
            n(0)
        ),
    );
    let mail = stage.watch_email(|m| m.subject.contains("wrong PIN"));

    let t0 = Instant::now();
    let mut guesses = 0;
    let locked = loop {
        assert!(guesses < 20, "never locked after {guesses} guesses");
        let a = port(&stage.apps, "carrier-a", &guess(guesses), &[n(0)]).await;
        guesses += 1;
        match a.status {
            422 => assert_eq!(a.code(), "PIN_MISMATCH", "{}", a.raw),
            429 => {
                assert_eq!(a.code(), "PIN_LOCKED", "{}", a.raw);
                break a;
            }
            _ => panic!("guess {guesses}: {}", a.raw),
        }
    };
    let attack_took = t0.elapsed();
    assert_eq!(
        guesses, EASY.max_failed_attempts as usize,
        "locked at the limit"
    );
    let retry = retry_after(&locked).expect("a timed lock says when it ends");
    assert!((3590..=3600).contains(&retry), "Retry-After {retry}");

    // Locked: the right PIN is refused too, for that carrier.
    let right = port(&stage.apps, "carrier-a", PIN, &[n(0)]).await;
    right.expect_error(429, "PIN_LOCKED");
    assert!(orders(&stage.apps).await.is_empty(), "no order opened");
    let status = stage.pin_status().await;
    let locked_out = locked_carriers(&status);
    assert_eq!(locked_out.len(), 1, "{status}");
    assert_eq!(locked_out[0].0, "carrier-a");
    assert!(locked_out[0].1.is_string(), "a timed lock: {status}");

    // The tenant heard of the very first wrong PIN, at its endpoint and by
    // email, and of the lock.
    let first = stage
        .first_audit(|i| rejected_item(i, "carrier-a", "PIN_MISMATCH"))
        .await;
    let first_hook = stage
        .first_webhook(t0, |b| {
            rejected(b, "carrier-a", "PIN_MISMATCH") || b["type"] == "pin.locked"
        })
        .await;
    let (mail_seen, first_mail) = mail.wait().await;
    let heard_first = heard(&stage, &first, "the first wrong PIN").await;
    let lock = stage.first_audit(|i| pin_locked_item(i, "carrier-a")).await;
    let heard_lock = heard(&stage, &lock, "the lock").await;

    report.line(
        "achieved",
        format!(
            "{guesses} guesses in {}, none right; guess {guesses} locked carrier-a out \
             (429 PIN_LOCKED, Retry-After {retry} s); the right PIN then: 429 PIN_LOCKED; orders opened: 0",
            ms(attack_took)
        ),
    );
    report.line(
        "defence",
        format!("lockedCarriers {}", status["lockedCarriers"]),
    );
    report.line(
        "notice",
        format!(
            "webhook {} after {}; email \"{}\" seen after {}",
            first_hook.json()["type"].as_str().unwrap(),
            ms(first_hook.at - t0),
            first_mail.subject,
            ms(mail_seen - t0)
        ),
    );
    report.line("heard", heard_first);
    report.line("heard", heard_lock);
    stage.finish().await;
    report.print();
}

// ---------------------------------------------------------------------------
// 2. One carrier's token
// ---------------------------------------------------------------------------

/// Timed locks of one second, so that three of them (the third is hard)
/// fit in a few seconds.
const QUICK: LockPolicy = LockPolicy {
    max_failed_attempts: 5,
    lockout_seconds: 1,
};

#[tokio::test]
async fn attack_2_one_carriers_token_cannot_lock_the_tenant_out_for_another() {
    let mut report =
        Report::new("attack 2: one carrier's token (lock the tenant out for everyone)");
    let Some(stage) = Stage::new(Setup {
        policy: QUICK,
        telnyx: false,
        // Within the 30 emails an hour of one contact, whatever the attack.
        contact_types: Some(json!(["port_out.rejected", "pin.locked", "pin.changed"])),
    })
    .await
    else {
        return;
    };
    report.line(
        "attacker",
        "carrier-a's stolen token; guesses on through every timed lock until the hard lock",
    );
    let mail = stage.watch_email(|m| m.subject.contains("wrong PIN"));
    let apps = stage.apps.clone();

    let t0 = Instant::now();
    // Carrier A guesses on, waiting out each timed lock; carrier B ports
    // with the right PIN meanwhile.
    let attacker = async {
        let (mut guesses, mut locks) = (0usize, Vec::new());
        loop {
            assert!(guesses < 40, "no hard lock after {guesses} guesses");
            let a = port(&apps, "carrier-a", &guess(guesses), &[n(0)]).await;
            guesses += 1;
            match (a.status, a.code()) {
                (422, "PIN_MISMATCH") => {}
                (429, "PIN_LOCKED") => match retry_after(&a) {
                    Some(s) => {
                        locks.push(format!("timed {s} s"));
                        tokio::time::sleep(Duration::from_secs(s)).await;
                    }
                    None => {
                        locks.push("hard".to_owned());
                        break;
                    }
                },
                _ => panic!("guess {guesses}: {}", a.raw),
            }
        }
        (guesses, locks)
    };
    let other = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        port(&apps, "carrier-b", PIN, &[n(5)]).await
    };
    let ((guesses, locks), during) = tokio::join!(attacker, other);
    let attack_took = t0.elapsed();
    assert_eq!(
        during.status, 201,
        "carrier B during the attack: {}",
        during.raw
    );
    assert_eq!(guesses, 15, "three locks of five wrong PINs each");
    assert_eq!(locks, ["timed 1 s", "timed 1 s", "hard"]);

    // Hard-locked: carrier A's right PIN is refused, with no end given.
    let right = port(&apps, "carrier-a", PIN, &[n(0)]).await;
    right.expect_error(429, "PIN_LOCKED");
    assert_eq!(retry_after(&right), None, "a hard lock has no end");
    // Every other carrier and door still ports with the right PIN.
    let b = port(&apps, "carrier-b", PIN, &[n(6)]).await;
    assert_eq!(b.status, 201, "carrier B after the hard lock: {}", b.raw);
    let bw = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-9", &[n(7)])).await;
    assert!(bw.portable, "Bandwidth after the hard lock: {bw:?}");
    let status = stage.pin_status().await;
    assert_eq!(
        locked_carriers(&status),
        [("carrier-a".to_owned(), Value::Null)],
        "{status}"
    );
    assert_eq!(status["lockedUntil"], Value::Null, "{status}");

    // Only the tenant ends it, with a new PIN.
    let same = admin_call(&apps, "PUT", "/v1/pin", Some(json!({ "pin": PIN }))).await;
    same.expect_error(400, "PIN_UNCHANGED");
    let new = admin_call(&apps, "PUT", "/v1/pin", Some(json!({ "pin": NEW_PIN }))).await;
    assert_eq!(new.status, 200, "{}", new.raw);
    assert_eq!(new.body["lockedCarriers"], json!([]), "{}", new.raw);
    let a = port(&apps, "carrier-a", NEW_PIN, &[n(8)]).await;
    assert_eq!(a.status, 201, "carrier A with the new PIN: {}", a.raw);

    let first = stage
        .first_audit(|i| rejected_item(i, "carrier-a", "PIN_MISMATCH"))
        .await;
    let first_hook = stage
        .first_webhook(t0, |b| rejected(b, "carrier-a", "PIN_MISMATCH"))
        .await;
    let (mail_seen, first_mail) = mail.wait().await;
    let heard_first = heard(&stage, &first, "the first wrong PIN").await;
    let hard = stage
        .first_audit(|i| pin_locked_item(i, "carrier-a") && i["until"].is_null())
        .await;
    let heard_hard = heard(&stage, &hard, "the hard lock").await;
    let locks_audited = stage
        .trail()
        .await
        .iter()
        .filter(|i| pin_locked_item(i, "carrier-a"))
        .count();
    assert_eq!(locks_audited, 3);

    report.line(
        "achieved",
        format!(
            "{guesses} wrong PINs in {}: locks {} for carrier-a only; its right PIN then: 429 PIN_LOCKED \
             (no Retry-After); shut out nobody else",
            ms(attack_took),
            locks.join(", ")
        ),
    );
    report.line(
        "defence",
        format!(
            "carrier-b ported during the attack (201) and after it (201), Bandwidth portable; \
             lockedCarriers {}; the same PIN again: 400 PIN_UNCHANGED; a new PIN ends the lock",
            status["lockedCarriers"]
        ),
    );
    report.line(
        "notice",
        format!(
            "webhook port_out.rejected after {}; email \"{}\" seen after {}",
            ms(first_hook.at - t0),
            first_mail.subject,
            ms(mail_seen - t0)
        ),
    );
    report.line("heard", heard_first);
    report.line("heard", heard_hard);
    stage.finish().await;
    report.print();
}

// ---------------------------------------------------------------------------
// 3. A tenant admin's stolen session
// ---------------------------------------------------------------------------

#[tokio::test]
async fn attack_3_a_tenant_admins_stolen_session() {
    let mut report = Report::new("attack 3: a tenant admin's stolen session");
    let Some(stage) = Stage::new(Setup {
        policy: EASY,
        telnyx: false,
        contact_types: None,
    })
    .await
    else {
        return;
    };
    let apps = stage.apps.clone();
    // Before the attack the tenant had locked its account.
    let before = Instant::now();
    let on = stage
        .admin(
            "PATCH",
            "/v1/port-out-protection",
            Some(json!({"lock": true})),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.raw);
    stage
        .first_webhook(before, |b| b["type"] == "protection.enabled")
        .await;
    report.line(
        "attacker",
        "the admin's session (and a carrier ready to port); the tenant's account lock is on",
    );

    // (a) Unlock and port at once.
    let mail = stage.watch_email(|m| {
        m.subject
            .starts_with("portguard: Turning off port-out protection requested")
    });
    let t0 = Instant::now();
    let off = stage
        .admin(
            "PATCH",
            "/v1/port-out-protection",
            Some(json!({"lock": false})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.raw);
    assert_eq!(off.body["lock"]["enabled"], true, "still on: {}", off.raw);
    let asked = clock_of(&off.body["updatedAt"]);
    let disable_at = clock_of(&off.body["lock"]["disableAt"]);
    let delay = disable_at - asked;
    assert_eq!(delay, 86_400, "the app's default delay: {}", off.raw);
    let api = port(&apps, "carrier-a", PIN, &[n(0)]).await;
    api.expect_error(422, "PORT_OUT_LOCKED");
    let bw = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-9", &[n(1)])).await;
    assert_eq!((bw.portable, bw.code), (false, Some(7519)), "{bw:?}");
    // A transfer PIN of its own does not open the lock either.
    let tp = stage
        .admin(
            "POST",
            "/v1/transfer-pins",
            Some(json!({"phoneNumbers": [n(2)]})),
        )
        .await;
    assert_eq!(tp.status, 201, "{}", tp.raw);
    let with_tp = port(
        &apps,
        "carrier-a",
        tp.body["pin"].as_str().unwrap(),
        &[n(2)],
    )
    .await;
    with_tp.expect_error(422, "PORT_OUT_LOCKED");
    // Asking again brings the turn-off no closer.
    let again = stage
        .admin(
            "PATCH",
            "/v1/port-out-protection",
            Some(json!({"lock": false})),
        )
        .await;
    assert_eq!(
        again.body["lock"]["disableAt"],
        off.body["lock"]["disableAt"]
    );
    assert!(orders(&apps).await.is_empty(), "no order opened");

    let requested = stage
        .first_audit(|i| i["type"] == "protection.disable_requested")
        .await;
    let first_hook = stage.first_webhook(t0, |_| true).await;
    let (mail_seen, first_mail) = mail.wait().await;
    let heard_off = heard(&stage, &requested, "the turn-off").await;
    let refused = stage
        .first_audit(|i| rejected_item(i, "carrier-a", "PORT_OUT_LOCKED"))
        .await;
    let heard_refused = heard(&stage, &refused, "the refused port-out").await;
    report.line(
        "achieved",
        format!(
            "lock off asked: takes effect in {} h (disableAt {}); port-out at once: 422 PORT_OUT_LOCKED \
             (API, transfer PIN of its own) and Bandwidth 7519; asking again: same disableAt; orders opened: 0",
            delay / 3600,
            off.body["lock"]["disableAt"].as_str().unwrap()
        ),
    );
    report.line(
        "notice",
        format!(
            "webhook {} after {}; email \"{}\" seen after {}",
            first_hook.json()["type"].as_str().unwrap(),
            ms(first_hook.at - t0),
            first_mail.subject,
            ms(mail_seen - t0)
        ),
    );
    report.line("heard", heard_off);
    report.line("heard", heard_refused);

    // (b) An alert contact of the attacker's: the existing contact and
    // endpoint hear of it.
    let thief = address("thief");
    let added_subject = format!("portguard: Alert contact added: {thief}");
    let mail = stage.watch_email(move |m| m.subject == added_subject);
    let t1 = Instant::now();
    confirm_contact(&apps, &thief, None, stage.since).await;
    let added = stage
        .first_audit(|i| i["type"] == "alert_contact.added" && i["email"] == thief.as_str())
        .await;
    let hook_added = stage.webhook_of(&added).await;
    let (added_seen, _) = mail.wait().await;
    let confirmed = stage
        .first_audit(|i| i["type"] == "alert_contact.confirmed" && i["email"] == thief.as_str())
        .await;
    let heard_confirmed = heard(&stage, &confirmed, "its confirmation").await;
    report.line(
        "achieved",
        format!("an alert contact of its own ({thief}), confirmed with the code it received"),
    );
    report.line(
        "notice",
        format!(
            "the existing endpoint got alert_contact.added after {}; the existing contact \
             the email \"Alert contact added: …\" after {}",
            ms(hook_added.at - t1),
            ms(added_seen - t1)
        ),
    );
    report.line("heard", heard_confirmed);

    // (c) The webhook pointed at the attacker's receiver: the existing
    // contact hears of it by email, and the endpoint as it was before
    // should hear of it too (contract §14, issue 23).
    let theirs = Receiver::start(Behaviour::Status(200)).await;
    let mail = stage.watch_email(|m| m.subject == "portguard: Notification endpoint changed");
    let t2 = Instant::now();
    let moved = put_endpoint(&apps, &theirs.url, true).await;
    let their_secret = moved["secret"]
        .as_str()
        .expect("a rotated secret")
        .to_owned();
    // The newest such item: the attacker's, not the registration.
    let changed_id = stage
        .last_audit(|i| i["type"] == "notification_endpoint.changed")
        .await;
    let mail_of_change = stage.email_of(&changed_id).await;
    let (changed_seen, _) = mail.wait().await;
    assert!(mail_of_change.text.unwrap().contains("By: your admin"));
    let at_theirs = first_webhook(
        &theirs,
        t2,
        |b| b["data"]["id"] == changed_id.as_str(),
        PATIENCE,
    )
    .await
    .expect("the new endpoint hears of the change");
    assert!(at_theirs.verifies_with(&their_secret));
    // The endpoint as it was before hears of it too, signed with its own
    // secret (contract §14): the stolen session cannot silence it.
    let at_old = first_webhook(
        &stage.hook,
        t2,
        |b| b["data"]["id"] == changed_id.as_str(),
        PATIENCE,
    )
    .await
    .expect("the endpoint as it was before hears of the change");
    assert!(
        at_old.verifies_with(&stage.hook_secret),
        "the old endpoint's notice is signed with its secret"
    );
    let old_line = format!(
        "the endpoint as it was before: delivered after {}",
        ms(at_old.at - t2)
    );
    report.line(
        "achieved",
        "the tenant's webhook pointed at its own receiver, with a new secret",
    );
    report.line(
        "notice",
        format!(
            "the existing contact's email \"Notification endpoint changed\" after {}; {old_line}",
            ms(changed_seen - t2)
        ),
    );

    // (d) The tenant, told, cancels the turn-off: the lock stays.
    let back = stage
        .admin(
            "PATCH",
            "/v1/port-out-protection",
            Some(json!({"lock": true})),
        )
        .await;
    assert_eq!(
        back.body["lock"],
        json!({"enabled": true, "disableAt": null}),
        "{}",
        back.raw
    );
    port(&apps, "carrier-a", PIN, &[n(3)])
        .await
        .expect_error(422, "PORT_OUT_LOCKED");
    report.line(
        "defence",
        "the tenant, told, turns the lock back on: the turn-off is cancelled, port-outs still refused",
    );
    stage.finish().await;
    report.print();
}

fn clock_of(v: &Value) -> i64 {
    portguard_store::clock::parse(v.as_str().expect("a time")).expect("RFC 3339")
}

// ---------------------------------------------------------------------------
// 4. The Bandwidth and Telnyx doors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn attack_4_the_bandwidth_and_telnyx_doors_count_and_lock_the_same_way() {
    let mut report = Report::new("attack 4: the Bandwidth and Telnyx doors");
    let Some(stage) = Stage::new(Setup {
        policy: EASY,
        telnyx: true,
        contact_types: None,
    })
    .await
    else {
        return;
    };
    let apps = stage.apps.clone();
    let limit = EASY.max_failed_attempts as usize;
    report.line(
        "attacker",
        "a gaining carrier behind Bandwidth's validation and one behind Telnyx's port-out events, guessing",
    );

    // Bandwidth: validation requests with wrong PINs.
    let mail = stage.watch_email(|m| {
        m.subject.contains("wrong PIN")
            && m.text
                .as_deref()
                .is_some_and(|t| t.contains(&format!("By: carrier {BANDWIDTH}")))
    });
    let t0 = Instant::now();
    for i in 0..limit {
        let v = bw_validate(&apps, &bw_request(ACCOUNT, &guess(i), "PON-1", &[n(0)])).await;
        assert_eq!(
            (v.portable, v.code),
            (false, Some(7513)),
            "guess {i}: {v:?}"
        );
    }
    let bw_took = t0.elapsed();
    let right = bw_validate(&apps, &bw_request(ACCOUNT, PIN, "PON-1", &[n(0)])).await;
    assert_eq!(
        (right.portable, right.code),
        (false, Some(7513)),
        "{right:?}"
    );
    let right_says = right.description.unwrap();
    assert!(right_says.contains("too many"), "{right_says}");
    let first_bw = stage
        .first_audit(|i| rejected_item(i, BANDWIDTH, "PIN_MISMATCH"))
        .await;
    let hook_bw = stage
        .first_webhook(t0, |b| rejected(b, BANDWIDTH, "PIN_MISMATCH"))
        .await;
    let (bw_seen, bw_mail) = mail.wait().await;
    let heard_bw = heard(&stage, &first_bw, "Bandwidth's first wrong PIN").await;
    let bw_lock = stage.first_audit(|i| pin_locked_item(i, BANDWIDTH)).await;
    let heard_bw_lock = heard(&stage, &bw_lock, "Bandwidth's lock").await;
    report.line(
        "achieved",
        format!(
            "Bandwidth: {limit} wrong PINs in {}, each 7513; then the right PIN: 7513 \"{right_says}\"",
            ms(bw_took)
        ),
    );
    report.line(
        "notice",
        format!(
            "webhook port_out.rejected after {}; email \"{}\" seen after {}",
            ms(hook_bw.at - t0),
            bw_mail.subject,
            ms(bw_seen - t0)
        ),
    );
    report.line("heard", heard_bw);
    report.line("heard", heard_bw_lock);

    // Telnyx: signed `pending` events with wrong `attempted_pin`s, each a
    // new Telnyx port-out.
    let stand_in = stage.stand_in.as_ref().unwrap();
    let mail = stage.watch_email(|m| {
        m.subject.contains("wrong PIN")
            && m.text
                .as_deref()
                .is_some_and(|t| t.contains(&format!("By: carrier {TELNYX}")))
    });
    let mut codes = Vec::new();
    let t1 = Instant::now();
    for i in 0..=limit {
        // The last one with the right PIN.
        let pin = if i == limit {
            PIN.to_owned()
        } else {
            guess(100 + i)
        };
        let po = format!("po-{}", ulid::Ulid::new());
        let body = tx_status(
            &format!("ev-{}", ulid::Ulid::new()),
            &po,
            "pending",
            &[n(1)],
            Some(&pin),
        );
        let a = send_submit(&apps, &tx_signed(&body)).await;
        assert_eq!(
            (a.status, a.body["result"].as_str()),
            (200, Some("rejected")),
            "{}",
            a.raw
        );
        codes.push(a.body["code"].as_str().unwrap().to_owned());
    }
    let tx_took = t1.elapsed();
    assert!(
        codes[..limit - 1].iter().all(|c| c == "PIN_MISMATCH"),
        "{codes:?}"
    );
    assert_eq!(
        codes[limit - 1],
        "PIN_LOCKED",
        "the guess that reaches the limit, as on the API: {codes:?}"
    );
    assert_eq!(
        codes[limit], "PIN_LOCKED",
        "the right PIN once locked: {codes:?}"
    );
    // Every one rejected at Telnyx, by portguard's code, never a PIN.
    let rejects = stand_in.rejects();
    assert_eq!(rejects.len(), limit + 1, "{:?}", stand_in.calls());
    for ((_, reason), code) in rejects.iter().zip(&codes) {
        assert!(reason.starts_with(&format!("{code}: ")), "{reason}");
        assert!(
            !reason.contains(PIN) && !reason.contains(&guess(100)),
            "{reason}"
        );
    }
    let first_tx = stage
        .first_audit(|i| rejected_item(i, TELNYX, "PIN_MISMATCH"))
        .await;
    let hook_tx = stage
        .first_webhook(t1, |b| rejected(b, TELNYX, "PIN_MISMATCH"))
        .await;
    let (tx_seen, tx_mail) = mail.wait().await;
    let heard_tx = heard(&stage, &first_tx, "Telnyx's first wrong PIN").await;
    let tx_lock = stage.first_audit(|i| pin_locked_item(i, TELNYX)).await;
    let heard_tx_lock = heard(&stage, &tx_lock, "Telnyx's lock").await;

    // Each door is one carrier: both locked, nobody else.
    let status = stage.pin_status().await;
    let mut locked: Vec<String> = locked_carriers(&status)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    locked.sort();
    assert_eq!(locked, [BANDWIDTH, TELNYX], "{status}");
    assert!(
        locked_carriers(&status)
            .iter()
            .all(|(_, until)| until.is_string()),
        "timed locks, as on the API: {status}"
    );
    let a = port(&apps, "carrier-a", PIN, &[n(2)]).await;
    assert_eq!(a.status, 201, "another carrier still ports: {}", a.raw);
    assert_eq!(orders(&apps).await.len(), 1, "only carrier-a's order");

    report.line(
        "achieved",
        format!(
            "Telnyx: {limit} wrong attempted_pin events in {}, each rejected at the stand-in ({}); \
             then the right PIN: rejected PIN_LOCKED",
            ms(tx_took),
            codes[..limit].join(", ")
        ),
    );
    report.line(
        "notice",
        format!(
            "webhook port_out.rejected after {}; email \"{}\" seen after {}",
            ms(hook_tx.at - t1),
            tx_mail.subject,
            ms(tx_seen - t1)
        ),
    );
    report.line("heard", heard_tx);
    report.line("heard", heard_tx_lock);
    report.line(
        "defence",
        format!(
            "lockedCarriers {}; carrier-a (the API) still ports with the right PIN",
            status["lockedCarriers"]
        ),
    );
    stage.finish().await;
    report.print();
}
