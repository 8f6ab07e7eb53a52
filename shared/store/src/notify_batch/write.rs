//! Batch writes of a stream batch's deliveries (contract §14): every step
//! a conditional one, 100 to a TransactWriteItems request (see the parent
//! module for why a refused transaction is written again step by step).

use super::{again, all, WRITE_CHUNK};
use crate::contacts::contact_key;
use crate::deliveries::{AttemptEnd, Delivery};
use crate::notify::{endpoint_key, Target};
use crate::{error, tx, Store, StoreError};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use std::collections::HashMap;

/// Steps up to this many are written as single requests, not a
/// transaction (see [`Store::write_each`]).
const SINGLE_WRITES: usize = 4;

/// One delivery of a stream batch, as it is recorded by
/// [`Store::record_deliveries`]: its first attempt ended (`end`), or none
/// made (`None`: its endpoint failed a moment ago, the scheduled run makes
/// the first).
#[derive(Debug, Clone)]
pub struct Ended<'a> {
    pub delivery: &'a Delivery,
    pub end: Option<AttemptEnd<'a>>,
}

impl Store {
    /// Records stream deliveries after their first attempts, where none is
    /// yet (as the item [`Delivery::outcome_item`] describes), and notes
    /// each endpoint's or contact's outcome once, at `now`, whatever number
    /// of its deliveries ended. Per delivery: `Ok(true)` recorded (and its
    /// note written or rightly not applied), `Ok(false)` already recorded
    /// (another invocation handled the same record).
    ///
    /// Nothing is written before the attempt: the stream hands a batch
    /// over again until its records are answered (at least once, contract
    /// §14), so a delivery attempted but not recorded here is attempted
    /// again with its record; only one to retry is left pending.
    pub async fn record_deliveries(
        &self,
        ended: &[Ended<'_>],
        now: i64,
    ) -> Vec<Result<bool, StoreError>> {
        let mut steps: Vec<TransactWriteItem> = ended
            .iter()
            .map(|e| {
                let item = e.delivery.outcome_item(now, e.end.as_ref());
                tx::put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(PK)")
                        .build()
                        .expect("table and item set"),
                )
            })
            .collect();
        // One note per target: an item appears once in a transaction.
        let mut notes: Vec<(&Target, bool, Option<&str>)> = Vec::new();
        for e in ended {
            let failure = match &e.end {
                None => continue,
                Some(AttemptEnd::Delivered) => None,
                Some(AttemptEnd::Retry { failure, .. } | AttemptEnd::Abandoned { failure }) => {
                    Some(*failure)
                }
            };
            match notes.iter_mut().find(|n| n.0 == &e.delivery.target) {
                Some(note) => {
                    note.1 |= failure.is_none();
                    note.2 = failure.or(note.2);
                }
                None => notes.push((&e.delivery.target, failure.is_none(), failure)),
            }
        }
        let mut noted: Vec<&Target> = Vec::new();
        for (target, delivered, failure) in notes {
            if let Some(step) = self.note_step(target, now, delivered, failure) {
                steps.push(step);
                noted.push(target);
            }
        }
        let mut written = self.write_each(steps).await.into_iter();
        let records: Vec<Result<bool, StoreError>> = written.by_ref().take(ended.len()).collect();
        let notes: HashMap<&Target, Result<bool, StoreError>> =
            noted.into_iter().zip(written).collect();
        records
            .into_iter()
            .zip(ended)
            .map(|(recorded, e)| {
                let recorded = recorded?;
                match notes.get(&e.delivery.target) {
                    Some(Err(err)) if e.end.is_some() => Err(again(err)),
                    _ => Ok(recorded),
                }
            })
            .collect()
    }

    /// The note of an attempt's outcome on what the tenant sees: the
    /// endpoint or the contact (none for Telnyx or an endpoint as it was).
    fn note_step(
        &self,
        target: &Target,
        at: i64,
        delivered: bool,
        failure: Option<&str>,
    ) -> Option<TransactWriteItem> {
        let (key, update) = match target {
            Target::Tenant(_) | Target::Carrier(_) => (
                endpoint_key(target),
                crate::notify::note_update(at, delivered, failure),
            ),
            Target::Contact { tenant, contact } => (
                contact_key(tenant, contact),
                crate::contacts::note_update(at, delivered, failure),
            ),
            Target::Telnyx(_) | Target::Previous(_) => return None,
        };
        // Not applied: deleted meanwhile, and it stays so.
        Some(tx::update(&self.table, key, update, "attribute_exists(PK)"))
    }

    /// Conditional steps, 100 to a transaction, all transactions at once;
    /// a few (one delivery's record and note) as single writes at once,
    /// which cost half a transaction's units and less time. Per step:
    /// `true` written, `false` its condition did not hold.
    async fn write_each(&self, steps: Vec<TransactWriteItem>) -> Vec<Result<bool, StoreError>> {
        if steps.len() <= SINGLE_WRITES {
            let singles = steps.into_iter().map(|step| {
                let store = self.clone();
                async move { store.write_one(step).await }
            });
            return all(singles.collect()).await;
        }
        let chunks = steps.chunks(WRITE_CHUNK).map(|chunk| {
            let store = self.clone();
            let chunk = chunk.to_vec();
            async move { store.write_chunk(chunk).await }
        });
        all(chunks.collect()).await.into_iter().flatten().collect()
    }

    async fn write_chunk(&self, steps: Vec<TransactWriteItem>) -> Vec<Result<bool, StoreError>> {
        let len = steps.len();
        match self.transact(steps.clone()).await {
            Ok(Ok(())) => (0..len).map(|_| Ok(true)).collect(),
            Err(e) => (0..len).map(|_| Err(again(&e))).collect(),
            // Refused: the steps that failed their condition are known;
            // the others were not written and go one by one.
            Ok(Err(refused)) => {
                let singles = steps.into_iter().enumerate().map(|(i, step)| {
                    let store = self.clone();
                    let failed = refused.failed(i);
                    async move {
                        if failed {
                            Ok(false)
                        } else {
                            store.write_one(step).await
                        }
                    }
                });
                all(singles.collect()).await
            }
        }
    }

    /// One step as a single conditional PutItem or UpdateItem.
    async fn write_one(&self, step: TransactWriteItem) -> Result<bool, StoreError> {
        if let Some(p) = step.put {
            let out = self
                .client
                .put_item()
                .table_name(p.table_name)
                .set_item(Some(p.item))
                .set_condition_expression(p.condition_expression)
                .set_expression_attribute_names(p.expression_attribute_names)
                .set_expression_attribute_values(p.expression_attribute_values)
                .send()
                .await;
            return error::applied(out);
        }
        if let Some(u) = step.update {
            let out = self
                .client
                .update_item()
                .table_name(u.table_name)
                .set_key(Some(u.key))
                .update_expression(u.update_expression)
                .set_condition_expression(u.condition_expression)
                .set_expression_attribute_names(u.expression_attribute_names)
                .set_expression_attribute_values(u.expression_attribute_values)
                .send()
                .await;
            return error::applied(out);
        }
        Err(StoreError::Internal(
            "a batch step that is neither a put nor an update".into(),
        ))
    }
}
