//! A port-out order: its fields as the API shows them, and its item in the
//! table (keys, the sparse `OpenOrders` index while it is open).

use crate::attr::{key, n, s, Item, Reader};
use crate::clock::{Day, Timestamp};
use crate::{ActorKind, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use portguard_rules::OrderStatus;
use portguard_validation::{CarrierId, OrderId, PhoneNumber, TenantId};
use serde::Serialize;

/// The door a port-out came through (contract §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// portguard's own API, `POST /v1/port-outs`.
    Api,
    Bandwidth,
    Telnyx,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Bandwidth => "bandwidth",
            Source::Telnyx => "telnyx",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        [Source::Api, Source::Bandwidth, Source::Telnyx]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What a new order is made of: the decision's request, named.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub tenant_id: &'a TenantId,
    pub carrier_id: &'a CarrierId,
    pub account_number: &'a str,
    /// In the order requested.
    pub phone_numbers: Vec<PhoneNumber>,
    pub pon: Option<&'a str>,
    pub source: Source,
    pub external_id: Option<&'a str>,
    pub authorized_name: Option<&'a str>,
    pub requested_foc_date: Option<Day>,
    /// The order's creation.
    pub now: Timestamp,
}

/// An order, serialised exactly as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub account_number: String,
    pub carrier_id: CarrierId,
    pub phone_numbers: Vec<PhoneNumber>,
    /// The gaining carrier's purchase order number; `None` when an upstream
    /// sent none (or none valid).
    pub pon: Option<String>,
    /// The door the request came through (contract §15).
    pub source: Source,
    /// The upstream's id of the port-out, when it has one (contract §15).
    pub external_id: Option<String>,
    pub authorized_name: Option<String>,
    pub requested_foc_date: Option<Day>,
    pub foc_date: Option<Day>,
    /// Who ended the order (its carrier, the tenant admin or the
    /// scheduler); `None` while it is open.
    pub closed_by: Option<ActorKind>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip)]
    pub tenant_id: TenantId,
    #[serde(skip)]
    pub version: i64,
}

pub fn order_key(id: &OrderId) -> Item {
    key(format!("ORDER#{id}"), "ORDER")
}

/// The sparse `OpenOrders` key of an order, or none once it is closed.
pub(crate) fn open_key(order: &Order) -> Option<(String, String)> {
    let clock = match order.status {
        OrderStatus::Pending => order.created_at,
        OrderStatus::FocConfirmed => Timestamp::from_unix(order.foc_date?.start()),
        _ => return None,
    };
    Some((
        format!("OPEN#{}", order.status),
        format!("{clock}#{}", order.id),
    ))
}

impl Order {
    /// A new pending order with a fresh time-ordered id.
    pub fn new(new: NewOrder<'_>) -> Order {
        Order {
            id: OrderId::generate(),
            status: OrderStatus::Pending,
            account_number: new.account_number.to_owned(),
            carrier_id: new.carrier_id.clone(),
            phone_numbers: new.phone_numbers,
            pon: new.pon.map(str::to_owned),
            source: new.source,
            external_id: new.external_id.map(str::to_owned),
            authorized_name: new.authorized_name.map(str::to_owned),
            requested_foc_date: new.requested_foc_date,
            foc_date: None,
            closed_by: None,
            created_at: new.now,
            updated_at: new.now,
            tenant_id: new.tenant_id.clone(),
            version: 0,
        }
    }

    /// The instant that starts this order's expiry clock (contract §6).
    pub fn expiry_clock(&self) -> Option<i64> {
        match self.status {
            OrderStatus::Pending => Some(self.created_at.unix()),
            OrderStatus::FocConfirmed => Some(self.foc_date?.start()),
            _ => None,
        }
    }

    pub(crate) fn item(&self) -> Item {
        let mut item = order_key(&self.id);
        let mut put = |k: &str, v: AttributeValue| {
            item.insert(k.to_owned(), v);
        };
        put("GSI1PK", s(format!("CARRIER#{}", self.carrier_id)));
        put("GSI1SK", s(format!("ORDER#{}", self.id)));
        put("GSI2PK", s(format!("TENANT#{}", self.tenant_id)));
        put("GSI2SK", s(format!("ORDER#{}", self.id)));
        if let Some((pk, sk)) = open_key(self) {
            put("OPENPK", s(pk));
            put("OPENSK", s(sk));
        }
        put("id", s(&self.id));
        put("status", s(self.status.as_str()));
        put("tenantId", s(&self.tenant_id));
        put("carrierId", s(&self.carrier_id));
        put("accountNumber", s(&self.account_number));
        put(
            "phoneNumbers",
            AttributeValue::L(self.phone_numbers.iter().map(s).collect()),
        );
        put("source", s(self.source.as_str()));
        for (k, v) in [
            ("pon", &self.pon),
            ("externalId", &self.external_id),
            ("authorizedName", &self.authorized_name),
        ] {
            if let Some(v) = v {
                put(k, s(v));
            }
        }
        for (k, v) in [
            ("requestedFocDate", self.requested_foc_date),
            ("focDate", self.foc_date),
        ] {
            if let Some(v) = v {
                put(k, s(v.to_string()));
            }
        }
        if let Some(by) = self.closed_by {
            put("closedBy", s(by.as_str()));
        }
        put("createdAt", s(self.created_at.to_string()));
        put("updatedAt", s(self.updated_at.to_string()));
        put("version", n(self.version));
        item
    }

    pub(crate) fn from_item(item: &Item) -> Result<Order, StoreError> {
        let r = Reader::new(item, "order");
        Ok(Order {
            id: r.parsed("id", OrderId::parse)?,
            status: OrderStatus::parse(&r.s("status")?)
                .ok_or_else(|| StoreError::Corrupt("order has an unknown status".into()))?,
            account_number: r.s("accountNumber")?,
            carrier_id: r.parsed("carrierId", |v| CarrierId::parse(v).ok())?,
            phone_numbers: r.numbers("phoneNumbers")?,
            pon: r.opt_s("pon"),
            // Orders written before sources existed came through the API.
            source: match r.opt_s("source") {
                None => Source::Api,
                Some(source) => Source::parse(&source)
                    .ok_or_else(|| StoreError::Corrupt("order has an unknown source".into()))?,
            },
            external_id: r.opt_s("externalId"),
            authorized_name: r.opt_s("authorizedName"),
            requested_foc_date: r.opt_parsed("requestedFocDate", Day::parse)?,
            foc_date: r.opt_parsed("focDate", Day::parse)?,
            closed_by: match r.opt_s("closedBy") {
                None => None,
                Some(by) => {
                    Some(ActorKind::parse(&by).ok_or_else(|| {
                        StoreError::Corrupt("order has an unknown closedBy".into())
                    })?)
                }
            },
            created_at: r.time("createdAt")?,
            updated_at: r.time("updatedAt")?,
            tenant_id: r.tenant("tenantId")?,
            version: r.n("version")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn order() -> Order {
        Order::new(NewOrder {
            tenant_id: &"t-1".parse().unwrap(),
            carrier_id: &"carrier-a".parse().unwrap(),
            account_number: "ACC-1",
            phone_numbers: vec!["+12065550100".parse().unwrap()],
            pon: Some("PON-1"),
            source: Source::Api,
            external_id: None,
            authorized_name: None,
            requested_foc_date: Day::parse("2026-10-20"),
            now: Timestamp::from_unix(1_796_000_000),
        })
    }

    #[test]
    fn an_order_item_reads_back_as_written() {
        let order = order();
        let read = Order::from_item(&order.item()).unwrap();
        assert_eq!(read.id, order.id);
        assert_eq!(read.created_at, order.created_at);
        assert_eq!(read.requested_foc_date, order.requested_foc_date);
        assert_eq!(read.phone_numbers, order.phone_numbers);
    }

    /// A stored date or id that does not parse is a corrupt item, never
    /// "now" or a guess: the caller answers 500 and changes nothing.
    #[test]
    fn unreadable_dates_and_ids_are_corrupt_items() {
        for (name, value) in [
            ("createdAt", "yesterday"),
            ("updatedAt", "2026-13-01T00:00:00Z"),
            ("requestedFocDate", "20 December"),
            ("id", "po_1"),
            ("carrierId", "carrier#a"),
        ] {
            let mut item = order().item();
            item.insert(name.into(), AttributeValue::S(value.into()));
            assert!(
                matches!(Order::from_item(&item), Err(StoreError::Corrupt(_))),
                "{name} = {value:?}"
            );
        }
    }
}
