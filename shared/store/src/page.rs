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
