//! Notification endpoints and pending webhook deliveries (contract §14).
//!
//! An endpoint lives at `ENDPOINT#{tenant|carrier}#{id}`. A delivery — one
//! audit event to one endpoint — lives at `DELIVERY#{auditId}#{target}`: its
//! conditional creation makes delivery idempotent per (audit id, target)
//! when the stream hands a record over twice. While it is pending it sits in
//! the sparse `DueDeliveries` index under `DUE` / `{dueAt}#{key}`, so the
//! scheduled run reads only what is due; delivered or abandoned, it leaves
//! the index and expires by TTL.
//!
//! A tenant's endpoint that is changed or deleted leaves, beside it, the
//! endpoint *as it was before* at `PREVIOUS#{auditId}` (written in the same
//! transaction as the change and its audit item), so the notifier can tell
//! that endpoint of the change: the audit item itself never holds a secret.
//! A rotated secret stays on the endpoint as `oldSecret` for
//! [`OLD_SECRET_SECONDS`] and signs beside the new one.
//!
//! Deliveries are in `deliveries.rs`.

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::clock::Timestamp;
use crate::{clock, tx, AuditEvent, Store, StoreError};
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use portguard_validation::{AuditId, CarrierId, ContactId, TenantId};

pub use crate::deliveries::{
    AttemptEnd, Delivery, DeliveryStatus, DELIVERY_KEEP_SECONDS, DUE_SHARD,
};

/// Where a delivery goes: a tenant's or a carrier's webhook endpoint, or
/// a tenant's alert contact by email (contract §17).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Tenant(TenantId),
    Carrier(CarrierId),
    Contact {
        tenant: TenantId,
        contact: ContactId,
    },
    /// Telnyx's API, for a tenant's reject of a Telnyx port-out (contract
    /// §16): Telnyx's id of the port-out.
    Telnyx(String),
    /// A tenant's endpoint as it was before the change the delivery's audit
    /// item records (contract §14): read at `PREVIOUS#{auditId}` of this
    /// tenant.
    Previous(TenantId),
}

impl Target {
    pub(crate) fn part(&self) -> String {
        match self {
            Target::Tenant(id) => format!("tenant#{id}"),
            Target::Carrier(id) => format!("carrier#{id}"),
            Target::Contact { tenant, contact } => format!("contact#{tenant}#{contact}"),
            Target::Telnyx(id) => format!("telnyx#{id}"),
            Target::Previous(id) => format!("previous#{id}"),
        }
    }

    pub(crate) fn parse(part: &str) -> Option<Target> {
        match part.split_once('#')? {
            ("tenant", id) => Some(Target::Tenant(TenantId::parse(id).ok()?)),
            ("carrier", id) => Some(Target::Carrier(CarrierId::parse(id).ok()?)),
            ("telnyx", id) => Some(Target::Telnyx(id.to_owned())),
            ("previous", id) => Some(Target::Previous(TenantId::parse(id).ok()?)),
            ("contact", rest) => {
                let (tenant, contact) = rest.rsplit_once('#')?;
                Some(Target::Contact {
                    tenant: TenantId::parse(tenant).ok()?,
                    contact: ContactId::parse(contact)?,
                })
            }
            _ => None,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Target::Tenant(id) | Target::Previous(id) => id.as_str(),
            Target::Carrier(id) => id.as_str(),
            Target::Telnyx(id) => id,
            Target::Contact { contact, .. } => contact.as_str(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.part())
    }
}

pub(crate) fn endpoint_key(target: &Target) -> Item {
    key(format!("ENDPOINT#{}", target.part()), "ENDPOINT")
}

/// A rotated secret signs beside the new one this long (contract §14).
pub const OLD_SECRET_SECONDS: i64 = 24 * 3600;

/// The endpoint as it was before a change is kept this long: past the last
/// retry of the delivery that tells it of the change (about 41 hours).
pub const PREVIOUS_KEEP_SECONDS: i64 = 48 * 3600;

pub(crate) fn previous_key(tenant: &TenantId, audit_id: &AuditId) -> Item {
    key(
        format!("ENDPOINT#{}", Target::Tenant(tenant.clone()).part()),
        &format!("PREVIOUS#{audit_id}"),
    )
}

/// A tenant's endpoint as it was before a change (contract §14): its URL
/// and the secrets that signed for it then. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct PreviousEndpoint {
    pub url: String,
    pub secrets: Vec<String>,
    /// Kept until then (epoch seconds); TTL removes it later.
    pub until: i64,
}

impl std::fmt::Debug for PreviousEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviousEndpoint")
            .field("url", &self.url)
            .field("secrets", &"<redacted>")
            .field("until", &self.until)
            .finish()
    }
}

impl PreviousEndpoint {
    pub(crate) fn from_item(item: &Item) -> Result<PreviousEndpoint, StoreError> {
        let r = Reader::new(item, "previous endpoint");
        Ok(PreviousEndpoint {
            url: r.s("url")?,
            secrets: r.list_s("secrets")?,
            until: r.n("until")?,
        })
    }
}

/// A registered endpoint. `secret` is the `whsec_…` signing secret; it is
/// shown once (on creation and rotation) and never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub target: Target,
    pub url: String,
    pub secret: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_delivery_at: Option<Timestamp>,
    pub last_failure_at: Option<Timestamp>,
    pub last_failure: Option<String>,
    pub version: i64,
    /// The secret a rotation replaced, and until when it still signs.
    pub old_secret: Option<(String, i64)>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("target", &self.target)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    pub(crate) fn from_item(item: &Item) -> Result<Endpoint, StoreError> {
        let r = Reader::new(item, "endpoint");
        let target = Target::parse(&format!("{}#{}", r.s("ownerKind")?, r.s("ownerId")?))
            .ok_or_else(|| StoreError::Corrupt("endpoint has an unknown owner".into()))?;
        Ok(Endpoint {
            target,
            url: r.s("url")?,
            secret: r.s("secret")?,
            created_at: r.time("createdAt")?,
            updated_at: r.time("updatedAt")?,
            last_delivery_at: r.opt_parsed("lastDeliveryAt", Timestamp::parse)?,
            last_failure_at: r.opt_parsed("lastFailureAt", Timestamp::parse)?,
            last_failure: r.opt_s("lastFailure"),
            version: r.n("version")?,
            old_secret: match (r.opt_s("oldSecret"), r.opt_n("oldSecretUntil")?) {
                (Some(secret), Some(until)) => Some((secret, until)),
                _ => None,
            },
        })
    }

    /// The secrets that sign a delivery at `now`: the current one, and the
    /// one a rotation replaced while it is within its 24 hours.
    pub fn signing_secrets(&self, now: i64) -> Vec<String> {
        let mut out = vec![self.secret.clone()];
        if let Some((old, until)) = &self.old_secret {
            if now < *until && *old != self.secret {
                out.push(old.clone());
            }
        }
        out
    }

    /// Failed within the last `window` seconds before `now`, with no
    /// delivery since.
    pub fn failed_within(&self, now: i64, window: i64) -> bool {
        let Some(failed) = self.last_failure_at.map(Timestamp::unix) else {
            return false;
        };
        let delivered = self.last_delivery_at.map(Timestamp::unix);
        now - failed < window && delivered.is_none_or(|d| d <= failed)
    }

    /// The endpoint as it is now, to be kept as the one before a change.
    fn as_previous(&self, now: i64) -> PreviousEndpoint {
        PreviousEndpoint {
            url: self.url.clone(),
            secrets: self.signing_secrets(now),
            until: now + PREVIOUS_KEEP_SECONDS,
        }
    }
}

/// What a PUT of an endpoint writes. `secret: None` keeps the stored one.
pub struct EndpointChange<'a> {
    pub url: &'a str,
    pub secret: Option<&'a str>,
    pub now: Timestamp,
}

use crate::tx::Written;

impl Store {
    pub async fn get_endpoint(&self, target: &Target) -> Result<Option<Endpoint>, StoreError> {
        self.get_as(endpoint_key(target), Endpoint::from_item).await
    }

    /// Creates or changes an endpoint if it is still as read (`read`:
    /// `None` when there was none), with its audit event in the same
    /// transaction when there is one (tenants' endpoints).
    pub async fn write_endpoint(
        &self,
        target: &Target,
        read: Option<&Endpoint>,
        change: EndpointChange<'_>,
        audit: Option<&AuditEvent>,
    ) -> Result<Written<()>, StoreError> {
        let (kind, id) = target
            .part()
            .split_once('#')
            .map(|(k, i)| (k.to_owned(), i.to_owned()))
            .expect("kind#id");
        let mut update = Update::default()
            .set("url", s(change.url))
            .set("updatedAt", s(change.now.to_string()))
            .set("ownerKind", s(kind))
            .set("ownerId", s(id))
            .set("version", n(read.map_or(0, |r| r.version + 1)))
            .set_expr("#createdAt = if_not_exists(#createdAt, :updatedAt)")
            .name("createdAt");
        let now = change.now.unix();
        if let Some(secret) = change.secret {
            update = update.set("secret", s(secret));
            // The replaced secret signs beside the new one for 24 hours.
            if let Some(r) = read.filter(|r| r.secret != secret) {
                update = update
                    .set("oldSecret", s(&r.secret))
                    .set("oldSecretUntil", n(now + OLD_SECRET_SECONDS));
            }
        }
        // The endpoint as it was, for the notice of this change (tenants'
        // endpoints: those whose changes are audited).
        let changed = read.filter(|r| r.url != change.url || change.secret.is_some());
        let previous = match (changed, audit) {
            (Some(r), Some(audit)) => Some(self.previous_put(r, audit, now)),
            _ => None,
        };
        let condition = match read {
            None => "attribute_not_exists(PK)".to_owned(),
            Some(r) => {
                update = update.value(":read", n(r.version));
                "#version = :read".to_owned()
            }
        };
        let step = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(target)))
            .update_expression(update.expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .build()
            .expect("complete update");
        let mut steps = vec![TransactWriteItem::builder().update(step).build()];
        steps.extend(previous);
        self.endpoint_transaction(steps, audit).await
    }

    /// The endpoint as it was before the change `audit` records.
    fn previous_put(&self, read: &Endpoint, audit: &AuditEvent, now: i64) -> TransactWriteItem {
        let previous = read.as_previous(now);
        let mut item = previous_key(&audit.tenant_id, &audit.id);
        item.insert("url".into(), s(&previous.url));
        item.insert(
            "secrets".into(),
            aws_sdk_dynamodb::types::AttributeValue::L(previous.secrets.iter().map(s).collect()),
        );
        item.insert("until".into(), n(previous.until));
        item.insert("expiresAt".into(), n(previous.until));
        item.insert("auditId".into(), s(&audit.id));
        tx::put(
            aws_sdk_dynamodb::types::Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .expect("table and item set"),
        )
    }

    /// A tenant's endpoint as it was before the change of audit item
    /// `audit_id`, while it is kept.
    pub async fn get_previous_endpoint(
        &self,
        tenant: &TenantId,
        audit_id: &AuditId,
        now: i64,
    ) -> Result<Option<PreviousEndpoint>, StoreError> {
        Ok(self
            .get_as(previous_key(tenant, audit_id), PreviousEndpoint::from_item)
            .await?
            .filter(|p| now < p.until))
    }

    /// Deletes an endpoint if it is still as read.
    pub async fn delete_endpoint(
        &self,
        read: &Endpoint,
        audit: Option<&AuditEvent>,
    ) -> Result<Written<()>, StoreError> {
        let step = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(&read.target)))
            .condition_expression("#version = :read")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":read", n(read.version))
            .build()
            .expect("complete delete");
        let mut steps = vec![TransactWriteItem::builder().delete(step).build()];
        steps.extend(audit.map(|audit| self.previous_put(read, audit, audit.time)));
        self.endpoint_transaction(steps, audit).await
    }

    async fn endpoint_transaction(
        &self,
        steps: Vec<TransactWriteItem>,
        audit: Option<&AuditEvent>,
    ) -> Result<Written<()>, StoreError> {
        let mut items = steps;
        items.extend(audit.map(|audit| tx::put(audit.put(&self.table))));
        Ok(match self.transact(items).await? {
            Ok(()) => Written::Done(()),
            Err(_) => Written::Conflict,
        })
    }

    /// Notes the outcome of an attempt on the endpoint (`failure`: `None`
    /// for a delivery). An endpoint deleted meanwhile stays deleted.
    pub async fn note_endpoint_result(
        &self,
        target: &Target,
        at: i64,
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        let update = note_update(at, failure.is_none(), failure);
        // Not applied: the endpoint was deleted meanwhile, and stays so.
        self.update_if(endpoint_key(target), update, "attribute_exists(PK)")
            .await?;
        Ok(())
    }
}

/// What an endpoint shows of attempts ended at `at`: `delivered` sets
/// `lastDeliveryAt`, a `failure` `lastFailureAt` and `lastFailure` (both
/// when a batch had both, as two concurrent notes would leave it).
pub(crate) fn note_update(at: i64, delivered: bool, failure: Option<&str>) -> Update {
    let at = s(clock::format(at));
    let mut update = Update::default();
    if delivered {
        update = update.set("lastDeliveryAt", at.clone());
    }
    if let Some(reason) = failure {
        update = update
            .set("lastFailureAt", at)
            .set("lastFailure", s(reason));
    }
    update
}
