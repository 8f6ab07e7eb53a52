//! The local SES (npm `aws-ses-v2-local`, started by `scripts/ses-local.sh`;
//! `make test` and `make dev` point `AWS_ENDPOINT_URL_SESV2` at it): what it
//! has received, for tests of the alert emails (contract §17).
//!
//! It keeps every message in memory and serves them as JSON on `GET /store`
//! (`?since=EPOCH_SECONDS`: only those with `at >= since`):
//!
//! ```json
//! {"templates": {}, "emails": [{"messageId": "ses-123456789",
//!   "from": "alerts@portguard.localhost", "replyTo": [],
//!   "destination": {"to": ["ops@example.com"], "cc": [], "bcc": []},
//!   "subject": "…", "body": {"text": "…", "html": "…"},
//!   "attachments": [], "at": 1767225600}]}
//! ```
//!
//! `body.text` / `body.html` are absent when the message had none. `POST
//! /clear-store` forgets everything. The store is shared by every test of a
//! run: find your messages by a recipient address of your own (a fresh
//! `ulid` in it), not by clearing or counting the whole store.

use serde::Deserialize;
use std::time::Duration;

/// One message the local SES has accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    /// The local SES's id (`ses-…`), the `MessageId` SendEmail answered.
    pub message_id: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// When it was received, Unix seconds.
    pub at: i64,
}

impl SentEmail {
    /// Whether `address` is among its recipients (To, Cc or Bcc), compared
    /// without regard to case; an entry `Name <address>` counts.
    pub fn is_to(&self, address: &str) -> bool {
        let want = address.trim().to_ascii_lowercase();
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .any(|r| recipient_is(r, &want))
    }
}

fn recipient_is(recipient: &str, want_lower: &str) -> bool {
    let r = recipient.trim().to_ascii_lowercase();
    r == want_lower
        || r.rsplit_once('<')
            .and_then(|(_, rest)| rest.strip_suffix('>'))
            .is_some_and(|inner| inner.trim() == want_lower)
}

#[derive(Deserialize)]
struct Store {
    emails: Vec<StoredEmail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredEmail {
    #[serde(default)]
    message_id: String,
    from: String,
    #[serde(default)]
    destination: Destination,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: Body,
    at: i64,
}

#[derive(Deserialize, Default)]
struct Destination {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default)]
    bcc: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Body {
    text: Option<String>,
    html: Option<String>,
}

impl From<StoredEmail> for SentEmail {
    fn from(e: StoredEmail) -> SentEmail {
        SentEmail {
            message_id: e.message_id,
            from: e.from,
            to: e.destination.to,
            cc: e.destination.cc,
            bcc: e.destination.bcc,
            subject: e.subject,
            text: e.body.text,
            html: e.body.html,
            at: e.at,
        }
    }
}

/// The local SES's base URL (`AWS_ENDPOINT_URL_SESV2`, without a trailing
/// `/`), or `None` when it is not set.
pub fn ses_local_url() -> Option<String> {
    let url = std::env::var("AWS_ENDPOINT_URL_SESV2").ok()?;
    let url = url.trim().trim_end_matches('/');
    (!url.is_empty()).then(|| url.to_owned())
}

/// Whether the local SES is configured (`AWS_ENDPOINT_URL_SESV2` set when
/// first asked; read once, before any test changes it). When it is not, the
/// first caller in the binary says so with one line and every caller gets
/// `false`, so the test returns early: `if !needs_ses_local() { return; }`.
/// With `PORTGUARD_REQUIRE_SES_LOCAL` set (`make test`), a missing local SES
/// fails the test instead. Unlike [`crate::needs_dynamodb_local`] it does not
/// end the process: a binary's other tests may need no SES.
pub fn needs_ses_local() -> bool {
    static CONFIGURED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *CONFIGURED.get_or_init(|| ses_local_url().is_some()) {
        return true;
    }
    assert!(
        std::env::var_os("PORTGUARD_REQUIRE_SES_LOCAL").is_none(),
        "AWS_ENDPOINT_URL_SESV2 is not set, and PORTGUARD_REQUIRE_SES_LOCAL forbids skipping"
    );
    static SKIP: std::sync::Once = std::sync::Once::new();
    SKIP.call_once(|| {
        crate::say_skipped(&format!(
            "skipped the tests of tests/{}.rs that need the local SES: AWS_ENDPOINT_URL_SESV2 is not set (`make test` starts one)",
            crate::test_binary_name()
        ));
    });
    false
}

fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            // reqwest is built without a crypto provider (plain http here,
            // but building a client still asks for one).
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .no_proxy()
                .build()
                .expect("HTTP client")
        })
        .clone()
}

fn base_url() -> String {
    ses_local_url().expect("AWS_ENDPOINT_URL_SESV2 is not set (call needs_ses_local() first)")
}

/// Every message the local SES has received, oldest first; with `since`
/// (Unix seconds), only those received at or after it. Panics when the local
/// SES does not answer.
pub async fn sent_emails(since: Option<i64>) -> Vec<SentEmail> {
    let url = match since {
        Some(s) => format!("{}/store?since={s}", base_url()),
        None => format!("{}/store", base_url()),
    };
    let resp = client()
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(
        status.is_success(),
        "GET {url}: HTTP {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let store: Store = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "GET {url}: not the store's JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    store.emails.into_iter().map(SentEmail::from).collect()
}

/// The messages to `address` (To, Cc or Bcc; case-insensitive), oldest first.
pub async fn sent_emails_to(address: &str) -> Vec<SentEmail> {
    let mut all = sent_emails(None).await;
    all.retain(|e| e.is_to(address));
    all
}

/// Polls until at least `count` messages to `address` have arrived, and
/// returns them all; panics after `timeout` (delivery may be asynchronous).
pub async fn wait_for_emails_to(address: &str, count: usize, timeout: Duration) -> Vec<SentEmail> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let got = sent_emails_to(address).await;
        if got.len() >= count {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} emails to {address} after {timeout:?}: {got:#?}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Forgets every message (and template). The store is shared by the whole
/// run: only for a test that runs alone; others filter by their own address.
pub async fn clear_sent_emails() {
    let url = format!("{}/clear-store", base_url());
    let resp = client()
        .post(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert!(
        resp.status().is_success(),
        "POST {url}: HTTP {}",
        resp.status()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_store() {
        let json = br#"{"templates":{},"emails":[
          {"messageId":"ses-1","from":"alerts@portguard.localhost","replyTo":[],
           "destination":{"to":["Ops <OPS@example.com>"],"cc":[],"bcc":["audit@example.com"]},
           "subject":"s","body":{"text":"t"},"attachments":[],"at":1767225600}]}"#;
        let store: Store = serde_json::from_slice(json).unwrap();
        let e = SentEmail::from(store.emails.into_iter().next().unwrap());
        assert_eq!(e.message_id, "ses-1");
        assert_eq!(e.text.as_deref(), Some("t"));
        assert_eq!(e.html, None);
        assert_eq!(e.at, 1_767_225_600);
        assert!(e.is_to("ops@example.com"));
        assert!(e.is_to("audit@example.com"));
        assert!(!e.is_to("other@example.com"));
        assert!(!e.is_to("s@example.com"));
    }
}
