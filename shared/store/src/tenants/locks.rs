//! Each carrier's failed attempts and locks on the tenant record (contract
//! §4.1), and the transaction step that holds a tenant as read while an
//! order is written.

use super::{record_key, versioned, Tenant, VERSION_UNCHANGED};
use crate::attr::{n, Item, Reader, Update};
use crate::{tx, AuditEvent, Store, StoreError, Written};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use portguard_rules::{CarrierLocks, LockState};
use portguard_validation::{CarrierId, TransferPinId};

impl Tenant {
    /// An update that writes `locks` if the tenant is still at the version read.
    fn lock_update(&self, locks: &CarrierLocks) -> Update {
        lock_fields(locks)
            .set_expr("#stateVersion = :next")
            .name("stateVersion")
            .value(":read", n(self.state_version))
            .value(":next", n(self.state_version + 1))
    }
}

const LOCKS: &str = "carrierLocks";

/// The whole map, written under the tenant's version: two carriers' counts
/// never overwrite each other (the loser re-reads). `hardLocked` mirrors
/// "some carrier's lock is hard", for the PIN write's condition. An empty
/// map is removed, not written as `{}`.
pub(super) fn lock_fields(locks: &CarrierLocks) -> Update {
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
pub(super) fn carrier_locks(item: &Item) -> Result<CarrierLocks, StoreError> {
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

impl Store {
    /// Writes `carrier`'s new lock state if the tenant is unchanged since it
    /// was read.
    pub async fn write_lock_state(
        &self,
        tenant: &Tenant,
        carrier: &CarrierId,
        lock: &LockState,
    ) -> Result<Written<()>, StoreError> {
        let update =
            versioned(tenant.lock_update(&tenant.locks.with(carrier.as_str(), lock.clone())));
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
        carrier: &CarrierId,
        lock: &LockState,
        audits: &[&AuditEvent],
        first_locked: Option<(&AuditEvent, &portguard_rules::LockId, i64)>,
    ) -> Result<Written<bool>, StoreError> {
        let mut first_locked = first_locked;
        loop {
            let update =
                versioned(tenant.lock_update(&tenant.locks.with(carrier.as_str(), lock.clone())));
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
        reset: Option<(&CarrierId, &LockState)>,
        transfer_pin: Option<&TransferPinId>,
        at: i64,
    ) -> TransactWriteItem {
        let read = Update::default()
            .name("stateVersion")
            .value(":read", n(tenant.state_version));
        let update = match (reset, transfer_pin) {
            (Some((carrier, lock)), _) => {
                tenant.lock_update(&tenant.locks.with(carrier.as_str(), lock.clone()))
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
                .alias("#consumedPin", id.as_str()),
            None => update,
        };
        self.guarded_update(tenant, versioned(update.set("lastOrderAt", n(at))))
    }
}
