//! One attempt of one delivery, whichever path makes it: where it goes
//! (a webhook, an email, Telnyx), the send itself, and how its end is
//! judged (contract §14: a `2xx` within the time limit is a delivery,
//! anything else a failure retried with back-off, then abandoned).

use crate::{App, SERVICE};
use crate::{DELIVERY_TIMEOUT, FIRST_ATTEMPT_TIMEOUT};
use portguard_email::Message;
use portguard_rules::notify::{after_failure, AfterFailure};
use portguard_store::clock;
use portguard_store::notify::{AttemptEnd, Delivery, Endpoint, PreviousEndpoint, Target};
use portguard_validation::TenantId;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Delivered,
    Retrying,
    Abandoned,
}

/// A webhook's URL and the stored forms of the secrets that sign for it
/// (two while a rotated secret is within its 24 hours), with their owner:
/// [`App::signing_secrets`] derives the secrets from them (contract §14).
pub(crate) struct Hook {
    pub url: String,
    pub owner: String,
    pub secrets: Vec<String>,
}

impl Hook {
    pub fn of(endpoint: &Endpoint, now: i64) -> Hook {
        Hook {
            url: endpoint.url.clone(),
            owner: endpoint.target.to_string(),
            secrets: endpoint.signing_secrets(now),
        }
    }

    /// The tenant's endpoint as it was before a change.
    pub fn before(previous: PreviousEndpoint, tenant: &TenantId) -> Hook {
        Hook {
            url: previous.url,
            owner: Target::Tenant(tenant.clone()).to_string(),
            secrets: previous.secrets,
        }
    }
}

/// Where one delivery goes, as read when it is attempted.
pub(crate) enum Destination {
    Webhook(Hook),
    /// A confirmed contact's address.
    Email(String),
    /// Telnyx's id of a port-out the tenant rejected.
    Telnyx(String),
}

/// How an attempt that ended with `result` is recorded, by the clock `now`,
/// and logged as the single path always logged it.
pub(crate) fn judge<'a>(
    delivery: &Delivery,
    result: Result<(), &'a str>,
    now: i64,
    elapsed_ms: u64,
) -> (Outcome, AttemptEnd<'a>) {
    let (outcome, end) = match result {
        Ok(()) => (Outcome::Delivered, AttemptEnd::Delivered),
        Err(failure) => match after_failure(delivery.attempts, now) {
            AfterFailure::RetryAt(at) => (Outcome::Retrying, AttemptEnd::Retry { at, failure }),
            AfterFailure::Abandon => (Outcome::Abandoned, AttemptEnd::Abandoned { failure }),
        },
    };
    let next_due = match end {
        AttemptEnd::Retry { at, .. } => Some(clock::format(at)),
        _ => None,
    };
    tracing::info!(
        audit_id = %delivery.audit_id,
        target = %delivery.target,
        attempt = delivery.attempts,
        elapsed_ms,
        failure = result.err(),
        next_due,
        outcome = ?outcome,
        "delivery attempt"
    );
    if outcome == Outcome::Abandoned {
        tracing::warn!(audit_id = %delivery.audit_id, target = %delivery.target, "delivery abandoned after the last attempt");
        portguard_api::metrics::count(SERVICE, "NotificationAbandoned");
    }
    (outcome, end)
}

impl App {
    /// The secrets that sign for `hook`, derived from their stored forms:
    /// the one place a stored form becomes a secret. One that cannot be
    /// derived fails the attempt with a short reason, never a wrong signature.
    fn signing_secrets(&self, hook: &Hook) -> Result<Vec<String>, String> {
        hook.secrets
            .iter()
            .map(|stored| {
                self.endpoint_keys.reveal(&hook.owner, stored).map_err(|e| {
                    tracing::error!(target = %hook.owner, error = %e, "endpoint secret not derived");
                    "secret unusable".to_owned()
                })
            })
            .collect()
    }

    /// Sends one attempt; the short reason of a failure. A webhook's
    /// attempt from the stream (`first`) waits [`FIRST_ATTEMPT_TIMEOUT`].
    pub(crate) async fn send(
        &self,
        delivery: &Delivery,
        destination: &Destination,
        first: bool,
    ) -> Result<(), String> {
        match destination {
            Destination::Webhook(hook) => {
                let secrets = self.signing_secrets(hook)?;
                let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
                let timeout = if first {
                    FIRST_ATTEMPT_TIMEOUT
                } else {
                    DELIVERY_TIMEOUT
                };
                self.sender
                    .send_signed(
                        &hook.url,
                        &secrets,
                        delivery.audit_id.as_str(),
                        &delivery.payload,
                        clock::now(),
                        timeout,
                    )
                    .await
                    .map_err(|f| f.reason())
            }
            Destination::Telnyx(id) => match &self.telnyx {
                Some(api) => api
                    .reject_pending(id, &delivery.payload)
                    .await
                    .map_err(|f| f.reason()),
                None => Err("Telnyx is not configured".into()),
            },
            Destination::Email(to) => {
                let Ok(message) = serde_json::from_str::<Message>(&delivery.payload) else {
                    return Err("unreadable message".into());
                };
                self.mailer.send(to, &message).await.map_err(|f| f.reason())
            }
        }
    }
}
