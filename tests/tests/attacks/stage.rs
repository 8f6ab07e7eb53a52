//! The stage an attack scenario (tests/tests/attacks.rs) plays on: the
//! functions in-process over one fresh DynamoDB Local table, the tenant
//! `t-100` with its PIN and ten numbers, a loopback webhook receiver
//! registered as its notification endpoint, a confirmed alert contact on
//! the local SES, and a pump handing the table's stream to the notifier as
//! the event source mapping does, so that notices arrive while the attack
//! runs and the time to the first one can be read.

use crate::notify_support::{batch, Behaviour, Received, Receiver, StreamReader};
use crate::support::*;
use portguard_email::Mailer;
use portguard_rules::LockPolicy;
use portguard_tests::ses::{sent_emails, SentEmail};
use portguard_tests::{event, fresh_store, hasher, needs_ses_local, Answer, As};
use portguard_validation::EmailAddress;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use telnyx_stand_in::StandIn;

/// How long any one wait of a scenario lasts at most (a notice, an email):
/// each scenario stays bounded and ends by itself.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub const CONSOLE: &str = "https://console.portguard.test";

/// `+1206555{0100 + i}`, one of the tenant's ten numbers.
pub fn n(i: usize) -> String {
    format!("+1206555{:04}", 100 + i)
}

/// An address no other test (or earlier run against the same local SES) used.
pub fn address(who: &str) -> String {
    format!(
        "{who}-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

/// `i`-th guess of an attacker: 8 digits, never the tenant's PIN.
pub fn guess(i: usize) -> String {
    let g = format!("{:08}", 70_000_000 + i * 7_919);
    assert_ne!(g, PIN);
    g
}

/// Milliseconds, for the report.
pub fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

async fn mailer() -> Mailer {
    Mailer::connect(
        Some(EmailAddress::parse("alerts@portguard.test").unwrap()),
        CONSOLE.into(),
        None,
    )
    .await
}

/// What the stage is built with.
pub struct Setup {
    pub policy: LockPolicy,
    /// Telnyx's door, its API a loopback stand-in.
    pub telnyx: bool,
    /// The alert contact's `types` (`None`: every type).
    pub contact_types: Option<Value>,
}

pub struct Stage {
    pub apps: Arc<Apps>,
    /// The tenant's notification endpoint as the tenant registered it.
    pub hook: Receiver,
    pub hook_secret: String,
    /// The tenant's confirmed alert contact.
    pub contact: String,
    pub stand_in: Option<StandIn>,
    /// Unix seconds when the stage was built (emails are looked up from it).
    pub since: i64,
    /// When the stage was built: nothing of this stage arrived before.
    built: Instant,
    pump: Pump,
}

impl Stage {
    /// `None` (the test returns) without the local SES; without DynamoDB
    /// Local `fresh_store` skips the whole binary, as in every other test.
    pub async fn new(setup: Setup) -> Option<Stage> {
        let store = fresh_store().await;
        if !needs_ses_local() {
            return None;
        }
        let built = Instant::now();
        let since = portguard_store::clock::now() - 1;
        let stand_in = if setup.telnyx {
            Some(telnyx_stand_in().await)
        } else {
            None
        };
        let made = match &stand_in {
            Some(s) => apps_with_telnyx(&store, setup.policy, &s.base_url()),
            None => apps(&store, setup.policy),
        };
        let mut inner = Arc::try_unwrap(made).ok().expect("fresh apps");
        // set-pin as deployed (the protection delay its default), with
        // loopback endpoints allowed and the codes emailed.
        inner.pin = set_pin::App::new(store.clone(), hasher())
            .allow_loopback_http(true)
            .with_mailer(mailer().await);
        let apps = Arc::new(inner);
        tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 10)).await;

        let notifier = notifier::App::new(store.clone(), notifier::Sender::new(true).unwrap())
            .with_mailer(mailer().await);
        let pump = Pump::start(StreamReader::new(&store).await, notifier);

        let hook = Receiver::start(Behaviour::Status(200)).await;
        let hook_secret = put_endpoint(&apps, &hook.url, false).await["secret"]
            .as_str()
            .expect("a new endpoint's secret")
            .to_owned();
        let contact = address("ops");
        confirm_contact(&apps, &contact, setup.contact_types, since).await;
        let stage = Stage {
            apps,
            hook,
            hook_secret,
            contact,
            stand_in,
            since,
            built,
            pump,
        };
        // Quiet before the attack: the contact's own confirmation has
        // reached the receiver, so what comes next is the attack's.
        stage
            .first_webhook(built, |b| b["type"] == "alert_contact.confirmed")
            .await;
        Some(stage)
    }

    /// A request to set-pin as the tenant's admin (or whoever holds its
    /// session).
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        admin_call(&self.apps, method, path, body).await
    }

    /// The tenant's audit trail, newest first.
    pub async fn trail(&self) -> Vec<Value> {
        let a = send_pin(&self.apps, &portguard_tests::audit_trail_event(TENANT)).await;
        assert_eq!(a.status, 200, "{}", a.raw);
        a.body["items"].as_array().unwrap().clone()
    }

    /// The id of the oldest audit item `pred` accepts.
    pub async fn first_audit(&self, pred: impl Fn(&Value) -> bool) -> String {
        let trail = self.trail().await;
        let item = trail
            .iter()
            .rev()
            .find(|i| pred(i))
            .unwrap_or_else(|| panic!("no such audit item: {trail:#?}"));
        item["id"].as_str().unwrap().to_owned()
    }

    /// The id of the newest audit item `pred` accepts.
    pub async fn last_audit(&self, pred: impl Fn(&Value) -> bool) -> String {
        let trail = self.trail().await;
        let item = trail
            .iter()
            .find(|i| pred(i))
            .unwrap_or_else(|| panic!("no such audit item: {trail:#?}"));
        item["id"].as_str().unwrap().to_owned()
    }

    /// The first webhook the tenant's original endpoint got at or after
    /// `since` whose body `pred` accepts; waits up to [`PATIENCE`].
    pub async fn first_webhook(&self, since: Instant, pred: impl Fn(&Value) -> bool) -> Received {
        first_webhook(&self.hook, since, pred, PATIENCE)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "the tenant's endpoint heard nothing of it in {PATIENCE:?}: {:#?}",
                    self.hook.got()
                )
            })
    }

    /// The webhook with `webhook-id` = `audit_id` at the original
    /// endpoint, signed with the tenant's secret; waits up to [`PATIENCE`].
    pub async fn webhook_of(&self, audit_id: &str) -> Received {
        let r = first_webhook(
            &self.hook,
            self.built,
            |b| b["data"]["id"] == audit_id,
            PATIENCE,
        )
        .await
        .unwrap_or_else(|| panic!("no webhook of {audit_id}: {:#?}", self.hook.got()));
        assert_eq!(r.headers["webhook-id"], audit_id);
        assert!(r.verifies_with(&self.hook_secret), "signed: {r:?}");
        r
    }

    /// Watches the contact's mailbox from now on for an email `pred`
    /// accepts.
    pub fn watch_email(
        &self,
        pred: impl Fn(&SentEmail) -> bool + Send + Sync + 'static,
    ) -> EmailWatch {
        EmailWatch::start(self.contact.clone(), self.since, pred)
    }

    /// The alert email of audit item `audit_id` to the contact (its text
    /// names the item); waits up to [`PATIENCE`].
    pub async fn email_of(&self, audit_id: &str) -> SentEmail {
        let marker = format!("Event: {audit_id} (");
        EmailWatch::start(self.contact.clone(), self.since, move |m| {
            m.text.as_deref().is_some_and(|t| t.contains(&marker))
        })
        .wait()
        .await
        .1
    }

    /// The PIN status (`GET /v1/pin`).
    pub async fn pin_status(&self) -> Value {
        let a = self.admin("GET", "/v1/pin", None).await;
        assert_eq!(a.status, 200, "{}", a.raw);
        a.body
    }

    /// Stops the pump (and reports whether the notifier failed a record).
    pub async fn finish(mut self) {
        self.pump.stop().await;
    }
}

pub async fn admin_call(apps: &Apps, method: &str, path: &str, body: Option<Value>) -> Answer {
    let body = body.map(|b| b.to_string());
    send_pin(
        apps,
        &event(method, path, As::Admin(TENANT), body.as_deref()),
    )
    .await
}

/// `PUT /v1/notification-endpoint` to `url` (a new secret with
/// `rotate`); the answer's body.
pub async fn put_endpoint(apps: &Apps, url: &str, rotate: bool) -> Value {
    let a = admin_call(
        apps,
        "PUT",
        "/v1/notification-endpoint",
        Some(json!({ "url": url, "rotateSecret": rotate })),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body
}

/// Adds `email` as an alert contact and confirms it with the code read
/// from its one code email; the contact's id.
pub async fn confirm_contact(apps: &Apps, email: &str, types: Option<Value>, since: i64) -> String {
    let mut body = json!({ "email": email });
    if let Some(types) = types {
        body["types"] = types;
    }
    let a = admin_call(apps, "POST", "/v1/alert-contacts", Some(body)).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let code_mail = EmailWatch::start(email.to_owned(), since, |m| {
        m.subject == "portguard: confirm your alert contact"
    })
    .wait()
    .await
    .1;
    let text = code_mail.text.expect("a text part");
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the text");
    let c = admin_call(
        apps,
        "POST",
        &format!("/v1/alert-contacts/{id}/confirm"),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.raw);
    assert_eq!(c.body["status"], "confirmed");
    id
}

/// The first request `receiver` got at or after `since` whose JSON body
/// `pred` accepts, by the time it arrived; `None` after `timeout`.
pub async fn first_webhook(
    receiver: &Receiver,
    since: Instant,
    pred: impl Fn(&Value) -> bool,
    timeout: Duration,
) -> Option<Received> {
    let deadline = Instant::now() + timeout;
    loop {
        let found = receiver
            .got()
            .into_iter()
            .filter(|r| r.at >= since)
            .filter(|r| serde_json::from_str::<Value>(&r.body).is_ok_and(|b| pred(&b)))
            .min_by_key(|r| r.at);
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A watcher of one mailbox on the local SES, started before the attack so
/// that the moment an email is first seen is known (to the polling
/// interval, 50 ms).
pub struct EmailWatch {
    task: tokio::task::JoinHandle<(Instant, SentEmail)>,
}

impl EmailWatch {
    pub fn start(
        to: String,
        since: i64,
        pred: impl Fn(&SentEmail) -> bool + Send + Sync + 'static,
    ) -> EmailWatch {
        let task = tokio::spawn(async move {
            loop {
                let found = sent_emails(Some(since))
                    .await
                    .into_iter()
                    .find(|m| m.is_to(&to) && pred(m));
                if let Some(m) = found {
                    return (Instant::now(), m);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        EmailWatch { task }
    }

    /// When the email was first seen, and the email; panics after
    /// [`PATIENCE`].
    pub async fn wait(mut self) -> (Instant, SentEmail) {
        match tokio::time::timeout(PATIENCE, &mut self.task).await {
            Ok(found) => found.expect("the watcher"),
            Err(_) => panic!("no such email in {PATIENCE:?}"),
        }
    }
}

impl Drop for EmailWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `make dev`'s path from the stream to the notifier, in-process: every
/// new record handed over as soon as it is read. Every batch must come back
/// with no `batchItemFailures`.
struct Pump {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Pump {
    fn start(mut stream: StreamReader, notifier: notifier::App) -> Pump {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            while !flag.load(Ordering::Relaxed) {
                let records = stream.read().await;
                if records.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let answer = notifier.handle(batch(records)).await.expect("the notifier");
                assert_eq!(
                    answer["batchItemFailures"],
                    json!([]),
                    "every record of the batch handled: {answer}"
                );
            }
        });
        Pump {
            stop,
            task: Some(task),
        }
    }

    async fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.await.expect("the stream pump ran without a failure");
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The answer's `Retry-After`, if any.
pub fn retry_after(a: &Answer) -> Option<u64> {
    a.headers.get("retry-after").and_then(|v| v.parse().ok())
}

/// `POST /v1/port-outs` from `carrier` for `nums` with `pin`.
pub async fn port(apps: &Apps, carrier: &'static str, pin: &str, nums: &[String]) -> Answer {
    post(apps, carrier, &port_out_body(ACCOUNT, pin, nums)).await
}

/// The ids of the carriers locked out now, from a PIN status.
pub fn locked_carriers(status: &Value) -> Vec<(String, Value)> {
    status["lockedCarriers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["carrierId"].as_str().unwrap().to_owned(),
                c["until"].clone(),
            )
        })
        .collect()
}

/// A block of report lines, printed at once so parallel scenarios do not
/// interleave.
pub struct Report {
    lines: Vec<String>,
    started: Instant,
}

impl Report {
    pub fn new(title: &str) -> Report {
        Report {
            lines: vec![format!("== {title}")],
            started: Instant::now(),
        }
    }

    pub fn line(&mut self, label: &str, text: impl std::fmt::Display) {
        self.lines.push(format!("   {label:<9} {text}"));
    }

    pub fn print(mut self) {
        let run = self.started.elapsed();
        self.line("run time", format!("{:.1} s", run.as_secs_f64()));
        println!("{}\n", self.lines.join("\n"));
    }
}
