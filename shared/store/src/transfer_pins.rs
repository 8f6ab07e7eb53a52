//! One-time transfer PINs (contract §12).
//!
//! Two places hold one:
//! - the tenant record's `transferPins` map, id → {hash, pepperVersion,
//!   numbers, expiresAt}, holds the PINs that are neither used nor revoked
//!   (expired ones are pruned by the next write of the map). A port-out reads
//!   it with the record, in its one read; at most 5 entries of at most 50
//!   numbers keep the record small. Every write of the map bumps
//!   `stateVersion` under a condition on the version read.
//! - an item `TENANT#{tenantId}` / `TPIN#{ulid}` per PIN, never holding the
//!   hash, is its history for `GET /v1/transfer-pins` (newest first).
//!
//! The item's end of life is `validUntil`, not `expiresAt`: `expiresAt` is
//! the table's TTL attribute, and TTL would delete used and revoked PINs'
//! history. Expiry needs no sweep: readers compare `validUntil` with now.

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::tenants::{record_key, Written, VERSION_AS_READ};
use crate::{AuditEvent, Page, PageKey, Store, StoreError, Tenant};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use portguard_rules::transfer_pin::{self as rules, TransferPinStatus};
use portguard_secrets::StoredPin;
use portguard_validation::{OrderId, PhoneNumber, TenantId, TransferPinId};
use std::collections::HashMap;

/// The record attribute holding the live transfer PINs.
pub(crate) const MAP: &str = "transferPins";
const SK_PREFIX: &str = "TPIN#";

/// A transfer PIN as the tenant record carries it: what a port-out checks.
/// `Debug` shows no hash (`StoredPin` redacts it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferPinEntry {
    pub id: TransferPinId,
    pub stored: StoredPin,
    pub numbers: Vec<PhoneNumber>,
    pub expires_at: i64,
}

impl TransferPinEntry {
    /// Whether it opens a port-out of `requested` at `now` (check 10).
    pub fn opens(&self, requested: &[PhoneNumber], now: i64) -> bool {
        rules::opens(&self.numbers, self.expires_at, requested, now)
    }

    pub fn is_live(&self, now: i64) -> bool {
        rules::is_live(self.expires_at, now)
    }

    fn attribute(&self) -> AttributeValue {
        AttributeValue::M(HashMap::from([
            ("hash".to_owned(), s(&self.stored.hash)),
            ("pepperVersion".to_owned(), s(&self.stored.pepper_version)),
            (
                "numbers".to_owned(),
                AttributeValue::L(self.numbers.iter().map(s).collect()),
            ),
            ("expiresAt".to_owned(), n(self.expires_at)),
        ]))
    }
}

/// The `transferPins` map of a tenant record, sorted by id (oldest first).
pub(crate) fn entries(item: &Item) -> Result<Vec<TransferPinEntry>, StoreError> {
    let corrupt = || StoreError::Corrupt("tenant record has a malformed transferPins".into());
    let map = match item.get(MAP) {
        None | Some(AttributeValue::Null(_)) => return Ok(Vec::new()),
        Some(AttributeValue::M(map)) => map,
        Some(_) => return Err(corrupt()),
    };
    let mut out = Vec::with_capacity(map.len());
    for (id, value) in map {
        let fields = value.as_m().map_err(|_| corrupt())?;
        let r = Reader::new(fields, "transfer PIN entry");
        out.push(TransferPinEntry {
            id: TransferPinId::parse(id).ok_or_else(corrupt)?,
            stored: StoredPin {
                hash: r.s("hash")?,
                pepper_version: r.s("pepperVersion")?,
            },
            numbers: r.numbers("numbers")?,
            expires_at: r.n("expiresAt")?,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The map with `live` entries only, as a value to SET.
fn map_value<'a>(live: impl Iterator<Item = &'a TransferPinEntry>) -> AttributeValue {
    AttributeValue::M(live.map(|e| (e.id.to_string(), e.attribute())).collect())
}

/// A transfer PIN's history item, as `GET /v1/transfer-pins` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferPin {
    pub id: TransferPinId,
    pub tenant_id: TenantId,
    pub numbers: Vec<PhoneNumber>,
    pub created_at: i64,
    pub expires_at: i64,
    /// As stored: `active`, `used` or `revoked` (see [`TransferPin::status_at`]).
    pub status: TransferPinStatus,
    pub port_out_id: Option<OrderId>,
}

impl TransferPin {
    /// A new active PIN for `numbers` (E.164), with a fresh time-ordered id.
    pub fn new(
        tenant_id: &TenantId,
        numbers: Vec<PhoneNumber>,
        now: i64,
        ttl_seconds: i64,
    ) -> TransferPin {
        TransferPin {
            id: TransferPinId::generate(),
            tenant_id: tenant_id.clone(),
            numbers,
            created_at: now,
            expires_at: now + ttl_seconds,
            status: TransferPinStatus::Active,
            port_out_id: None,
        }
    }

    /// The status shown at `now` (`expired` computed, never stored).
    pub fn status_at(&self, now: i64) -> TransferPinStatus {
        self.status.at(self.expires_at, now)
    }

    fn item(&self) -> Item {
        let mut item = tpin_key(&self.tenant_id, &self.id);
        let mut put = |k: &str, v: AttributeValue| {
            item.insert(k.to_owned(), v);
        };
        put("id", s(&self.id));
        put("tenantId", s(&self.tenant_id));
        put(
            "numbers",
            AttributeValue::L(self.numbers.iter().map(s).collect()),
        );
        put("createdAt", n(self.created_at));
        put("validUntil", n(self.expires_at));
        put("status", s(self.status.as_str()));
        if let Some(id) = &self.port_out_id {
            put("portOutId", s(id));
        }
        item
    }

    fn from_item(item: &Item) -> Result<TransferPin, StoreError> {
        let r = Reader::new(item, "transfer PIN");
        let status = TransferPinStatus::parse(&r.s("status")?)
            .filter(|s| *s != TransferPinStatus::Expired)
            .ok_or_else(|| StoreError::Corrupt("transfer PIN has an unknown status".into()))?;
        Ok(TransferPin {
            id: r.parsed("id", TransferPinId::parse)?,
            tenant_id: r.tenant("tenantId")?,
            numbers: r.numbers("numbers")?,
            created_at: r.n("createdAt")?,
            expires_at: r.n("validUntil")?,
            status,
            port_out_id: r.opt_parsed("portOutId", OrderId::parse)?,
        })
    }
}

/// A transfer PIN's history item, in its tenant's partition.
fn tpin_key(tenant_id: &TenantId, id: &TransferPinId) -> Item {
    key(
        format!("TENANT#{tenant_id}"),
        &format!("{SK_PREFIX}{}", id.ulid()),
    )
}

/// A tenant-record step that writes the map as `live` and bumps the version.
fn record_step(table: &str, tenant: &Tenant, live: AttributeValue) -> TransactWriteItem {
    let update = Update::default()
        .set(MAP, live)
        .set("stateVersion", n(tenant.state_version + 1))
        .name("tenantId")
        .value(":t", s(&tenant.tenant_id))
        .value(":read", n(tenant.state_version))
        .value(":zero", n(0));
    TransactWriteItem::builder()
        .update(
            aws_sdk_dynamodb::types::Update::builder()
                .table_name(table)
                .set_key(Some(record_key(&tenant.account_number)))
                .update_expression(update.expression())
                .condition_expression(VERSION_AS_READ)
                .set_expression_attribute_names(Some(update.names))
                .set_expression_attribute_values(Some(update.values))
                .build()
                .expect("complete update"),
        )
        .build()
}

impl Store {
    /// Issues `pin` (its hash `stored`) to `tenant` as read: the map gains
    /// the entry (expired entries pruned), the history item and the audit
    /// event are written, in one transaction. The caller checked that fewer
    /// than 5 are live; the version condition keeps that true under races.
    pub async fn create_transfer_pin(
        &self,
        tenant: &Tenant,
        pin: &TransferPin,
        stored: &StoredPin,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<Written<()>, StoreError> {
        let entry = TransferPinEntry {
            id: pin.id.clone(),
            stored: stored.clone(),
            numbers: pin.numbers.clone(),
            expires_at: pin.expires_at,
        };
        let live = tenant
            .transfer_pins
            .iter()
            .filter(|e| e.is_live(now))
            .chain(std::iter::once(&entry));
        let items = vec![
            record_step(&self.table, tenant, map_value(live)),
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(pin.item()))
                        .condition_expression("attribute_not_exists(PK)")
                        .build()
                        .expect("complete put"),
                )
                .build(),
            TransactWriteItem::builder()
                .put(audit.put(&self.table))
                .build(),
        ];
        self.write_or_conflict(items).await
    }

    /// A tenant's transfer PIN by id; `None` for an unknown or another
    /// tenant's id alike.
    pub async fn get_transfer_pin(
        &self,
        tenant_id: &TenantId,
        id: &TransferPinId,
    ) -> Result<Option<TransferPin>, StoreError> {
        self.get_as(tpin_key(tenant_id, id), TransferPin::from_item)
            .await
    }

    /// Revokes `pin` (active as read) of `tenant` as read: the history item
    /// becomes `revoked` (condition: still active), the entry leaves the map,
    /// and the audit event is written, in one transaction. A conflict (the
    /// PIN was used, or the tenant changed, meanwhile) means: read again.
    pub async fn revoke_transfer_pin(
        &self,
        tenant: &Tenant,
        pin: &TransferPin,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<Written<()>, StoreError> {
        let live = tenant
            .transfer_pins
            .iter()
            .filter(|e| e.is_live(now) && e.id != pin.id);
        let update = Update::default()
            .set("status", s(TransferPinStatus::Revoked.as_str()))
            .set("revokedAt", n(now))
            .value(":active", s(TransferPinStatus::Active.as_str()));
        let items = vec![
            record_step(&self.table, tenant, map_value(live)),
            TransactWriteItem::builder()
                .update(
                    aws_sdk_dynamodb::types::Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(tpin_key(&pin.tenant_id, &pin.id)))
                        .update_expression(update.expression())
                        .condition_expression("#status = :active")
                        .set_expression_attribute_names(Some(update.names))
                        .set_expression_attribute_values(Some(update.values))
                        .build()
                        .expect("complete update"),
                )
                .build(),
            TransactWriteItem::builder()
                .put(audit.put(&self.table))
                .build(),
        ];
        self.write_or_conflict(items).await
    }

    /// The transaction step of an accepted port-out that consumes transfer
    /// PIN `id`: its history item becomes `used` by `port_out_id`, on
    /// condition it is still active and live. (The tenant guard of the same
    /// transaction removes the entry from the map.)
    pub(crate) fn consume_transfer_pin_step(
        &self,
        tenant_id: &TenantId,
        id: &TransferPinId,
        port_out_id: &OrderId,
        now: i64,
    ) -> TransactWriteItem {
        let update = Update::default()
            .set("status", s(TransferPinStatus::Used.as_str()))
            .set("portOutId", s(port_out_id))
            .set("usedAt", n(now))
            .name("validUntil")
            .value(":active", s(TransferPinStatus::Active.as_str()))
            .value(":now", n(now));
        TransactWriteItem::builder()
            .update(
                aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(tpin_key(tenant_id, id)))
                    .update_expression(update.expression())
                    .condition_expression("#status = :active AND #validUntil > :now")
                    .set_expression_attribute_names(Some(update.names))
                    .set_expression_attribute_values(Some(update.values))
                    .build()
                    .expect("complete update"),
            )
            .build()
    }

    /// A tenant's transfer PINs, newest first, optionally only those whose
    /// status at `now` is `status`. The filter runs in DynamoDB
    /// ([`Page::collect_filtered`] reads on until `limit` match).
    pub async fn list_transfer_pins(
        &self,
        tenant_id: &TenantId,
        status: Option<TransferPinStatus>,
        now: i64,
        limit: i32,
        start: Option<PageKey>,
    ) -> Result<Page<TransferPin>, StoreError> {
        let filter = status.map(|status| match status {
            TransferPinStatus::Active => "#status = :active AND #validUntil > :now",
            TransferPinStatus::Expired => "#status = :active AND #validUntil <= :now",
            TransferPinStatus::Used => "#status = :used",
            TransferPinStatus::Revoked => "#status = :revoked",
        });
        Page::collect_filtered(limit, start, TransferPin::from_item, |limit, start| {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(format!("TENANT#{tenant_id}")))
                .expression_attribute_values(":prefix", s(SK_PREFIX))
                .scan_index_forward(false)
                .limit(limit)
                .set_exclusive_start_key(start);
            let (Some(filter), Some(status)) = (filter, status) else {
                return q;
            };
            let q = q
                .filter_expression(filter)
                .expression_attribute_names("#status", "status");
            match status {
                TransferPinStatus::Active | TransferPinStatus::Expired => q
                    .expression_attribute_names("#validUntil", "validUntil")
                    .expression_attribute_values(":active", s("active"))
                    .expression_attribute_values(":now", n(now)),
                other => {
                    q.expression_attribute_values(format!(":{}", other.as_str()), s(other.as_str()))
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_debug_hides_the_hash() {
        let e = TransferPinEntry {
            id: TransferPinId::parse("tp_01JF0000000000000000000000").unwrap(),
            stored: StoredPin {
                hash: "$argon2id$v=19$secret-part".into(),
                pepper_version: "v1".into(),
            },
            numbers: vec![PhoneNumber::from_stored("+12065550100").unwrap()],
            expires_at: 100,
        };
        let item = HashMap::from([(MAP.to_owned(), map_value(std::iter::once(&e)))]);
        assert_eq!(entries(&item).unwrap(), vec![e.clone()]);
        assert!(!format!("{e:?}").contains("argon2"));
        assert!(entries(&HashMap::new()).unwrap().is_empty());
    }
}
