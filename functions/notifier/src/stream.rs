//! A stream batch in one pass (contract §14, §17). Every record is parsed
//! on its own (one that cannot be read is reported alone); then the
//! batch's audit items go down two tracks that never wait for each other:
//!
//! - webhooks (and Telnyx): one batch read of the tenants' endpoints, the
//!   endpoints as they were before a change, the orders of status changes
//!   and which of these deliveries are already recorded (a redelivered
//!   record sends nothing); their attempts start as soon as it answers. A
//!   second read only for what the first named (the orders' carriers'
//!   endpoints, Telnyx), its deliveries then;
//! - emails: the tenants' contact books, read beside the first read; each
//!   alert's slot of its contact's hourly window (the update the window as
//!   read calls for: one round trip), beside the read of which alerts are
//!   already recorded.
//!
//! Every first attempt is made at once, a webhook within
//! [`FIRST_ATTEMPT_TIMEOUT`](crate::FIRST_ATTEMPT_TIMEOUT) (`attempts.rs`),
//! and only then is each delivery recorded, with its outcome and its
//! endpoint's or contact's note, in batch writes made as attempts end:
//! delivered, or pending and due for the scheduled run. Nothing is written
//! before an attempt: Lambda hands a batch over again until its records
//! are answered (at least once, §14), so a delivery attempted but not
//! recorded (the process died; the table failed and its record was
//! reported) is attempted again with its record.
//!
//! A record is reported to Lambda only when it is an audit item that
//! cannot be read or whose deliveries could not be read or recorded (the
//! table failing); HTTP failures are due retries, not record failures.

use crate::deliver::{Destination, Hook};
use crate::App;
use crate::{carrier_payload, image_to_item, tenant_payload};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::channel::mpsc;
use portguard_store::notify::{Delivery, Target};
use portguard_store::notify_batch::{Found, Reads};
use portguard_store::{clock, AuditEvent, AuditType, StoreError};
use portguard_validation::{AuditId, OrderId};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

mod emails;

/// One delivery of the batch, and the record it comes from.
pub(crate) struct Planned {
    pub record: usize,
    pub delivery: Delivery,
    pub destination: Destination,
    /// Recorded for the scheduled run without an attempt now: its endpoint
    /// failed within the last minute.
    pub queued: bool,
}

/// What the tracks hand to the attempts: a delivery to make, or a record
/// to report and why.
pub(crate) type Next = Result<Planned, (usize, String)>;
type Sink = mpsc::UnboundedSender<Next>;

/// A delivery of `record`'s item to `target`, its destination to be chosen.
fn delivery(record: usize, event: &AuditEvent, target: Target, payload: String) -> PlannedTo {
    PlannedTo {
        record,
        audit_id: event.id.clone(),
        target,
        payload,
    }
}

/// A delivery before its destination is chosen.
struct PlannedTo {
    record: usize,
    audit_id: AuditId,
    target: Target,
    payload: String,
}

impl PlannedTo {
    fn to(self, destination: Destination, queued: bool) -> Planned {
        let delivery = if queued {
            Delivery::queued(&self.audit_id, self.target, self.payload)
        } else {
            Delivery::new(&self.audit_id, self.target, self.payload)
        };
        Planned {
            record: self.record,
            delivery,
            destination,
            queued,
        }
    }
}

/// Why records are reported back to Lambda, by their index in the batch.
pub(crate) type Failures = Vec<(usize, String)>;

/// One record: `None` when it is not a new audit item (skipped as it is,
/// whatever its image holds), the reason when it is one that cannot be read.
fn read_record(record: &Value) -> Result<Option<AuditEvent>, String> {
    if record["eventName"].as_str() != Some("INSERT") {
        return Ok(None);
    }
    let image = &record["dynamodb"]["NewImage"];
    let is_audit = image["SK"]["S"]
        .as_str()
        .is_some_and(|sk| sk.starts_with("AUDIT#"));
    if !is_audit {
        return Ok(None);
    }
    match image_to_item(image).map(|item| AuditEvent::from_image(&item)) {
        Some(Ok(event)) => Ok(Some(event)),
        Some(Err(e)) => Err(format!("an audit item that cannot be read: {e}")),
        None => Err("an audit item that cannot be read: the image is not DynamoDB JSON".into()),
    }
}

/// The order a status change is about: its carrier may hear of it.
fn status_order(event: &AuditEvent) -> Option<&OrderId> {
    (event.kind == AuditType::PortOutStatusChanged)
        .then_some(event.port_out_id.as_ref())
        .flatten()
}

/// Hands `planned` over unless the batch read found it recorded: the
/// stream handed its record over again.
fn hand_over(sink: &Sink, found: &Found, planned: Planned) {
    let (audit_id, target) = (&planned.delivery.audit_id, &planned.delivery.target);
    if found.recorded(audit_id, target) {
        tracing::info!(%audit_id, %target, "delivery already recorded; a redelivered record");
        return;
    }
    // The attempts outlive the tracks: the receiver is never dropped first.
    let _ = sink.unbounded_send(Ok(planned));
}

/// Every record of `audits` whose deliveries could not be read, and why.
fn all_failed(audits: &[(usize, AuditEvent)], e: &StoreError) -> Failures {
    audits.iter().map(|(i, _)| (*i, e.to_string())).collect()
}

impl App {
    /// A stream batch; the answer names the records Lambda hands over again.
    pub async fn handle_stream(&self, records: Vec<Value>) -> DynamoDbEventResponse {
        let mut failures = Failures::new();
        let mut audits = Vec::new();
        let mut seen = HashSet::new();
        for (i, record) in records.iter().enumerate() {
            match read_record(record) {
                // A record handed over twice in one batch: delivered once.
                Ok(Some(event)) if !seen.insert(event.id.clone()) => {}
                Ok(Some(event)) => audits.push((i, event)),
                Ok(None) => {}
                Err(e) => failures.push((i, e)),
            }
        }
        if !audits.is_empty() {
            failures.extend(self.deliver_batch(&audits).await);
        }
        let mut reported: BTreeMap<usize, String> = BTreeMap::new();
        for (i, error) in failures {
            let sequence = records[i]["dynamodb"]["SequenceNumber"].as_str();
            tracing::error!(%error, sequence, "record not handled; reported to Lambda");
            reported.insert(i, sequence.unwrap_or_default().to_owned());
        }
        let mut answer = DynamoDbEventResponse::default();
        answer.batch_item_failures = reported
            .into_values()
            .map(|sequence| {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence);
                failure
            })
            .collect();
        answer
    }

    /// The audit items `(record index, item)` of a batch, delivered: the
    /// two tracks hand their deliveries to the attempts as they are read.
    async fn deliver_batch(&self, audits: &[(usize, AuditEvent)]) -> Failures {
        let now = clock::now();
        let (sink, planned) = mpsc::unbounded();
        let (webhooks, emails, mut failures) = futures::join!(
            self.webhooks(audits, now, sink.clone()),
            self.emails(audits, sink),
            self.attempt_all(planned),
        );
        failures.extend(webhooks);
        failures.extend(emails);
        failures
    }

    /// The webhooks' track (and Telnyx's): the first batch read, the
    /// tenants' deliveries handed over at once; then, for status changes,
    /// the second read and the carriers' (and Telnyx's).
    async fn webhooks(&self, audits: &[(usize, AuditEvent)], now: i64, sink: Sink) -> Failures {
        let mut reads = Reads::default();
        for (_, e) in audits {
            let tenant = &e.tenant_id;
            reads.endpoints.push(Target::Tenant(tenant.clone()));
            reads
                .deliveries
                .push((e.id.clone(), Target::Tenant(tenant.clone())));
            if e.kind == AuditType::NotificationEndpointChanged {
                reads.previous.push((tenant.clone(), e.id.clone()));
                reads
                    .deliveries
                    .push((e.id.clone(), Target::Previous(tenant.clone())));
            }
            reads.orders.extend(status_order(e).cloned());
        }
        let mut found = match self.store.read_batch(&reads).await {
            Ok(found) => found,
            Err(e) => return all_failed(audits, &e),
        };
        let mut failures = Failures::new();
        let mut more = Reads::default();
        let mut changes = Vec::new();
        for (i, event) in audits {
            let mut planned = Vec::new();
            if let Err(e) = self.plan_tenant(*i, event, &found, now, &mut planned) {
                failures.push((*i, e.to_string()));
                continue;
            }
            for p in planned {
                hand_over(&sink, &found, p);
            }
            let order = match status_order(event).map(|id| found.order(id)) {
                Some(Ok(Some(order))) => order,
                None | Some(Ok(None)) => continue,
                Some(Err(e)) => {
                    failures.push((*i, e.to_string()));
                    continue;
                }
            };
            if carrier_payload(event, &order.carrier_id).is_some() {
                let target = Target::Carrier(order.carrier_id.clone());
                more.endpoints.push(target.clone());
                more.deliveries.push((event.id.clone(), target));
            }
            if let Some((target, ..)) = self.upstream_reject(event, order) {
                more.deliveries.push((event.id.clone(), target));
            }
            changes.push((*i, event));
        }
        if changes.is_empty() {
            return failures;
        }
        match self.store.read_batch(&more).await {
            Ok(more) => found.merge(more),
            Err(e) => {
                failures.extend(changes.iter().map(|(i, _)| (*i, e.to_string())));
                return failures;
            }
        }
        for (i, event) in changes {
            let mut planned = Vec::new();
            match self.plan_order(i, event, &found, now, &mut planned) {
                Ok(()) => planned
                    .into_iter()
                    .for_each(|p| hand_over(&sink, &found, p)),
                Err(e) => failures.push((i, e.to_string())),
            }
        }
        failures
    }

    /// The tenant's deliveries of one audit item, from what the batch read
    /// found: to its endpoint and, for a change of it, to the endpoint as it
    /// was before.
    fn plan_tenant(
        &self,
        record: usize,
        event: &AuditEvent,
        found: &Found,
        now: i64,
        planned: &mut Vec<Planned>,
    ) -> Result<(), StoreError> {
        let tenant = &event.tenant_id;
        let tenant_endpoint = found.endpoint(&Target::Tenant(tenant.clone()))?;
        if event.kind == AuditType::NotificationEndpointChanged {
            if let Some(previous) = found.previous(tenant, &event.id, now)? {
                // The endpoint as it was before this change hears of it too,
                // unless the endpoint as it is now is that URL signed with
                // that secret (a rotation: the new one signs beside the old).
                let heard_anyway = tenant_endpoint.is_some_and(|ep| {
                    ep.url == previous.url
                        && previous
                            .secrets
                            .first()
                            .is_some_and(|s| ep.signing_secrets(now).contains(s))
                });
                if !heard_anyway {
                    let target = Target::Previous(tenant.clone());
                    let hook = Hook::before(previous.clone(), tenant);
                    planned.push(
                        delivery(record, event, target, tenant_payload(event))
                            .to(Destination::Webhook(hook), false),
                    );
                }
            }
        }
        // No endpoint, nothing to do and nothing kept.
        if let Some(ep) = tenant_endpoint {
            let target = Target::Tenant(tenant.clone());
            let recent = ep.failed_within(now, crate::RECENT_FAILURE_SECONDS);
            planned.push(
                delivery(record, event, target, tenant_payload(event))
                    .to(Destination::Webhook(Hook::of(ep, now)), recent),
            );
        }
        Ok(())
    }

    /// The deliveries of a status change beyond the tenant's: to the
    /// order's carrier unless it caused it, to Telnyx for a tenant's reject
    /// of its port-out.
    fn plan_order(
        &self,
        record: usize,
        event: &AuditEvent,
        found: &Found,
        now: i64,
        planned: &mut Vec<Planned>,
    ) -> Result<(), StoreError> {
        let Some(order) = status_order(event)
            .map(|id| found.order(id))
            .transpose()?
            .flatten()
        else {
            return Ok(());
        };
        if let Some(body) = carrier_payload(event, &order.carrier_id) {
            let target = Target::Carrier(order.carrier_id.clone());
            if let Some(ep) = found.endpoint(&target)? {
                let recent = ep.failed_within(now, crate::RECENT_FAILURE_SECONDS);
                planned.push(
                    delivery(record, event, target, body)
                        .to(Destination::Webhook(Hook::of(ep, now)), recent),
                );
            }
        }
        if let Some((target, reason, destination)) = self.upstream_reject(event, order) {
            planned.push(delivery(record, event, target, reason).to(destination, false));
        }
        Ok(())
    }
}
