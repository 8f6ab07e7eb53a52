//! One alert contact, its item and keys (contract §17).

use super::{CODE_TTL_SECONDS, INDEX_SK};
use crate::attr::{key, n, s, Item, Reader};
use crate::{AuditType, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use portguard_validation::{ContactId, TenantId};

pub(crate) const SK_PREFIX: &str = "ALERTCONTACT#";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactStatus {
    Unconfirmed,
    Confirmed,
}

impl ContactStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactStatus::Unconfirmed => "unconfirmed",
            ContactStatus::Confirmed => "confirmed",
        }
    }
}

/// The pending confirmation code: its hash only (HMAC with a key derived
/// from the pepper; the caller computes it).
#[derive(Clone, PartialEq, Eq)]
pub struct PendingCode {
    pub hash: String,
    pub tries: i64,
    pub until: i64,
}

impl std::fmt::Debug for PendingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCode")
            .field("tries", &self.tries)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertContact {
    pub id: ContactId,
    pub tenant_id: TenantId,
    pub email: String,
    pub status: ContactStatus,
    pub types: Vec<AuditType>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_delivery_at: Option<i64>,
    pub last_failure: Option<String>,
    /// Present while unconfirmed.
    pub code: Option<PendingCode>,
}

impl AlertContact {
    /// A new unconfirmed contact waiting for the code whose hash is `code_hash`.
    pub fn new(
        tenant_id: &TenantId,
        email: &str,
        types: Vec<AuditType>,
        code_hash: String,
        now: i64,
    ) -> AlertContact {
        AlertContact {
            id: ContactId::generate(),
            tenant_id: tenant_id.clone(),
            email: email.to_owned(),
            status: ContactStatus::Unconfirmed,
            types,
            created_at: now,
            confirmed_at: None,
            last_delivery_at: None,
            last_failure: None,
            code: Some(PendingCode {
                hash: code_hash,
                tries: 0,
                until: now + CODE_TTL_SECONDS,
            }),
        }
    }

    /// Whether an audit item of `kind` is emailed to this contact.
    pub fn hears(&self, kind: AuditType) -> bool {
        self.status == ContactStatus::Confirmed && self.types.contains(&kind)
    }

    /// The address as compared for "the same address twice".
    pub fn email_key(&self) -> String {
        self.email.to_ascii_lowercase()
    }

    pub(crate) fn key(&self) -> Item {
        contact_key(&self.tenant_id, &self.id)
    }

    pub(crate) fn item(&self) -> Item {
        let mut item = self.key();
        let mut put = |k: &str, v: AttributeValue| {
            item.insert(k.to_owned(), v);
        };
        put("id", s(&self.id));
        put("tenantId", s(&self.tenant_id));
        put("email", s(&self.email));
        put("status", s(self.status.as_str()));
        put("types", types_value(&self.types));
        put("createdAt", n(self.created_at));
        if let Some(code) = &self.code {
            put("codeHash", s(&code.hash));
            put("codeTries", n(code.tries));
            put("codeUntil", n(code.until));
        }
        item
    }

    pub(crate) fn from_item(item: &Item) -> Result<AlertContact, StoreError> {
        let r = Reader::new(item, "alert contact");
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("alert contact has an unknown {what}"));
        let status = match r.s("status")?.as_str() {
            "unconfirmed" => ContactStatus::Unconfirmed,
            "confirmed" => ContactStatus::Confirmed,
            _ => return Err(corrupt("status")),
        };
        let types = r
            .list_s("types")?
            .iter()
            .map(|t| AuditType::parse(t).ok_or_else(|| corrupt("type")))
            .collect::<Result<_, _>>()?;
        let code = match r.opt_s("codeHash") {
            Some(hash) => Some(PendingCode {
                hash,
                tries: r.n("codeTries")?,
                until: r.n("codeUntil")?,
            }),
            None => None,
        };
        Ok(AlertContact {
            id: r.parsed("id", ContactId::parse)?,
            tenant_id: r.tenant("tenantId")?,
            email: r.s("email")?,
            status,
            types,
            created_at: r.n("createdAt")?,
            confirmed_at: r.opt_n("confirmedAt")?,
            last_delivery_at: r.opt_n("lastDeliveryAt")?,
            last_failure: r.opt_s("lastFailure"),
            code,
        })
    }
}

pub(crate) fn types_value(types: &[AuditType]) -> AttributeValue {
    AttributeValue::L(types.iter().map(|t| s(t.as_str())).collect())
}

/// A contact's item, in its tenant's partition.
pub(crate) fn contact_key(tenant_id: &TenantId, id: &ContactId) -> Item {
    key(
        format!("TENANT#{tenant_id}"),
        &format!("{SK_PREFIX}{}", id.ulid()),
    )
}

pub(crate) fn index_key(tenant_id: &TenantId) -> Item {
    key(format!("TENANT#{tenant_id}"), INDEX_SK)
}
