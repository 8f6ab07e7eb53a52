//! Alerts by email (contract §17): the `/v1/alert-contacts` routes of
//! set-pin, and the notifier's emails, fed with real records of DynamoDB
//! Local's stream and read back from the local SES (`aws-ses-v2-local`).

use portguard_tests::notify_support;
use portguard_tests::typed::*;

use notify_support::*;
use portguard_email::Mailer;
use portguard_rules::notify::{after_failure, AfterFailure, MAX_ATTEMPTS};
use portguard_store::notify::Target;
use portguard_store::{clock, Actor, ActorKind, AuditEvent, AuditType, Store};
use portguard_tests::ses::{needs_ses_local, sent_emails_to as sent_to, SentEmail};
use portguard_tests::{answer, event, fresh_store, provision, request, snapshot, Answer, As};
use portguard_validation::EmailAddress;
use serde_json::{json, Value};

const TENANT: &str = "t-alerts";
const OTHER: &str = "t-other";
const CONSOLE: &str = "https://console.portguard.test";

struct Env {
    store: Store,
    pin: set_pin::App,
    notifier: notifier::App,
    stream: StreamReader,
}

fn from() -> EmailAddress {
    EmailAddress::parse("alerts@portguard.test").unwrap()
}

async fn mailer() -> Mailer {
    Mailer::connect(Some(from()), CONSOLE.into(), None).await
}

async fn setup() -> Env {
    // Every test here reads the local SES: without one the binary skips
    // (one line, like DynamoDB Local's); `make test` requires it.
    if !needs_ses_local() {
        std::process::exit(0);
    }
    let store = fresh_store().await;
    provision(&store, TENANT, "ACC-ALERTS", "US", &["+12065550100"]).await;
    provision(&store, OTHER, "ACC-OTHER", "US", &["+12065550200"]).await;
    let stream = StreamReader::new(&store).await;
    Env {
        pin: set_pin::App::new(store.clone(), portguard_tests::hasher())
            .allow_loopback_http(true)
            .with_mailer(mailer().await),
        notifier: notifier::App::new(store.clone(), notifier::Sender::new(true).unwrap())
            .with_mailer(mailer().await),
        stream,
        store,
    }
}

/// An address no other test (or earlier run against the same local SES) used.
fn address(who: &str) -> String {
    format!(
        "{who}-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

async fn call(
    env: &Env,
    method: &str,
    path: &str,
    tenant: &'static str,
    body: Option<Value>,
) -> Answer {
    let ev = event(
        method,
        path,
        As::Admin(tenant),
        body.map(|b| b.to_string()).as_deref(),
    );
    answer(env.pin.handle(request(&ev)).await)
}

async fn add(env: &Env, email: &str, types: Option<Value>) -> Answer {
    let mut body = json!({ "email": email });
    if let Some(types) = types {
        body["types"] = types;
    }
    call(env, "POST", "/v1/alert-contacts", TENANT, Some(body)).await
}

/// The 6-digit code of the one code email sent to `email`.
async fn code_sent_to(email: &str) -> String {
    let mails = sent_to(email).await;
    let codes: Vec<&SentEmail> = mails
        .iter()
        .filter(|m| m.subject == "portguard: confirm your alert contact")
        .collect();
    assert_eq!(codes.len(), 1, "one code email to {email}: {mails:#?}");
    let text = codes[0].text.as_deref().unwrap();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the text")
        .to_owned()
}

async fn confirm(env: &Env, id: &str, code: &str) -> Answer {
    call(
        env,
        "POST",
        &format!("/v1/alert-contacts/{id}/confirm"),
        TENANT,
        Some(json!({ "code": code })),
    )
    .await
}

/// A confirmed contact of TENANT hearing `types` (default all); its id.
/// The stream is drained after each step, so the contact's own `added`
/// item finds it unconfirmed and its `confirmed` item finds it confirmed.
async fn confirmed(env: &mut Env, email: &str, types: Option<Value>) -> String {
    let a = add(env, email, types).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    drain(env).await;
    let id = a.body["id"].as_str().unwrap().to_owned();
    let code = code_sent_to(email).await;
    let c = confirm(env, &id, &code).await;
    assert_eq!(c.status, 200, "{}", c.raw);
    drain(env).await;
    id
}

/// Hands the stream to the notifier until it has nothing new.
async fn drain(env: &mut Env) {
    let mut records = env.stream.read_at_least(1).await;
    while !records.is_empty() {
        env.notifier.handle(batch(records)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        records = env.stream.read().await;
    }
}

async fn audit_types(env: &Env) -> Vec<String> {
    let a = answer(
        env.pin
            .handle(request(&portguard_tests::audit_trail_event(TENANT)))
            .await,
    );
    a.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap().to_owned())
        .collect()
}

fn admin_event(kind: AuditType, time: i64) -> AuditEvent {
    AuditEvent::new(
        &tid(TENANT),
        time,
        kind,
        Actor {
            kind: ActorKind::TenantAdmin,
            id: Some("admin-1".into()),
        },
    )
}

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn add_confirm_choose_types_and_remove() {
    let env = setup().await;
    let email = address("ops");
    let a = add(&env, &email, None).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    assert!(a.body["id"].as_str().unwrap().starts_with("ac_"));
    assert_eq!(a.body["status"], "unconfirmed");
    assert_eq!(a.body["email"], email.as_str());
    assert_eq!(
        a.body["types"].as_array().unwrap().len(),
        AuditType::ALL.len()
    );
    assert_eq!(a.body["confirmedAt"], Value::Null);
    assert_eq!(a.body["lastFailure"], Value::Null, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_owned();

    // The code reached the address, in the body only.
    let code = code_sent_to(&email).await;
    let mail = &sent_to(&email).await[0];
    assert!(!mail.subject.contains(&code));
    assert_eq!(mail.from, "alerts@portguard.test");
    assert!(mail.html.as_deref().unwrap().contains(&code));

    // A wrong code counts; the right one confirms.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let w = confirm(&env, &id, wrong).await;
    w.expect_error(400, "INVALID_CONFIRMATION_CODE");
    assert_eq!(w.body["error"]["details"]["attemptsLeft"], 4);
    let c = confirm(&env, &id, &code).await;
    assert_eq!(c.status, 200, "{}", c.raw);
    assert_eq!(c.body["status"], "confirmed");
    assert!(c.body["confirmedAt"].is_string());
    // Confirming again changes nothing.
    let again = confirm(&env, &id, "999999").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["confirmedAt"], c.body["confirmedAt"]);

    let p = call(
        &env,
        "PATCH",
        &format!("/v1/alert-contacts/{id}"),
        TENANT,
        Some(json!({"types": ["port_out.rejected", "port_out.requested", "port_out.requested"]})),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.raw);
    assert_eq!(
        p.body["types"],
        json!(["port_out.requested", "port_out.rejected"])
    );

    // No audit type covers a change of types: the contact hears of it.
    let notice: Vec<SentEmail> = sent_to(&email)
        .await
        .into_iter()
        .filter(|m| m.subject == "portguard: the alerts emailed to you were changed")
        .collect();
    assert_eq!(notice.len(), 1);
    assert!(notice[0]
        .text
        .as_deref()
        .unwrap()
        .contains("You now receive: port_out.requested, port_out.rejected"));
    let list = call(&env, "GET", "/v1/alert-contacts", TENANT, None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["types"], p.body["types"]);
    assert!(
        !list.raw.contains("code"),
        "no code or hash is shown: {}",
        list.raw
    );

    let d = call(
        &env,
        "DELETE",
        &format!("/v1/alert-contacts/{id}"),
        TENANT,
        None,
    )
    .await;
    assert_eq!(d.status, 204, "{}", d.raw);
    let list = call(&env, "GET", "/v1/alert-contacts", TENANT, None).await;
    assert_eq!(list.body["items"], json!([]));
    call(
        &env,
        "DELETE",
        &format!("/v1/alert-contacts/{id}"),
        TENANT,
        None,
    )
    .await
    .expect_error(404, "ALERT_CONTACT_NOT_FOUND");

    // Each step is audited with the address.
    let types = audit_types(&env).await;
    assert_eq!(
        types,
        [
            "alert_contact.removed",
            "alert_contact.confirmed",
            "alert_contact.added"
        ]
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let env = setup().await;
    let before = snapshot(&env.store).await;
    let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(186));
    assert_eq!(long.len(), 255);
    for email in [
        json!("Ops <ops@example.com>"),
        json!("not-an-address"),
        json!(long),
        json!(42),
        Value::Null,
    ] {
        let a = call(
            &env,
            "POST",
            "/v1/alert-contacts",
            TENANT,
            Some(json!({ "email": email })),
        )
        .await;
        a.expect_error(400, "INVALID_EMAIL");
    }
    for types in [
        json!([]),
        json!(["pin.set", "pin.stolen"]),
        json!("pin.set"),
        json!([7]),
    ] {
        add(&env, &address("t"), Some(types))
            .await
            .expect_error(400, "INVALID_REQUEST");
    }
    call(
        &env,
        "POST",
        "/v1/alert-contacts",
        TENANT,
        Some(json!({"email": address("x"), "name": "x"})),
    )
    .await
    .expect_error(400, "INVALID_REQUEST");
    assert_eq!(snapshot(&env.store).await, before, "nothing was written");
}

#[tokio::test]
async fn five_contacts_at_most_and_no_address_twice() {
    let env = setup().await;
    let first = address("dup");
    assert_eq!(add(&env, &first, None).await.status, 201);
    add(&env, &first.to_uppercase(), None)
        .await
        .expect_error(409, "ALERT_CONTACT_EXISTS");
    for i in 0..4 {
        assert_eq!(
            add(&env, &address(&format!("n{i}")), None).await.status,
            201
        );
    }
    add(&env, &address("sixth"), None)
        .await
        .expect_error(409, "TOO_MANY_ALERT_CONTACTS");
}

#[tokio::test]
async fn racing_adds_keep_the_limit() {
    let env = setup().await;
    let env = &env;
    let answers = futures::future::join_all((0..8).map(|i| async move {
        add(env, &address(&format!("race{i}")), Some(json!(["pin.set"]))).await
    }))
    .await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers
        .iter()
        .filter(|a| a.status == 409 && a.code() == "TOO_MANY_ALERT_CONTACTS")
        .count();
    assert_eq!(
        (created, refused),
        (5, 3),
        "{:?}",
        answers.iter().map(|a| &a.raw).collect::<Vec<_>>()
    );
    let list = call(env, "GET", "/v1/alert-contacts", TENANT, None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn another_tenants_contact_is_not_found_like_an_unknown_one() {
    let env = setup().await;
    let a = add(&env, &address("mine"), None).await;
    let id = a.body["id"].as_str().unwrap();
    let theirs = call(
        &env,
        "DELETE",
        &format!("/v1/alert-contacts/{id}"),
        OTHER,
        None,
    )
    .await;
    let unknown = call(
        &env,
        "DELETE",
        "/v1/alert-contacts/ac_01JF000000000000000000000",
        OTHER,
        None,
    )
    .await;
    let malformed = call(&env, "DELETE", "/v1/alert-contacts/whatever", OTHER, None).await;
    theirs.expect_error(404, "ALERT_CONTACT_NOT_FOUND");
    assert_eq!(theirs.raw, unknown.raw);
    assert_eq!(theirs.raw, malformed.raw);
    for (method, path, body) in [
        (
            "PATCH",
            format!("/v1/alert-contacts/{id}"),
            Some(json!({"types": ["pin.set"]})),
        ),
        (
            "POST",
            format!("/v1/alert-contacts/{id}/confirm"),
            Some(json!({"code": "123456"})),
        ),
    ] {
        let a = call(&env, method, &path, OTHER, body).await;
        assert_eq!(a.raw, unknown.raw, "{method} {path}");
    }
    let list = call(&env, "GET", "/v1/alert-contacts", OTHER, None).await;
    assert_eq!(list.body["items"], json!([]));
    // And the contact is untouched.
    let mine = call(&env, "GET", "/v1/alert-contacts", TENANT, None).await;
    assert_eq!(mine.body["items"][0]["status"], "unconfirmed");
}

#[tokio::test]
async fn five_wrong_codes_end_the_code_and_so_does_a_day() {
    let env = setup().await;
    let email = address("tries");
    let id = add(&env, &email, None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = code_sent_to(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let a = confirm(&env, &id, wrong).await;
        a.expect_error(400, "INVALID_CONFIRMATION_CODE");
        assert_eq!(a.body["error"]["details"]["attemptsLeft"], left);
    }
    confirm(&env, &id, &code)
        .await
        .expect_error(410, "CONFIRMATION_EXPIRED");

    // A day: the code's end moved into the past by hand.
    let email = address("late");
    let id = add(&env, &email, None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = code_sent_to(&email).await;
    let sk = format!("ALERTCONTACT#{}", id.trim_start_matches("ac_"));
    env.store
        .client()
        .update_item()
        .table_name(env.store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{TENANT}")),
        )
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .update_expression("SET codeUntil = :past")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N((clock::now() - 1).to_string()),
        )
        .send()
        .await
        .unwrap();
    confirm(&env, &id, &code)
        .await
        .expect_error(410, "CONFIRMATION_EXPIRED");
}

#[tokio::test]
async fn without_a_sender_address_contacts_are_kept_and_say_no_code_was_sent() {
    let env = setup().await;
    let quiet = set_pin::App::new(env.store.clone(), portguard_tests::hasher());
    let email = address("quiet");
    let ev = event(
        "POST",
        "/v1/alert-contacts",
        As::Admin(TENANT),
        Some(&json!({"email": email}).to_string()),
    );
    let a = answer(quiet.handle(request(&ev)).await);
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(
        a.body["lastFailure"],
        "confirmation email not sent: email sending is not configured"
    );
    assert!(sent_to(&email).await.is_empty());
    let list = call(&env, "GET", "/v1/alert-contacts", TENANT, None).await;
    assert_eq!(list.body["items"][0]["lastFailure"], a.body["lastFailure"]);
}

// ---------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_confirmed_contact_gets_one_email_per_matching_item_and_an_unconfirmed_one_only_its_code()
{
    let mut env = setup().await;
    let all = address("all");
    let only_rejected = address("rejected");
    let pending = address("pending");
    confirmed(&mut env, &all, None).await;
    confirmed(&mut env, &only_rejected, Some(json!(["port_out.rejected"]))).await;
    assert_eq!(add(&env, &pending, None).await.status, 201);
    drain(&mut env).await;

    let now = clock::now();
    env.store
        .record_audit(&admin_event(AuditType::PinChanged, now))
        .await
        .unwrap();
    env.store
        .record_audit(
            &admin_event(AuditType::PortOutRejected, now)
                .phone_numbers(&[num("+12065550100")])
                .code("PIN_MISMATCH"),
        )
        .await
        .unwrap();
    let records = env.stream.read_at_least(2).await;
    assert_eq!(records.len(), 2);
    env.notifier.handle(batch(records.clone())).await.unwrap();
    // Lambda may hand a batch over again: nothing more is sent.
    env.notifier.handle(batch(records)).await.unwrap();

    let subjects = |mails: Vec<SentEmail>| {
        let mut s: Vec<String> = mails.into_iter().map(|m| m.subject).collect();
        s.sort();
        s
    };
    let mut expected = vec![
        "portguard: Alert contact added: ".to_owned() + &only_rejected,
        "portguard: Alert contact added: ".to_owned() + &pending,
        "portguard: Alert contact confirmed: ".to_owned() + &all,
        "portguard: Alert contact confirmed: ".to_owned() + &only_rejected,
        "portguard: Port-out PIN changed".to_owned(),
        "portguard: Port-out request with a wrong PIN refused for 1 number".to_owned(),
        "portguard: confirm your alert contact".to_owned(),
    ];
    expected.sort();
    assert_eq!(subjects(sent_to(&all).await), expected);
    assert_eq!(
        subjects(sent_to(&only_rejected).await),
        [
            "portguard: Port-out request with a wrong PIN refused for 1 number",
            "portguard: confirm your alert contact",
        ]
    );
    assert_eq!(
        subjects(sent_to(&pending).await),
        ["portguard: confirm your alert contact"]
    );

    // The alert says it in words, with the facts and the console link.
    let alert = sent_to(&only_rejected)
        .await
        .into_iter()
        .find(|m| m.subject.contains("wrong PIN"))
        .unwrap();
    let text = alert.text.unwrap();
    assert!(text.contains("Numbers: +12065550100"), "{text}");
    assert!(
        text.contains("PIN_MISMATCH: the PIN does not match"),
        "{text}"
    );
    assert!(text.contains(&format!("{CONSOLE}/#/orders")), "{text}");

    let list = call(&env, "GET", "/v1/alert-contacts", TENANT, None).await;
    let contact = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == only_rejected.as_str())
        .unwrap()
        .clone();
    assert!(contact["lastDeliveryAt"].is_string(), "{contact}");
}

#[tokio::test]
async fn forty_events_in_an_hour_send_thirty_and_the_next_says_ten_were_left_out() {
    let mut env = setup().await;
    let email = address("busy");
    confirmed(&mut env, &email, Some(json!(["pin.changed"]))).await;
    let start = clock::now();
    for i in 0..40 {
        env.store
            .record_audit(&admin_event(AuditType::PinChanged, start + i))
            .await
            .unwrap();
    }
    drain(&mut env).await;
    let alerts = |mails: &[SentEmail]| {
        mails
            .iter()
            .filter(|m| m.subject == "portguard: Port-out PIN changed")
            .count()
    };
    assert_eq!(alerts(&sent_to(&email).await), 30);

    // An hour after the window opened, the next alert goes, with the count.
    env.store
        // The window opened at the first alert taken: one of the 40,
        // handled concurrently, so at most `start + 39`.
        .record_audit(&admin_event(AuditType::PinChanged, start + 3600 + 40))
        .await
        .unwrap();
    drain(&mut env).await;
    let mails = sent_to(&email).await;
    assert_eq!(alerts(&mails), 31);
    let last = mails
        .iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("not emailed")))
        .collect::<Vec<_>>();
    assert_eq!(last.len(), 1);
    assert!(
        last[0]
            .text
            .as_deref()
            .unwrap()
            .contains("10 earlier alerts were not emailed"),
        "{:?}",
        last[0].text
    );
    // The audit trail keeps all 41 (and the contact's two).
    assert_eq!(
        audit_types(&env)
            .await
            .iter()
            .filter(|t| *t == "pin.changed")
            .count(),
        41
    );
}

#[tokio::test]
async fn a_stopped_ses_is_retried_then_abandoned_and_webhooks_go_on() {
    let mut env = setup().await;
    let email = address("down");
    confirmed(&mut env, &email, Some(json!(["pin.changed"]))).await;
    // The webhook receiver of the same tenant.
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let put = call(
        &env,
        "PUT",
        "/v1/notification-endpoint",
        TENANT,
        Some(json!({ "url": receiver.url })),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.raw);
    drain(&mut env).await;
    receiver.clear();

    // SES stops answering: a port nobody listens on.
    let dead = format!("http://127.0.0.1:{}", portguard_tests::closed_port());
    env.notifier = notifier::App::new(env.store.clone(), notifier::Sender::new(true).unwrap())
        .with_mailer(Mailer::connect(Some(from()), CONSOLE.into(), Some(&dead)).await);
    env.store
        .record_audit(&admin_event(AuditType::PinChanged, clock::now()))
        .await
        .unwrap();
    drain(&mut env).await;
    assert_eq!(receiver.got().len(), 1, "the webhook went at once");

    let target = Target::Contact {
        tenant: tid(TENANT),
        contact: call(&env, "GET", "/v1/alert-contacts", TENANT, None)
            .await
            .body["items"][0]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    };
    // Every retry on the schedule, until abandoned.
    let mut now = clock::now();
    let mut attempts = 1;
    while let AfterFailure::RetryAt(at) = after_failure(attempts, now) {
        now = at;
        let report = env.notifier.handle(scheduled(now)).await.unwrap();
        assert_eq!(report["attempted"], 1, "attempt {attempts}: {report}");
        attempts += 1;
    }
    assert_eq!(attempts, MAX_ATTEMPTS);
    let pending = env
        .store
        .due_deliveries(i64::MAX / 2, 50, None)
        .await
        .unwrap();
    assert!(
        pending.items.iter().all(|d| d.target != target),
        "nothing left due"
    );
    let deliveries = portguard_tests::items_with_prefix(&env.store, "DELIVERY#").await;
    let field =
        |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
         name: &str| {
            item.get(name)
                .map(|v| v.as_s().or_else(|_| v.as_n()).cloned().unwrap_or_default())
        };
    let email_delivery = deliveries
        .iter()
        .find(|d| field(d, "target").is_some_and(|t| t.starts_with("contact#")))
        .expect("the email delivery");
    assert_eq!(
        field(email_delivery, "status").as_deref(),
        Some("abandoned")
    );
    assert_eq!(
        field(email_delivery, "attempts"),
        Some(MAX_ATTEMPTS.to_string())
    );
    let list = call(&env, "GET", "/v1/alert-contacts", TENANT, None).await;
    assert_eq!(list.body["items"][0]["lastFailure"], "SES unavailable");
    assert_eq!(
        receiver.got().len(),
        1,
        "webhooks unaffected by the email's retries"
    );
    assert!(sent_to(&email)
        .await
        .iter()
        .all(|m| m.subject != "portguard: Port-out PIN changed"));
}

#[tokio::test]
async fn html_in_a_value_is_escaped_in_the_html_part() {
    let mut env = setup().await;
    let email = address("xss");
    confirmed(&mut env, &email, Some(json!(["pin.changed"]))).await;
    let mut evil = admin_event(AuditType::PinChanged, clock::now());
    evil.actor.id = Some("<script>alert('x')</script><b>admin</b>".into());
    evil.source_ip = Some("<img src=x onerror=alert(1)>".into());
    env.store.record_audit(&evil).await.unwrap();
    drain(&mut env).await;
    let mail = sent_to(&email)
        .await
        .into_iter()
        .find(|m| m.subject == "portguard: Port-out PIN changed")
        .unwrap();
    let html = mail.html.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("<b>admin") && !html.contains("<img"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(
        mail.text.unwrap().contains("<script>alert('x')</script>"),
        "the text part is text"
    );
}

#[tokio::test]
async fn a_batch_of_many_tenants_mails_each_contact_once_and_a_removed_one_not() {
    // More tenants than the notifier reads books of one Query each: their
    // indexes are read in batch, then the contacts they list (issue 26).
    let mut env = setup().await;
    let tenants: Vec<TenantId> = (0..12)
        .map(|i| format!("t-books-{i:02}").parse().unwrap())
        .collect();
    let actor = Actor {
        kind: ActorKind::TenantAdmin,
        id: Some("admin-1".into()),
    };
    let now = clock::now();
    let mut contacts = Vec::new();
    for tenant in &tenants {
        let book = env.store.alert_contacts(tenant).await.unwrap();
        let email = address("books");
        let contact = portguard_store::contacts::AlertContact::new(
            tenant,
            &email,
            AuditType::ALL.to_vec(),
            "not-a-code-hash".into(),
            now,
        );
        let added = AuditEvent::new(tenant, now, AuditType::AlertContactAdded, actor.clone());
        env.store
            .add_alert_contact(&book, &contact, &added)
            .await
            .unwrap();
        let confirmed =
            AuditEvent::new(tenant, now, AuditType::AlertContactConfirmed, actor.clone());
        env.store
            .confirm_alert_contact(&contact, now, &confirmed)
            .await
            .unwrap();
        contacts.push((contact, email));
    }
    drain(&mut env).await;
    // The last tenant's contact is removed: its book lists nobody.
    let (gone, gone_email) = contacts.pop().unwrap();
    let book = env.store.alert_contacts(&gone.tenant_id).await.unwrap();
    let removed = AuditEvent::new(
        &gone.tenant_id,
        now,
        AuditType::AlertContactRemoved,
        actor.clone(),
    );
    env.store
        .remove_alert_contact(&book, book.find(&gone.id).unwrap(), &removed)
        .await
        .unwrap();
    drain(&mut env).await;
    let before = sent_to(&gone_email).await.len();

    for tenant in &tenants {
        let changed = AuditEvent::new(tenant, clock::now(), AuditType::PinChanged, actor.clone());
        env.store.record_audit(&changed).await.unwrap();
    }
    let records = env.stream.read_at_least(tenants.len()).await;
    let out = env.notifier.handle(batch(records.clone())).await.unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    // Handed over again: nothing more is sent.
    let again = env.notifier.handle(batch(records)).await.unwrap();
    assert_eq!(again, json!({"batchItemFailures": []}));
    for (_, email) in &contacts {
        let alerts = sent_to(email)
            .await
            .into_iter()
            .filter(|m| m.subject == "portguard: Port-out PIN changed")
            .count();
        assert_eq!(alerts, 1, "{email}");
    }
    assert_eq!(
        sent_to(&gone_email).await.len(),
        before,
        "a removed contact is not mailed"
    );
}
