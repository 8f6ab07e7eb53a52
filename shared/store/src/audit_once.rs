//! contract §4.1: the refusals that do not look at the PIN
//! (`PORT_OUT_LOCKED`, `PIN_NOT_SET`, `TENANT_NOT_ELIGIBLE`) are recorded,
//! and so notified, once per tenant, carrier, code and clock hour, so a
//! carrier repeating them cannot flood a tenant's trail and receiver. A
//! small marker `TENANT#{tenantId}` / `AUDITONCE#{carrierId}#{code}#{hour}`
//! (hour: Unix seconds / 3600) with a TTL is Put in the same transaction as
//! the audit item, on the condition that it is not there yet: never a
//! marker without its audit item or the other way round. Its sort key does
//! not begin with `AUDIT#`, so neither the trail nor the notifier sees it.

use crate::attr::{key, n};
use crate::{tx, AuditEvent, Store, StoreError};
use aws_sdk_dynamodb::types::Put;
use portguard_validation::{CarrierId, TenantId};

/// A marker outlives its hour by this much, then TTL may delete it: its
/// key names the hour, so no later hour ever reads it.
const KEPT_AFTER_HOUR: i64 = 3600;

fn marker_key(
    tenant_id: &TenantId,
    carrier: &CarrierId,
    code: &str,
    hour: i64,
) -> crate::attr::Item {
    key(
        format!("TENANT#{tenant_id}"),
        &format!("AUDITONCE#{carrier}#{code}#{hour}"),
    )
}

impl Store {
    /// Records `audit` (a refusal with `code`) if it is the first of
    /// `carrier`'s refusals with this code on this tenant in clock hour
    /// `hour`. `Ok(false)`: already recorded this hour, nothing written.
    pub async fn record_audit_once_per_hour(
        &self,
        audit: &AuditEvent,
        carrier: &CarrierId,
        code: &str,
        hour: i64,
    ) -> Result<bool, StoreError> {
        let mut marker = marker_key(&audit.tenant_id, carrier, code, hour);
        marker.insert("expiresAt".into(), n((hour + 1) * 3600 + KEPT_AFTER_HOUR));
        let put_marker = Put::builder()
            .table_name(&self.table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item set");
        let items = vec![tx::put(put_marker), tx::put(audit.put(&self.table))];
        Ok(match self.transact(items).await? {
            Ok(()) => true,
            // This carrier's refusal with this code is recorded this hour.
            Err(refused) if refused.failed(0) => false,
            Err(_) => {
                return Err(StoreError::Internal(
                    "an audit put was refused by no condition it has".into(),
                ))
            }
        })
    }
}
