//! Port-out protection (contract §11): the tenant's lock and
//! `transferPinRequired` on the tenant record, each number's lock on its
//! number item, and the one read a port-out makes of both.
//!
//! The decisions (what is in force at a time, what a PATCH changes) come
//! from `portguard_rules::protection`; this module reads and writes them.
//! Every write is conditioned on the state it was decided on, so a PATCH
//! and a port-out racing for the same tenant or number serialise: the loser
//! re-reads and decides again.

use crate::attr::{n, s, Item, Reader, Update};
use crate::numbers::number_key;
use crate::numbers::NumberRecord;
use crate::tenants::{pointer_key, record_key, Tenant, TenantRef, Written, VERSION_AS_READ};
use crate::{tx, AuditEvent, Page, PageKey, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
pub use portguard_rules::Setting;
use portguard_validation::{PhoneNumber, TenantId};
use std::collections::HashMap;

/// The tenant-wide settings, as stored on the tenant record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protection {
    /// The tenant's port-out lock (`lockOn`, `lockOffAt`).
    pub lock: Setting,
    /// Only a transfer PIN opens a port-out (`tprOn`, `tprOffAt`).
    pub transfer_pin_required: Setting,
    /// The last change of either (`protectionUpdatedAt`).
    pub updated_at: Option<i64>,
}

impl Protection {
    pub(crate) fn from_reader(r: &Reader<'_>) -> Result<Protection, StoreError> {
        Ok(Protection {
            lock: setting(r, "lockOn", "lockOffAt")?,
            transfer_pin_required: setting(r, "tprOn", "tprOffAt")?,
            updated_at: r.opt_n("protectionUpdatedAt")?,
        })
    }
}

pub(crate) fn setting(r: &Reader<'_>, on: &str, off_at: &str) -> Result<Setting, StoreError> {
    Ok(Setting {
        on: r.bool(on),
        off_at: r.opt_n(off_at)?,
    })
}

fn set_setting(update: Update, on: &str, off_at: &str, value: Setting) -> Update {
    update
        .set(on, AttributeValue::Bool(value.on))
        .set_opt(off_at, value.off_at.map(n))
}

/// What a port-out decides on, from one read: the tenant record and the
/// item of every requested number that exists.
#[derive(Debug, Clone)]
pub struct PortOutView {
    pub tenant: Tenant,
    pub numbers: HashMap<PhoneNumber, NumberRecord>,
}

impl PortOutView {
    /// Check 8a: the requested numbers (in request order) on this tenant's
    /// account that a lock in force at `now` holds — all of them under the
    /// tenant's lock. `None` when no lock applies.
    pub fn locked(&self, requested: &[PhoneNumber], now: i64) -> Option<Vec<PhoneNumber>> {
        let tenant_locked = self.tenant.protection.lock.effective(now);
        let mut any_number_locked = false;
        let locked: Vec<PhoneNumber> = requested
            .iter()
            .filter(|e164| {
                self.numbers.get(*e164).is_some_and(|record| {
                    let own = record.tenant_id == self.tenant.tenant_id;
                    let by_number = own && record.lock.effective(now);
                    any_number_locked |= by_number;
                    own && (tenant_locked || by_number)
                })
            })
            .cloned()
            .collect();
        (tenant_locked || any_number_locked).then_some(locked)
    }
}

/// A condition that the attribute is as read: equal, or absent.
fn as_read(
    update: Update,
    name: &str,
    value: Option<AttributeValue>,
    conds: &mut Vec<String>,
) -> Update {
    let update = update.name(name);
    match value {
        Some(v) => {
            conds.push(format!("#{name} = :wasRead_{name}"));
            update.value(&format!(":wasRead_{name}"), v)
        }
        None => {
            conds.push(format!("attribute_not_exists(#{name})"));
            update
        }
    }
}

impl Store {
    /// Items by key, strongly consistent, in one BatchGetItem (keys DynamoDB
    /// leaves unprocessed asked again). Missing items are absent.
    pub(crate) async fn batch_get_consistent(
        &self,
        keys: Vec<Item>,
    ) -> Result<Vec<Item>, StoreError> {
        crate::notify_batch::until_processed(keys, |keys| self.batch_get_once(keys)).await
    }

    /// The one read of a port-out (contract §4.1 checks 6 to 8a): the tenant
    /// record of `account` and the items of `numbers`, strongly
    /// consistent. Its cost is 1 + n small items whatever the size of the
    /// tenant's inventory. `None` when no tenant has the account number.
    pub async fn port_out_view(
        &self,
        account: &str,
        numbers: &[PhoneNumber],
    ) -> Result<Option<PortOutView>, StoreError> {
        let mut keys = vec![record_key(account)];
        keys.extend(numbers.iter().map(number_key));
        let items = self.batch_get_consistent(keys).await?;
        let mut tenant = None;
        let mut records = HashMap::new();
        for item in &items {
            match item
                .get("SK")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("ACCOUNT") => tenant = Some(Tenant::from_item(item)?),
                Some("NUMBER") => {
                    let record = NumberRecord::from_item(item)?;
                    records.insert(record.number.clone(), record);
                }
                _ => {
                    return Err(StoreError::Corrupt(
                        "unexpected item in a port-out read".into(),
                    ))
                }
            }
        }
        Ok(tenant.map(|tenant| PortOutView {
            tenant,
            numbers: records,
        }))
    }

    /// The tenant pointer and one number's item, in one consistent read:
    /// all a tenant admin's number route decides on.
    pub async fn admin_number(
        &self,
        tenant_id: &TenantId,
        e164: &PhoneNumber,
    ) -> Result<(Option<TenantRef>, Option<NumberRecord>), StoreError> {
        let items = self
            .batch_get_consistent(vec![pointer_key(tenant_id), number_key(e164)])
            .await?;
        let (mut pointer, mut number) = (None, None);
        for item in &items {
            match item
                .get("SK")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("TENANT") => pointer = Some(TenantRef::from_item(item)?),
                Some("NUMBER") => number = Some(NumberRecord::from_item(item)?),
                _ => {
                    return Err(StoreError::Corrupt(
                        "unexpected item in a number read".into(),
                    ))
                }
            }
        }
        Ok((pointer, number))
    }

    /// Writes the tenant's settings decided on `tenant` as read, with the
    /// audit events, in one transaction that bumps `stateVersion` (a
    /// port-out decided on the old settings fails its tenant guard and
    /// decides again) and holds `lastOrderAt` as read (an order accepted
    /// meanwhile makes this change decide again).
    pub async fn write_protection(
        &self,
        tenant: &Tenant,
        next: &Protection,
        audits: &[AuditEvent],
    ) -> Result<Written<()>, StoreError> {
        let update = set_setting(Update::default(), "lockOn", "lockOffAt", next.lock);
        let update = set_setting(update, "tprOn", "tprOffAt", next.transfer_pin_required)
            .set_opt("protectionUpdatedAt", next.updated_at.map(n))
            .set("stateVersion", n(tenant.state_version + 1))
            .name("tenantId")
            .value(":t", s(&tenant.tenant_id))
            .value(":read", n(tenant.state_version))
            .value(":zero", n(0));
        // An order accepted since the read changed `lastOrderAt`: decide
        // again, with a time after it (see `Store::tenant_guard`).
        let mut conds = vec![VERSION_AS_READ.to_owned()];
        let update = as_read(
            update,
            "lastOrderAt",
            tenant.last_order_at.map(n),
            &mut conds,
        );
        let mut items = vec![tx::update(
            &self.table,
            record_key(&tenant.account_number),
            update,
            &conds.join(" AND "),
        )];
        items.extend(audits.iter().map(|a| tx::put(a.put(&self.table))));
        self.write_or_conflict(items).await
    }

    /// Writes a number's lock decided on `record` as read (lock and
    /// reservation unchanged) with its audit event, in one transaction. The
    /// condition on the reservation orders the lock after any port-out that
    /// reserved the number since the read.
    pub async fn write_number_lock(
        &self,
        record: &NumberRecord,
        next: Setting,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<Written<()>, StoreError> {
        let mut conds = vec!["#tenantId = :t".to_owned()];
        // Stored `false` and absent both read as off.
        conds.push(if record.lock.on {
            "#lockOn = :lockWasOn".into()
        } else {
            "(attribute_not_exists(#lockOn) OR #lockOn = :lockWasOn)".into()
        });
        let update = set_setting(Update::default(), "lockOn", "lockOffAt", next)
            .set("lockUpdatedAt", n(now))
            .name("tenantId")
            .value(":t", s(&record.tenant_id))
            .value(":lockWasOn", AttributeValue::Bool(record.lock.on));
        let update = as_read(update, "lockOffAt", record.lock.off_at.map(n), &mut conds);
        let update = as_read(
            update,
            "openPortOutId",
            record.open_port_out_id.as_ref().map(s),
            &mut conds,
        );
        let items = vec![
            tx::update(
                &self.table,
                number_key(&record.number),
                update,
                &conds.join(" AND "),
            ),
            tx::put(audit.put(&self.table)),
        ];
        self.write_or_conflict(items).await
    }

    /// One page of a tenant's numbers in E.164 order: a Query of GSI2
    /// (`TENANT#{id}`, `begins_with(GSI2SK, "NUMBER#")`), never a Scan.
    pub async fn numbers_page(
        &self,
        tenant_id: &TenantId,
        limit: i32,
        start: Option<PageKey>,
    ) -> Result<Page<NumberRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(crate::schema::GSI2)
            .key_condition_expression("GSI2PK = :pk AND begins_with(GSI2SK, :prefix)")
            .expression_attribute_values(":pk", s(format!("TENANT#{tenant_id}")))
            .expression_attribute_values(":prefix", s("NUMBER#"))
            .limit(limit)
            .set_exclusive_start_key(start.map(PageKey::into_item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Page::from_query(&out, NumberRecord::from_item)
    }
}
