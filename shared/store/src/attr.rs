//! Small helpers between Rust values and DynamoDB attribute maps.

use crate::clock::Timestamp;
use crate::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use portguard_validation::{PhoneNumber, TenantId};
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// Reads typed attributes from an item, naming the item kind in errors.
pub(crate) struct Reader<'a> {
    pub item: &'a Item,
    pub kind: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(item: &'a Item, kind: &'static str) -> Self {
        Reader { item, kind }
    }

    fn corrupt(&self, name: &str) -> StoreError {
        StoreError::Corrupt(format!("{} item lacks a valid {name}", self.kind))
    }

    pub fn opt_s(&self, name: &str) -> Option<String> {
        self.item.get(name).and_then(|v| v.as_s().ok()).cloned()
    }

    pub fn s(&self, name: &str) -> Result<String, StoreError> {
        self.opt_s(name).ok_or_else(|| self.corrupt(name))
    }

    pub fn opt_n(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| self.corrupt(name)),
            Some(_) => Err(self.corrupt(name)),
        }
    }

    pub fn n(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_n(name)?.ok_or_else(|| self.corrupt(name))
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.item.get(name), Some(AttributeValue::Bool(true)))
    }

    pub fn list_s(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| v.as_s().cloned().map_err(|_| self.corrupt(name)))
                .collect(),
            Some(_) => Err(self.corrupt(name)),
        }
    }

    /// A string attribute turned into its type; one that does not parse is
    /// a corrupt item, never a default.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        self.opt_parsed(name, parse)?
            .ok_or_else(|| self.corrupt(name))
    }

    /// [`Reader::parsed`] of an attribute that may be absent.
    pub fn opt_parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, StoreError> {
        match self.opt_s(name) {
            None => Ok(None),
            Some(v) => parse(&v).map(Some).ok_or_else(|| self.corrupt(name)),
        }
    }

    pub fn tenant(&self, name: &str) -> Result<TenantId, StoreError> {
        self.parsed(name, |v| TenantId::parse(v).ok())
    }

    pub fn time(&self, name: &str) -> Result<Timestamp, StoreError> {
        self.parsed(name, Timestamp::parse)
    }

    /// A list of E.164 numbers as this service stored them.
    pub fn numbers(&self, name: &str) -> Result<Vec<PhoneNumber>, StoreError> {
        self.list_s(name)?
            .iter()
            .map(|v| PhoneNumber::from_stored(v).map_err(|_| self.corrupt(name)))
            .collect()
    }

    pub fn list_n(&self, name: &str) -> Result<Vec<i64>, StoreError> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| {
                    v.as_n()
                        .ok()
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| self.corrupt(name))
                })
                .collect(),
            Some(_) => Err(self.corrupt(name)),
        }
    }
}

/// Builds `SET a = :a, b = :b` expressions without typos between the two halves.
#[derive(Default)]
pub(crate) struct Update {
    sets: Vec<String>,
    removes: Vec<String>,
    pub names: HashMap<String, String>,
    pub values: Item,
}

impl Update {
    pub fn set(mut self, name: &str, value: AttributeValue) -> Self {
        self.names.insert(format!("#{name}"), name.to_owned());
        self.values.insert(format!(":{name}"), value);
        self.sets.push(format!("#{name} = :{name}"));
        self
    }

    pub fn set_opt(self, name: &str, value: Option<AttributeValue>) -> Self {
        match value {
            Some(v) => self.set(name, v),
            None => self.remove(name),
        }
    }

    pub fn set_expr(mut self, expr: &str) -> Self {
        self.sets.push(expr.to_owned());
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.names.insert(format!("#{name}"), name.to_owned());
        self.removes.push(format!("#{name}"));
        self
    }

    /// `REMOVE` of a path written with placeholders (a map entry).
    pub fn remove_expr(mut self, expr: &str) -> Self {
        self.removes.push(expr.to_owned());
        self
    }

    /// A name placeholder for a name that is not a valid placeholder
    /// itself (a map key such as a transfer PIN id).
    pub fn alias(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.to_owned(), name.to_owned());
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.names.insert(format!("#{name}"), name.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    pub fn expression(&self) -> String {
        let mut out = String::new();
        if !self.sets.is_empty() {
            out.push_str("SET ");
            out.push_str(&self.sets.join(", "));
        }
        if !self.removes.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("REMOVE ");
            out.push_str(&self.removes.join(", "));
        }
        out
    }
}
