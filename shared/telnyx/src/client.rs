//! The one call portguard makes at Telnyx (contract §16): `PATCH
//! {base}/portouts/{id}/rejected-pending` with the Bearer key and
//! `{"reason": …}`. Used by `submit-port-out` (a failed check) and by the
//! notifier (a tenant's reject, retried on its schedule).
//!
//! The notifier's rules for outbound HTTP (functions/notifier/src/sender.rs):
//! rustls on ring (the SDK client's stack: one TLS implementation), a 5 s
//! limit, no redirects, no proxy. The address is the operator's
//! configuration, not a tenant's, so no resolver guard; it must be `https`
//! except on loopback (the local stand-in).

use portguard_secrets::{load_secret, SecretError};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

/// A call answered within this is judged; anything slower failed.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_BASE_URL: &str = "https://api.telnyx.com/v2";
pub const API_KEY_VAR: &str = "TELNYX_API_KEY";
pub const API_KEY_ARN_VAR: &str = "TELNYX_API_KEY_ARN";
pub const BASE_URL_VAR: &str = "TELNYX_API_BASE_URL";

/// Why a call failed: a short reason, never a response body (it could echo
/// the request, and the request carries the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    Timeout,
    Status(u16),
    ConnectionRefused,
    ConnectionFailed,
    Other,
}

impl CallFailure {
    pub fn reason(&self) -> String {
        match self {
            CallFailure::Timeout => "timeout".into(),
            CallFailure::Status(code) => format!("status {code}"),
            CallFailure::ConnectionRefused => "connection refused".into(),
            CallFailure::ConnectionFailed => "connection failed".into(),
            CallFailure::Other => "request failed".into(),
        }
    }
}

/// Telnyx's API as portguard calls it.
#[derive(Clone)]
pub struct TelnyxApi {
    base_url: Url,
    api_key: SecretString,
    client: reqwest::Client,
}

impl std::fmt::Debug for TelnyxApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxApi")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// A bad configuration, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl TelnyxApi {
    /// `base_url` is `https` (or `http` on loopback), without user name,
    /// query or fragment; the key is 1–512 visible ASCII characters.
    pub fn new(base_url: &str, api_key: &str) -> Result<TelnyxApi, ConfigError> {
        let bad_url = |why: &str| ConfigError(format!("{BASE_URL_VAR}: {why}"));
        let mut url = Url::parse(base_url.trim()).map_err(|_| bad_url("not a URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if loopback(&url) => {}
            _ => return Err(bad_url("must be https (http only on loopback)")),
        }
        if url.cannot_be_a_base()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad_url("must be a plain base URL"));
        }
        // One trailing slash, so joining keeps the base's path (`/v2/`).
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let key_ok = !api_key.is_empty()
            && api_key.len() <= 512
            && api_key.bytes().all(|b| b.is_ascii_graphic());
        if !key_ok {
            return Err(ConfigError(format!(
                "{API_KEY_VAR}: must be 1 to 512 visible ASCII characters"
            )));
        }
        // Ring, as the SDK client; reqwest is built without a provider of
        // its own. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("portguard/1")
            .build()
            .map_err(|e| ConfigError(format!("{BASE_URL_VAR}: cannot build a client: {e}")))?;
        Ok(TelnyxApi {
            base_url: url,
            api_key: SecretString::from(api_key.to_owned()),
            client,
        })
    }

    /// `TELNYX_API_KEY` / `TELNYX_API_KEY_ARN` and `TELNYX_API_BASE_URL`;
    /// `None` when no key is configured. A bad value fails naming its
    /// variable.
    pub async fn from_env() -> Result<Option<TelnyxApi>, ConfigError> {
        let (key, var) = match load_secret(API_KEY_VAR, API_KEY_ARN_VAR).await {
            Ok(found) => found,
            Err(SecretError::Missing { .. }) => return Ok(None),
            Err(e) => return Err(ConfigError(e.to_string())),
        };
        let base = std::env::var(BASE_URL_VAR).unwrap_or_else(|_| DEFAULT_BASE_URL.into());
        TelnyxApi::new(&base, key.trim())
            .map(Some)
            .map_err(|ConfigError(e)| ConfigError(e.replace(API_KEY_VAR, var)))
    }

    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// Rejects a pending port-out at Telnyx. `port_out_id` is Telnyx's id
    /// (a path segment: anything but its alphabet is refused unsent).
    pub async fn reject_pending(&self, port_out_id: &str, reason: &str) -> Result<(), CallFailure> {
        let safe = !port_out_id.is_empty()
            && port_out_id.len() <= crate::event::MAX_PORT_OUT_ID
            && port_out_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !safe {
            return Err(CallFailure::Other);
        }
        let url = self
            .base_url
            .join(&format!("portouts/{port_out_id}/rejected-pending"))
            .map_err(|_| CallFailure::Other)?;
        let body = serde_json::json!({ "reason": reason }).to_string();
        let response = self
            .client
            .patch(url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header(
                "authorization",
                format!("Bearer {}", self.api_key.expose_secret()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(CallFailure::Status(status.as_u16()))
        }
    }
}

fn classify(e: &reqwest::Error) -> CallFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return CallFailure::ConnectionRefused,
                std::io::ErrorKind::TimedOut => return CallFailure::Timeout,
                _ => {}
            }
        }
        source = err.source();
    }
    if e.is_timeout() {
        CallFailure::Timeout
    } else if e.is_connect() {
        CallFailure::ConnectionFailed
    } else {
        CallFailure::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn configuration_is_checked() {
        assert!(TelnyxApi::new("https://api.telnyx.com/v2", "KEY123").is_ok());
        assert!(TelnyxApi::new("http://127.0.0.1:9/v2", "KEY123").is_ok());
        let err = |url: &str, key: &str| TelnyxApi::new(url, key).unwrap_err().0;
        assert!(err("http://api.telnyx.com/v2", "K").starts_with(BASE_URL_VAR));
        assert!(err("https://u:p@api.telnyx.com/v2", "K").starts_with(BASE_URL_VAR));
        assert!(err("nope", "K").starts_with(BASE_URL_VAR));
        assert!(err("https://api.telnyx.com/v2", "").starts_with(API_KEY_VAR));
        assert!(err("https://api.telnyx.com/v2", "a b").starts_with(API_KEY_VAR));
        let api = TelnyxApi::new("https://api.telnyx.com/v2", "SECRETKEY").unwrap();
        assert!(!format!("{api:?}").contains("SECRETKEY"));
    }

    /// One request on a raw socket: the request as sent, answered `status`.
    async fn serve_once(status: u16) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v2", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let mut got = Vec::new();
            loop {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some(head) = text.find("\r\n\r\n") {
                    let len = text[..head]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= head + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            s.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(got).unwrap()
        });
        (base, task)
    }

    #[tokio::test]
    async fn the_call_is_a_bearer_patch_with_the_reason() {
        let (base, task) = serve_once(200).await;
        let api = TelnyxApi::new(&base, "KEY123").unwrap();
        api.reject_pending("9a1f-22", "PIN_MISMATCH: no")
            .await
            .unwrap();
        let req = task.await.unwrap();
        assert!(
            req.starts_with("PATCH /v2/portouts/9a1f-22/rejected-pending HTTP/1.1"),
            "{req}"
        );
        assert!(
            req.to_ascii_lowercase()
                .contains("authorization: bearer key123"),
            "{req}"
        );
        assert!(req.ends_with(r#"{"reason":"PIN_MISMATCH: no"}"#), "{req}");
    }

    #[tokio::test]
    async fn failures_are_short_reasons() {
        let (base, task) = serve_once(503).await;
        let api = TelnyxApi::new(&base, "KEY123").unwrap();
        assert_eq!(
            api.reject_pending("po", "r").await,
            Err(CallFailure::Status(503))
        );
        task.await.unwrap();
        // A redirect is a failure, not followed.
        let (base, task) = serve_once(307).await;
        let api = TelnyxApi::new(&base, "KEY123").unwrap();
        assert_eq!(
            api.reject_pending("po", "r").await,
            Err(CallFailure::Status(307))
        );
        task.await.unwrap();
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v2", closed.local_addr().unwrap());
        drop(closed);
        let api = TelnyxApi::new(&base, "KEY123").unwrap();
        assert_eq!(
            api.reject_pending("po", "r").await,
            Err(CallFailure::ConnectionRefused)
        );
        assert_eq!(
            api.reject_pending("../x", "r").await,
            Err(CallFailure::Other)
        );
    }
}
