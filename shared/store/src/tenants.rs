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

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::{tx, AuditEvent, Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use portguard_rules::{CarrierLocks, LockState};
use portguard_secrets::StoredPin;

/// `Debug` never prints a PIN hash: `StoredPin`'s own `Debug` redacts it,
/// for the tenant's PIN and every transfer PIN alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub tenant_id: String,
    pub account_number: String,
    pub country: String,
    pub name: Option<String>,
    pub created_at: String,
    /// The PIN's Argon2id hash and pepper version (`Debug` redacts the
    /// hash); the same type holds each transfer PIN's.
    pub pin: Option<StoredPin>,
    pub pin_updated_at: Option<String>,
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
    pub tenant_id: String,
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

fn pointer_key(tenant_id: &str) -> Item {
    key(format!("TENANT#{tenant_id}"), "TENANT")
}

fn record_key(account: &str) -> Item {
    key(format!("ACCOUNT#{account}"), "ACCOUNT")
}

impl TenantRef {
    pub(crate) fn from_item(item: &Item) -> Result<TenantRef, StoreError> {
        let r = Reader::new(item, "tenant pointer");
        Ok(TenantRef {
            tenant_id: r.s("tenantId")?,
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
            tenant_id: r.s("tenantId")?,
            account_number: r.s("accountNumber")?,
            country: r.s("country")?,
            name: r.opt_s("name"),
            created_at: r.s("createdAt")?,
            pin,
            pin_updated_at: r.opt_s("pinUpdatedAt"),
            locks: carrier_locks(item)?,
            protection: crate::protection::Protection::from_reader(&r)?,
            transfer_pins: crate::transfer_pins::entries(item)?,
            last_order_at: r.opt_n("lastOrderAt")?,
            state_version: r.opt_n("stateVersion")?.unwrap_or(0),
        })
    }

    /// An update that writes `locks` if the tenant is still at the version read.
    fn lock_update(&self, locks: &CarrierLocks) -> Update {
        lock_fields(locks)
            .set_expr("#stateVersion = :next")
            .name("stateVersion")
            .value(":read", n(self.state_version))
            .value(":next", n(self.state_version + 1))
    }

    pub fn is_us(&self) -> bool {
        self.country == "US"
    }
}

const LOCKS: &str = "carrierLocks";

/// The whole map, written under the tenant's version: two carriers' counts
/// never overwrite each other (the loser re-reads). `hardLocked` mirrors
/// "some carrier's lock is hard", for the PIN write's condition. An empty
/// map is removed, not written as `{}`.
fn lock_fields(locks: &CarrierLocks) -> Update {
    let update = Update::default().set("hardLocked", AttributeValue::Bool(locks.any_hard()));
    if locks.is_empty() {
        return update.remove(LOCKS);
    }
    let map = locks
        .iter()
        .map(|(carrier, lock)| {
            let mut fields = Item::new();
            fields.insert("failedAttempts".into(), n(lock.failed_attempts as i64));
            if let Some(until) = lock.locked_until {
                fields.insert("lockedUntil".into(), n(until));
            }
            fields.insert("hardLocked".into(), AttributeValue::Bool(lock.hard_locked));
            fields.insert(
                "recentLocks".into(),
                AttributeValue::L(lock.recent_locks.iter().map(|&t| n(t)).collect()),
            );
            (carrier.to_owned(), AttributeValue::M(fields))
        })
        .collect();
    update.set(LOCKS, AttributeValue::M(map))
}

/// `carrierLocks` as stored; absent is no lock at all.
fn carrier_locks(item: &Item) -> Result<CarrierLocks, StoreError> {
    let corrupt = || StoreError::Corrupt("tenant record has a malformed carrierLocks".into());
    let map = match item.get(LOCKS) {
        None | Some(AttributeValue::Null(_)) => return Ok(CarrierLocks::default()),
        Some(AttributeValue::M(map)) => map,
        Some(_) => return Err(corrupt()),
    };
    let mut out = std::collections::BTreeMap::new();
    for (carrier, value) in map {
        let fields = value.as_m().map_err(|_| corrupt())?;
        let r = Reader::new(fields, "carrier lock");
        out.insert(
            carrier.clone(),
            LockState {
                failed_attempts: r.opt_n("failedAttempts")?.unwrap_or(0) as u32,
                locked_until: r.opt_n("lockedUntil")?,
                hard_locked: r.bool("hardLocked"),
                recent_locks: r.list_n("recentLocks")?,
            },
        );
    }
    Ok(CarrierLocks::from_map(out))
}

const VERSION_UNCHANGED: &str = "attribute_exists(PK) AND (#stateVersion = :read OR (attribute_not_exists(#stateVersion) AND :read = :zero))";

fn versioned(update: Update) -> Update {
    update.value(":zero", n(0))
}

impl Store {
    /// The pointer of a tenant id: account number, country, PIN set.
    pub async fn get_tenant_ref(&self, tenant_id: &str) -> Result<Option<TenantRef>, StoreError> {
        self.get_as(pointer_key(tenant_id), TenantRef::from_item)
            .await
    }

    /// A tenant by id: its pointer, then its record (two reads; the
    /// port-out path uses [`Store::tenant_by_account`]).
    pub async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError> {
        let Some(pointer) = self.get_tenant_ref(tenant_id).await? else {
            return Ok(None);
        };
        let tenant = self.tenant_by_account(&pointer.account_number).await?;
        Ok(tenant.filter(|t| t.tenant_id == tenant_id))
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
        tenant_id: &str,
        account: &str,
        country: &str,
        name: Option<&str>,
        now: &str,
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
                    .value(":now", s(now))
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
        now: &str,
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
        now: &str,
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
            .set("pinUpdatedAt", s(now))
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

    /// Writes `carrier`'s new lock state if the tenant is unchanged since it
    /// was read.
    pub async fn write_lock_state(
        &self,
        tenant: &Tenant,
        carrier: &str,
        lock: &LockState,
    ) -> Result<Written<()>, StoreError> {
        let update = versioned(tenant.lock_update(&tenant.locks.with(carrier, lock.clone())));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(record_key(&tenant.account_number)))
            .update_expression(update.expression())
            .condition_expression(VERSION_UNCHANGED)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written::Done(())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(Written::Conflict)
            }
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// A wrong PIN's one write: `carrier`'s new lock state if the tenant is
    /// unchanged since it was read, with the attempt's audit items in the
    /// same transaction (a failed attempt is never counted unrecorded, nor
    /// recorded uncounted, and costs one round trip after the read).
    /// `first_locked`: the `PIN_LOCKED` rejection of the lock this attempt
    /// began, recorded with its marker (see `record_first_locked_attempt`)
    /// so that the carrier's later attempts in the lock are not.
    /// `Done(true)`: that rejection was recorded; `Done(false)`: its marker
    /// was already there (the rest is written all the same).
    pub async fn write_failed_attempt(
        &self,
        tenant: &Tenant,
        carrier: &str,
        lock: &LockState,
        audits: &[&AuditEvent],
        first_locked: Option<(&AuditEvent, &portguard_rules::LockId, i64)>,
    ) -> Result<Written<bool>, StoreError> {
        let mut first_locked = first_locked;
        loop {
            let update = versioned(tenant.lock_update(&tenant.locks.with(carrier, lock.clone())));
            let mut items = vec![self.guarded_update(tenant, update)];
            items.extend(audits.iter().map(|a| tx::put(a.put(&self.table))));
            let marker = items.len();
            if let Some((audit, id, now)) = first_locked {
                items.push(tx::put(self.locked_marker(audit, id, carrier, now)));
                items.push(tx::put(audit.put(&self.table)));
            }
            match self.transact(items).await? {
                Ok(()) => return Ok(Written::Done(first_locked.is_some())),
                Err(refused) if refused.failed(0) => return Ok(Written::Conflict),
                // This carrier's PIN_LOCKED in this lock is already recorded:
                // the count and the other items still go in.
                Err(refused) if first_locked.is_some() && refused.failed(marker) => {
                    first_locked = None;
                }
                Err(_) => {
                    return Err(StoreError::Internal(
                        "an audit put was refused by no condition it has".into(),
                    ))
                }
            }
        }
    }

    /// A transaction step applying `update` to the tenant if it is unchanged
    /// since it was read.
    fn guarded_update(&self, tenant: &Tenant, update: Update) -> TransactWriteItem {
        tx::update(
            &self.table,
            record_key(&tenant.account_number),
            update,
            VERSION_UNCHANGED,
        )
    }

    /// The transaction step that holds the tenant as read (PIN, lock and
    /// protection unchanged) and records `lastOrderAt`, the order's time.
    ///
    /// A protection change conditions on `lastOrderAt` as it read it, so an
    /// order committed after that read (whose time may be later than the
    /// change's) makes the change re-read and take a later time: no order
    /// is ever accepted with a time after a lock's. Concurrent orders of
    /// one tenant do not bump `stateVersion`, so they do not invalidate each
    /// other's reads (a bump would serialise every port-out of a tenant).
    /// The version is bumped when the order also writes the lock state
    /// after a right PIN, or consumes a transfer PIN (which leaves the
    /// record with it).
    pub(crate) fn tenant_guard(
        &self,
        tenant: &Tenant,
        reset: Option<(&str, &LockState)>,
        transfer_pin: Option<&str>,
        at: i64,
    ) -> TransactWriteItem {
        let read = Update::default()
            .name("stateVersion")
            .value(":read", n(tenant.state_version));
        let update = match (reset, transfer_pin) {
            (Some((carrier, lock)), _) => {
                tenant.lock_update(&tenant.locks.with(carrier, lock.clone()))
            }
            (None, Some(_)) => read
                .set_expr("#stateVersion = :next")
                .value(":next", n(tenant.state_version + 1)),
            (None, None) => read,
        };
        // A transfer PIN the order consumes leaves the record with it.
        let update = match transfer_pin {
            Some(id) => update
                .remove_expr("#transferPins.#consumedPin")
                .name("transferPins")
                .alias("#consumedPin", id),
            None => update,
        };
        self.guarded_update(tenant, versioned(update.set("lastOrderAt", n(at))))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTaken;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_pin_hash() {
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        let tenant = Tenant {
            tenant_id: "t-100".into(),
            account_number: "ACC-1001".into(),
            country: "US".into(),
            name: None,
            created_at: "2026-12-01T00:00:00Z".into(),
            pin: Some(StoredPin {
                hash: hash.into(),
                pepper_version: "v7".into(),
            }),
            pin_updated_at: None,
            locks: CarrierLocks::default(),
            protection: Default::default(),
            last_order_at: None,
            transfer_pins: vec![crate::transfer_pins::TransferPinEntry {
                id: "tp_01JF0000000000000000000000".into(),
                stored: StoredPin {
                    hash: hash.into(),
                    pepper_version: "v7".into(),
                },
                numbers: vec!["+12065550100".into()],
                expires_at: 0,
            }],
            state_version: 3,
        };
        for shown in [format!("{tenant:?}"), format!("{tenant:#?}")] {
            assert!(
                !shown.contains("argon2id") && !shown.contains("aGFzaGhh"),
                "{shown}"
            );
            assert!(
                shown.contains("<redacted>") && shown.contains("t-100"),
                "{shown}"
            );
        }
        let blank = Tenant {
            pin: None,
            ..tenant
        };
        assert!(format!("{blank:?}").contains("pin: None"));
    }
}
