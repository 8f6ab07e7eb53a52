//! Webhook dedupe records: a `webhook-id` that was processed (answered 200)
//! is remembered for `KEEP_SECONDS`, per carrier.

use crate::attr::{key, n, s, Item, Reader};
use crate::{Store, StoreError};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use portguard_validation::CarrierId;

/// Standard Webhooks senders retry for days; a week covers their schedule.
pub const KEEP_SECONDS: i64 = 7 * 24 * 3600;

fn record_key(carrier: &CarrierId, webhook_id: &str) -> Item {
    key(format!("WEBHOOK#{carrier}#{webhook_id}"), "WEBHOOK")
}

fn record_put(table: &str, carrier: &CarrierId, webhook_id: &str, result: &str, now: i64) -> Put {
    let mut item = record_key(carrier, webhook_id);
    item.insert("result".into(), s(result));
    item.insert("expiresAt".into(), n(now + KEEP_SECONDS));
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
        .expression_attribute_values(":now", n(now))
        .build()
        .expect("complete put")
}

impl Store {
    pub async fn webhook_seen(
        &self,
        carrier: &CarrierId,
        webhook_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let record = self.get_consistent(record_key(carrier, webhook_id)).await?;
        Ok(record.as_ref().is_some_and(|i| {
            Reader::new(i, "webhook")
                .opt_n("expiresAt")
                .ok()
                .flatten()
                .is_some_and(|t| t >= now)
        }))
    }

    /// The transaction step that marks a webhook id processed.
    pub fn webhook_record(
        &self,
        carrier: &CarrierId,
        webhook_id: &str,
        result: &str,
        now: i64,
    ) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(record_put(&self.table, carrier, webhook_id, result, now))
            .build()
    }

    /// Marks a webhook id processed on its own; `false` if it already was.
    pub async fn record_webhook(
        &self,
        carrier: &CarrierId,
        webhook_id: &str,
        result: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let put = record_put(&self.table, carrier, webhook_id, result, now);
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        crate::error::applied(out)
    }
}
