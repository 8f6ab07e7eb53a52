//! The notifier's batch reads and writes (contract §14, §17): what a whole
//! stream batch needs is read with BatchGetItem (100 keys a request, the
//! unprocessed keys asked again), the deliveries already recorded among
//! them (a redelivered record sends nothing), and its deliveries are
//! recorded once attempted with TransactWriteItems (100 steps a request),
//! so every write keeps its condition: a delivery is recorded only where
//! none is, a note only on an endpoint or contact that exists. The tenants'
//! alert contacts are read apart (`books.rs`), beside the rest.
//!
//! A transaction is all or nothing: when one of its conditions fails (a
//! redelivered record, an endpoint deleted meanwhile) the steps whose
//! conditions held are written again one by one, as the single path writes
//! them. That is the rare case; the common one is one request per 100.

mod books;
mod write;

pub use books::Book;

pub use write::Ended;

use crate::attr::Item;
use crate::contacts::INDEX_SK;
use crate::deliveries::delivery_key;
use crate::notify::{endpoint_key, previous_key, Endpoint, PreviousEndpoint, Target};
use crate::order::order_key;
use crate::{Order, Store, StoreError};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use portguard_validation::{AuditId, ContactId, OrderId, TenantId};
use std::collections::{HashMap, HashSet};
use std::future::Future;

/// Keys per BatchGetItem request (DynamoDB's limit).
pub const GET_CHUNK: usize = 100;
/// Steps per TransactWriteItems request (DynamoDB's limit).
pub const WRITE_CHUNK: usize = 100;
/// Rounds of asking again for keys DynamoDB left unprocessed (throttling),
/// with the jittered back-off of conflicts; then the read is unavailable.
const UNPROCESSED_ROUNDS: u32 = 6;

/// What to read for a stream batch. Duplicates are read once.
#[derive(Debug, Default, Clone)]
pub struct Reads {
    pub endpoints: Vec<Target>,
    /// `(tenant, audit id)`: the endpoint as it was before that change.
    pub previous: Vec<(TenantId, AuditId)>,
    pub orders: Vec<OrderId>,
    /// `(audit id, target)`: whether that delivery is already recorded.
    pub deliveries: Vec<(AuditId, Target)>,
}

/// What was read: an absent key is absent here, an item that cannot be
/// parsed is its error (only the records that need it fail).
#[derive(Debug, Default)]
pub struct Found {
    endpoints: HashMap<Target, Result<Endpoint, StoreError>>,
    previous: HashMap<(TenantId, AuditId), Result<PreviousEndpoint, StoreError>>,
    orders: HashMap<OrderId, Result<Order, StoreError>>,
    recorded: HashSet<(AuditId, Target)>,
}

/// The same error again: a corrupt item fails every record that needs it.
pub(crate) fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Internal(m) => StoreError::Internal(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
    }
}

fn found<T>(entry: Option<&Result<T, StoreError>>) -> Result<Option<&T>, StoreError> {
    entry.map(|r| r.as_ref().map_err(again)).transpose()
}

impl Found {
    pub fn endpoint(&self, target: &Target) -> Result<Option<&Endpoint>, StoreError> {
        found(self.endpoints.get(target))
    }

    /// The endpoint as it was before the change `audit_id`, while it is kept
    /// (as [`Store::get_previous_endpoint`]).
    pub fn previous(
        &self,
        tenant: &TenantId,
        audit_id: &AuditId,
        now: i64,
    ) -> Result<Option<&PreviousEndpoint>, StoreError> {
        let key = (tenant.clone(), audit_id.clone());
        Ok(found(self.previous.get(&key))?.filter(|p| now < p.until))
    }

    pub fn order(&self, id: &OrderId) -> Result<Option<&Order>, StoreError> {
        found(self.orders.get(id))
    }

    /// Whether the delivery of `audit_id` to `target`, read by
    /// [`Reads::deliveries`], is already recorded (a redelivered record).
    pub fn recorded(&self, audit_id: &AuditId, target: &Target) -> bool {
        self.recorded.contains(&(audit_id.clone(), target.clone()))
    }

    /// Adds what a later read found.
    pub fn merge(&mut self, other: Found) {
        self.endpoints.extend(other.endpoints);
        self.previous.extend(other.previous);
        self.orders.extend(other.orders);
        self.recorded.extend(other.recorded);
    }
}

/// What a requested key stands for.
enum Wanted {
    Endpoint(Target),
    Previous(TenantId, AuditId),
    Order(OrderId),
    Delivery(AuditId, Target),
}

fn pk_sk(item: &Item) -> Option<(String, String)> {
    let pk = item.get("PK")?.as_s().ok()?;
    let sk = item.get("SK")?.as_s().ok()?;
    Some((pk.clone(), sk.clone()))
}

/// An index's contact ids, oldest first (ids are ULIDs).
fn index_ids(item: &Item) -> Result<Vec<ContactId>, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("{INDEX_SK} item lacks a valid emails map"));
    let Some(emails) = item.get("emails") else {
        return Ok(Vec::new());
    };
    let mut ids = emails
        .as_m()
        .map_err(|_| corrupt())?
        .values()
        .map(|v| {
            v.as_s()
                .ok()
                .and_then(|id| ContactId::parse(id))
                .ok_or_else(corrupt)
        })
        .collect::<Result<Vec<ContactId>, _>>()?;
    ids.sort();
    Ok(ids)
}

impl Store {
    /// Everything `reads` names, strongly consistent, in as few requests as
    /// DynamoDB allows (all sent at once).
    pub async fn read_batch(&self, reads: &Reads) -> Result<Found, StoreError> {
        let mut wanted: HashMap<(String, String), Wanted> = HashMap::new();
        let mut want = |key: Item, what: Wanted| {
            if let Some(k) = pk_sk(&key) {
                wanted.entry(k).or_insert(what);
            }
        };
        for t in &reads.endpoints {
            want(endpoint_key(t), Wanted::Endpoint(t.clone()));
        }
        for (tenant, audit) in &reads.previous {
            let what = Wanted::Previous(tenant.clone(), audit.clone());
            want(previous_key(tenant, audit), what);
        }
        for id in &reads.orders {
            want(order_key(id), Wanted::Order(id.clone()));
        }
        for (audit, target) in &reads.deliveries {
            let what = Wanted::Delivery(audit.clone(), target.clone());
            want(delivery_key(audit, target), what);
        }
        let keys = wanted
            .keys()
            .map(|(pk, sk)| crate::attr::key(pk.clone(), sk))
            .collect();
        let mut out = Found::default();
        for item in self.batch_get(keys).await? {
            let Some(what) = pk_sk(&item).and_then(|k| wanted.remove(&k)) else {
                continue;
            };
            match what {
                Wanted::Endpoint(t) => {
                    out.endpoints.insert(t, Endpoint::from_item(&item));
                }
                Wanted::Previous(t, a) => {
                    out.previous
                        .insert((t, a), PreviousEndpoint::from_item(&item));
                }
                Wanted::Order(id) => {
                    out.orders.insert(id, Order::from_item(&item));
                }
                Wanted::Delivery(audit, target) => {
                    out.recorded.insert((audit, target));
                }
            }
        }
        Ok(out)
    }

    /// The items of `keys` that exist (no duplicates in `keys`).
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let chunks = keys.chunks(GET_CHUNK).map(|chunk| {
            let store = self.clone();
            let chunk = chunk.to_vec();
            async move { until_processed(chunk, |keys| store.batch_get_once(keys)).await }
        });
        let mut items = Vec::new();
        for got in all(chunks.collect()).await {
            items.extend(got?);
        }
        Ok(items)
    }

    /// One BatchGetItem: the items found and the keys left unprocessed.
    pub(crate) async fn batch_get_once(
        &self,
        keys: Vec<Item>,
    ) -> Result<(Vec<Item>, Vec<Item>), StoreError> {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .expect("keys set");
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let items = out
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let unprocessed = out
            .unprocessed_keys
            .and_then(|mut u| u.remove(&self.table))
            .map(|k| k.keys)
            .unwrap_or_default();
        Ok((items, unprocessed))
    }
}

/// Asks for `keys` until none is left unprocessed, pausing as conflicts do
/// between rounds; unavailable after [`UNPROCESSED_ROUNDS`].
pub(crate) async fn until_processed<F, Fut>(
    mut keys: Vec<Item>,
    mut get: F,
) -> Result<Vec<Item>, StoreError>
where
    F: FnMut(Vec<Item>) -> Fut,
    Fut: Future<Output = Result<(Vec<Item>, Vec<Item>), StoreError>>,
{
    let mut items = Vec::new();
    for round in 0..=UNPROCESSED_ROUNDS {
        if round > 0 {
            crate::conflict_backoff(round - 1).await;
        }
        let (got, left) = get(keys).await?;
        items.extend(got);
        if left.is_empty() {
            return Ok(items);
        }
        keys = left;
    }
    Err(StoreError::Unavailable(format!(
        "{} keys still unprocessed after {UNPROCESSED_ROUNDS} rounds",
        keys.len()
    )))
}

/// Runs `futures` at once (each a task), their outputs in their order.
pub(crate) async fn all<T, F>(futures: Vec<F>) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("a batch task does not panic"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{key, s};

    fn keys(n: usize) -> Vec<Item> {
        (0..n).map(|i| key(format!("K#{i}"), "S")).collect()
    }

    #[tokio::test]
    async fn unprocessed_keys_are_asked_again_until_none_is_left() {
        let mut calls = Vec::new();
        let items = until_processed(keys(10), |asked: Vec<Item>| {
            calls.push(asked.len());
            // DynamoDB answers half and leaves the rest unprocessed, then
            // answers a small rest whole.
            let half = if asked.len() <= 2 {
                asked.len()
            } else {
                asked.len() / 2
            };
            let (done, left) = asked.split_at(half);
            let (done, left) = (done.to_vec(), left.to_vec());
            async move { Ok((done, left)) }
        })
        .await
        .unwrap();
        assert_eq!(calls, [10, 5, 3, 2]);
        let mut got: Vec<String> = items
            .iter()
            .map(|i| i["PK"].as_s().unwrap().clone())
            .collect();
        got.sort();
        let mut want: Vec<String> = (0..10).map(|i| format!("K#{i}")).collect();
        want.sort();
        assert_eq!(got, want, "every key, once");
    }

    #[tokio::test]
    async fn keys_never_processed_make_the_read_unavailable() {
        let out = until_processed(keys(3), |asked: Vec<Item>| async move {
            Ok((Vec::new(), asked))
        })
        .await;
        assert!(matches!(out, Err(StoreError::Unavailable(_))), "{out:?}");
    }

    const OLDER: &str = "ac_01KBZ8V1ZQ7V2S6JY3M0R9T4XA";
    const NEWER: &str = "ac_01KBZ8V1ZQ7V2S6JY3M0R9T4XB";

    #[test]
    fn index_ids_come_oldest_first() {
        let mut index = key("TENANT#t".into(), INDEX_SK);
        index.insert(
            "emails".into(),
            aws_sdk_dynamodb::types::AttributeValue::M(HashMap::from([
                ("b@example.com".to_owned(), s(NEWER)),
                ("a@example.com".to_owned(), s(OLDER)),
            ])),
        );
        assert_eq!(index_ids(&index).unwrap(), [OLDER, NEWER]);
        // An id this API never issued is a corrupt index, not a contact.
        index.insert(
            "emails".into(),
            aws_sdk_dynamodb::types::AttributeValue::M(HashMap::from([(
                "c@example.com".to_owned(),
                s("ac_01"),
            )])),
        );
        assert!(matches!(index_ids(&index), Err(StoreError::Corrupt(_))));
    }
}
