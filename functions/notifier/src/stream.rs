//! A stream batch in one pass (contract §14, §17). Every record is parsed
//! on its own (one that cannot be read is reported alone); then, for all
//! the batch's audit items together:
//!
//! 1. one batch read of what they need: the tenants' endpoints, the
//!    endpoints as they were before a change, the orders of status
//!    changes and the tenants' contact books; a second one for what the
//!    first named (the orders' carriers' endpoints, the books' contacts);
//! 2. each email alert's slot of its contact's hourly window;
//! 3. one batch write recording every delivery where none is yet (a
//!    redelivered record sends nothing);
//! 4. every first attempt at once, webhooks, emails and Telnyx alike, a
//!    webhook within [`FIRST_ATTEMPT_TIMEOUT`](crate::FIRST_ATTEMPT_TIMEOUT) (`attempts.rs`);
//! 5. their ends and the endpoints' and contacts' notes, in batch writes
//!    made as attempts end: those done together are written together, and
//!    none waits for a slow one longer than [`LINGER`](crate::attempts::LINGER).
//!
//! A record is reported to Lambda only when it is an audit item that
//! cannot be read or whose deliveries could not be read, recorded or
//! ended (the table failing); HTTP failures are due retries, not record
//! failures.

use crate::deliver::{Destination, Hook};
use crate::{carrier_payload, image_to_item, tenant_payload};
use crate::{App, LEASE_SECONDS, RECENT_FAILURE_SECONDS, SERVICE};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use portguard_store::contacts::{AlertContact, Slot};
use portguard_store::notify::{Delivery, Target};
use portguard_store::notify_batch::{Found, Reads};
use portguard_store::{clock, AuditEvent, AuditType, StoreError};
use portguard_validation::{AuditId, OrderId};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Deliveries recorded by one write, and such writes at once: parts whose
/// attempts start while the next parts are written.
const CREATE_CHUNK: usize = 25;
const CREATE_CONCURRENCY: usize = 4;

/// Alert slots taken at once (each a conditional update of its contact).
const SLOT_CONCURRENCY: usize = 32;

/// One delivery of the batch, and the record it comes from.
pub(crate) struct Planned {
    pub record: usize,
    pub delivery: Delivery,
    pub destination: Destination,
    /// Recorded for the scheduled run without an attempt now: its endpoint
    /// failed within the last minute.
    pub queued: bool,
}

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

/// A confirmed contact that hears of a record's item, its slot not yet taken.
struct Alert {
    record: usize,
    event: AuditEvent,
    contact: AlertContact,
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

impl App {
    /// A stream batch; the answer names the records Lambda hands over again.
    pub async fn handle_stream(&self, records: Vec<Value>) -> DynamoDbEventResponse {
        let mut failures = Failures::new();
        let mut audits = Vec::new();
        for (i, record) in records.iter().enumerate() {
            match read_record(record) {
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

    /// The audit items `(record index, item)` of a batch, delivered.
    async fn deliver_batch(&self, audits: &[(usize, AuditEvent)]) -> Failures {
        let now = clock::now();
        let found = match self.read_for(audits).await {
            Ok(found) => found,
            Err(e) => return audits.iter().map(|(i, _)| (*i, e.to_string())).collect(),
        };
        let mut failures = Failures::new();
        let (mut planned, mut alerts) = (Vec::new(), Vec::new());
        for (i, event) in audits {
            if let Err(e) = self.plan(*i, event, &found, now, &mut planned, &mut alerts) {
                failures.push((*i, e.to_string()));
            }
        }
        let emails: Vec<Result<Option<Planned>, (usize, StoreError)>> =
            futures::stream::iter(alerts)
                .map(|alert| self.alert(alert))
                .buffer_unordered(SLOT_CONCURRENCY)
                .collect()
                .await;
        for email in emails {
            match email {
                Ok(email) => planned.extend(email),
                Err((i, e)) => failures.push((i, e.to_string())),
            }
        }
        // A record handed over twice in one batch: its deliveries once.
        let mut seen = HashSet::new();
        planned.retain(|p| seen.insert((p.delivery.audit_id.clone(), p.delivery.target.clone())));
        // Recorded a part at a time, each part's attempts starting as soon
        // as it is recorded: the first POSTs need not wait for the last write.
        let count = planned.len();
        let mut parts = Vec::new();
        while !planned.is_empty() {
            let rest = planned.split_off(planned.len().min(CREATE_CHUNK));
            parts.push(std::mem::replace(&mut planned, rest));
        }
        let recorded = futures::stream::iter(parts)
            .map(|part| self.record(part, now))
            .buffer_unordered(CREATE_CONCURRENCY)
            .flat_map(futures::stream::iter);
        failures.extend(self.attempt_all(recorded, count).await);
        failures
    }

    /// Records `part`'s deliveries where none is yet: those to attempt now,
    /// or why their record is reported.
    async fn record(&self, part: Vec<Planned>, now: i64) -> Vec<Result<Planned, (usize, String)>> {
        let new: Vec<(&Delivery, i64)> = part
            .iter()
            .map(|p| {
                (
                    &p.delivery,
                    if p.queued { now } else { now + LEASE_SECONDS },
                )
            })
            .collect();
        let created = self.store.create_deliveries(&new, now).await;
        let mut out = Vec::new();
        for (p, created) in part.into_iter().zip(created) {
            let (audit_id, target) = (&p.delivery.audit_id, &p.delivery.target);
            match created {
                Err(e) => out.push(Err((p.record, e.to_string()))),
                Ok(false) => {
                    tracing::info!(%audit_id, %target, "delivery already recorded; a redelivered record")
                }
                Ok(true) if p.queued => tracing::info!(
                    %audit_id,
                    %target,
                    "endpoint failed within the last minute: delivery left to the scheduled run"
                ),
                Ok(true) => out.push(Ok(p)),
            }
        }
        out
    }

    /// What the batch's deliveries need, in two batch reads at most.
    async fn read_for(&self, audits: &[(usize, AuditEvent)]) -> Result<Found, StoreError> {
        let mail = self.mailer.can_send();
        let mut reads = Reads::default();
        for (_, e) in audits {
            reads.endpoints.push(Target::Tenant(e.tenant_id.clone()));
            if e.kind == AuditType::NotificationEndpointChanged {
                reads.previous.push((e.tenant_id.clone(), e.id.clone()));
            }
            reads.orders.extend(status_order(e).cloned());
            if mail {
                reads.contact_indexes.push(e.tenant_id.clone());
            }
        }
        let mut found = self.store.read_batch(&reads).await?;
        let mut more = Reads::default();
        for (_, e) in audits {
            if let Some(Ok(Some(order))) = status_order(e).map(|id| found.order(id)) {
                if carrier_payload(e, &order.carrier_id).is_some() {
                    more.endpoints
                        .push(Target::Carrier(order.carrier_id.clone()));
                }
            }
            if let (true, Ok(ids)) = (mail, found.contact_ids(&e.tenant_id)) {
                let tenant = &e.tenant_id;
                more.contacts
                    .extend(ids.iter().map(|id| (tenant.clone(), id.clone())));
            }
        }
        if !more.endpoints.is_empty() || !more.contacts.is_empty() {
            found.merge(self.store.read_batch(&more).await?);
        }
        Ok(found)
    }

    /// The deliveries one audit item makes, from what the batch read found:
    /// to the tenant's endpoint (and, for a change of it, to the endpoint
    /// as it was before), to the order's carrier for a status change it did
    /// not cause, to Telnyx for a tenant's reject of its port-out, and the
    /// email alerts whose slots are yet to be taken.
    fn plan(
        &self,
        record: usize,
        event: &AuditEvent,
        found: &Found,
        now: i64,
        planned: &mut Vec<Planned>,
        alerts: &mut Vec<Alert>,
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
            let recent = ep.failed_within(now, RECENT_FAILURE_SECONDS);
            planned.push(
                delivery(record, event, target, tenant_payload(event))
                    .to(Destination::Webhook(Hook::of(ep, now)), recent),
            );
        }
        if let Some(order) = status_order(event)
            .map(|id| found.order(id))
            .transpose()?
            .flatten()
        {
            if let Some(body) = carrier_payload(event, &order.carrier_id) {
                let target = Target::Carrier(order.carrier_id.clone());
                if let Some(ep) = found.endpoint(&target)? {
                    let recent = ep.failed_within(now, RECENT_FAILURE_SECONDS);
                    planned.push(
                        delivery(record, event, target, body)
                            .to(Destination::Webhook(Hook::of(ep, now)), recent),
                    );
                }
            }
            if let Some((target, reason, destination)) = self.upstream_reject(event, order) {
                planned.push(delivery(record, event, target, reason).to(destination, false));
            }
        }
        if self.mailer.can_send() {
            for id in found.contact_ids(tenant)? {
                // Removed since the book was read: not mailed.
                let Some(contact) = found.contact(tenant, id)? else {
                    continue;
                };
                if contact.hears(event.kind) {
                    let (event, contact) = (event.clone(), contact.clone());
                    alerts.push(Alert {
                        record,
                        event,
                        contact,
                    });
                }
            }
        }
        Ok(())
    }

    /// An email alert within its contact's hourly limit (contract §17). A
    /// redelivered record takes a second slot before its delivery is found
    /// recorded: the limit errs towards fewer emails, never more.
    async fn alert(&self, a: Alert) -> Result<Option<Planned>, (usize, StoreError)> {
        let slot = self.store.take_alert_slot(&a.contact, a.event.time).await;
        let left_out = match slot.map_err(|e| (a.record, e))? {
            Slot::Send { left_out } => left_out,
            Slot::LeftOut => {
                tracing::info!(audit_id = %a.event.id, contact = %a.contact.id, "alert left out: the contact's hourly limit is reached");
                portguard_api::metrics::count(SERVICE, "AlertsLeftOut");
                return Ok(None);
            }
            Slot::Gone => return Ok(None),
        };
        let left_out = u32::try_from(left_out).unwrap_or(u32::MAX);
        let message = portguard_email::alert(&a.event, left_out, self.mailer.console_url());
        let payload = serde_json::to_string(&message).expect("serialisable");
        let target = Target::Contact {
            tenant: a.contact.tenant_id.clone(),
            contact: a.contact.id.clone(),
        };
        let planned = delivery(a.record, &a.event, target, payload);
        Ok(Some(planned.to(Destination::Email(a.contact.email), false)))
    }
}
