//! Idempotency records, after the Powertools design: a record is claimed
//! `in_progress` with a keyed fingerprint of the payload before any work,
//! completed inside the same transaction that creates the order, and released
//! when the request fails. Kept 24 hours; an abandoned claim lapses after
//! `CLAIM_SECONDS`.

use crate::attr::{key, n, s, Item, Reader};
use crate::{Store, StoreError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use portguard_validation::CarrierId;

pub const KEEP_SECONDS: i64 = 24 * 3600;
/// Longer than submit-port-out can run (its Lambda timeout is 10 s,
/// infra/template.yaml; infra/tests check the two): a claim still held is a
/// request still running, and one cut off by a fault frees its key soon.
pub const CLAIM_SECONDS: i64 = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key now.
    Claimed,
    /// The same request already succeeded: answer this again.
    Replay(StoredResponse),
    /// The same key with a different payload.
    Mismatch,
    /// The same request is being handled right now, or was cut off by a
    /// fault (its claim then lapses within `CLAIM_SECONDS`).
    InProgress,
}

fn record_key(carrier: &CarrierId, idem_key: &str) -> Item {
    key(format!("IDEMPOTENCY#{carrier}#{idem_key}"), "IDEMPOTENCY")
}

impl Store {
    pub async fn claim_idempotency(
        &self,
        carrier: &CarrierId,
        idem_key: &str,
        fingerprint: &str,
        now: i64,
    ) -> Result<Claim, StoreError> {
        let mut item = record_key(carrier, idem_key);
        item.insert("state".into(), s("in_progress"));
        item.insert("payloadMac".into(), s(fingerprint));
        item.insert("claimedUntil".into(), n(now + CLAIM_SECONDS));
        item.insert("expiresAt".into(), n(now + KEEP_SECONDS));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR expiresAt < :now \
                 OR (#state = :in_progress AND claimedUntil < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Claim::Claimed),
            Err(e) => e,
        };
        let existing = match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(c)) => c.item(),
            _ => None,
        };
        let Some(existing) = existing else {
            return Err(StoreError::from_sdk(err));
        };
        let r = Reader::new(existing, "idempotency");
        if r.opt_s("payloadMac").as_deref() != Some(fingerprint) {
            return Ok(Claim::Mismatch);
        }
        if r.opt_s("state").as_deref() != Some("completed") {
            return Ok(Claim::InProgress);
        }
        Ok(Claim::Replay(StoredResponse {
            status: r.n("responseStatus")? as u16,
            body: r.s("responseBody")?,
            location: r.opt_s("responseLocation"),
        }))
    }

    /// The transaction step that completes a claim with its answer.
    pub fn idempotency_completion(
        &self,
        carrier: &CarrierId,
        idem_key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        now: i64,
    ) -> TransactWriteItem {
        let mut item = record_key(carrier, idem_key);
        item.insert("state".into(), s("completed"));
        item.insert("payloadMac".into(), s(fingerprint));
        item.insert("expiresAt".into(), n(now + KEEP_SECONDS));
        item.insert("responseStatus".into(), n(response.status.into()));
        item.insert("responseBody".into(), s(&response.body));
        if let Some(location) = &response.location {
            item.insert("responseLocation".into(), s(location));
        }
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("#state = :in_progress AND payloadMac = :mac")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":in_progress", s("in_progress"))
                    .expression_attribute_values(":mac", s(fingerprint))
                    .build()
                    .expect("complete put"),
            )
            .build()
    }

    /// Gives a claim up after a failed request, so a retry is handled afresh.
    pub async fn release_idempotency(
        &self,
        carrier: &CarrierId,
        idem_key: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(record_key(carrier, idem_key)))
            .condition_expression("#state = :in_progress AND payloadMac = :mac")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":mac", s(fingerprint))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }
}
