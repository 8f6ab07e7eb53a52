//! Pending webhook deliveries (contract §14): one audit event to one
//! endpoint, kept in the table and in the sparse `DueDeliveries` index while
//! it waits for an attempt (see `notify.rs` for the endpoints).

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::error::applied;
use crate::notify::Target;
use crate::schema::DUE_DELIVERIES;
use crate::{clock, Page, PageKey, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use portguard_validation::AuditId;

/// The one partition of the due index: deliveries due per minute are few.
pub const DUE_SHARD: &str = "DUE";

/// Delivery records are kept this long (TTL), well past the last retry and
/// past the stream's 24 h retention, so a late redelivery is still a duplicate.
pub const DELIVERY_KEEP_SECONDS: i64 = 7 * 86400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Abandoned,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Abandoned => "abandoned",
        }
    }

    fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Abandoned,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One audit event on its way to one endpoint. `payload` is the exact JSON
/// body, so every attempt sends the same bytes under the same `webhook-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub audit_id: AuditId,
    pub target: Target,
    pub payload: String,
    /// Attempts started so far (the current one included while it runs).
    pub attempts: u32,
    pub status: DeliveryStatus,
    pub due_at: Option<i64>,
    pub last_failure: Option<String>,
}

pub(crate) fn delivery_key(audit_id: &AuditId, target: &Target) -> Item {
    key(format!("DELIVERY#{audit_id}#{}", target.part()), "DELIVERY")
}

fn due_sk(due_at: i64, delivery: &Delivery) -> String {
    format!(
        "{}#{}#{}",
        clock::format(due_at),
        delivery.audit_id,
        delivery.target.part()
    )
}

impl Delivery {
    /// A delivery about to make its first attempt.
    pub fn new(audit_id: &AuditId, target: Target, payload: String) -> Delivery {
        Delivery {
            audit_id: audit_id.clone(),
            target,
            payload,
            attempts: 1,
            status: DeliveryStatus::Pending,
            due_at: None,
            last_failure: None,
        }
    }

    /// A delivery recorded without an attempt at once (its endpoint failed
    /// a moment ago): the scheduled run makes its first attempt.
    pub fn queued(audit_id: &AuditId, target: Target, payload: String) -> Delivery {
        Delivery {
            attempts: 0,
            ..Delivery::new(audit_id, target, payload)
        }
    }

    pub(crate) fn key(&self) -> Item {
        delivery_key(&self.audit_id, &self.target)
    }

    /// The item that records this delivery at `now`, due at `lease_until`;
    /// written only where there is none (`attribute_not_exists(PK)`).
    pub(crate) fn record_item(&self, now: i64, lease_until: i64) -> Item {
        let mut item = self.key();
        let mut put = |k: &str, v: AttributeValue| {
            item.insert(k.to_owned(), v);
        };
        put("auditId", s(&self.audit_id));
        put("target", s(self.target.part()));
        put("payload", s(&self.payload));
        put("attempts", n(i64::from(self.attempts)));
        put("status", s(DeliveryStatus::Pending.as_str()));
        put("createdAt", s(clock::format(now)));
        put("expiresAt", n(now + DELIVERY_KEEP_SECONDS));
        put("DUEPK", s(DUE_SHARD));
        put("DUESK", s(due_sk(lease_until, self)));
        item
    }

    /// The item that records a stream delivery once its first attempt has
    /// ended (`end`), or, with `None`, one left to the scheduled run without
    /// an attempt (due at once); written only where there is none. Pending
    /// only when it is to be retried: a delivered one never enters the due
    /// index.
    pub(crate) fn outcome_item(&self, now: i64, end: Option<&AttemptEnd<'_>>) -> Item {
        let mut item = self.record_item(now, now);
        let mut put = |k: &str, v: AttributeValue| {
            item.insert(k.to_owned(), v);
        };
        match end {
            None => {}
            Some(AttemptEnd::Retry { at, failure }) => {
                put("DUESK", s(due_sk(*at, self)));
                put("lastFailure", s(*failure));
            }
            Some(AttemptEnd::Delivered) => {
                put("status", s(DeliveryStatus::Delivered.as_str()));
                put("deliveredAt", s(clock::format(now)));
                item.remove("DUEPK");
                item.remove("DUESK");
            }
            Some(AttemptEnd::Abandoned { failure }) => {
                put("status", s(DeliveryStatus::Abandoned.as_str()));
                put("lastFailure", s(*failure));
                item.remove("DUEPK");
                item.remove("DUESK");
            }
        }
        item
    }

    /// How the attempt this caller claimed ended, as an update applied only
    /// under [`END_CONDITION`]. A delivered or abandoned delivery leaves the
    /// due index; a retry moves in it.
    pub(crate) fn end_update(&self, end: AttemptEnd<'_>, now: i64) -> Update {
        let update = Update::default()
            .value(":claimed", n(i64::from(self.attempts)))
            .name("attempts");
        match end {
            AttemptEnd::Delivered => update
                .set("status", s(DeliveryStatus::Delivered.as_str()))
                .set("deliveredAt", s(clock::format(now)))
                .remove("DUEPK")
                .remove("DUESK"),
            AttemptEnd::Retry { at, failure } => update
                .set("DUESK", s(due_sk(at, self)))
                .set("lastFailure", s(failure)),
            AttemptEnd::Abandoned { failure } => update
                .set("status", s(DeliveryStatus::Abandoned.as_str()))
                .set("lastFailure", s(failure))
                .remove("DUEPK")
                .remove("DUESK"),
        }
    }

    fn from_item(item: &Item) -> Result<Delivery, StoreError> {
        let r = Reader::new(item, "delivery");
        let corrupt = |what: &str| StoreError::Corrupt(format!("delivery has an unknown {what}"));
        let due_at = r
            .opt_s("DUESK")
            .and_then(|sk| sk.split('#').next().and_then(clock::parse));
        Ok(Delivery {
            audit_id: r.parsed("auditId", AuditId::parse)?,
            target: Target::parse(&r.s("target")?).ok_or_else(|| corrupt("target"))?,
            payload: r.s("payload")?,
            attempts: r.n("attempts")? as u32,
            status: DeliveryStatus::parse(&r.s("status")?).ok_or_else(|| corrupt("status"))?,
            due_at,
            last_failure: r.opt_s("lastFailure"),
        })
    }
}

/// An attempt's end is written only by the caller that claimed it: not
/// applied when another run took the delivery over since (its lease ran out).
pub(crate) const END_CONDITION: &str = "#attempts = :claimed";

/// How an attempt ended, as the notifier decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptEnd<'a> {
    Delivered,
    Retry { at: i64, failure: &'a str },
    Abandoned { failure: &'a str },
}

impl Store {
    /// Records a new delivery before its first attempt, due again at
    /// `lease_until` in case this attempt never reports back. `false` when it
    /// already exists (the stream handed the record over again).
    pub async fn create_delivery(
        &self,
        delivery: &Delivery,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let item = delivery.record_item(now, lease_until);
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        applied(out)
    }

    /// Takes a due delivery for one more attempt: counts the attempt and
    /// pushes its due time to `lease_until`, if nobody else took it since it
    /// was read. Returns the delivery as taken.
    pub async fn claim_delivery(
        &self,
        delivery: &Delivery,
        lease_until: i64,
    ) -> Result<Option<Delivery>, StoreError> {
        let next = delivery.attempts + 1;
        let mut claimed = delivery.clone();
        claimed.attempts = next;
        claimed.due_at = Some(lease_until);
        let update = Update::default()
            .set("attempts", n(i64::from(next)))
            .set("DUESK", s(due_sk(lease_until, delivery)))
            .value(":read", n(i64::from(delivery.attempts)))
            .value(":pending", s(DeliveryStatus::Pending.as_str()))
            .name("status");
        let applied = self
            .update_if(
                delivery.key(),
                update,
                "#attempts = :read AND #status = :pending",
            )
            .await?;
        Ok(applied.then_some(claimed))
    }

    /// Records how the attempt this caller claimed ended. A delivered or
    /// abandoned delivery leaves the due index; a retry moves in it.
    pub async fn end_attempt(
        &self,
        delivery: &Delivery,
        end: AttemptEnd<'_>,
        now: i64,
    ) -> Result<(), StoreError> {
        let update = delivery.end_update(end, now);
        // Not applied: taken over meanwhile (our lease ran out), and the
        // other run reports.
        self.update_if(delivery.key(), update, END_CONDITION)
            .await?;
        Ok(())
    }

    /// Forgets a pending delivery whose endpoint is gone: nothing piles up.
    pub async fn drop_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(delivery.key()))
            .condition_expression("#attempts = :read")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_values(":read", n(i64::from(delivery.attempts)))
            .send()
            .await;
        // Someone else took it since: theirs to finish.
        applied(out).map(|_| ())
    }

    /// A page of deliveries due at `now`, the longest due first.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: i32,
        start: Option<PageKey>,
    ) -> Result<Page<Delivery>, StoreError> {
        // `~` sorts after every character of an id: everything due at `now`.
        let upper = format!("{}#~", clock::format(now));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_DELIVERIES)
            .key_condition_expression("DUEPK = :shard AND DUESK <= :upper")
            .expression_attribute_values(":shard", s(DUE_SHARD))
            .expression_attribute_values(":upper", s(upper))
            .limit(limit)
            .set_exclusive_start_key(start.map(PageKey::into_item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Page::from_query(&out, Delivery::from_item)
    }

    /// A delivery by its audit id and target (tests and operators).
    pub async fn get_delivery(
        &self,
        audit_id: &AuditId,
        target: &Target,
    ) -> Result<Option<Delivery>, StoreError> {
        self.get_as(delivery_key(audit_id, target), Delivery::from_item)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        let id = AuditId::parse("ae_01KBZ8V1ZQ7V2S6JY3M0R9T4XA").expect("an audit id");
        let tenant = "t-1".parse().expect("a tenant id");
        Delivery::new(&id, Target::Tenant(tenant), "{}".into())
    }

    #[test]
    fn a_delivered_first_attempt_is_recorded_outside_the_due_index() {
        let d = delivery();
        let item = d.outcome_item(100, Some(&AttemptEnd::Delivered));
        let read = Delivery::from_item(&item).unwrap();
        assert_eq!(read.status, DeliveryStatus::Delivered);
        assert_eq!((read.attempts, read.due_at), (1, None));
        assert!(!item.contains_key("DUEPK") && !item.contains_key("DUESK"));
    }

    #[test]
    fn a_failed_first_attempt_is_recorded_pending_due_at_its_retry() {
        let d = delivery();
        let end = AttemptEnd::Retry {
            at: 160,
            failure: "status 503",
        };
        let read = Delivery::from_item(&d.outcome_item(100, Some(&end))).unwrap();
        assert_eq!(read.status, DeliveryStatus::Pending);
        assert_eq!((read.attempts, read.due_at), (1, Some(160)));
        assert_eq!(read.last_failure.as_deref(), Some("status 503"));
        let end = AttemptEnd::Abandoned { failure: "timeout" };
        let item = d.outcome_item(100, Some(&end));
        assert_eq!(
            Delivery::from_item(&item).unwrap().status,
            DeliveryStatus::Abandoned
        );
        assert!(!item.contains_key("DUEPK"));
    }

    #[test]
    fn a_queued_delivery_is_due_at_once_without_an_attempt() {
        let id = AuditId::parse("ae_01KBZ8V1ZQ7V2S6JY3M0R9T4XA").expect("an audit id");
        let tenant = "t-1".parse().expect("a tenant id");
        let d = Delivery::queued(&id, Target::Tenant(tenant), "{}".into());
        let read = Delivery::from_item(&d.outcome_item(100, None)).unwrap();
        assert_eq!(read.status, DeliveryStatus::Pending);
        assert_eq!((read.attempts, read.due_at), (0, Some(100)));
    }
}
