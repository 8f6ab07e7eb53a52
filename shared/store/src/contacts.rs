//! Alert contacts (contract §17): who hears of a tenant's audit trail by
//! email.
//!
//! Two kinds of item share the tenant's partition, so one Query reads a
//! tenant's whole book:
//! - `TENANT#{tenantId}` / `ALERTCONTACT#{ulid}`, one per contact: the
//!   address, the chosen types, the confirmation code's hash and tries, and
//!   the hourly alert window with the count of alerts left out;
//! - `TENANT#{tenantId}` / `ALERTCONTACTS`, the book's index: every
//!   address (lower-cased) → contact id, and a `version` every add and
//!   remove bumps under a condition on the version read. That keeps "at
//!   most 5" and "no address twice" true under races, without touching the
//!   tenant record every port-out reads.

mod contact;
mod window;

pub(crate) use contact::{contact_key, index_key, types_value};
pub use contact::{AlertContact, ContactStatus, PendingCode};
pub use window::{Slot, Window};

use crate::attr::{n, s, Item, Reader, Update};
use crate::tenants::Written;
use crate::{clock, tx, AuditEvent, AuditType, Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use portguard_validation::{ContactId, TenantId};
use std::collections::HashMap;

/// At most this many contacts per tenant.
pub const MAX_CONTACTS: usize = 5;
/// A confirmation code is valid this long.
pub const CODE_TTL_SECONDS: i64 = 86_400;
/// The fifth wrong code ends it.
pub const MAX_CODE_TRIES: i64 = 5;
/// The alert window, and how many alerts it lets through.
pub const WINDOW_SECONDS: i64 = 3_600;
pub const ALERTS_PER_WINDOW: i64 = 30;

pub(crate) const INDEX_SK: &str = "ALERTCONTACTS";

/// A tenant's contacts as read, oldest first, with the index's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactBook {
    pub tenant_id: TenantId,
    pub contacts: Vec<AlertContact>,
    version: i64,
}

impl ContactBook {
    pub fn find(&self, id: &ContactId) -> Option<&AlertContact> {
        self.contacts.iter().find(|c| c.id == *id)
    }

    pub fn has_address(&self, email_key: &str) -> bool {
        self.contacts.iter().any(|c| c.email_key() == email_key)
    }

    pub fn is_full(&self) -> bool {
        self.contacts.len() >= MAX_CONTACTS
    }

    /// The index step: `emails` as the book will be, version bumped, if
    /// the version is still the one read.
    fn index_step(&self, table: &str, contacts: &[&AlertContact]) -> TransactWriteItem {
        let emails: HashMap<String, AttributeValue> =
            contacts.iter().map(|c| (c.email_key(), s(&c.id))).collect();
        let update = Update::default()
            .set("emails", AttributeValue::M(emails))
            .set("version", n(self.version + 1))
            .value(":read", n(self.version))
            .value(":zero", n(0));
        tx::update(
            table,
            index_key(&self.tenant_id),
            update,
            "#version = :read OR (attribute_not_exists(#version) AND :read = :zero)",
        )
    }
}

impl Store {
    /// The items of a tenant's book, its index and its contacts (oldest
    /// first), in one strongly consistent Query (at most 6 small items: one
    /// page).
    pub(crate) async fn book_items(&self, tenant_id: &TenantId) -> Result<Vec<Item>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(format!("TENANT#{tenant_id}")))
            .expression_attribute_values(":prefix", s("ALERTCONTACT"))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.items.unwrap_or_default())
    }

    /// A tenant's contacts (one strongly consistent Query of the book).
    pub async fn alert_contacts(&self, tenant_id: &TenantId) -> Result<ContactBook, StoreError> {
        let items = self.book_items(tenant_id).await?;
        let mut book = ContactBook {
            tenant_id: tenant_id.clone(),
            contacts: Vec::new(),
            version: 0,
        };
        for item in &items {
            match item
                .get("SK")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some(INDEX_SK) => {
                    book.version = Reader::new(item, "alert contacts").n("version")?
                }
                _ => book.contacts.push(AlertContact::from_item(item)?),
            }
        }
        Ok(book)
    }

    /// One contact; `None` for an unknown or another tenant's id.
    pub async fn get_alert_contact(
        &self,
        tenant_id: &TenantId,
        id: &ContactId,
    ) -> Result<Option<AlertContact>, StoreError> {
        self.get_as(contact_key(tenant_id, id), AlertContact::from_item)
            .await
    }

    /// Adds `contact` to `book` as read, with its audit item, in one
    /// transaction. The caller checked the limit and the address; the
    /// version condition keeps both true under races.
    pub async fn add_alert_contact(
        &self,
        book: &ContactBook,
        contact: &AlertContact,
        audit: &AuditEvent,
    ) -> Result<Written<()>, StoreError> {
        let after: Vec<&AlertContact> = book.contacts.iter().chain([contact]).collect();
        let items = vec![
            book.index_step(&self.table, &after),
            tx::put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(contact.item()))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .expect("complete put"),
            ),
            tx::put(audit.put(&self.table)),
        ];
        self.write_or_conflict(items).await
    }

    /// Removes `contact` from `book` as read, with its audit item.
    pub async fn remove_alert_contact(
        &self,
        book: &ContactBook,
        contact: &AlertContact,
        audit: &AuditEvent,
    ) -> Result<Written<()>, StoreError> {
        let after: Vec<&AlertContact> = book
            .contacts
            .iter()
            .filter(|c| c.id != contact.id)
            .collect();
        let items = vec![
            book.index_step(&self.table, &after),
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(contact.key()))
                        .condition_expression("attribute_exists(PK)")
                        .build()
                        .expect("complete delete"),
                )
                .build(),
            tx::put(audit.put(&self.table)),
        ];
        self.write_or_conflict(items).await
    }

    /// Sets the types of a contact; `false` when it no longer exists.
    pub async fn set_alert_contact_types(
        &self,
        contact: &AlertContact,
        types: &[AuditType],
    ) -> Result<bool, StoreError> {
        let update = Update::default().set("types", types_value(types));
        self.update_if(contact.key(), update, "attribute_exists(PK)")
            .await
    }

    /// Confirms `contact` (unconfirmed, its tries as read), with its audit
    /// item; the code's hash is removed.
    pub async fn confirm_alert_contact(
        &self,
        contact: &AlertContact,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<Written<()>, StoreError> {
        let tries = contact.code.as_ref().map_or(0, |c| c.tries);
        let update = Update::default()
            .set("status", s(ContactStatus::Confirmed.as_str()))
            .set("confirmedAt", n(now))
            .remove("codeHash")
            .remove("codeUntil")
            .set("codeTries", n(tries))
            .value(":unconfirmed", s(ContactStatus::Unconfirmed.as_str()));
        let items = vec![
            tx::update(
                &self.table,
                contact.key(),
                update,
                "#status = :unconfirmed AND #codeTries = :codeTries",
            ),
            tx::put(audit.put(&self.table)),
        ];
        self.write_or_conflict(items).await
    }

    /// Counts a wrong code against `contact` (its tries as read).
    pub async fn count_wrong_code(
        &self,
        contact: &AlertContact,
    ) -> Result<Written<()>, StoreError> {
        let tries = contact.code.as_ref().map_or(0, |c| c.tries);
        let update = Update::default()
            .set("codeTries", n(tries + 1))
            .value(":read", n(tries))
            .value(":unconfirmed", s(ContactStatus::Unconfirmed.as_str()))
            .name("status");
        Ok(
            match self
                .update_if(
                    contact.key(),
                    update,
                    "#status = :unconfirmed AND #codeTries = :read",
                )
                .await?
            {
                true => Written::Done(()),
                false => Written::Conflict,
            },
        )
    }

    /// Notes the outcome of an email to a contact (`failure`: `None` for a
    /// delivery). A contact removed meanwhile stays removed.
    pub async fn note_contact_result(
        &self,
        tenant_id: &TenantId,
        id: &ContactId,
        at: i64,
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        let update = note_update(at, failure.is_none(), failure);
        self.update_if(contact_key(tenant_id, id), update, "attribute_exists(PK)")
            .await?;
        Ok(())
    }
}

/// What a contact shows of emails ended at `at`: `delivered` sets
/// `lastDeliveryAt` and clears `lastFailure` unless a `failure` sets it.
pub(crate) fn note_update(at: i64, delivered: bool, failure: Option<&str>) -> Update {
    let mut update = Update::default();
    if delivered {
        update = update.set("lastDeliveryAt", n(at));
    }
    match failure {
        Some(reason) => update.set("lastFailure", s(reason)),
        None => update.remove("lastFailure"),
    }
}

/// The time a contact field holds, as the API shows it.
pub fn format_time(ts: Option<i64>) -> Option<String> {
    ts.map(clock::format)
}
