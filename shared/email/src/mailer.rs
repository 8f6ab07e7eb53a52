//! Sending through SES v2 (`SendEmail`, simple content), on the store's
//! HTTPS client (rustls with ring: one TLS stack per binary). Time limits
//! match the webhooks' (contract §14): an attempt judged within 5 seconds;
//! retries are the notifier's schedule, not the SDK's.

use crate::Message;
use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent};
use aws_sdk_sesv2::Client;
use portguard_api::config::ConfigError;
use portguard_validation::EmailAddress;
use std::time::Duration;

/// Why a message was not sent: the short reason a contact shows as
/// `lastFailure`, never a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// `ALERT_FROM_ADDRESS` is not set: nothing is sent.
    NotConfigured,
    Timeout,
    /// SES refused the message (for example an unverified sender in its
    /// sandbox); the code names SES's error type.
    Refused(String),
    Unavailable,
}

impl SendFailure {
    pub fn reason(&self) -> String {
        match self {
            SendFailure::NotConfigured => "email sending is not configured".into(),
            SendFailure::Timeout => "timeout".into(),
            SendFailure::Refused(code) => format!("refused by SES ({code})"),
            SendFailure::Unavailable => "SES unavailable".into(),
        }
    }
}

#[derive(Clone)]
pub struct Mailer {
    client: Client,
    from: Option<EmailAddress>,
    console_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// `CONSOLE_URL` when unset: a relative link would be useless in a mailbox,
/// so say where the console is documented instead.
const NO_CONSOLE_URL: &str = "https://console.invalid";

impl Mailer {
    pub fn new(client: Client, from: Option<EmailAddress>, console_url: String) -> Mailer {
        Mailer {
            client,
            from,
            console_url,
        }
    }

    /// A mailer that sends nothing (no `ALERT_FROM_ADDRESS`): every send
    /// fails with [`SendFailure::NotConfigured`] without a request.
    pub fn disabled() -> Mailer {
        let config = aws_sdk_sesv2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        Mailer::new(Client::from_conf(config), None, NO_CONSOLE_URL.to_owned())
    }

    /// `ALERT_FROM_ADDRESS` (absent: contacts can be managed, nothing is
    /// sent, and start-up says so) and `CONSOLE_URL`; the standard SDK
    /// environment (`AWS_ENDPOINT_URL_SESV2` points at the local SES).
    pub async fn from_env() -> Result<Mailer, ConfigError> {
        let from = match std::env::var("ALERT_FROM_ADDRESS") {
            Ok(v) if !v.trim().is_empty() => {
                Some(EmailAddress::parse(v.trim()).map_err(|e| ConfigError {
                    var: "ALERT_FROM_ADDRESS",
                    message: e.to_string(),
                })?)
            }
            _ => {
                tracing::warn!("ALERT_FROM_ADDRESS is not set: alert contacts can be managed, but no email is sent");
                None
            }
        };
        let console_url = match std::env::var("CONSOLE_URL") {
            Ok(v) if !v.trim().is_empty() => {
                let parsed = url::Url::parse(v.trim())
                    .ok()
                    .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
                parsed.ok_or_else(|| ConfigError {
                    var: "CONSOLE_URL",
                    message: "must be an http(s) URL such as https://console.example.com".into(),
                })?;
                v.trim().to_owned()
            }
            _ => NO_CONSOLE_URL.to_owned(),
        };
        Ok(Mailer::connect(from, console_url, None).await)
    }

    /// A mailer sending from `from` through SES v2 at the standard SDK
    /// environment's endpoint, or at `endpoint` (tests: a stopped SES).
    pub async fn connect(
        from: Option<EmailAddress>,
        console_url: String,
        endpoint: Option<&str>,
    ) -> Mailer {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(portguard_store::https_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(5))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(1));
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let config = loader.load().await;
        Mailer::new(Client::new(&config), from, console_url)
    }

    pub fn can_send(&self) -> bool {
        self.from.is_some()
    }

    pub fn console_url(&self) -> &str {
        &self.console_url
    }

    /// Sends `message` to `to`.
    pub async fn send(&self, to: &str, message: &Message) -> Result<(), SendFailure> {
        let Some(from) = &self.from else {
            return Err(SendFailure::NotConfigured);
        };
        let content = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .expect("data set")
        };
        let email = aws_sdk_sesv2::types::Message::builder()
            .subject(content(&message.subject))
            .body(
                Body::builder()
                    .text(content(&message.text))
                    .html(content(&message.html))
                    .build(),
            )
            .build();
        let sent = self
            .client
            .send_email()
            .from_email_address(from.as_str())
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(email).build())
            .send()
            .await;
        sent.map(|_| ()).map_err(classify)
    }
}

fn classify<E, R>(e: aws_sdk_sesv2::error::SdkError<E, R>) -> SendFailure
where
    E: aws_sdk_sesv2::error::ProvideErrorMetadata,
{
    use aws_sdk_sesv2::error::SdkError;
    match &e {
        SdkError::TimeoutError(_) => SendFailure::Timeout,
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) if !code.is_empty() => SendFailure::Refused(clip(code)),
            _ => SendFailure::Unavailable,
        },
        _ => SendFailure::Unavailable,
    }
}

/// An error code is SES's word; still, never more than a short token.
fn clip(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(48)
        .collect()
}
