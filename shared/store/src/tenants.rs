//! Tenants: profile, PIN hash and lock state on one item, so that every
//! change to the PIN or the lock is one conditional write on `stateVersion`
//! (optimistic concurrency: a lost race is retried, never lost).

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::{AuditEvent, Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use portguard_rules::LockState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub tenant_id: String,
    pub account_number: String,
    pub country: String,
    pub name: Option<String>,
    pub created_at: String,
    /// Argon2id PHC string and the pepper version that keyed it.
    pub pin: Option<(String, String)>,
    pub pin_updated_at: Option<String>,
    pub lock: LockState,
    pub state_version: i64,
}

/// The outcome of a write conditioned on the tenant being as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written<T> {
    Done(T),
    /// Someone changed the tenant since it was read: read again and redecide.
    Conflict,
}

pub(crate) fn tenant_key(tenant_id: &str) -> Item {
    key(format!("TENANT#{tenant_id}"), "TENANT")
}

fn account_key(account: &str) -> Item {
    key(format!("ACCOUNT#{account}"), "ACCOUNT")
}

impl Tenant {
    fn from_item(item: &Item) -> Result<Tenant, StoreError> {
        let r = Reader::new(item, "tenant");
        let pin = match (r.opt_s("pinHash"), r.opt_s("pinPepperVersion")) {
            (Some(h), Some(v)) => Some((h, v)),
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
            lock: LockState {
                failed_attempts: r.opt_n("failedAttempts")?.unwrap_or(0) as u32,
                locked_until: r.opt_n("lockedUntil")?,
                hard_locked: r.bool("hardLocked"),
                recent_locks: r.list_n("recentLocks")?,
            },
            state_version: r.opt_n("stateVersion")?.unwrap_or(0),
        })
    }

    /// An update that writes `lock` if the tenant is still at the version read.
    fn lock_update(&self, lock: &LockState) -> Update {
        Update::default()
            .set("failedAttempts", n(lock.failed_attempts as i64))
            .set_opt("lockedUntil", lock.locked_until.map(n))
            .set("hardLocked", AttributeValue::Bool(lock.hard_locked))
            .set(
                "recentLocks",
                AttributeValue::L(lock.recent_locks.iter().map(|&t| n(t)).collect()),
            )
            .set_expr("#stateVersion = :next")
            .name("stateVersion")
            .value(":read", n(self.state_version))
            .value(":next", n(self.state_version + 1))
    }

    pub fn is_us(&self) -> bool {
        self.country == "US"
    }
}

const VERSION_UNCHANGED: &str = "attribute_exists(PK) AND (#stateVersion = :read OR (attribute_not_exists(#stateVersion) AND :read = :zero))";

fn versioned(update: Update) -> Update {
    update.value(":zero", n(0))
}

impl Store {
    pub async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError> {
        self.get_consistent(tenant_key(tenant_id))
            .await?
            .as_ref()
            .map(Tenant::from_item)
            .transpose()
    }

    /// The tenant that owns an account number, read strongly consistent: the
    /// lock state it carries must be exact.
    pub async fn tenant_by_account(&self, account: &str) -> Result<Option<Tenant>, StoreError> {
        let pointer = self.get_consistent(account_key(account)).await?;
        let Some(tenant_id) = pointer
            .as_ref()
            .and_then(|i| Reader::new(i, "account").opt_s("tenantId"))
        else {
            return Ok(None);
        };
        let tenant = self.get_tenant(&tenant_id).await?;
        Ok(tenant.filter(|t| t.account_number == account))
    }

    /// Creates or updates a tenant's profile (never its PIN or lock state)
    /// and claims its account number. Returns `Err(AccountTaken)` when another
    /// tenant holds the account number.
    pub async fn put_tenant(
        &self,
        tenant_id: &str,
        account: &str,
        country: &str,
        name: Option<&str>,
        now: &str,
    ) -> Result<Result<(), AccountTaken>, StoreError> {
        let previous = self.get_tenant(tenant_id).await?;
        let profile = Update::default()
            .set("tenantId", s(tenant_id))
            .set("accountNumber", s(account))
            .set("country", s(country))
            .set_opt("name", name.map(s))
            .set_expr("#createdAt = if_not_exists(#createdAt, :now)")
            .name("createdAt")
            .value(":now", s(now));
        let mut items = vec![TransactWriteItem::builder()
            .update(
                aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(tenant_key(tenant_id)))
                    .update_expression(profile.expression())
                    .set_expression_attribute_names(Some(profile.names))
                    .set_expression_attribute_values(Some(profile.values))
                    .build()
                    .expect("complete update"),
            )
            .build()];
        items.push(
            TransactWriteItem::builder()
                .put(
                    aws_sdk_dynamodb::types::Put::builder()
                        .table_name(&self.table)
                        .set_item(Some({
                            let mut item = account_key(account);
                            item.insert("tenantId".into(), s(tenant_id));
                            item
                        }))
                        .condition_expression("attribute_not_exists(PK) OR tenantId = :t")
                        .expression_attribute_values(":t", s(tenant_id))
                        .build()
                        .expect("complete put"),
                )
                .build(),
        );
        if let Some(old) = previous.filter(|p| p.account_number != account) {
            items.push(
                TransactWriteItem::builder()
                    .delete(
                        aws_sdk_dynamodb::types::Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(account_key(&old.account_number)))
                            .condition_expression("attribute_not_exists(PK) OR tenantId = :t")
                            .expression_attribute_values(":t", s(tenant_id))
                            .build()
                            .expect("complete delete"),
                    )
                    .build(),
            );
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(e) => {
                let taken = crate::orders::reasons(&e)
                    .get(1)
                    .and_then(|r| r.code())
                    .is_some_and(|c| c == "ConditionalCheckFailed");
                if taken {
                    Ok(Err(AccountTaken))
                } else {
                    Err(StoreError::from_sdk(e))
                }
            }
        }
    }

    /// Stores a new PIN hash, clears failures and any lock, and records the
    /// audit event: one transaction, conditioned on the tenant as read.
    pub async fn set_pin(
        &self,
        tenant: &Tenant,
        hash: &str,
        pepper_version: &str,
        now: &str,
        audit: &AuditEvent,
    ) -> Result<Written<Tenant>, StoreError> {
        let cleared = LockState::default();
        let update = versioned(
            tenant
                .lock_update(&cleared)
                .set("pinHash", s(hash))
                .set("pinPepperVersion", s(pepper_version))
                .set("pinUpdatedAt", s(now)),
        );
        let items = vec![
            self.guarded_update(tenant, update),
            TransactWriteItem::builder()
                .put(audit.put(&self.table))
                .build(),
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Written::Done(Tenant {
                pin: Some((hash.to_owned(), pepper_version.to_owned())),
                pin_updated_at: Some(now.to_owned()),
                lock: cleared,
                state_version: tenant.state_version + 1,
                ..tenant.clone()
            })),
            Err(e) if crate::orders::is_cancelled(&e) => Ok(Written::Conflict),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// Writes a new lock state if the tenant is unchanged since it was read.
    pub async fn write_lock_state(
        &self,
        tenant: &Tenant,
        lock: &LockState,
    ) -> Result<Written<()>, StoreError> {
        let update = versioned(tenant.lock_update(lock));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(tenant_key(&tenant.tenant_id)))
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

    /// A transaction step applying `update` to the tenant if it is unchanged
    /// since it was read.
    fn guarded_update(&self, tenant: &Tenant, update: Update) -> TransactWriteItem {
        TransactWriteItem::builder()
            .update(
                aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(tenant_key(&tenant.tenant_id)))
                    .update_expression(update.expression())
                    .condition_expression(VERSION_UNCHANGED)
                    .set_expression_attribute_names(Some(update.names))
                    .set_expression_attribute_values(Some(update.values))
                    .build()
                    .expect("complete update"),
            )
            .build()
    }

    /// The transaction step that holds the tenant as read (PIN and lock
    /// unchanged) and, when given, writes the lock state after a right PIN.
    pub(crate) fn tenant_guard(
        &self,
        tenant: &Tenant,
        reset: Option<&LockState>,
    ) -> TransactWriteItem {
        match reset {
            Some(lock) => self.guarded_update(tenant, versioned(tenant.lock_update(lock))),
            None => TransactWriteItem::builder()
                .condition_check(
                    aws_sdk_dynamodb::types::ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(tenant_key(&tenant.tenant_id)))
                        .condition_expression(VERSION_UNCHANGED)
                        .expression_attribute_names("#stateVersion", "stateVersion")
                        .expression_attribute_values(":read", n(tenant.state_version))
                        .expression_attribute_values(":zero", n(0))
                        .build()
                        .expect("complete condition check"),
                )
                .build(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTaken;
