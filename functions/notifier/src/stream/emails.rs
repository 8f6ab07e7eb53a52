//! The emails' track of a stream batch (contract §17): the tenants'
//! contact books, each alert's slot of its contact's hourly window, and the
//! email handed to the attempts.

use super::{delivery, hand_over, Failures, Planned, Sink};
use crate::deliver::Destination;
use crate::{App, SERVICE};
use futures::StreamExt;
use portguard_store::contacts::{AlertContact, Slot, Window};
use portguard_store::notify::Target;
use portguard_store::notify_batch::Reads;
use portguard_store::{AuditEvent, StoreError};

/// Alert slots taken at once (each a conditional update of its contact).
const SLOT_CONCURRENCY: usize = 32;

/// A confirmed contact that hears of a record's item, its slot not yet
/// taken, and its window as read.
struct Alert {
    record: usize,
    event: AuditEvent,
    contact: AlertContact,
    window: Window,
}

impl Alert {
    fn target(&self) -> Target {
        Target::Contact {
            tenant: self.contact.tenant_id.clone(),
            contact: self.contact.id.clone(),
        }
    }
}

impl App {
    /// The emails' track (contract §17): the tenants' books, read beside
    /// the webhooks' first read; then every alert's slot at once, beside
    /// the read of which alerts are already recorded.
    pub(super) async fn emails(&self, audits: &[(usize, AuditEvent)], sink: Sink) -> Failures {
        if !self.mailer.can_send() {
            return Failures::new();
        }
        let tenants: Vec<_> = audits.iter().map(|(_, e)| e.tenant_id.clone()).collect();
        let books = self.store.read_books(&tenants).await;
        let mut failures = Failures::new();
        let mut alerts = Vec::new();
        for (record, event) in audits {
            let book = match books.get(&event.tenant_id) {
                None => continue,
                Some(Err(e)) => {
                    failures.push((*record, e.to_string()));
                    continue;
                }
                Some(Ok(book)) => book,
            };
            for (contact, window) in book {
                if contact.hears(event.kind) {
                    alerts.push(Alert {
                        record: *record,
                        event: event.clone(),
                        contact: contact.clone(),
                        window: *window,
                    });
                }
            }
        }
        if alerts.is_empty() {
            return failures;
        }
        let reads = Reads {
            deliveries: alerts
                .iter()
                .map(|a| (a.event.id.clone(), a.target()))
                .collect(),
            ..Reads::default()
        };
        let (recorded, emails) = futures::join!(
            self.store.read_batch(&reads),
            futures::stream::iter(alerts)
                .map(|alert| self.alert(alert))
                .buffer_unordered(SLOT_CONCURRENCY)
                .collect::<Vec<_>>(),
        );
        let recorded = match recorded {
            Ok(found) => found,
            // Whether they were sent before is not known: their records
            // are handed over again.
            Err(e) => {
                for email in emails {
                    match email {
                        Ok(Some(p)) => failures.push((p.record, e.to_string())),
                        Ok(None) => {}
                        Err((i, e)) => failures.push((i, e.to_string())),
                    }
                }
                return failures;
            }
        };
        for email in emails {
            match email {
                Ok(Some(planned)) => hand_over(&sink, &recorded, planned),
                Ok(None) => {}
                Err((i, e)) => failures.push((i, e.to_string())),
            }
        }
        failures
    }

    /// An email alert within its contact's hourly limit (contract §17). A
    /// redelivered record takes a second slot while its delivery is found
    /// recorded: the limit errs towards fewer emails, never more.
    async fn alert(&self, a: Alert) -> Result<Option<Planned>, (usize, StoreError)> {
        let slot = self
            .store
            .take_alert_slot(&a.contact, a.event.time, Some(a.window))
            .await;
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
        let planned = delivery(a.record, &a.event, a.target(), payload);
        Ok(Some(planned.to(Destination::Email(a.contact.email), false)))
    }
}
