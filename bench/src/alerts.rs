//! Alert emails (contract §17): one stream record whose tenant has one
//! confirmed alert contact (one email, to the local SES behind TLS) beside
//! one stream record whose tenant has one endpoint (one webhook, to the
//! loopback receiver behind TLS), in one warm notifier process,
//! interleaved; each timed from the batch handed over to the notifier's
//! answer, which it gives once its attempts have ended. Beside them,
//! `floor-post` makes one plain SendEmail call to the same SES and one plain
//! POST to the same receiver, and `floor-sdk` one SendEmail through the
//! SDK (signed, as the notifier sends) and one UpdateItem as the notifier
//! takes a contact's hourly slot, interleaved: what each server alone
//! costs, what the SDK's call adds, and the slot's write.

use crate::http::read_message;
use crate::notify::{batch, floor_posts, Hooks, BATCH};
use crate::setup::spawn;
use crate::{ms, Args};
use portguard_store::contacts::AlertContact;
use portguard_store::{clock, Actor, ActorKind, AuditEvent, AuditType, Store};
use portguard_validation::TenantId;
use serde_json::{json, Value};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A contact takes `ALERTS_PER_WINDOW` (30) alerts an hour; each tenant
/// here gets at most this many, its warm-up included.
const PER_TENANT: usize = 25;

/// The tenants whose one confirmed contact hears every type.
pub struct Contacts {
    pub tenants: Vec<String>,
    pub addresses: Vec<String>,
}

/// Rounds of the phase: as many emails as webhooks.
pub fn rounds(a: &Args) -> usize {
    (a.warm / 10).clamp(10, 100)
}

/// One confirmed contact per tenant, written as set-pin writes them.
pub async fn setup(store: &Store, a: &Args) -> Contacts {
    let count = rounds(a).div_ceil(PER_TENANT - 1);
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let (mut tenants, mut addresses) = (Vec::new(), Vec::new());
    for i in 0..count {
        let tenant: TenantId = format!("t-alert-{i:02}").parse().expect("tenant id");
        let email = format!("bench-{i:02}-{run}@example.com");
        let now = clock::now();
        let actor = Actor {
            kind: ActorKind::TenantAdmin,
            id: Some("bench".into()),
        };
        let book = store.alert_contacts(&tenant).await.expect("contacts");
        let contact = AlertContact::new(
            &tenant,
            &email,
            AuditType::ALL.to_vec(),
            "not-a-code-hash".into(),
            now,
        );
        let added = AuditEvent::new(&tenant, now, AuditType::AlertContactAdded, actor.clone());
        store
            .add_alert_contact(&book, &contact, &added)
            .await
            .expect("contact added");
        let confirmed = AuditEvent::new(&tenant, now, AuditType::AlertContactConfirmed, actor);
        store
            .confirm_alert_contact(&contact, now, &confirmed)
            .await
            .expect("contact confirmed");
        tenants.push(tenant.to_string());
        addresses.push(email);
    }
    Contacts { tenants, addresses }
}

/// How many emails the local SES at `store` (plain `http://host:port`)
/// received for `addresses`.
fn emails_received(store: &str, addresses: &[String]) -> Result<usize, String> {
    let host = store.trim_start_matches("http://").trim_end_matches('/');
    let stream = TcpStream::connect(host).map_err(|e| format!("{host}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut out = stream.try_clone().map_err(|e| e.to_string())?;
    write!(
        out,
        "GET /store HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let resp = read_message(&mut BufReader::new(stream))
        .map_err(|e| e.to_string())?
        .ok_or("no answer")?;
    let v: Value = serde_json::from_slice(&resp.body).map_err(|e| e.to_string())?;
    Ok(v["emails"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["destination"]["to"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|to| addresses.iter().any(|a| to.as_str() == Some(a)))
        })
        .count())
}

/// `floor-post`'s event: one plain SES v2 SendEmail (`POST
/// /v2/email/outbound-emails`, not signed: the local SES asks for an
/// authorization header but does not check it) to an address no email of
/// the phase uses.
fn plain_send_email(ses_url: &str) -> Value {
    let email = json!({
        "FromEmailAddress": "alerts@portguard.localhost",
        "Destination": {"ToAddresses": ["floor@example.com"]},
        "Content": {"Simple": {
            "Subject": {"Data": "portguard: port_out.rejected"},
            "Body": {"Text": {"Data": "A plain call, to time the server alone."}},
        }},
    });
    json!({"concurrency": 1, "posts": [{
        "url": format!("{}/v2/email/outbound-emails", ses_url.trim_end_matches('/')),
        "id": "floor", "body": email.to_string(),
        // The local SES wants some authorization, never checks it.
        "headers": {"authorization": "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=00"},
    }]})
}

fn acknowledged(out: &Value) -> bool {
    out["acknowledged"].as_u64() == Some(1)
}

fn batch_ok(out: &Value) -> bool {
    out["batchItemFailures"]
        .as_array()
        .is_some_and(Vec::is_empty)
}

pub fn run(
    a: &Args,
    env: &[(String, String)],
    hooks: &Hooks,
    contacts: &Contacts,
    failures: &mut Vec<String>,
) -> Value {
    let (Some(ses_url), Some(store)) = (&a.ses_url, &a.ses_store) else {
        eprintln!("[bench] alerts: no --ses-url/--ses-store, skipped");
        return Value::Null;
    };
    let rounds = rounds(a);
    eprintln!("[bench] alerts: {rounds} one-email records beside as many one-webhook records");
    let mut f = spawn(a, "notifier", env);
    let mut floor = spawn(a, "floor-post", env);
    let mut sdk = spawn(a, "floor-sdk", env);
    let sdk_email = json!({"op": "send-email", "from": "alerts@portguard.localhost",
                           "to": "floor@example.com"});
    let n = contacts.tenants.len();
    // Warm-up: each contact's window opened, the receiver's connection made.
    for (i, tenant) in contacts.tenants.iter().enumerate() {
        f.invoke(&batch(std::slice::from_ref(tenant)).0)
            .expect("warm-up");
        f.invoke(&batch(&hooks.tenants[i % BATCH..][..1]).0)
            .expect("warm-up");
    }
    floor.invoke(&plain_send_email(ses_url)).expect("warm-up");
    floor
        .invoke(&floor_posts(hooks, &hooks.tenants[..1]).0)
        .expect("warm-up");
    let sdk_slot = json!({"op": "slot", "key": "TENANT#bench-slot"});
    sdk.invoke(&sdk_email).expect("warm-up");
    sdk.invoke(&sdk_slot).expect("warm-up");
    let (mut email, mut webhook, mut plain_email, mut plain_post) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut sdk_send, mut sdk_slots) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let tenant = &contacts.tenants[round % n];
        let (d, out) = f
            .invoke(&batch(std::slice::from_ref(tenant)).0)
            .unwrap_or_else(|e| panic!("{e}"));
        if !batch_ok(&out.body) && failures.len() < 20 {
            failures.push(format!("alert email: {}", out.body));
        }
        email.push(ms(d));
        let (ev, ids) = batch(&hooks.tenants[(round + n) % BATCH..][..1]);
        let (d, out) = f.invoke(&ev).unwrap_or_else(|e| panic!("{e}"));
        let acked = hooks.receiver.acks(&ids, Duration::from_secs(5));
        if (!batch_ok(&out.body) || acked.iter().any(Option::is_none)) && failures.len() < 20 {
            failures.push(format!("one webhook: {}", out.body));
        }
        webhook.push(ms(d));
        let (d, out) = floor
            .invoke(&plain_send_email(ses_url))
            .unwrap_or_else(|e| panic!("{e}"));
        if !acknowledged(&out.body) && failures.len() < 20 {
            failures.push(format!("floor-post to the local SES: {}", out.body));
        }
        plain_email.push(ms(d));
        let (ev, _) = floor_posts(hooks, &hooks.tenants[round % BATCH..][..1]);
        let (d, out) = floor.invoke(&ev).unwrap_or_else(|e| panic!("{e}"));
        if !acknowledged(&out.body) && failures.len() < 20 {
            failures.push(format!("floor-post to the receiver: {}", out.body));
        }
        plain_post.push(ms(d));
        let (d, out) = sdk.invoke(&sdk_email).unwrap_or_else(|e| panic!("{e}"));
        if out.body["op"] != "send-email" && failures.len() < 20 {
            failures.push(format!("floor-sdk's SendEmail: {}", out.body));
        }
        sdk_send.push(ms(d));
        let (d, out) = sdk.invoke(&sdk_slot).unwrap_or_else(|e| panic!("{e}"));
        if out.body["op"] != "slot" && failures.len() < 20 {
            failures.push(format!("floor-sdk's slot: {}", out.body));
        }
        sdk_slots.push(ms(d));
    }
    let rss = f.peak_rss_kib();
    f.stop();
    floor.stop();
    sdk.stop();
    let sent = n + rounds;
    let received = emails_received(store, &contacts.addresses).unwrap_or_else(|e| {
        failures.push(format!("the local SES's store: {e}"));
        0
    });
    if received != sent {
        failures.push(format!(
            "alert emails: {sent} sent, the local SES received {received}"
        ));
    }
    json!({"email_ms": email, "webhook_ms": webhook, "plain_email_ms": plain_email,
           "plain_post_ms": plain_post, "sdk_email_ms": sdk_send,
           "sdk_slot_ms": sdk_slots, "emails_sent": sent,
           "emails_received": received, "rss_kib": rss})
}
