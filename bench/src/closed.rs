//! status-check's tables of closed orders (1k and 10k), each with the
//! same `DUE` due pending orders, written directly in the store's item
//! shape with BatchWriteItem.

use crate::CARRIER;
use aws_sdk_dynamodb::types::{AttributeValue as Av, PutRequest, WriteRequest};
use futures::{stream, StreamExt};
use portguard_rules::OrderStatus;
use portguard_store::{clock, Store};
use std::collections::HashMap;

type Item = HashMap<String, Av>;

/// Open orders in each closed-order table, all due (created 200 h ago), so
/// the check has the same real work (read and expire them) in both tables.
pub const DUE: usize = 5;

/// A table of `closed` closed orders and `DUE` due pending orders (with
/// their reserved numbers).
pub async fn closed_table(endpoint_table: &str, closed: usize) -> Store {
    let store = Store::connect(endpoint_table).await;
    store.create_table().await.expect("create table");
    let now = clock::format(clock::now());
    let old = clock::format(clock::now() - 200 * 3600);
    let items: Vec<Item> = (0..closed + DUE)
        .flat_map(|i| order_items(i, i >= closed, &now, &old))
        .collect();
    write_all(&store, items).await;
    store
}

/// Order `i`: closed (completed now), or open (pending since `old`, due)
/// with its number reserved.
fn order_items(i: usize, open: bool, now: &str, old: &str) -> Vec<Item> {
    let id = format!("po_{}", ulid::Ulid::new());
    let number = format!("+1206{}{:04}", if open { 400 } else { 300 }, i % 10_000);
    let status = if open {
        OrderStatus::Pending
    } else {
        OrderStatus::Completed
    };
    let when = if open { old } else { now };
    let mut m: Item = HashMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.into(), Av::S(v));
    };
    put("PK", format!("ORDER#{id}"));
    put("SK", "ORDER".into());
    put("GSI1PK", format!("CARRIER#{CARRIER}"));
    put("GSI1SK", format!("ORDER#{id}"));
    put("GSI2PK", "TENANT#t-closed".into());
    put("GSI2SK", format!("ORDER#{id}"));
    if open {
        put("OPENPK", "OPEN#pending".into());
        put("OPENSK", format!("{old}#{id}"));
    }
    put("id", id.clone());
    put("status", status.as_str().into());
    put("tenantId", "t-closed".into());
    put("carrierId", CARRIER.into());
    put("accountNumber", "ACC-CLOSED".into());
    put("pon", "PON-CLOSED".into());
    put("createdAt", when.to_owned());
    put("updatedAt", when.to_owned());
    m.insert("phoneNumbers".into(), Av::L(vec![Av::S(number.clone())]));
    m.insert("version".into(), Av::N("2".into()));
    let mut items = vec![m];
    if open {
        let reserved: Item = [
            ("PK", format!("NUMBER#{number}")),
            ("SK", "NUMBER".into()),
            ("GSI2PK", "TENANT#t-closed".into()),
            ("GSI2SK", format!("NUMBER#{number}")),
            ("number", number.clone()),
            ("tenantId", "t-closed".into()),
            ("addedAt", old.to_owned()),
            ("openPortOutId", id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Av::S(v)))
        .collect();
        items.insert(0, reserved);
    }
    items
}

/// Every item, 25 to a BatchWriteItem, 8 at a time, unprocessed ones again.
async fn write_all(store: &Store, items: Vec<Item>) {
    let put = |m: Item| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(m))
                    .build()
                    .expect("put"),
            )
            .build()
    };
    let requests: Vec<WriteRequest> = items.into_iter().map(put).collect();
    let batches: Vec<Vec<WriteRequest>> = requests.chunks(25).map(<[_]>::to_vec).collect();
    let results: Vec<_> = stream::iter(batches)
        .map(|batch| {
            let store = store.clone();
            async move {
                let mut pending = HashMap::from([(store.table().to_owned(), batch)]);
                while !pending.is_empty() {
                    let out = store
                        .client()
                        .batch_write_item()
                        .set_request_items(Some(pending))
                        .send()
                        .await?;
                    pending = out.unprocessed_items.unwrap_or_default();
                    pending.retain(|_, v| !v.is_empty());
                }
                Ok::<_, aws_sdk_dynamodb::Error>(())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        results.iter().all(Result::is_ok),
        "closed orders written: {:?}",
        results.iter().find(|r| r.is_err())
    );
}
