//! One decision per upstream port-out (contract §16): Telnyx sends events,
//! not requests, and may send a `pending` port-out more than once; the
//! first decides (and counts), every later one repeats that decision.
//!
//! The item `UPSTREAM#{upstream}#{id}` / `DECISION` is claimed before the
//! decision is taken (so two deliveries racing never both count), then
//! holds the decision, the order it opened, and whether the upstream has
//! been told. A claim whose holder died lapses after `CLAIM_SECONDS`.

use crate::attr::{key, n, s, Item, Reader};
use crate::order::{Order, Source};
use crate::{Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use portguard_validation::{CarrierId, OrderId, TenantId};

/// Upstreams redeliver for days; a port-out lasts weeks at most.
pub const KEEP_SECONDS: i64 = 60 * 24 * 3600;
/// Longer than any decision takes (the function's timeout is shorter).
pub const CLAIM_SECONDS: i64 = 60;

fn decision_key(upstream: &CarrierId, id: &str) -> Item {
    key(format!("UPSTREAM#{upstream}#{id}"), "DECISION")
}

/// What was decided for an upstream port-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamDecision {
    /// `None`: accepted; else portguard's code.
    pub code: Option<String>,
    /// What the upstream is told (`"<CODE>: <sentence>"`), for a refusal.
    pub reason: Option<String>,
    /// The order an accepted port-out opened.
    pub order_id: Option<OrderId>,
    /// The upstream acknowledged the reject.
    pub told: bool,
}

/// The outcome of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller decides, then [`Store::put_upstream_decision`].
    Claimed,
    /// As `Claimed`, taking over a claim whose holder died before storing
    /// its decision: it may have opened an order already (see
    /// [`Store::upstream_order`]) before it died.
    TakenOver,
    /// Decided before.
    Decided(UpstreamDecision),
    /// Another delivery is deciding right now.
    Busy,
}

fn parse(item: &Item) -> Result<Option<UpstreamDecision>, StoreError> {
    let r = Reader::new(item, "upstream decision");
    if r.opt_s("state").as_deref() != Some("decided") {
        return Ok(None);
    }
    Ok(Some(UpstreamDecision {
        code: r.opt_s("code"),
        reason: r.opt_s("reason"),
        order_id: r.opt_parsed("orderId", OrderId::parse)?,
        told: r.bool("told"),
    }))
}

impl Store {
    /// Claims the decision of `upstream`'s port-out `id`, or returns it.
    pub async fn claim_upstream_decision(
        &self,
        upstream: &CarrierId,
        id: &str,
        now: i64,
    ) -> Result<Claim, StoreError> {
        let mut item = decision_key(upstream, id);
        item.insert("state".into(), s("deciding"));
        item.insert("claimedUntil".into(), n(now + CLAIM_SECONDS));
        item.insert("expiresAt".into(), n(now + KEEP_SECONDS));
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR (#state = :deciding AND claimedUntil < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":deciding", s("deciding"))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let taken_over = match &out {
            Ok(put) => put.attributes().is_some_and(|old| !old.is_empty()),
            Err(_) => false,
        };
        if crate::error::applied(out)? {
            return Ok(if taken_over {
                Claim::TakenOver
            } else {
                Claim::Claimed
            });
        }
        Ok(match self.upstream_decision(upstream, id).await? {
            Some(decided) => Claim::Decided(decided),
            None => Claim::Busy,
        })
    }

    /// The decision, if one was taken.
    pub async fn upstream_decision(
        &self,
        upstream: &CarrierId,
        id: &str,
    ) -> Result<Option<UpstreamDecision>, StoreError> {
        match self.get_consistent(decision_key(upstream, id)).await? {
            Some(item) => parse(&item),
            None => Ok(None),
        }
    }

    /// Writes the decision over the claim.
    pub async fn put_upstream_decision(
        &self,
        upstream: &CarrierId,
        id: &str,
        decision: &UpstreamDecision,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut item = decision_key(upstream, id);
        item.insert("state".into(), s("decided"));
        item.insert("decidedAt".into(), n(now));
        item.insert("expiresAt".into(), n(now + KEEP_SECONDS));
        item.insert("told".into(), AttributeValue::Bool(decision.told));
        for (name, value) in [
            ("code", decision.code.as_deref()),
            ("reason", decision.reason.as_deref()),
            ("orderId", decision.order_id.as_ref().map(OrderId::as_str)),
        ] {
            if let Some(v) = value {
                item.insert(name.into(), s(v));
            }
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Records that the upstream acknowledged the reject.
    pub async fn mark_upstream_told(
        &self,
        upstream: &CarrierId,
        id: &str,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(decision_key(upstream, id)))
            .update_expression("SET told = :t")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        crate::error::applied(out).map(|_| ())
    }

    /// Gives a claim up when the decision failed (the table down, a bug),
    /// so the redelivery decides at once rather than after the claim lapses.
    pub async fn release_upstream_claim(
        &self,
        upstream: &CarrierId,
        id: &str,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(decision_key(upstream, id)))
            .condition_expression("#state = :deciding")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":deciding", s("deciding"))
            .send()
            .await;
        crate::error::applied(out).map(|_| ())
    }

    /// The order `tenant_id`'s port-out `external_id` from `upstream`
    /// opened, if one did: an order of that carrier whose `source` is
    /// `source` and whose `externalId` is that id (a Query of the tenant's
    /// orders, newest first; only after a claim was taken over, so rare).
    pub async fn upstream_order(
        &self,
        tenant_id: &TenantId,
        upstream: &CarrierId,
        source: Source,
        external_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(crate::schema::GSI2)
                .key_condition_expression("GSI2PK = :pk AND begins_with(GSI2SK, :prefix)")
                .filter_expression(
                    "externalId = :external AND #source = :source AND carrierId = :carrier",
                )
                .expression_attribute_names("#source", "source")
                .expression_attribute_values(":pk", s(format!("TENANT#{tenant_id}")))
                .expression_attribute_values(":prefix", s("ORDER#"))
                .expression_attribute_values(":external", s(external_id))
                .expression_attribute_values(":source", s(source.as_str()))
                .expression_attribute_values(":carrier", s(upstream))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            if let Some(item) = out.items().first() {
                return Order::from_item(item).map(Some);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(None);
            }
        }
    }
}
