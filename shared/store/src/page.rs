//! Pagination: a page of items and the key to continue from. The API seals
//! the key into an opaque `nextToken`; this crate never trusts one.

use crate::attr::Item;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
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
    /// Reads pages of a filtered Query until `limit` items match: a filter's
    /// `Limit` counts items before the filter. At most `MAX_PAGES` reads per
    /// call; the key to go on from is in the page. `query(limit, start)`
    /// builds each read.
    pub(crate) async fn collect_filtered(
        limit: i32,
        mut start: Option<PageKey>,
        parse: fn(&Item) -> Result<T, crate::StoreError>,
        query: impl Fn(i32, Option<Item>) -> QueryFluentBuilder,
    ) -> Result<Page<T>, crate::StoreError> {
        const MAX_PAGES: usize = 10;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let out = query(
                limit - items.len() as i32,
                start.take().map(PageKey::into_item),
            )
            .send()
            .await
            .map_err(crate::StoreError::from_sdk)?;
            for item in out.items() {
                items.push(parse(item)?);
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
