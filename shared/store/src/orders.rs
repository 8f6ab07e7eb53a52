//! Port-out orders and the reservation of their numbers. Every change to an
//! order and to its numbers is one transaction, so a number is never promised
//! to two orders and an order never holds numbers it did not reserve.

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::schema::{GSI1, GSI2, OPEN_ORDERS};
use crate::{clock, AuditEvent, Page, PageKey, Store, StoreError, Tenant};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use portguard_rules::{LockState, NumberFate, OrderStatus};
use serde::Serialize;
use std::time::Duration;

/// An order, serialised exactly as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    pub account_number: String,
    pub carrier_id: String,
    pub phone_numbers: Vec<String>,
    pub pon: String,
    pub authorized_name: Option<String>,
    pub requested_foc_date: Option<String>,
    pub foc_date: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub tenant_id: String,
    #[serde(skip)]
    pub version: i64,
}

/// Whose orders to list.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Carrier(&'a str),
    Tenant(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// Numbers (E.164) not on the tenant's account.
    NotOnAccount(Vec<String>),
    /// Numbers (E.164) already in an open port-out.
    InProgress(Vec<String>),
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

pub fn order_key(id: &str) -> Item {
    key(format!("ORDER#{id}"), "ORDER")
}

pub(crate) fn number_key(e164: &str) -> Item {
    key(format!("NUMBER#{e164}"), "NUMBER")
}

/// The sparse `OpenOrders` key of an order, or none once it is closed.
fn open_key(order: &Order) -> Option<(String, String)> {
    let clock = match order.status {
        OrderStatus::Pending => order.created_at.clone(),
        OrderStatus::FocConfirmed => format!("{}T00:00:00Z", order.foc_date.as_deref()?),
        _ => return None,
    };
    Some((
        format!("OPEN#{}", order.status),
        format!("{clock}#{}", order.id),
    ))
}

impl Order {
    /// A new pending order with a fresh time-ordered id.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tenant_id: &str,
        carrier_id: &str,
        account_number: &str,
        phone_numbers: Vec<String>,
        pon: &str,
        authorized_name: Option<&str>,
        requested_foc_date: Option<&str>,
        now: &str,
    ) -> Order {
        Order {
            id: format!("po_{}", ulid::Ulid::new()),
            status: OrderStatus::Pending,
            account_number: account_number.to_owned(),
            carrier_id: carrier_id.to_owned(),
            phone_numbers,
            pon: pon.to_owned(),
            authorized_name: authorized_name.map(str::to_owned),
            requested_foc_date: requested_foc_date.map(str::to_owned),
            foc_date: None,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            tenant_id: tenant_id.to_owned(),
            version: 0,
        }
    }

    /// The instant that starts this order's expiry clock (SPEC section 6).
    pub fn expiry_clock(&self) -> Option<i64> {
        match self.status {
            OrderStatus::Pending => clock::parse(&self.created_at),
            OrderStatus::FocConfirmed => clock::date_start(self.foc_date.as_deref()?),
            _ => None,
        }
    }

    fn item(&self) -> Item {
        let mut item = order_key(&self.id);
        let mut put = |k: &str, v: AttributeValue| {
            item.insert(k.to_owned(), v);
        };
        put("GSI1PK", s(format!("CARRIER#{}", self.carrier_id)));
        put("GSI1SK", s(format!("ORDER#{}", self.id)));
        put("GSI2PK", s(format!("TENANT#{}", self.tenant_id)));
        put("GSI2SK", s(format!("ORDER#{}", self.id)));
        if let Some((pk, sk)) = open_key(self) {
            put("OPENPK", s(pk));
            put("OPENSK", s(sk));
        }
        put("id", s(&self.id));
        put("status", s(self.status.as_str()));
        put("tenantId", s(&self.tenant_id));
        put("carrierId", s(&self.carrier_id));
        put("accountNumber", s(&self.account_number));
        put(
            "phoneNumbers",
            AttributeValue::L(self.phone_numbers.iter().map(s).collect()),
        );
        put("pon", s(&self.pon));
        for (k, v) in [
            ("authorizedName", &self.authorized_name),
            ("requestedFocDate", &self.requested_foc_date),
            ("focDate", &self.foc_date),
        ] {
            if let Some(v) = v {
                put(k, s(v));
            }
        }
        put("createdAt", s(&self.created_at));
        put("updatedAt", s(&self.updated_at));
        put("version", n(self.version));
        item
    }

    pub(crate) fn from_item(item: &Item) -> Result<Order, StoreError> {
        let r = Reader::new(item, "order");
        Ok(Order {
            id: r.s("id")?,
            status: OrderStatus::parse(&r.s("status")?)
                .ok_or_else(|| StoreError::Corrupt("order has an unknown status".into()))?,
            account_number: r.s("accountNumber")?,
            carrier_id: r.s("carrierId")?,
            phone_numbers: r.list_s("phoneNumbers")?,
            pon: r.s("pon")?,
            authorized_name: r.opt_s("authorizedName"),
            requested_foc_date: r.opt_s("requestedFocDate"),
            foc_date: r.opt_s("focDate"),
            created_at: r.s("createdAt")?,
            updated_at: r.s("updatedAt")?,
            tenant_id: r.s("tenantId")?,
            version: r.n("version")?,
        })
    }
}

/// True when a transaction was cancelled (a condition failed or it
/// conflicted with another transaction), as opposed to failing outright.
pub(crate) fn is_cancelled<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    e.as_service_error()
        .is_some_and(|se| se.is_transaction_canceled_exception())
}

pub(crate) fn reasons<R>(e: &SdkError<TransactWriteItemsError, R>) -> Vec<CancellationReason> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(tc)) => {
            tc.cancellation_reasons().to_vec()
        }
        _ => Vec::new(),
    }
}

fn code(reason: &CancellationReason) -> &str {
    reason.code().unwrap_or("None")
}

/// Transactions that lose to a concurrent transaction on the same item are
/// retried a few times with jitter; conditions decide the rest.
const CONFLICT_RETRIES: u32 = 8;

/// A short, growing, jittered pause before retrying a lost optimistic race,
/// so that many concurrent writers of one item spread out instead of
/// colliding again in lockstep.
pub async fn conflict_backoff(attempt: u32) {
    let jitter = (ulid::Ulid::new().random() % 20) as u64;
    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt + 1) + jitter)).await;
}

fn tx_put(put: Put) -> TransactWriteItem {
    TransactWriteItem::builder().put(put).build()
}

impl Store {
    /// Creates `order` and reserves every one of its numbers in one
    /// transaction, holding the tenant as read (`reset` also writes the lock
    /// state after a right PIN) and recording `audit` and, when given, the
    /// completed idempotency record.
    pub async fn create_order(
        &self,
        order: &Order,
        tenant: &Tenant,
        reset: Option<&LockState>,
        audit: &AuditEvent,
        idempotency: Option<TransactWriteItem>,
    ) -> Result<CreateOutcome, StoreError> {
        let mut items = vec![
            self.tenant_guard(tenant, reset),
            tx_put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(order.item()))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .expect("complete put"),
            ),
        ];
        for number in &order.phone_numbers {
            items.push(
                TransactWriteItem::builder()
                    .update(
                        aws_sdk_dynamodb::types::Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(number_key(number)))
                            .update_expression("SET openPortOutId = :id")
                            .condition_expression(
                                "tenantId = :t AND attribute_not_exists(openPortOutId)",
                            )
                            .expression_attribute_values(":id", s(&order.id))
                            .expression_attribute_values(":t", s(&order.tenant_id))
                            .return_values_on_condition_check_failure(
                                ReturnValuesOnConditionCheckFailure::AllOld,
                            )
                            .build()
                            .expect("complete update"),
                    )
                    .build(),
            );
        }
        items.push(tx_put(audit.put(&self.table)));
        items.extend(idempotency);

        let first_number = 2;
        for attempt in 0..=CONFLICT_RETRIES {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(CreateOutcome::Created),
                Err(e) if is_cancelled(&e) => e,
                Err(e) => return Err(StoreError::from_sdk(e)),
            };
            let reasons = reasons(&err);
            if code(
                reasons
                    .first()
                    .unwrap_or(&CancellationReason::builder().build()),
            ) == "ConditionalCheckFailed"
            {
                return Ok(CreateOutcome::TenantChanged);
            }
            let (mut foreign, mut busy) = (Vec::new(), Vec::new());
            for (reason, number) in reasons.iter().skip(first_number).zip(&order.phone_numbers) {
                if code(reason) != "ConditionalCheckFailed" {
                    continue;
                }
                let owner = reason
                    .item()
                    .and_then(|i| Reader::new(i, "number").opt_s("tenantId"));
                if owner.as_deref() == Some(order.tenant_id.as_str()) {
                    busy.push(number.clone());
                } else {
                    foreign.push(number.clone());
                }
            }
            if !foreign.is_empty() {
                return Ok(CreateOutcome::NotOnAccount(foreign));
            }
            if !busy.is_empty() {
                return Ok(CreateOutcome::InProgress(busy));
            }
            let conflicted = reasons.iter().any(|r| code(r) == "TransactionConflict");
            if !conflicted || attempt == CONFLICT_RETRIES {
                return Err(StoreError::from_sdk(err));
            }
            conflict_backoff(attempt).await;
        }
        unreachable!("the loop returns on its last attempt")
    }

    pub async fn get_order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.get_as(order_key(id), Order::from_item).await
    }

    /// An owner's orders, newest first, optionally only those in `status`.
    /// With a status filter, DynamoDB's `Limit` counts items before the
    /// filter, so pages are read until `limit` items match, at most
    /// `MAX_PAGES` reads per call.
    pub async fn list_orders(
        &self,
        owner: Owner<'_>,
        status: Option<OrderStatus>,
        limit: i32,
        mut start: Option<PageKey>,
    ) -> Result<Page<Order>, StoreError> {
        const MAX_PAGES: usize = 10;
        let (index, pk_attr, sk_attr, pk) = match owner {
            Owner::Carrier(id) => (GSI1, "GSI1PK", "GSI1SK", format!("CARRIER#{id}")),
            Owner::Tenant(id) => (GSI2, "GSI2PK", "GSI2SK", format!("TENANT#{id}")),
        };
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut q = self
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
                .limit(limit - items.len() as i32)
                .set_exclusive_start_key(start.take().map(PageKey::into_item));
            if let Some(status) = status {
                q = q
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            let out = q.send().await.map_err(StoreError::from_sdk)?;
            for item in out.items() {
                items.push(Order::from_item(item)?);
            }
            start = out.last_evaluated_key().and_then(PageKey::from_item);
            if start.is_none() || items.len() as i32 >= limit {
                break;
            }
        }
        Ok(Page {
            items,
            next: start,
            read_units: 0.0,
        })
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
        let items = out
            .items()
            .iter()
            .map(Order::from_item)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next: out.last_evaluated_key().and_then(PageKey::from_item),
            read_units: out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0),
        })
    }

    /// Moves `order` (as read) to `to`, and its numbers where `to` sends
    /// them: one transaction with the audit event and, for webhooks, the
    /// dedupe record.
    pub async fn transition_order(
        &self,
        order: &Order,
        to: OrderStatus,
        foc_date: Option<&str>,
        now: &str,
        audit: &AuditEvent,
        dedupe: Option<TransactWriteItem>,
    ) -> Result<TransitionOutcome, StoreError> {
        let next = Order {
            status: to,
            foc_date: foc_date
                .map(str::to_owned)
                .or_else(|| order.foc_date.clone()),
            updated_at: now.to_owned(),
            version: order.version + 1,
            ..order.clone()
        };
        let open = open_key(&next);
        let update = Update::default()
            .set("status", s(to.as_str()))
            .set_opt("focDate", next.foc_date.clone().map(s))
            .set("updatedAt", s(now))
            .set("version", n(next.version))
            .set_opt("OPENPK", open.as_ref().map(|(pk, _)| s(pk)))
            .set_opt("OPENSK", open.as_ref().map(|(_, sk)| s(sk)))
            .value(":read", n(order.version));
        let mut items = vec![TransactWriteItem::builder()
            .update(
                aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(order_key(&order.id)))
                    .update_expression(update.expression())
                    .condition_expression("#version = :read")
                    .set_expression_attribute_names(Some(update.names))
                    .set_expression_attribute_values(Some(update.values))
                    .build()
                    .expect("complete update"),
            )
            .build()];
        let fate = NumberFate::of(to);
        for number in order
            .phone_numbers
            .iter()
            .filter(|_| fate != NumberFate::Reserved)
        {
            let item = match fate {
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
        items.push(tx_put(audit.put(&self.table)));
        let dedupe_at = dedupe.as_ref().map(|_| items.len());
        items.extend(dedupe);

        for attempt in 0..=CONFLICT_RETRIES {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(TransitionOutcome::Applied(next)),
                Err(e) if is_cancelled(&e) => e,
                Err(e) => return Err(StoreError::from_sdk(e)),
            };
            let reasons = reasons(&err);
            let failed = |i: usize| {
                reasons
                    .get(i)
                    .is_some_and(|r| code(r) == "ConditionalCheckFailed")
            };
            if dedupe_at.is_some_and(failed) {
                return Ok(TransitionOutcome::Duplicate);
            }
            if failed(0) {
                return Ok(TransitionOutcome::OrderChanged);
            }
            let conflicted = reasons.iter().any(|r| code(r) == "TransactionConflict");
            if !conflicted || attempt == CONFLICT_RETRIES {
                // A number not held by this order while the order is as read
                // breaks the store's invariant: report it, never half-apply.
                return Err(StoreError::from_sdk(err));
            }
            conflict_backoff(attempt).await;
        }
        unreachable!("the loop returns on its last attempt")
    }
}
