//! The one place TransactWriteItems is sent. A transaction is either
//! committed, refused by a condition (the caller reads which step failed,
//! and the old item where it asked for it, and maps that to its answer), or
//! lost to a concurrent transaction on the same items, which is retried here
//! with a jittered back-off: a conflict says nothing about the conditions,
//! so sending the same items again is always right.

use crate::attr::{Item, Update};
use crate::{Store, StoreError};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Put, TransactWriteItem};
use std::time::Duration;

/// Rounds of a transaction that keeps losing to concurrent ones.
const CONFLICT_RETRIES: u32 = 8;

/// A jittered pause before retrying a lost optimistic race: uniform over a
/// window that doubles with each lost round (10 ms up to 320 ms), so that
/// many concurrent writers of one item spread out instead of colliding again
/// in lockstep ("full jitter").
pub async fn conflict_backoff(attempt: u32) {
    let window = 10u64 << attempt.min(5);
    let pause = 2 + (ulid::Ulid::new().random() % u128::from(window)) as u64;
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// What a write conditioned on an earlier read came to: done, or lost a
/// race to another writer since the read (read again and decide again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written<T> {
    Done(T),
    /// Someone changed the item since it was read: read again and redecide.
    Conflict,
}

impl<T> Written<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Written<U> {
        match self {
            Written::Done(t) => Written::Done(f(t)),
            Written::Conflict => Written::Conflict,
        }
    }
}

/// The rounds of a read-decide-write that can lose races, every caller's
/// one retry policy: round 0 at once, and each later round (a fresh read, a
/// new decision, a new conditioned write) after [`conflict_backoff`], at
/// most `rounds` rounds. Runs out (`None`) only while others keep winning,
/// so the caller then answers "unavailable, try again":
///
/// ```ignore
/// let mut rounds = retry_on_conflict(16);
/// while let Some(round) = rounds.next().await {
///     let read = if round == 0 { first_read } else { store.read().await? };
///     if let Written::Done(v) = store.write_if(decide(&read), &read).await? {
///         return Ok(v);
///     }
/// }
/// Err(unavailable())
/// ```
pub fn retry_on_conflict(rounds: u32) -> ConflictRounds {
    ConflictRounds { next: 0, rounds }
}

/// See [`retry_on_conflict`].
#[derive(Debug)]
pub struct ConflictRounds {
    next: u32,
    rounds: u32,
}

impl ConflictRounds {
    /// The next round's number (0 first), after the back-off that precedes
    /// every round but the first; `None` when every round is used.
    pub async fn next(&mut self) -> Option<u32> {
        let round = self.next;
        if round >= self.rounds {
            return None;
        }
        if round > 0 {
            conflict_backoff(round - 1).await;
        }
        self.next += 1;
        Some(round)
    }
}

/// A transaction cancelled because at least one condition failed: one
/// reason per step, in the order the steps were sent.
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    reasons: Vec<CancellationReason>,
}

impl Refused {
    /// Whether step `index` failed its condition.
    pub(crate) fn failed(&self, index: usize) -> bool {
        self.reasons
            .get(index)
            .is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
    }

    /// The item as it was when step `index` failed (steps that asked for
    /// `ReturnValuesOnConditionCheckFailure::AllOld`).
    pub(crate) fn old_item(&self, index: usize) -> Option<&Item> {
        self.reasons
            .get(index)
            .filter(|_| self.failed(index))
            .and_then(|r| r.item())
    }
}

fn conflicted(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
}

fn reasons<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<CancellationReason>> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(tc)) => {
            Some(tc.cancellation_reasons().to_vec())
        }
        _ => None,
    }
}

impl Store {
    /// A transaction whose refusal means "changed since read": the caller
    /// reads again and decides again.
    pub(crate) async fn write_or_conflict(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<crate::tenants::Written<()>, StoreError> {
        Ok(match self.transact(items).await? {
            Ok(()) => crate::tenants::Written::Done(()),
            Err(_) => crate::tenants::Written::Conflict,
        })
    }

    /// Sends `items` as one transaction: `Ok(Ok(()))` committed,
    /// `Ok(Err(refused))` a condition failed (nothing was written), `Err` the
    /// store failed or the conflicts did not stop.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Refused>, StoreError> {
        for attempt in 0..=CONFLICT_RETRIES {
            let err = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let Some(reasons) = reasons(&err) else {
                return Err(StoreError::from_sdk(err));
            };
            let refused = Refused { reasons };
            if refused
                .reasons
                .iter()
                .enumerate()
                .any(|(i, _)| refused.failed(i))
            {
                return Ok(Err(refused));
            }
            if !conflicted(&refused.reasons) || attempt == CONFLICT_RETRIES {
                return Err(StoreError::from_sdk(err));
            }
            conflict_backoff(attempt).await;
        }
        unreachable!("the loop returns on its last attempt")
    }
}

/// A transaction step that puts an item.
pub(crate) fn put(put: Put) -> TransactWriteItem {
    TransactWriteItem::builder().put(put).build()
}

/// A transaction step that applies `update` to the item at `key` when
/// `condition` holds.
pub(crate) fn update(table: &str, key: Item, update: Update, condition: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            aws_sdk_dynamodb::types::Update::builder()
                .table_name(table)
                .set_key(Some(key))
                .update_expression(update.expression())
                .condition_expression(condition)
                .set_expression_attribute_names(Some(update.names))
                .set_expression_attribute_values(Some(update.values))
                .build()
                .expect("complete update"),
        )
        .build()
}
