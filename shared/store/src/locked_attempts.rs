//! contract §4.1: "while a lock holds, only the first `PIN_LOCKED` of each
//! carrier is recorded", so a tenant whose PIN is guessed over and over
//! gets no flood of audit items. A small marker per lock and carrier,
//! `TENANT#{tenantId}` / `LOCKED#{lock}#{carrierId}` with a TTL at the
//! lock's end, is Put in the same transaction as the audit item, on the
//! condition that it is not there yet: one write on the locked path, and
//! never a marker without its audit item or the other way round.

use crate::attr::{key, n};
use crate::{tx, AuditEvent, Store, StoreError};
use aws_sdk_dynamodb::types::Put;
use portguard_rules::LockId;
use portguard_validation::{CarrierId, TenantId};

fn marker_key(tenant_id: &TenantId, lock: &LockId, carrier: &CarrierId) -> crate::attr::Item {
    key(
        format!("TENANT#{tenant_id}"),
        &format!("LOCKED#{}#{carrier}", lock.name()),
    )
}

impl Store {
    /// The marker of `carrier`'s first recorded attempt in `lock`, put only
    /// if absent (or past its time): step 0 of the pair it makes with the
    /// attempt's audit item.
    pub(crate) fn locked_marker(
        &self,
        audit: &AuditEvent,
        lock: &LockId,
        carrier: &CarrierId,
        now: i64,
    ) -> Put {
        let mut marker = marker_key(&audit.tenant_id, lock, carrier);
        marker.insert("expiresAt".into(), n(lock.expires_at));
        // TTL deletes late: a marker past its time no longer counts.
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
            .expression_attribute_values(":now", n(now))
            .build()
            .expect("table and item set")
    }

    /// Records `audit` (a `PIN_LOCKED` rejection) if it is `carrier`'s first
    /// attempt in `lock`. `Ok(false)`: already recorded, nothing written.
    pub async fn record_first_locked_attempt(
        &self,
        audit: &AuditEvent,
        lock: &LockId,
        carrier: &CarrierId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let put_marker = self.locked_marker(audit, lock, carrier, now);
        let items = vec![tx::put(put_marker), tx::put(audit.put(&self.table))];
        Ok(match self.transact(items).await? {
            Ok(()) => true,
            // This carrier's PIN_LOCKED in this lock is already recorded.
            Err(refused) if refused.failed(0) => false,
            Err(_) => {
                return Err(StoreError::Internal(
                    "an audit put was refused by no condition it has".into(),
                ))
            }
        })
    }
}
