//! tests/src/ses.rs against a running local SES (`scripts/ses-local.sh`,
//! `AWS_ENDPOINT_URL_SESV2`): what the real SES v2 SDK sends is what the
//! reader returns. Skipped with one line without a local SES, except under
//! `make test` (`PORTGUARD_REQUIRE_SES_LOCAL=1`).

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use portguard_tests::ses::{self, needs_ses_local, ses_local_url};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An SES v2 client for the local SES, with the development credentials.
fn client() -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(ses_local_url().expect("checked by needs_ses_local"))
        .http_client(portguard_store::https_client())
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

fn content(data: &str) -> Content {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .unwrap()
}

async fn send(to: &[&str], subject: &str, text: Option<&str>, html: Option<&str>) -> String {
    let mut body = Body::builder();
    if let Some(t) = text {
        body = body.text(content(t));
    }
    if let Some(h) = html {
        body = body.html(content(h));
    }
    let message = Message::builder()
        .subject(content(subject))
        .body(body.build())
        .build();
    let out = client()
        .send_email()
        .from_email_address("alerts@portguard.localhost")
        .destination(
            Destination::builder()
                .set_to_addresses(Some(to.iter().map(|s| s.to_string()).collect()))
                .build(),
        )
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await
        .expect("SendEmail to the local SES");
    out.message_id().expect("a MessageId").to_owned()
}

fn unique_address() -> String {
    format!(
        "ses-local-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn the_reader_returns_what_sendemail_sent() {
    if !needs_ses_local() {
        return;
    }
    let to = unique_address();
    let other = unique_address();
    let before = now();
    let id = send(
        &[&to, &other],
        "Port-out request accepted for 2 numbers",
        Some("plain <text> & more"),
        Some("<p>html &amp; more</p>"),
    )
    .await;

    let got = ses::wait_for_emails_to(&to, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let e = &got[0];
    assert_eq!(e.message_id, id);
    assert_eq!(e.from, "alerts@portguard.localhost");
    assert_eq!(e.to, vec![to.clone(), other.clone()]);
    assert_eq!(e.subject, "Port-out request accepted for 2 numbers");
    assert_eq!(e.text.as_deref(), Some("plain <text> & more"));
    assert_eq!(e.html.as_deref(), Some("<p>html &amp; more</p>"));
    assert!(
        e.at >= before && e.at <= now(),
        "at {} not in [{before}, now]",
        e.at
    );

    // Recipients compare without regard to case; the second one sees it too.
    assert_eq!(ses::sent_emails_to(&to.to_uppercase()).await, got);
    assert_eq!(ses::sent_emails_to(&other).await, got);
    assert!(ses::sent_emails_to(&unique_address()).await.is_empty());

    // `since` (Unix seconds, inclusive) filters on the server.
    assert!(ses::sent_emails(Some(before))
        .await
        .iter()
        .any(|m| m.message_id == id));
    assert!(!ses::sent_emails(Some(now() + 60))
        .await
        .iter()
        .any(|m| m.message_id == id));
    assert!(ses::sent_emails(None)
        .await
        .iter()
        .any(|m| m.message_id == id));
}

#[tokio::test]
async fn a_text_only_message_has_no_html() {
    if !needs_ses_local() {
        return;
    }
    let to = unique_address();
    let id = send(&[&to], "Text only", Some("just text"), None).await;
    let got = ses::wait_for_emails_to(&to, 1, Duration::from_secs(10)).await;
    assert_eq!(got[0].message_id, id);
    assert_eq!(got[0].text.as_deref(), Some("just text"));
    assert_eq!(got[0].html, None);
}
