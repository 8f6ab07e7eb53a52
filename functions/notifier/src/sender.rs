//! The outbound HTTP client: one per cold start, rustls on ring (the SDK
//! client's stack, so the binary has one TLS implementation), a 5 second
//! limit (2 seconds for the stream's first attempt), no redirects, no proxies, and a DNS resolver that refuses blocked
//! addresses and hands the client only the addresses it checked, so there
//! is no second lookup an attacker's DNS could answer differently.

use portguard_validation::{ip_blocked, NotifyUrl};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A delivery answered within this is judged; anything slower failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The stream's first attempt waits this long at most (contract §14): a
/// slow endpoint holds its stream batch, and the tenants' records behind
/// it, for no longer; the scheduled retries keep [`DELIVERY_TIMEOUT`].
pub const FIRST_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why an attempt failed: the short reason an endpoint shows as
/// `lastFailure`. Never a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Status(u16),
    ConnectionRefused,
    ConnectionFailed,
    BlockedAddress,
    UnknownHost,
    Other,
}

impl Failure {
    pub fn reason(&self) -> String {
        match self {
            Failure::Timeout => "timeout".into(),
            Failure::Status(code) => format!("status {code}"),
            Failure::ConnectionRefused => "connection refused".into(),
            Failure::ConnectionFailed => "connection failed".into(),
            Failure::BlockedAddress => "blocked address".into(),
            Failure::UnknownHost => "unknown host".into(),
            Failure::Other => "request failed".into(),
        }
    }
}

/// The resolver refused the host: it resolves to a blocked address.
#[derive(Debug)]
struct Blocked;

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves to a blocked address")
    }
}
impl std::error::Error for Blocked {}

#[derive(Debug)]
struct NoAddress;

impl std::fmt::Display for NoAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host has no address")
    }
}
impl std::error::Error for NoAddress {}

/// Resolves with the system resolver, then checks every address: one
/// blocked address refuses the host (a name that resolves to both a public
/// and a private address is an attack, not a configuration).
struct GuardedResolver {
    allow_loopback: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Box::new(NoAddress) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(NoAddress) as _);
            }
            if addrs.iter().any(|a| ip_blocked(a.ip(), allow_loopback)) {
                return Err(Box::new(Blocked) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_loopback: bool,
}

impl Sender {
    pub fn new(allow_loopback: bool) -> Result<Sender, reqwest::Error> {
        // Ring, as the SDK client; reqwest is built without a provider of its
        // own. Installing twice (tests build several senders) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_loopback }))
            .user_agent("portguard-notifier/1")
            .build()?;
        Ok(Sender {
            client,
            allow_loopback,
        })
    }

    /// One signed POST. `timestamp` is the `webhook-timestamp` (now, by the
    /// wall clock: receivers check it against theirs).
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        webhook_id: &str,
        payload: &str,
        timestamp: i64,
    ) -> Result<(), Failure> {
        self.send_signed(
            url,
            &[secret],
            webhook_id,
            payload,
            timestamp,
            DELIVERY_TIMEOUT,
        )
        .await
    }

    /// One POST signed with each of `secrets` (Standard Webhooks: the
    /// signatures space-separated in `webhook-signature`; a receiver accepts
    /// any one it can verify), judged within `timeout`.
    pub async fn send_signed(
        &self,
        url: &str,
        secrets: &[&str],
        webhook_id: &str,
        payload: &str,
        timestamp: i64,
        timeout: Duration,
    ) -> Result<(), Failure> {
        // The URL rules again at delivery time: an IP literal never reaches
        // the resolver, and the switch may have been turned off since.
        let url =
            NotifyUrl::parse(url, self.allow_loopback).map_err(|_| Failure::BlockedAddress)?;
        if secrets.is_empty() {
            return Err(Failure::Other);
        }
        let signature = secrets
            .iter()
            .map(|secret| {
                standardwebhooks::Webhook::new(secret)
                    .and_then(|w| w.sign(webhook_id, timestamp, payload.as_bytes()))
                    .map_err(|_| Failure::Other)
            })
            .collect::<Result<Vec<String>, Failure>>()?
            .join(" ");
        let response = self
            .client
            .post(url.as_str())
            .timeout(timeout)
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Failure::Status(status.as_u16()))
        }
    }
}

fn classify(e: &reqwest::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<Blocked>() {
            return Failure::BlockedAddress;
        }
        if err.is::<NoAddress>() {
            return Failure::UnknownHost;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return Failure::ConnectionRefused;
            }
            if io.kind() == std::io::ErrorKind::TimedOut {
                return Failure::Timeout;
            }
        }
        source = err.source();
    }
    if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() {
        Failure::ConnectionFailed
    } else {
        Failure::Other
    }
}
