//! The alert contacts of a stream batch's tenants (contract §17), each with
//! its hourly window as read, so that the slot's update that applies is
//! tried first. Read beside the batch's other reads, never after them.

use super::{again, all, index_ids};
use crate::attr::Item;
use crate::contacts::{contact_key, index_key, AlertContact, Window, INDEX_SK};
use crate::{Store, StoreError};
use portguard_validation::TenantId;
use std::collections::{HashMap, HashSet};

/// Up to this many tenants, each book is one Query (its index and its
/// contacts), all at once: the contacts in one round trip. Past it, a Query
/// each would cost more requests than the round trip it saves: the indexes
/// are read in batch, then the contacts of the books that list any.
pub const QUERY_BOOKS: usize = 10;

/// A tenant's contacts, oldest first, each with its window as read.
pub type Book = Vec<(AlertContact, Window)>;

/// The contacts among a book's items (the index is not one).
fn contacts(items: &[Item]) -> Result<Book, StoreError> {
    let mut book = items
        .iter()
        .filter(|item| {
            item.get("SK")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                != Some(INDEX_SK)
        })
        .map(|item| Ok((AlertContact::from_item(item)?, Window::from_item(item))))
        .collect::<Result<Book, StoreError>>()?;
    book.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    Ok(book)
}

fn pk(item: &Item) -> Option<&str> {
    item.get("PK")?.as_s().ok().map(String::as_str)
}

impl Store {
    /// The books of `tenants` (none for a tenant without contacts); a book
    /// that cannot be read is its error, for the records that need it.
    pub async fn read_books(
        &self,
        tenants: &[TenantId],
    ) -> HashMap<TenantId, Result<Book, StoreError>> {
        let mut seen = HashSet::new();
        let tenants: Vec<TenantId> = tenants
            .iter()
            .filter(|t| seen.insert(*t))
            .cloned()
            .collect();
        if tenants.len() <= QUERY_BOOKS {
            let reads = tenants.into_iter().map(|tenant| {
                let store = self.clone();
                async move {
                    let book = store.book_items(&tenant).await;
                    (tenant, book.and_then(|items| contacts(&items)))
                }
            });
            return all(reads.collect()).await.into_iter().collect();
        }
        let failed = |tenants: Vec<TenantId>, e: &StoreError| {
            tenants.into_iter().map(|t| (t, Err(again(e)))).collect()
        };
        let keys = tenants.iter().map(index_key).collect();
        let indexes = match self.batch_get(keys).await {
            Ok(items) => items,
            Err(e) => return failed(tenants, &e),
        };
        let by_pk: HashMap<String, &TenantId> =
            tenants.iter().map(|t| (format!("TENANT#{t}"), t)).collect();
        let mut out: HashMap<TenantId, Result<Book, StoreError>> = tenants
            .iter()
            .map(|t| (t.clone(), Ok(Vec::new())))
            .collect();
        let mut keys = Vec::new();
        for index in &indexes {
            let Some(&tenant) = pk(index).and_then(|pk| by_pk.get(pk)) else {
                continue;
            };
            match index_ids(index) {
                Ok(ids) => keys.extend(ids.iter().map(|id| contact_key(tenant, id))),
                Err(e) => {
                    out.insert(tenant.clone(), Err(e));
                }
            }
        }
        if keys.is_empty() {
            return out;
        }
        let items = match self.batch_get(keys).await {
            Ok(items) => items,
            Err(e) => return failed(tenants, &e),
        };
        let mut items_of: HashMap<&TenantId, Vec<Item>> = HashMap::new();
        for item in items {
            if let Some(&tenant) = pk(&item).and_then(|pk| by_pk.get(pk)) {
                items_of.entry(tenant).or_default().push(item);
            }
        }
        for (tenant, items) in items_of {
            // A corrupt index stays the tenant's error.
            if matches!(out.get(tenant), Some(Ok(_))) {
                out.insert(tenant.clone(), contacts(&items));
            }
        }
        out
    }
}
