//! Tenants. The tenant record (profile, PIN hash, lock state) is keyed by
//! account number, `ACCOUNT#{acct}`, because a port-out, the hot and the
//! hostile path, knows only the account number: one strongly consistent
//! read gives it all it decides on. A small pointer, `TENANT#{id}`, takes a
//! tenant admin from the tenant id in the token to the record, and carries
//! the country and whether a PIN is set; set-pin reads the record too, for
//! the hard lock (`PIN_UNCHANGED`).
//!
//! Every change to the PIN or the lock is one conditional write on the
//! record's `stateVersion` (optimistic concurrency: a lost race is retried,
//! never lost).

mod locks;

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::clock::Timestamp;
use crate::{tx, AuditEvent, Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use locks::{carrier_locks, lock_fields};
use portguard_rules::CarrierLocks;
use portguard_secrets::StoredPin;
use portguard_validation::TenantId;

/// `Debug` never prints a PIN hash: `StoredPin`'s own `Debug` redacts it,
/// for the tenant's PIN and every transfer PIN alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub tenant_id: TenantId,
    pub account_number: String,
    pub country: String,
    pub name: Option<String>,
    pub created_at: Timestamp,
    /// The PIN's Argon2id hash and pepper version (`Debug` redacts the
    /// hash); the same type holds each transfer PIN's.
    pub pin: Option<StoredPin>,
    pub pin_updated_at: Option<Timestamp>,
    /// Each carrier's failed attempts and locks (contract §4.1;
    /// `carrierLocks`).
    pub locks: CarrierLocks,
    /// Port-out lock and `transferPinRequired` (contract §11).
    pub protection: crate::protection::Protection,
    /// Transfer PINs neither used nor revoked, expired ones included until
    /// the next write prunes them (contract §12; `transferPins`).
    pub transfer_pins: Vec<crate::transfer_pins::TransferPinEntry>,
    /// When the latest accepted order was created (epoch seconds): a
    /// protection change conditions on it (see `tenant_guard`).
    pub last_order_at: Option<i64>,
    pub state_version: i64,
}

/// What the pointer `TENANT#{id}` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRef {
    pub tenant_id: TenantId,
    pub account_number: String,
    pub country: String,
    pub pin_set: bool,
}

impl TenantRef {
    /// The pointer as the record implies it: the transaction that changes
    /// a PIN writes both, so `pinSet` agrees with the record's PIN.
    pub fn of(record: &Tenant) -> TenantRef {
        TenantRef {
            tenant_id: record.tenant_id.clone(),
            account_number: record.account_number.clone(),
            country: record.country.clone(),
            pin_set: record.pin.is_some(),
        }
    }

    pub fn is_us(&self) -> bool {
        self.country == "US"
    }
}

pub use crate::tx::Written;

pub(crate) fn pointer_key(tenant_id: &TenantId) -> Item {
    key(format!("TENANT#{tenant_id}"), "TENANT")
}

pub(crate) fn record_key(account: &str) -> Item {
    key(format!("ACCOUNT#{account}"), "ACCOUNT")
}

impl TenantRef {
    pub(crate) fn from_item(item: &Item) -> Result<TenantRef, StoreError> {
        let r = Reader::new(item, "tenant pointer");
        Ok(TenantRef {
            tenant_id: r.tenant("tenantId")?,
            account_number: r.s("accountNumber")?,
            country: r.s("country")?,
            pin_set: r.bool("pinSet"),
        })
    }
}

impl Tenant {
    pub(crate) fn from_item(item: &Item) -> Result<Tenant, StoreError> {
        let r = Reader::new(item, "tenant record");
        let pin = match (r.opt_s("pinHash"), r.opt_s("pinPepperVersion")) {
            (Some(hash), Some(pepper_version)) => Some(StoredPin {
                hash,
                pepper_version,
            }),
            _ => None,
        };
        Ok(Tenant {
            tenant_id: r.tenant("tenantId")?,
            account_number: r.s("accountNumber")?,
            country: r.s("country")?,
            name: r.opt_s("name"),
            created_at: r.time("createdAt")?,
            pin,
            pin_updated_at: r.opt_parsed("pinUpdatedAt", Timestamp::parse)?,
            locks: carrier_locks(item)?,
            protection: crate::protection::Protection::from_reader(&r)?,
            transfer_pins: crate::transfer_pins::entries(item)?,
            last_order_at: r.opt_n("lastOrderAt")?,
            state_version: r.opt_n("stateVersion")?.unwrap_or(0),
        })
    }

    pub fn is_us(&self) -> bool {
        self.country == "US"
    }
}

/// `stateVersion` as read (a record never versioned reads as 0), of this
/// tenant (`:t`).
pub(crate) const VERSION_AS_READ: &str = "attribute_exists(PK) AND #tenantId = :t AND (#stateVersion = :read OR (attribute_not_exists(#stateVersion) AND :read = :zero))";

pub(crate) const VERSION_UNCHANGED: &str = "attribute_exists(PK) AND (#stateVersion = :read OR (attribute_not_exists(#stateVersion) AND :read = :zero))";

pub(crate) fn versioned(update: Update) -> Update {
    update.value(":zero", n(0))
}

impl Store {
    /// The pointer of a tenant id: account number, country, PIN set.
    pub async fn get_tenant_ref(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Option<TenantRef>, StoreError> {
        self.get_as(pointer_key(tenant_id), TenantRef::from_item)
            .await
    }

    /// A tenant by id: its pointer, then its record (two reads; the
    /// port-out path uses [`Store::tenant_by_account`]).
    pub async fn get_tenant(&self, tenant_id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let Some(pointer) = self.get_tenant_ref(tenant_id).await? else {
            return Ok(None);
        };
        let tenant = self.tenant_by_account(&pointer.account_number).await?;
        Ok(tenant.filter(|t| t.tenant_id == *tenant_id))
    }

    /// The tenant that owns an account number: one strongly consistent read
    /// (the lock state it carries must be exact).
    pub async fn tenant_by_account(&self, account: &str) -> Result<Option<Tenant>, StoreError> {
        self.get_as(record_key(account), Tenant::from_item).await
    }

    /// Creates or updates a tenant's profile (never its PIN or lock state)
    /// and claims its account number; a new account number moves the record
    /// (PIN and lock with it). `Err(AccountTaken)` when another tenant holds
    /// the account number.
    pub async fn put_tenant(
        &self,
        tenant_id: &TenantId,
        account: &str,
        country: &str,
        name: Option<&str>,
        now: Timestamp,
    ) -> Result<Result<(), AccountTaken>, StoreError> {
        let previous = self.get_tenant_ref(tenant_id).await?;
        let pointer = {
            let update = Update::default()
                .set("tenantId", s(tenant_id))
                .set("accountNumber", s(account))
                .set("country", s(country));
            match &previous {
                None => tx::update(
                    &self.table,
                    pointer_key(tenant_id),
                    update,
                    "attribute_not_exists(PK)",
                ),
                Some(p) => tx::update(
                    &self.table,
                    pointer_key(tenant_id),
                    update.value(":previous", s(&p.account_number)),
                    "#accountNumber = :previous",
                ),
            }
        };
        let items = match previous.filter(|p| p.account_number != account) {
            None => {
                let profile = Update::default()
                    .set("tenantId", s(tenant_id))
                    .set("accountNumber", s(account))
                    .set("country", s(country))
                    .set_opt("name", name.map(s))
                    .set_expr("#createdAt = if_not_exists(#createdAt, :now)")
                    .name("createdAt")
                    .value(":now", s(now.to_string()))
                    .value(":t", s(tenant_id));
                vec![
                    tx::update(
                        &self.table,
                        record_key(account),
                        profile,
                        "attribute_not_exists(PK) OR #tenantId = :t",
                    ),
                    pointer,
                ]
            }
            Some(old) => {
                let Some(mut record) = self.get_consistent(record_key(&old.account_number)).await?
                else {
                    return Err(StoreError::Corrupt(format!(
                        "tenant {tenant_id} points to a missing record"
                    )));
                };
                let version = Tenant::from_item(&record)?.state_version;
                record.extend(record_key(account));
                record.insert("accountNumber".into(), s(account));
                record.insert("country".into(), s(country));
                match name {
                    Some(name) => record.insert("name".into(), s(name)),
                    None => record.remove("name"),
                };
                let unchanged = versioned(
                    Update::default()
                        .name("stateVersion")
                        .value(":read", n(version)),
                );
                vec![
                    TransactWriteItem::builder()
                        .put(
                            aws_sdk_dynamodb::types::Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(record))
                                .condition_expression("attribute_not_exists(PK)")
                                .build()
                                .expect("complete put"),
                        )
                        .build(),
                    TransactWriteItem::builder()
                        .delete(
                            aws_sdk_dynamodb::types::Delete::builder()
                                .table_name(&self.table)
                                .set_key(Some(record_key(&old.account_number)))
                                .condition_expression(VERSION_UNCHANGED)
                                .set_expression_attribute_names(Some(unchanged.names))
                                .set_expression_attribute_values(Some(unchanged.values))
                                .build()
                                .expect("complete delete"),
                        )
                        .build(),
                    pointer,
                ]
            }
        };
        match self.transact(items).await? {
            Ok(()) => Ok(Ok(())),
            Err(refused) if refused.failed(0) => Ok(Err(AccountTaken)),
            Err(_) => Err(StoreError::Internal(
                "the tenant changed while it was being provisioned; run the command again".into(),
            )),
        }
    }

    /// Stores a new PIN hash, clears failures and any lock, marks the
    /// pointer and records the audit event: one transaction. It conflicts
    /// only when the tenant was renumbered or its first PIN was set since
    /// `tenant` was read.
    pub async fn set_pin(
        &self,
        tenant: &TenantRef,
        hash: &str,
        pepper_version: &str,
        now: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Written<()>, StoreError> {
        self.set_pin_if(tenant, hash, pepper_version, now, audit, false)
            .await
    }

    /// [`Store::set_pin`]; with `not_hard_locked`, it also conflicts when a
    /// hard lock came after the caller saw none (the new PIN must then be
    /// checked against the current one, contract §3 `PIN_UNCHANGED`).
    pub async fn set_pin_if(
        &self,
        tenant: &TenantRef,
        hash: &str,
        pepper_version: &str,
        now: Timestamp,
        audit: &AuditEvent,
        not_hard_locked: bool,
    ) -> Result<Written<()>, StoreError> {
        // A new PIN ends every carrier's lock (contract §4.1).
        let cleared = CarrierLocks::default();
        // No read of the record: the write bumps `stateVersion`, so every
        // decision made on the old PIN or lock fails its condition and
        // re-reads.
        let record = lock_fields(&cleared)
            .set("pinHash", s(hash))
            .set("pinPepperVersion", s(pepper_version))
            .set("pinUpdatedAt", s(now.to_string()))
            .set_expr("#stateVersion = if_not_exists(#stateVersion, :zero) + :one")
            .name("stateVersion")
            .value(":zero", n(0))
            .value(":one", n(1))
            .name("tenantId")
            .value(":t", s(&tenant.tenant_id));
        let pin_set_as_read = if tenant.pin_set {
            "#pinSet = :true"
        } else {
            "attribute_not_exists(#pinSet)"
        };
        let pointer = Update::default()
            .set("pinSet", AttributeValue::Bool(true))
            .value(":previous", s(&tenant.account_number))
            .name("accountNumber");
        let pointer = if tenant.pin_set {
            pointer.value(":true", AttributeValue::Bool(true))
        } else {
            pointer
        };
        let items = vec![
            tx::update(
                &self.table,
                record_key(&tenant.account_number),
                if not_hard_locked {
                    record.value(":hard", AttributeValue::Bool(true))
                } else {
                    record
                },
                if not_hard_locked {
                    "#tenantId = :t AND NOT hardLocked = :hard"
                } else {
                    "#tenantId = :t"
                },
            ),
            tx::update(
                &self.table,
                pointer_key(&tenant.tenant_id),
                pointer,
                &format!("#accountNumber = :previous AND {pin_set_as_read}"),
            ),
            tx::put(audit.put(&self.table)),
        ];
        Ok(match self.transact(items).await? {
            Ok(()) => Written::Done(()),
            Err(_) => Written::Conflict,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTaken;

#[cfg(test)]
mod tests;
