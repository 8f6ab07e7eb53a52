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
//! Deliveries are in `deliveries.rs`.

use crate::attr::{key, n, s, Item, Reader, Update};
use crate::{clock, tx, AuditEvent, Store, StoreError};
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

pub use crate::deliveries::{
    AttemptEnd, Delivery, DeliveryStatus, DELIVERY_KEEP_SECONDS, DUE_SHARD,
};

/// Where a delivery goes: a tenant's or a carrier's webhook endpoint, or
/// a tenant's alert contact by email (contract §17).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Tenant(String),
    Carrier(String),
    Contact {
        tenant: String,
        contact: String,
    },
    /// Telnyx's API, for a tenant's reject of a Telnyx port-out (contract
    /// §16): Telnyx's id of the port-out.
    Telnyx(String),
}

impl Target {
    pub(crate) fn part(&self) -> String {
        match self {
            Target::Tenant(id) => format!("tenant#{id}"),
            Target::Carrier(id) => format!("carrier#{id}"),
            Target::Contact { tenant, contact } => format!("contact#{tenant}#{contact}"),
            Target::Telnyx(id) => format!("telnyx#{id}"),
        }
    }

    pub(crate) fn parse(part: &str) -> Option<Target> {
        match part.split_once('#')? {
            ("tenant", id) => Some(Target::Tenant(id.to_owned())),
            ("carrier", id) => Some(Target::Carrier(id.to_owned())),
            ("telnyx", id) => Some(Target::Telnyx(id.to_owned())),
            ("contact", rest) => {
                let (tenant, contact) = rest.rsplit_once('#')?;
                Some(Target::Contact {
                    tenant: tenant.to_owned(),
                    contact: contact.to_owned(),
                })
            }
            _ => None,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Target::Tenant(id) | Target::Carrier(id) | Target::Telnyx(id) => id,
            Target::Contact { contact, .. } => contact,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.part())
    }
}

fn endpoint_key(target: &Target) -> Item {
    key(format!("ENDPOINT#{}", target.part()), "ENDPOINT")
}

/// A registered endpoint. `secret` is the `whsec_…` signing secret; it is
/// shown once (on creation and rotation) and never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub target: Target,
    pub url: String,
    pub secret: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_delivery_at: Option<String>,
    pub last_failure_at: Option<String>,
    pub last_failure: Option<String>,
    pub version: i64,
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
    fn from_item(item: &Item) -> Result<Endpoint, StoreError> {
        let r = Reader::new(item, "endpoint");
        let target = Target::parse(&format!("{}#{}", r.s("ownerKind")?, r.s("ownerId")?))
            .ok_or_else(|| StoreError::Corrupt("endpoint has an unknown owner".into()))?;
        Ok(Endpoint {
            target,
            url: r.s("url")?,
            secret: r.s("secret")?,
            created_at: r.s("createdAt")?,
            updated_at: r.s("updatedAt")?,
            last_delivery_at: r.opt_s("lastDeliveryAt"),
            last_failure_at: r.opt_s("lastFailureAt"),
            last_failure: r.opt_s("lastFailure"),
            version: r.n("version")?,
        })
    }
}

/// What a PUT of an endpoint writes. `secret: None` keeps the stored one.
pub struct EndpointChange<'a> {
    pub url: &'a str,
    pub secret: Option<&'a str>,
    pub now: &'a str,
}

/// The outcome of a conditional write decided on a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided<T> {
    Done(T),
    /// The item changed since it was read: read again and decide again.
    Conflict,
}

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
    ) -> Result<Decided<()>, StoreError> {
        let (kind, id) = target
            .part()
            .split_once('#')
            .map(|(k, i)| (k.to_owned(), i.to_owned()))
            .expect("kind#id");
        let mut update = Update::default()
            .set("url", s(change.url))
            .set("updatedAt", s(change.now))
            .set("ownerKind", s(kind))
            .set("ownerId", s(id))
            .set("version", n(read.map_or(0, |r| r.version + 1)))
            .set_expr("#createdAt = if_not_exists(#createdAt, :updatedAt)")
            .name("createdAt");
        if let Some(secret) = change.secret {
            update = update.set("secret", s(secret));
        }
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
        self.endpoint_transaction(TransactWriteItem::builder().update(step).build(), audit)
            .await
    }

    /// Deletes an endpoint if it is still as read.
    pub async fn delete_endpoint(
        &self,
        read: &Endpoint,
        audit: Option<&AuditEvent>,
    ) -> Result<Decided<()>, StoreError> {
        let step = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(&read.target)))
            .condition_expression("#version = :read")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":read", n(read.version))
            .build()
            .expect("complete delete");
        self.endpoint_transaction(TransactWriteItem::builder().delete(step).build(), audit)
            .await
    }

    async fn endpoint_transaction(
        &self,
        step: TransactWriteItem,
        audit: Option<&AuditEvent>,
    ) -> Result<Decided<()>, StoreError> {
        let mut items = vec![step];
        items.extend(audit.map(|audit| tx::put(audit.put(&self.table))));
        Ok(match self.transact(items).await? {
            Ok(()) => Decided::Done(()),
            Err(_) => Decided::Conflict,
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
        let at = s(clock::format(at));
        let update = match failure {
            None => Update::default().set("lastDeliveryAt", at),
            Some(reason) => Update::default()
                .set("lastFailureAt", at)
                .set("lastFailure", s(reason)),
        };
        // Not applied: the endpoint was deleted meanwhile, and stays so.
        self.update_if(endpoint_key(target), update, "attribute_exists(PK)")
            .await?;
        Ok(())
    }
}
