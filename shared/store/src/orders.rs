//! Port-out orders and the reservation of their numbers. Every change to an
//! order and to its numbers is one transaction, so a number is never promised
//! to two orders and an order never holds numbers it did not reserve.

use crate::attr::{n, s, Reader, Update};
use crate::clock::{Day, Timestamp};
use crate::numbers::number_key;
use crate::order::open_key;
pub use crate::order::{order_key, NewOrder, Order, Source};
use crate::schema::{GSI1, GSI2, OPEN_ORDERS};
use crate::{clock, tx, AuditEvent, Page, PageKey, Store, StoreError, Tenant};
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use portguard_rules::{LockState, NumberFate, OrderStatus};
use portguard_validation::{CarrierId, OrderId, PhoneNumber, TenantId, TransferPinId};

/// Whose orders to list.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Carrier(&'a CarrierId),
    Tenant(&'a TenantId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// Numbers not on the tenant's account.
    NotOnAccount(Vec<PhoneNumber>),
    /// Numbers already in an open port-out.
    InProgress(Vec<PhoneNumber>),
    /// Numbers of the tenant whose own lock was turned on since they were
    /// read (contract §11, check 8a).
    Locked(Vec<PhoneNumber>),
    /// The tenant's PIN or lock changed since it was read: decide again.
    TenantChanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
// One value per transaction: the size of `Applied` costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
pub enum TransitionOutcome {
    Applied(Order),
    /// The order changed since it was read: read it again and decide again.
    OrderChanged,
    /// The webhook id was processed meanwhile.
    Duplicate,
}

/// Who sent a carrier's event, and its id for dedupe.
pub struct EventFrom<'a> {
    pub carrier: &'a CarrierId,
    pub webhook_id: &'a str,
    pub source_ip: Option<&'a str>,
}

impl Store {
    /// Creates `order` and reserves every one of its numbers in one
    /// transaction, holding the tenant as read (`reset` also writes the
    /// order's carrier's lock state after a right PIN) and recording `audit` and, when given, the
    /// completed idempotency record.
    pub async fn create_order(
        &self,
        order: &Order,
        tenant: &Tenant,
        reset: Option<&LockState>,
        audit: &AuditEvent,
        idempotency: Option<TransactWriteItem>,
    ) -> Result<CreateOutcome, StoreError> {
        self.create_order_consuming(order, tenant, reset, audit, idempotency, None)
            .await
    }

    /// [`Store::create_order`] that also consumes the transfer PIN
    /// `transfer_pin` (an id of `tenant.transfer_pins`) in the same
    /// transaction: the tenant guard removes it from the record and its
    /// history item becomes `used` by the order, on condition it is still
    /// active and live. Two orders with one transfer PIN never both commit.
    pub async fn create_order_consuming(
        &self,
        order: &Order,
        tenant: &Tenant,
        reset: Option<&LockState>,
        audit: &AuditEvent,
        idempotency: Option<TransactWriteItem>,
        transfer_pin: Option<&TransferPinId>,
    ) -> Result<CreateOutcome, StoreError> {
        let now = order.created_at.unix();
        let mut items = vec![
            // The reset is the ordering carrier's (contract §4.1).
            self.tenant_guard(
                tenant,
                reset.map(|lock| (&order.carrier_id, lock)),
                transfer_pin,
                now,
            ),
            tx::put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(order.item()))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .expect("complete put"),
            ),
        ];
        // A number is reserved only while its own lock is not in force at
        // the order's time: a lock turned on after the port-out's read
        // refuses the whole transaction.
        for number in &order.phone_numbers {
            items.push(
                TransactWriteItem::builder()
                    .update(
                        aws_sdk_dynamodb::types::Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(number_key(number)))
                            .update_expression("SET openPortOutId = :id")
                            .condition_expression(
                                "tenantId = :t AND attribute_not_exists(openPortOutId) \
                                 AND (attribute_not_exists(lockOn) OR lockOn = :false \
                                 OR lockOffAt <= :now)",
                            )
                            .expression_attribute_values(":id", s(&order.id))
                            .expression_attribute_values(":t", s(&order.tenant_id))
                            .expression_attribute_values(
                                ":false",
                                aws_sdk_dynamodb::types::AttributeValue::Bool(false),
                            )
                            .expression_attribute_values(":now", n(now))
                            .return_values_on_condition_check_failure(
                                ReturnValuesOnConditionCheckFailure::AllOld,
                            )
                            .build()
                            .expect("complete update"),
                    )
                    .build(),
            );
        }
        items.push(tx::put(audit.put(&self.table)));
        items.extend(idempotency);
        // The tenant guard holds the record as read, so the entry exists;
        // this step makes the history item say who used it.
        let consumed_at = transfer_pin.map(|id| {
            items.push(self.consume_transfer_pin_step(&order.tenant_id, id, &order.id, now));
            items.len() - 1
        });

        let first_number = 2;
        let Err(refused) = self.transact(items).await? else {
            return Ok(CreateOutcome::Created);
        };
        // A transfer PIN used or revoked since the read: decide again.
        if refused.failed(0) || consumed_at.is_some_and(|i| refused.failed(i)) {
            return Ok(CreateOutcome::TenantChanged);
        }
        let (mut foreign, mut busy, mut locked) = (Vec::new(), Vec::new(), Vec::new());
        for (i, number) in order.phone_numbers.iter().enumerate() {
            if !refused.failed(first_number + i) {
                continue;
            }
            // No old item: the number is on nobody's account.
            let old = refused.old_item(first_number + i);
            let owner = old.and_then(|old| Reader::new(old, "number").opt_s("tenantId"));
            if owner.as_deref() != Some(order.tenant_id.as_str()) {
                foreign.push(number.clone());
                continue;
            }
            let lock = old
                .map(|old| {
                    crate::protection::setting(&Reader::new(old, "number"), "lockOn", "lockOffAt")
                })
                .transpose()?
                .unwrap_or_default();
            if lock.effective(now) {
                locked.push(number.clone());
            } else {
                busy.push(number.clone());
            }
        }
        // Check 8a comes before 11 and 12.
        if !locked.is_empty() {
            return Ok(CreateOutcome::Locked(locked));
        }
        if !foreign.is_empty() {
            return Ok(CreateOutcome::NotOnAccount(foreign));
        }
        if !busy.is_empty() {
            return Ok(CreateOutcome::InProgress(busy));
        }
        Err(StoreError::Internal(
            "an order's transaction was refused by no step it checks".into(),
        ))
    }

    pub async fn get_order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        self.get_as(order_key(id), Order::from_item).await
    }

    /// An owner's orders, newest first, optionally only those in `status`
    /// ([`Page::collect_filtered`] reads on until `limit` match).
    pub async fn list_orders(
        &self,
        owner: Owner<'_>,
        status: Option<OrderStatus>,
        limit: i32,
        start: Option<PageKey>,
    ) -> Result<Page<Order>, StoreError> {
        let (index, pk_attr, sk_attr, pk) = match owner {
            Owner::Carrier(id) => (GSI1, "GSI1PK", "GSI1SK", format!("CARRIER#{id}")),
            Owner::Tenant(id) => (GSI2, "GSI2PK", "GSI2SK", format!("TENANT#{id}")),
        };
        Page::collect_filtered(limit, start, Order::from_item, |limit, start| {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!(
                    "{pk_attr} = :pk AND begins_with({sk_attr}, :prefix)"
                ))
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s("ORDER#"))
                .scan_index_forward(false)
                .limit(limit)
                .set_exclusive_start_key(start);
            match status {
                Some(status) => q
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str())),
                None => q,
            }
        })
        .await
    }

    /// Open orders in `status` whose expiry clock is before `cutoff`, oldest
    /// first, from the sparse `OpenOrders` index: closed orders are never read.
    pub async fn stale_orders(
        &self,
        status: OrderStatus,
        cutoff: i64,
        limit: i32,
        start: Option<PageKey>,
    ) -> Result<Page<Order>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_ORDERS)
            .key_condition_expression("OPENPK = :pk AND OPENSK < :cutoff")
            .expression_attribute_values(":pk", s(format!("OPEN#{status}")))
            .expression_attribute_values(":cutoff", s(clock::format(cutoff)))
            .limit(limit)
            .set_exclusive_start_key(start.map(PageKey::into_item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Page::from_query(&out, Order::from_item)
    }

    /// Moves `order` (as read) to `to`, and its numbers where `to` sends
    /// them: one transaction with the audit event and, for webhooks, the
    /// dedupe record.
    pub async fn transition_order(
        &self,
        order: &Order,
        to: OrderStatus,
        foc_date: Option<Day>,
        now: Timestamp,
        audit: &AuditEvent,
        dedupe: Option<TransactWriteItem>,
    ) -> Result<TransitionOutcome, StoreError> {
        let fate = NumberFate::of(to);
        self.transition(order, to, foc_date, now, audit, dedupe, |_| fate)
            .await
    }

    /// A carrier's signed event moving `order` (as read) to `to` (contract
    /// §5, §16): the status change is audited as the carrier's, and the
    /// event's dedupe record is written in the same transaction, so a
    /// redelivered event never applies twice.
    pub async fn transition_by_carrier(
        &self,
        order: &Order,
        to: OrderStatus,
        foc_date: Option<Day>,
        now: i64,
        event: &EventFrom<'_>,
    ) -> Result<TransitionOutcome, StoreError> {
        let actor = crate::Actor {
            kind: crate::ActorKind::Carrier,
            id: Some(event.carrier.to_string()),
        };
        let audit = AuditEvent::status_changed(order, to, actor, now).source_ip(event.source_ip);
        let dedupe = self.webhook_record(event.carrier, event.webhook_id, "applied", now);
        let now = Timestamp::from_unix(now);
        self.transition_order(order, to, foc_date, now, &audit, Some(dedupe))
            .await
    }

    /// Completes `order` (as read) with only `ported` ported away:
    /// they leave the inventory, the order's other numbers are freed
    /// (contract §15: an upstream that completes part of an order says so).
    pub async fn complete_order(
        &self,
        order: &Order,
        ported: &[PhoneNumber],
        now: Timestamp,
        audit: &AuditEvent,
    ) -> Result<TransitionOutcome, StoreError> {
        let fate = |number: &PhoneNumber| match ported.contains(number) {
            true => NumberFate::Removed,
            false => NumberFate::Freed,
        };
        self.transition(order, OrderStatus::Completed, None, now, audit, None, fate)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        order: &Order,
        to: OrderStatus,
        foc_date: Option<Day>,
        now: Timestamp,
        audit: &AuditEvent,
        dedupe: Option<TransactWriteItem>,
        fate_of: impl Fn(&PhoneNumber) -> NumberFate,
    ) -> Result<TransitionOutcome, StoreError> {
        let next = Order {
            status: to,
            foc_date: foc_date.or(order.foc_date),
            // A transition to a terminal state is made by whoever the
            // audit event names: that is who closed the order.
            closed_by: match to.is_terminal() {
                true => Some(audit.actor.kind),
                false => order.closed_by,
            },
            updated_at: now,
            version: order.version + 1,
            ..order.clone()
        };
        let open = open_key(&next);
        let update = Update::default()
            .set("status", s(to.as_str()))
            .set_opt("focDate", next.foc_date.map(|d| s(d.to_string())))
            .set_opt("closedBy", next.closed_by.map(|by| s(by.as_str())))
            .set("updatedAt", s(now.to_string()))
            .set("version", n(next.version))
            .set_opt("OPENPK", open.as_ref().map(|(pk, _)| s(pk)))
            .set_opt("OPENSK", open.as_ref().map(|(_, sk)| s(sk)))
            .value(":read", n(order.version));
        let mut items = vec![tx::update(
            &self.table,
            order_key(&order.id),
            update,
            "#version = :read",
        )];
        for number in &order.phone_numbers {
            let item = match fate_of(number) {
                NumberFate::Reserved => continue,
                NumberFate::Removed => TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(number_key(number)))
                        .condition_expression("openPortOutId = :id")
                        .expression_attribute_values(":id", s(&order.id))
                        .build()
                        .expect("complete delete"),
                ),
                _ => TransactWriteItem::builder().update(
                    aws_sdk_dynamodb::types::Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(number_key(number)))
                        .update_expression("REMOVE openPortOutId")
                        .condition_expression("openPortOutId = :id")
                        .expression_attribute_values(":id", s(&order.id))
                        .build()
                        .expect("complete update"),
                ),
            };
            items.push(item.build());
        }
        items.push(tx::put(audit.put(&self.table)));
        let dedupe_at = dedupe.as_ref().map(|_| items.len());
        items.extend(dedupe);

        match self.transact(items).await? {
            Ok(()) => Ok(TransitionOutcome::Applied(next)),
            Err(refused) if dedupe_at.is_some_and(|i| refused.failed(i)) => {
                Ok(TransitionOutcome::Duplicate)
            }
            Err(refused) if refused.failed(0) => Ok(TransitionOutcome::OrderChanged),
            // A number not held by this order while the order is as read
            // breaks the store's invariant: report it, never half-apply.
            Err(_) => Err(StoreError::Internal(
                "a transition was refused by a number the order does not hold".into(),
            )),
        }
    }
}
