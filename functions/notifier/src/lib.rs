//! `notifier`: signed webhooks of contract §14 and alert emails of §17.
//! One binary, two invocations, told apart by the event's shape:
//!
//! - the table stream (`{"Records": [...]}`): each new audit item becomes
//!   one delivery per destination that should hear of it (the tenant's
//!   endpoint; for a change of that endpoint also the endpoint as it was
//!   before; for a status change the order's carrier unless it caused it;
//!   each confirmed alert contact whose types include it, within its hourly
//!   limit), recorded idempotently and attempted once at once, every
//!   delivery concurrently, a webhook within [`FIRST_ATTEMPT_TIMEOUT`] (an
//!   endpoint that failed within the last minute is not tried at once: its
//!   delivery goes straight to the scheduled run); a failure is recorded as
//!   a due retry and the batch moves on;
//! - the one-minute schedule (`{"detail-type": …, "time": …}`, `time` is
//!   the clock): every delivery due by then is attempted again, and
//!   abandoned after the last attempt of `portguard_rules::notify`. The run
//!   is fair across destinations: at most [`PER_TARGET_PER_RUN`] of one
//!   destination, taken in turn with the others', and none more of a
//!   destination once one of its attempts failed in this run.
//!
//! `main.rs` wires; `App` is tested directly.

mod payload;
mod sender;

pub use payload::{carrier_payload, image_to_item, tenant_payload};
pub use sender::{Failure, Sender, DELIVERY_TIMEOUT, FIRST_ATTEMPT_TIMEOUT};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use lambda_runtime::Diagnostic;
use portguard_email::{Mailer, Message};
use portguard_rules::notify::{after_failure, AfterFailure};
use portguard_rules::OrderStatus;
use portguard_store::contacts::{ContactStatus, Slot};
use portguard_store::notify::{AttemptEnd, Delivery, Endpoint, PreviousEndpoint, Target};
use portguard_store::Source;
use portguard_store::{clock, AuditEvent, Store, StoreError};
use portguard_telnyx::{Reject, TelnyxApi};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SERVICE: &str = "notifier";

/// A claimed attempt that never reports back (the process died) is due
/// again after this: far longer than an attempt can take.
pub const LEASE_SECONDS: i64 = 120;

/// Records handled at once within a stream batch.
const RECORD_CONCURRENCY: usize = 32;

/// Retries attempted at once by the scheduled run.
const RETRY_CONCURRENCY: usize = 16;

/// Due deliveries read per query.
const PAGE_SIZE: i32 = 100;

/// Due deliveries read by one scheduled run at most; the rest wait a minute.
const SCAN_LIMIT: usize = 5000;

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

/// Why one stream record was reported back to Lambda.
#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error("an audit item that cannot be read: {0}")]
    Unreadable(String),
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

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Retrying,
    Abandoned,
}

/// A webhook's URL and the secrets that sign for it (two while a rotated
/// secret is within its 24 hours).
struct Hook {
    url: String,
    secrets: Vec<String>,
}

impl Hook {
    fn of(endpoint: &Endpoint, now: i64) -> Hook {
        Hook {
            url: endpoint.url.clone(),
            secrets: endpoint.signing_secrets(now),
        }
    }

    fn before(previous: PreviousEndpoint) -> Hook {
        Hook {
            url: previous.url,
            secrets: previous.secrets,
        }
    }
}

/// Where one delivery goes, as read when it is attempted.
enum Destination {
    Webhook(Hook),
    /// A confirmed contact's address.
    Email(String),
    /// Telnyx's id of a port-out the tenant rejected.
    Telnyx(String),
}

pub struct App {
    store: Store,
    sender: Sender,
    mailer: Mailer,
    telnyx: Option<TelnyxApi>,
    retry_budget: Duration,
}

impl App {
    pub fn new(store: Store, sender: Sender) -> App {
        App {
            store,
            sender,
            mailer: Mailer::disabled(),
            telnyx: None,
            retry_budget: RETRY_BUDGET,
        }
    }

    /// Sends tenants' rejects of Telnyx port-outs to Telnyx (contract §16).
    pub fn with_telnyx(mut self, api: TelnyxApi) -> App {
        self.telnyx = Some(api);
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
        let (store, mailer) =
            tokio::join!(Store::connect_at_init(table, "ORDER"), Mailer::from_env());
        Ok(App::new(store, sender).with_mailer(mailer?))
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

    /// A stream batch: every record at once. A record is reported by its
    /// sequence number, so Lambda hands it over again, only when it is an
    /// audit item that cannot be read or whose deliveries could not be
    /// recorded (the table is unavailable); HTTP failures are not record
    /// failures, they are due retries.
    pub async fn handle_stream(&self, records: Vec<Value>) -> DynamoDbEventResponse {
        let failed: Vec<Option<String>> = futures::stream::iter(records)
            .map(|record| async move {
                let sequence = record["dynamodb"]["SequenceNumber"].as_str();
                match self.handle_record(&record).await {
                    Ok(()) => None,
                    Err(e) => {
                        tracing::error!(error = %e, sequence, "record not handled; reported to Lambda");
                        Some(sequence.unwrap_or_default().to_owned())
                    }
                }
            })
            .buffer_unordered(RECORD_CONCURRENCY)
            .collect()
            .await;
        let mut answer = DynamoDbEventResponse::default();
        answer.batch_item_failures = failed
            .into_iter()
            .flatten()
            .map(|sequence| {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence);
                failure
            })
            .collect();
        answer
    }

    /// One record. Only a new audit item is read past its sort key; any
    /// other record (an order, a tenant whose image holds what the typed
    /// parser would refuse) is skipped as it is.
    async fn handle_record(&self, record: &Value) -> Result<(), RecordError> {
        if record["eventName"].as_str() != Some("INSERT") {
            return Ok(());
        }
        let image = &record["dynamodb"]["NewImage"];
        let is_audit = image["SK"]["S"]
            .as_str()
            .is_some_and(|sk| sk.starts_with("AUDIT#"));
        if !is_audit {
            return Ok(());
        }
        let event = match image_to_item(image).map(|item| AuditEvent::from_image(&item)) {
            Some(Ok(event)) => event,
            Some(Err(e)) => return Err(RecordError::Unreadable(e.to_string())),
            None => {
                return Err(RecordError::Unreadable(
                    "the image is not DynamoDB JSON".into(),
                ))
            }
        };
        let now = clock::now();
        let tenant = Target::Tenant(event.tenant_id.clone());
        let previous = async {
            if event.kind != portguard_store::AuditType::NotificationEndpointChanged {
                return Ok(None);
            }
            self.store
                .get_previous_endpoint(&event.tenant_id, &event.id, now)
                .await
        };
        let order = async {
            match event.port_out_id.as_deref() {
                Some(order_id)
                    if event.kind == portguard_store::AuditType::PortOutStatusChanged =>
                {
                    self.store.get_order(order_id).await
                }
                _ => Ok(None),
            }
        };
        let (tenant_endpoint, previous, order) =
            futures::try_join!(self.store.get_endpoint(&tenant), previous, order)?;
        // (target, body, endpoint as read, whether it failed a moment ago)
        let mut deliveries: Vec<(Target, String, Hook, bool)> = Vec::new();
        if let Some(previous) = previous {
            // The endpoint as it was before this change hears of it too,
            // unless the endpoint as it is now is that URL signed with that
            // secret (a rotation: the new one signs beside the old one).
            let heard_anyway = tenant_endpoint.as_ref().is_some_and(|ep| {
                ep.url == previous.url
                    && previous
                        .secrets
                        .first()
                        .is_some_and(|s| ep.signing_secrets(now).contains(s))
            });
            if !heard_anyway {
                deliveries.push((
                    Target::Previous(event.tenant_id.clone()),
                    tenant_payload(&event),
                    Hook::before(previous),
                    false,
                ));
            }
        }
        // No endpoint, nothing to do and nothing kept.
        if let Some(ep) = &tenant_endpoint {
            deliveries.push((
                tenant,
                tenant_payload(&event),
                Hook::of(ep, now),
                ep.failed_within(now, RECENT_FAILURE_SECONDS),
            ));
        }
        let mut upstream = None;
        if let Some(order) = order {
            if let Some(body) = carrier_payload(&event, &order.carrier_id) {
                let target = Target::Carrier(order.carrier_id.clone());
                if let Some(ep) = self.store.get_endpoint(&target).await? {
                    let recent = ep.failed_within(now, RECENT_FAILURE_SECONDS);
                    deliveries.push((target, body, Hook::of(&ep, now), recent));
                }
            }
            upstream = self.upstream_reject(&event, &order);
        }
        let audit_id = event.id.as_str();
        let webhooks = futures::future::join_all(deliveries.into_iter().map(
            |(target, body, hook, recent)| async move {
                if recent {
                    self.queue(audit_id, target, body).await
                } else {
                    self.first_attempt(audit_id, target, body, Destination::Webhook(hook))
                        .await
                }
            },
        ));
        let telnyx = async {
            match upstream {
                Some((target, reason, destination)) => {
                    self.first_attempt(&event.id, target, reason, destination)
                        .await
                }
                None => Ok(()),
            }
        };
        let (webhooks, emails, telnyx) =
            futures::join!(webhooks, self.email_alerts(&event), telnyx);
        webhooks.into_iter().collect::<Result<(), StoreError>>()?;
        emails?;
        telnyx?;
        Ok(())
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

    /// One email per confirmed contact of the tenant whose types include
    /// the event's, within each contact's hourly limit (contract §17).
    async fn email_alerts(&self, event: &AuditEvent) -> Result<(), StoreError> {
        if !self.mailer.can_send() {
            return Ok(());
        }
        let book = self.store.alert_contacts(&event.tenant_id).await?;
        let sends = book
            .contacts
            .into_iter()
            .filter(|c| c.hears(event.kind))
            .map(|contact| async move {
                // A redelivered record takes a second slot before its
                // delivery is found recorded: the limit errs towards fewer
                // emails, never more.
                let left_out = match self.store.take_alert_slot(&contact, event.time).await? {
                    Slot::Send { left_out } => left_out,
                    Slot::LeftOut => {
                        tracing::info!(audit_id = %event.id, contact = %contact.id, "alert left out: the contact's hourly limit is reached");
                        portguard_api::metrics::count(SERVICE, "AlertsLeftOut");
                        return Ok(());
                    }
                    Slot::Gone => return Ok(()),
                };
                let message = portguard_email::alert(
                    event,
                    u32::try_from(left_out).unwrap_or(u32::MAX),
                    self.mailer.console_url(),
                );
                let payload = serde_json::to_string(&message).expect("serialisable");
                let target = Target::Contact {
                    tenant: contact.tenant_id.clone(),
                    contact: contact.id.clone(),
                };
                self.first_attempt(&event.id, target, payload, Destination::Email(contact.email))
                    .await
            });
        futures::future::join_all(sends)
            .await
            .into_iter()
            .collect::<Result<(), StoreError>>()
    }

    /// Records the delivery (once per audit id and target) without trying
    /// it: its endpoint failed a moment ago, so an attempt now would most
    /// likely hold the batch for nothing. The next scheduled run makes its
    /// first attempt.
    async fn queue(
        &self,
        audit_id: &str,
        target: Target,
        payload: String,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        let delivery = Delivery::queued(audit_id, target, payload);
        let created = self.store.create_delivery(&delivery, now, now).await?;
        tracing::info!(
            audit_id,
            target = %delivery.target,
            created,
            "endpoint failed within the last minute: delivery left to the scheduled run"
        );
        Ok(())
    }

    /// Records the delivery (once per audit id and target) and tries it.
    async fn first_attempt(
        &self,
        audit_id: &str,
        target: Target,
        payload: String,
        destination: Destination,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        let delivery = Delivery::new(audit_id, target, payload);
        if !self
            .store
            .create_delivery(&delivery, now, now + LEASE_SECONDS)
            .await?
        {
            tracing::info!(audit_id, target = %delivery.target, "delivery already recorded; a redelivered record");
            return Ok(());
        }
        self.attempt(&delivery, &destination, None)
            .await
            .map(|_| ())
    }

    /// Sends one attempt; the short reason of a failure. A webhook's
    /// attempt from the stream (`first`) waits [`FIRST_ATTEMPT_TIMEOUT`].
    async fn send(
        &self,
        delivery: &Delivery,
        destination: &Destination,
        first: bool,
    ) -> Result<(), String> {
        match destination {
            Destination::Webhook(hook) => {
                let secrets: Vec<&str> = hook.secrets.iter().map(String::as_str).collect();
                let timeout = if first {
                    FIRST_ATTEMPT_TIMEOUT
                } else {
                    DELIVERY_TIMEOUT
                };
                self.sender
                    .send_signed(
                        &hook.url,
                        &secrets,
                        &delivery.audit_id,
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

    /// Notes the outcome on what the tenant sees: the endpoint or the contact.
    async fn note_result(
        &self,
        target: &Target,
        now: i64,
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        match target {
            Target::Contact { tenant, contact } => {
                self.store
                    .note_contact_result(tenant, contact, now, failure)
                    .await
            }
            // Telnyx has no record of ours to note it on, and the endpoint
            // as it was before is no longer the tenant's: the log says it.
            Target::Telnyx(_) | Target::Previous(_) => Ok(()),
            _ => self.store.note_endpoint_result(target, now, failure).await,
        }
    }

    /// One attempt of a delivery this caller claimed, to the destination as
    /// just read, and its bookkeeping. `scheduled_now` is the scheduled
    /// run's clock; the stream uses the wall clock.
    async fn attempt(
        &self,
        delivery: &Delivery,
        destination: &Destination,
        scheduled_now: Option<i64>,
    ) -> Result<Outcome, StoreError> {
        let started = Instant::now();
        let result = self
            .send(delivery, destination, scheduled_now.is_none())
            .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let now = scheduled_now.unwrap_or_else(clock::now);
        let reason = result.err();
        let (outcome, end) = match reason.as_deref() {
            None => (Outcome::Delivered, AttemptEnd::Delivered),
            Some(failure) => match after_failure(delivery.attempts, now) {
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
            failure = reason.as_deref(),
            next_due,
            outcome = ?outcome,
            "delivery attempt"
        );
        // Two items, independent of each other: written at once, so the
        // bookkeeping holds the batch's concurrency slot for one round trip.
        let (ended, noted) = futures::join!(
            self.store.end_attempt(delivery, end, now),
            self.note_result(&delivery.target, now, reason.as_deref()),
        );
        ended?;
        noted?;
        if outcome == Outcome::Abandoned {
            tracing::warn!(audit_id = %delivery.audit_id, target = %delivery.target, "delivery abandoned after the last attempt");
            portguard_api::metrics::count(SERVICE, "NotificationAbandoned");
        }
        Ok(outcome)
    }

    /// Where a due delivery goes, read at attempt time: a deleted endpoint
    /// or a removed contact drops it, a rotated secret signs it (beside the
    /// old one for its 24 hours, by the run's clock `now`).
    async fn destination(
        &self,
        delivery: &Delivery,
        now: i64,
    ) -> Result<Option<Destination>, StoreError> {
        Ok(match &delivery.target {
            Target::Contact { tenant, contact } => self
                .store
                .get_alert_contact(tenant, contact)
                .await?
                .filter(|c| c.status == ContactStatus::Confirmed)
                .map(|c| Destination::Email(c.email)),
            Target::Telnyx(id) => self
                .telnyx
                .as_ref()
                .map(|_| Destination::Telnyx(id.clone())),
            Target::Previous(tenant) => self
                .store
                .get_previous_endpoint(tenant, &delivery.audit_id, now)
                .await?
                .map(|p| Destination::Webhook(Hook::before(p))),
            target => self
                .store
                .get_endpoint(target)
                .await?
                .map(|ep| Destination::Webhook(Hook::of(&ep, now))),
        })
    }

    /// One due delivery: read its destination, take it, try it.
    async fn retry(&self, due: Delivery, now: i64) -> Result<Option<Outcome>, StoreError> {
        let Some(destination) = self.destination(&due, now).await? else {
            self.store.drop_delivery(&due).await?;
            tracing::info!(audit_id = %due.audit_id, target = %due.target, "destination gone; delivery dropped");
            return Ok(None);
        };
        match self.store.claim_delivery(&due, now + LEASE_SECONDS).await? {
            Some(claimed) => self
                .attempt(&claimed, &destination, Some(now))
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// The scheduled run: the deliveries due at `now`, fairly across their
    /// destinations, until done or the budget is spent (the next run, a
    /// minute later, goes on). Every destination's due deliveries are read
    /// first (at most [`PER_TARGET_PER_RUN`] each), then taken in turn, one
    /// of each destination after the other; once an attempt to a destination
    /// fails, the rest of its deliveries wait for the next run.
    pub async fn run_retries(&self, now: i64) -> Result<Report, StoreError> {
        let stop = Instant::now() + self.retry_budget;
        let mut report = Report::default();
        let mut queues: Vec<VecDeque<Delivery>> = Vec::new();
        let mut by_target: HashMap<Target, usize> = HashMap::new();
        let (mut scanned, mut over_cap) = (0usize, 0u64);
        let mut start = None;
        loop {
            let page = self.store.due_deliveries(now, PAGE_SIZE, start).await?;
            for due in page.items {
                scanned += 1;
                let i = *by_target.entry(due.target.clone()).or_insert_with(|| {
                    queues.push(VecDeque::new());
                    queues.len() - 1
                });
                if queues[i].len() < PER_TARGET_PER_RUN {
                    queues[i].push_back(due);
                } else {
                    over_cap += 1;
                }
            }
            start = page.next;
            if start.is_none() || scanned >= SCAN_LIMIT || Instant::now() >= stop {
                break;
            }
        }
        if over_cap > 0 {
            tracing::info!(
                over_cap,
                "deliveries over a destination's share of this run wait for the next"
            );
        }
        let mut turns = Vec::with_capacity(scanned);
        while queues.iter().any(|q| !q.is_empty()) {
            turns.extend(queues.iter_mut().filter_map(VecDeque::pop_front));
        }
        let failed: Mutex<HashSet<Target>> = Mutex::default();
        let failed = &failed;
        let outcomes: Vec<Result<Option<Outcome>, StoreError>> = futures::stream::iter(turns)
            .map(|due| async move {
                if Instant::now() >= stop {
                    return Ok(None);
                }
                if failed.lock().expect("not poisoned").contains(&due.target) {
                    return Ok(None);
                }
                let target = due.target.clone();
                let outcome = self.retry(due, now).await?;
                if matches!(outcome, Some(Outcome::Retrying | Outcome::Abandoned)) {
                    failed.lock().expect("not poisoned").insert(target);
                }
                Ok(outcome)
            })
            .buffer_unordered(RETRY_CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                None => {}
                Some(o) => {
                    report.attempted += 1;
                    match o {
                        Outcome::Delivered => report.delivered += 1,
                        Outcome::Abandoned => report.abandoned += 1,
                        Outcome::Retrying => {}
                    }
                }
            }
        }
        if Instant::now() >= stop {
            tracing::warn!("retry budget spent; the next run goes on");
        }
        tracing::info!(
            time = %clock::format(now),
            attempted = report.attempted,
            delivered = report.delivered,
            abandoned = report.abandoned,
            "retries done"
        );
        Ok(report)
    }
}
