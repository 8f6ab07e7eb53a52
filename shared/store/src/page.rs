//! Pagination: a page of items and the key to continue from. The API seals
//! the key into an opaque `nextToken`; this crate never trusts one.

use crate::attr::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;

/// A DynamoDB `LastEvaluatedKey`. Every key attribute of this table is a
/// string, so it round-trips through JSON as a map of strings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageKey(pub BTreeMap<String, String>);

impl PageKey {
    pub(crate) fn from_item(item: &Item) -> Option<PageKey> {
        item.iter()
            .map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), s.clone())))
            .collect::<Option<BTreeMap<_, _>>>()
            .map(PageKey)
    }

    pub(crate) fn into_item(self) -> Item {
        self.0
            .into_iter()
            .map(|(k, v)| (k, AttributeValue::S(v)))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageKey>,
    /// Read capacity the query consumed, where it was asked for.
    pub read_units: f64,
}

impl<T> Page<T> {
    /// One Query's answer as a page of `T`: its items parsed, the key to
    /// continue from, and the read capacity it reports (if it was asked).
    pub(crate) fn from_query(
        out: &aws_sdk_dynamodb::operation::query::QueryOutput,
        parse: fn(&Item) -> Result<T, crate::StoreError>,
    ) -> Result<Page<T>, crate::StoreError> {
        Ok(Page {
            items: out.items().iter().map(parse).collect::<Result<_, _>>()?,
            next: out.last_evaluated_key().and_then(PageKey::from_item),
            read_units: out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0),
        })
    }
}
