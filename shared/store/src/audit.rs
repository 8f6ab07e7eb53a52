//! The per-tenant audit trail (contract §7). Items live in the tenant's
//! partition under `AUDIT#{ulid}`, so a Query reads them newest first. They
//! never hold a PIN: there is no field that could.

use crate::attr::{key, n, s, Item, Reader};
use crate::{clock, Page, PageKey, Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, Put};
use portguard_validation::{AuditId, OrderId, PhoneNumber, TenantId, TransferPinId};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuditType {
    #[serde(rename = "pin.set")]
    PinSet,
    #[serde(rename = "pin.changed")]
    PinChanged,
    #[serde(rename = "pin.locked")]
    PinLocked,
    #[serde(rename = "port_out.requested")]
    PortOutRequested,
    #[serde(rename = "port_out.rejected")]
    PortOutRejected,
    #[serde(rename = "port_out.status_changed")]
    PortOutStatusChanged,
    #[serde(rename = "protection.enabled")]
    ProtectionEnabled,
    #[serde(rename = "protection.disable_requested")]
    ProtectionDisableRequested,
    #[serde(rename = "transfer_pin.created")]
    TransferPinCreated,
    #[serde(rename = "transfer_pin.revoked")]
    TransferPinRevoked,
    #[serde(rename = "notification_endpoint.changed")]
    NotificationEndpointChanged,
    #[serde(rename = "alert_contact.added")]
    AlertContactAdded,
    #[serde(rename = "alert_contact.confirmed")]
    AlertContactConfirmed,
    #[serde(rename = "alert_contact.removed")]
    AlertContactRemoved,
}

impl AuditType {
    pub const ALL: [AuditType; 14] = [
        AuditType::PinSet,
        AuditType::PinChanged,
        AuditType::PinLocked,
        AuditType::PortOutRequested,
        AuditType::PortOutRejected,
        AuditType::PortOutStatusChanged,
        AuditType::ProtectionEnabled,
        AuditType::ProtectionDisableRequested,
        AuditType::TransferPinCreated,
        AuditType::TransferPinRevoked,
        AuditType::NotificationEndpointChanged,
        AuditType::AlertContactAdded,
        AuditType::AlertContactConfirmed,
        AuditType::AlertContactRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditType::PinSet => "pin.set",
            AuditType::PinChanged => "pin.changed",
            AuditType::PinLocked => "pin.locked",
            AuditType::PortOutRequested => "port_out.requested",
            AuditType::PortOutRejected => "port_out.rejected",
            AuditType::PortOutStatusChanged => "port_out.status_changed",
            AuditType::ProtectionEnabled => "protection.enabled",
            AuditType::ProtectionDisableRequested => "protection.disable_requested",
            AuditType::TransferPinCreated => "transfer_pin.created",
            AuditType::TransferPinRevoked => "transfer_pin.revoked",
            AuditType::NotificationEndpointChanged => "notification_endpoint.changed",
            AuditType::AlertContactAdded => "alert_contact.added",
            AuditType::AlertContactConfirmed => "alert_contact.confirmed",
            AuditType::AlertContactRemoved => "alert_contact.removed",
        }
    }

    pub fn parse(s: &str) -> Option<AuditType> {
        AuditType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    TenantAdmin,
    Carrier,
    Scheduler,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::TenantAdmin => "tenant_admin",
            ActorKind::Carrier => "carrier",
            ActorKind::Scheduler => "scheduler",
        }
    }

    pub fn parse(s: &str) -> Option<ActorKind> {
        [
            ActorKind::TenantAdmin,
            ActorKind::Carrier,
            ActorKind::Scheduler,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
}

/// One audit record, serialised exactly as `GET /v1/audit-events` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: AuditId,
    #[serde(serialize_with = "ser_time")]
    pub time: i64,
    #[serde(rename = "type")]
    pub kind: AuditType,
    pub actor: Actor,
    pub source_ip: Option<String>,
    pub port_out_id: Option<OrderId>,
    pub code: Option<String>,
    pub status: Option<String>,
    /// The numbers the event is about (contract §7).
    pub phone_numbers: Option<Vec<PhoneNumber>>,
    /// `lock` or `transferPinRequired` for protection changes.
    pub setting: Option<String>,
    /// When a lock, a turn-off or a transfer PIN ends.
    #[serde(serialize_with = "ser_opt_time")]
    pub until: Option<i64>,
    pub transfer_pin_id: Option<TransferPinId>,
    /// The address of an alert contact (contract §17).
    pub email: Option<String>,
    #[serde(skip)]
    pub tenant_id: TenantId,
}

fn ser_time<S: serde::Serializer>(ts: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&clock::format(*ts))
}

fn ser_opt_time<S: serde::Serializer>(ts: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => s.serialize_str(&clock::format(*ts)),
        None => s.serialize_none(),
    }
}

impl AuditEvent {
    /// A new event with a fresh time-ordered id.
    pub fn new(tenant_id: &TenantId, time: i64, kind: AuditType, actor: Actor) -> AuditEvent {
        AuditEvent {
            id: AuditId::generate(),
            time,
            kind,
            actor,
            source_ip: None,
            port_out_id: None,
            code: None,
            status: None,
            phone_numbers: None,
            setting: None,
            until: None,
            transfer_pin_id: None,
            email: None,
            tenant_id: tenant_id.clone(),
        }
    }

    /// `port_out.status_changed` of `order` (as read) to `to`, by `actor`:
    /// the one shape every transition is audited in (contract §7).
    pub fn status_changed(
        order: &crate::Order,
        to: portguard_rules::OrderStatus,
        actor: Actor,
        time: i64,
    ) -> AuditEvent {
        AuditEvent::new(
            &order.tenant_id,
            time,
            AuditType::PortOutStatusChanged,
            actor,
        )
        .port_out(&order.id)
        .status(to.as_str())
        .phone_numbers(&order.phone_numbers)
    }

    pub fn source_ip(mut self, ip: Option<&str>) -> Self {
        self.source_ip = ip.map(str::to_owned);
        self
    }
    pub fn port_out(mut self, id: &OrderId) -> Self {
        self.port_out_id = Some(id.clone());
        self
    }
    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }
    pub fn status(mut self, status: &str) -> Self {
        self.status = Some(status.to_owned());
        self
    }
    pub fn phone_numbers(mut self, numbers: &[PhoneNumber]) -> Self {
        self.phone_numbers = Some(numbers.to_vec());
        self
    }
    pub fn setting(mut self, setting: &str) -> Self {
        self.setting = Some(setting.to_owned());
        self
    }
    pub fn until(mut self, until: Option<i64>) -> Self {
        self.until = until;
        self
    }
    pub fn transfer_pin(mut self, id: &TransferPinId) -> Self {
        self.transfer_pin_id = Some(id.clone());
        self
    }

    pub fn email(mut self, address: &str) -> Self {
        self.email = Some(address.to_owned());
        self
    }

    fn item(&self) -> Item {
        let mut item = key(format!("TENANT#{}", self.tenant_id), &self.sort_key());
        let mut put = |k: &str, v: AttributeValue| {
            item.insert(k.to_owned(), v);
        };
        put("id", s(&self.id));
        put("tenantId", s(&self.tenant_id));
        put("time", s(clock::format(self.time)));
        put("ts", n(self.time));
        put("type", s(self.kind.as_str()));
        put("actorKind", s(self.actor.kind.as_str()));
        let optional = [
            ("actorId", self.actor.id.as_deref()),
            ("sourceIp", self.source_ip.as_deref()),
            ("portOutId", self.port_out_id.as_ref().map(OrderId::as_str)),
            ("code", self.code.as_deref()),
            ("status", self.status.as_deref()),
            ("setting", self.setting.as_deref()),
            (
                "transferPinId",
                self.transfer_pin_id.as_ref().map(TransferPinId::as_str),
            ),
            ("email", self.email.as_deref()),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                put(k, s(v));
            }
        }
        if let Some(numbers) = &self.phone_numbers {
            put(
                "phoneNumbers",
                AttributeValue::L(numbers.iter().map(s).collect()),
            );
        }
        if let Some(until) = self.until {
            put("until", n(until));
        }
        item
    }

    fn sort_key(&self) -> String {
        format!("AUDIT#{}", self.id.ulid())
    }

    fn from_item(item: &Item) -> Result<AuditEvent, StoreError> {
        let r = Reader::new(item, "audit");
        let bad = |what: &str| StoreError::Corrupt(format!("audit item has an unknown {what}"));
        Ok(AuditEvent {
            id: r.parsed("id", AuditId::parse)?,
            time: r.n("ts")?,
            kind: AuditType::parse(&r.s("type")?).ok_or_else(|| bad("type"))?,
            actor: Actor {
                kind: ActorKind::parse(&r.s("actorKind")?).ok_or_else(|| bad("actor"))?,
                id: r.opt_s("actorId"),
            },
            source_ip: r.opt_s("sourceIp"),
            port_out_id: r.opt_parsed("portOutId", OrderId::parse)?,
            code: r.opt_s("code"),
            status: r.opt_s("status"),
            phone_numbers: match item.contains_key("phoneNumbers") {
                true => Some(r.numbers("phoneNumbers")?),
                false => None,
            },
            setting: r.opt_s("setting"),
            until: r.opt_n("until")?,
            transfer_pin_id: r.opt_parsed("transferPinId", TransferPinId::parse)?,
            email: r.opt_s("email"),
            tenant_id: r.tenant("tenantId")?,
        })
    }

    /// An audit item as the table stream shows it (its new image): the
    /// notifier builds its payloads from the same parser as the API.
    pub fn from_image(
        item: &std::collections::HashMap<String, AttributeValue>,
    ) -> Result<AuditEvent, StoreError> {
        AuditEvent::from_item(item)
    }

    /// The Put for a transaction that records this event with its cause.
    /// Written only if absent: an audit item is never overwritten.
    pub(crate) fn put(&self, table: &str) -> Put {
        Put::builder()
            .table_name(table)
            .set_item(Some(self.item()))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item set")
    }
}

impl Store {
    /// Records an event on its own (rejections, locks).
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        // Only if absent: the trail is append-only.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(event.item()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// A tenant's events, newest first.
    pub async fn list_audit(
        &self,
        tenant_id: &TenantId,
        limit: i32,
        start: Option<PageKey>,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(format!("TENANT#{tenant_id}")))
            .expression_attribute_values(":prefix", s("AUDIT#"))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start.map(PageKey::into_item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Page::from_query(&out, AuditEvent::from_item)
    }
}
