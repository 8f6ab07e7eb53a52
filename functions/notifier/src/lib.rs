//! `notifier`: signed webhooks of contract §14 and alert emails of §17.
//! One binary, two invocations, told apart by the event's shape:
//!
//! - the table stream (`{"Records": [...]}`): each new audit item becomes
//!   one delivery per destination that should hear of it (the tenant's
//!   endpoint; for a change of that endpoint also the endpoint as it was
//!   before; for a status change the order's carrier unless it caused it;
//!   each confirmed alert contact whose types include it, within its hourly
//!   limit), attempted once at once, a webhook within
//!   [`FIRST_ATTEMPT_TIMEOUT`] (an endpoint that failed within the last
//!   minute is not tried at once: its delivery goes straight to the
//!   scheduled run), then recorded once, where it is not yet (a redelivered
//!   record sends nothing): delivered, or a due retry, and the batch moves
//!   on. The whole batch is read and recorded with batch requests, its
//!   deliveries attempted together (`stream.rs`);
//! - the one-minute schedule (`{"detail-type": …, "time": …}`, `time` is
//!   the clock): every delivery due by then is attempted again, and
//!   abandoned after the last attempt of `portguard_rules::notify`. The run
//!   is fair across destinations: at most [`PER_TARGET_PER_RUN`] of one
//!   destination, taken in turn with the others', and none more of a
//!   destination once one of its attempts failed in this run (`retry.rs`).
//!
//! `main.rs` wires; `App` is tested directly.

mod attempts;
mod deliver;
mod payload;
mod retry;
mod sender;
mod stream;

pub use payload::{carrier_payload, image_to_item, tenant_payload};
pub use sender::{Failure, Sender, DELIVERY_TIMEOUT, FIRST_ATTEMPT_TIMEOUT};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use deliver::Destination;
use lambda_runtime::Diagnostic;
use portguard_email::Mailer;
use portguard_rules::OrderStatus;
use portguard_secrets::EndpointKeys;
use portguard_store::notify::Target;
use portguard_store::{AuditEvent, Source, Store, StoreError};
use portguard_telnyx::{Reject, TelnyxApi};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

pub const SERVICE: &str = "notifier";

/// A claimed attempt that never reports back (the process died) is due
/// again after this: far longer than an attempt can take.
pub const LEASE_SECONDS: i64 = 120;

/// Deliveries of one destination attempted by one scheduled run at most, so
/// a tenant with thousands due cannot starve the others.
pub const PER_TARGET_PER_RUN: usize = 20;

/// An endpoint that failed this recently is not tried at once from the
/// stream: the delivery goes straight to the scheduled run.
pub const RECENT_FAILURE_SECONDS: i64 = 60;

/// The scheduled run starts no new attempt after this (it runs every minute).
pub const RETRY_BUDGET: Duration = Duration::from_secs(45);

/// What a scheduled run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Report {
    pub attempted: u64,
    pub delivered: u64,
    pub abandoned: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{0}")]
    InvalidEvent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<NotifyError> for Diagnostic {
    fn from(e: NotifyError) -> Diagnostic {
        let error_type = match &e {
            NotifyError::InvalidEvent(_) => "InvalidEvent",
            NotifyError::Store(StoreError::Unavailable(_)) => "Unavailable",
            NotifyError::Store(_) => "Internal",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

pub struct App {
    store: Store,
    sender: Sender,
    mailer: Mailer,
    telnyx: Option<TelnyxApi>,
    retry_budget: Duration,
    /// Derives the endpoints' signing secrets from their stored forms.
    endpoint_keys: EndpointKeys,
}

impl App {
    pub fn new(store: Store, sender: Sender) -> App {
        App {
            store,
            sender,
            mailer: Mailer::disabled(),
            telnyx: None,
            retry_budget: RETRY_BUDGET,
            endpoint_keys: EndpointKeys::process_local(),
        }
    }

    /// Sends tenants' rejects of Telnyx port-outs to Telnyx (contract §16).
    pub fn with_telnyx(mut self, api: TelnyxApi) -> App {
        self.telnyx = Some(api);
        self
    }

    /// The master key of endpoint secrets (`ENDPOINT_SECRET_KEY`); without
    /// it, this process's own key (what set-pin in this process issued).
    pub fn with_endpoint_keys(mut self, keys: EndpointKeys) -> App {
        self.endpoint_keys = keys;
        self
    }

    /// Sends alert emails with `mailer` (contract §17).
    pub fn with_mailer(mut self, mailer: Mailer) -> App {
        self.mailer = mailer;
        self
    }

    /// `TABLE_NAME` and `NOTIFY_ALLOW_LOOPBACK_HTTP`; fails naming the variable.
    pub async fn from_env() -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let table = portguard_api::config::table_name()?;
        let loopback = portguard_api::config::allow_loopback_http()?;
        let sender = Sender::new(loopback)?;
        let (store, mailer, keys) = tokio::join!(
            Store::connect_at_init(table, "ORDER"),
            Mailer::from_env(),
            EndpointKeys::from_env()
        );
        Ok(App::new(store, sender)
            .with_mailer(mailer?)
            .with_endpoint_keys(keys?))
    }

    /// One invocation, whichever it is: the stream's batch answers its
    /// failed records (`batchItemFailures`), the schedule its [`Report`].
    pub async fn handle(&self, mut event: Value) -> Result<Value, NotifyError> {
        if let Some(records) = event.get_mut("Records").map(Value::take) {
            // Record by record, never the batch as one typed value: one
            // record that does not parse must not hold up the others
            // (contract §14).
            let Value::Array(records) = records else {
                return Err(NotifyError::InvalidEvent(
                    "not a DynamoDB stream batch: Records is not a list".into(),
                ));
            };
            let answer = self.handle_stream(records).await;
            Ok(serde_json::to_value(answer).expect("serialisable"))
        } else if event.get("detail-type").is_some() {
            let scheduled: EventBridgeEvent = serde_json::from_value(event)
                .map_err(|e| NotifyError::InvalidEvent(format!("not a scheduled event: {e}")))?;
            let time = scheduled.time.ok_or_else(|| {
                NotifyError::InvalidEvent(
                    "the scheduled event has no time; it is the clock of the retries".into(),
                )
            })?;
            let report = self.run_retries(time.timestamp()).await?;
            Ok(serde_json::to_value(report).expect("serialisable"))
        } else {
            Err(NotifyError::InvalidEvent(
                "expected a DynamoDB stream batch (Records) or a scheduled event (detail-type)"
                    .into(),
            ))
        }
    }

    /// A tenant's reject of a Telnyx port-out is also sent to Telnyx
    /// (contract §16), with the webhooks' retries: the reject already
    /// stands in portguard.
    fn upstream_reject(
        &self,
        event: &AuditEvent,
        order: &portguard_store::Order,
    ) -> Option<(Target, String, Destination)> {
        let tenant_rejected = event.actor.kind == portguard_store::ActorKind::TenantAdmin
            && event.status.as_deref() == Some(OrderStatus::Rejected.as_str());
        if !tenant_rejected || order.source != Source::Telnyx {
            return None;
        }
        let Some(id) = order.external_id.clone() else {
            tracing::warn!(order = %order.id, "a Telnyx order without Telnyx's id; nothing to reject there");
            return None;
        };
        if self.telnyx.is_none() {
            tracing::warn!(order = %order.id, "TELNYX_API_KEY is not set: the tenant's reject is not sent to Telnyx");
            return None;
        }
        Some((
            Target::Telnyx(id.clone()),
            Reject::holder_reason(None),
            Destination::Telnyx(id),
        ))
    }
}
