//! A port-out order: its fields as the API shows them, and its item in the
//! table (keys, the sparse `OpenOrders` index while it is open).

use crate::attr::{key, n, s, Item, Reader};
use crate::{clock, ActorKind, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use portguard_rules::OrderStatus;
use serde::Serialize;

/// An order, serialised exactly as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    pub account_number: String,
    pub carrier_id: String,
    pub phone_numbers: Vec<String>,
    pub pon: String,
    pub authorized_name: Option<String>,
    pub requested_foc_date: Option<String>,
    pub foc_date: Option<String>,
    /// Who ended the order (its carrier, the tenant admin or the
    /// scheduler); `None` while it is open.
    pub closed_by: Option<ActorKind>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub tenant_id: String,
    #[serde(skip)]
    pub version: i64,
}

pub fn order_key(id: &str) -> Item {
    key(format!("ORDER#{id}"), "ORDER")
}

/// The sparse `OpenOrders` key of an order, or none once it is closed.
pub(crate) fn open_key(order: &Order) -> Option<(String, String)> {
    let clock = match order.status {
        OrderStatus::Pending => order.created_at.clone(),
        OrderStatus::FocConfirmed => format!("{}T00:00:00Z", order.foc_date.as_deref()?),
        _ => return None,
    };
    Some((
        format!("OPEN#{}", order.status),
        format!("{clock}#{}", order.id),
    ))
}

impl Order {
    /// A new pending order with a fresh time-ordered id.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tenant_id: &str,
        carrier_id: &str,
        account_number: &str,
        phone_numbers: Vec<String>,
        pon: &str,
        authorized_name: Option<&str>,
        requested_foc_date: Option<&str>,
        now: &str,
    ) -> Order {
        Order {
            id: format!("po_{}", ulid::Ulid::new()),
            status: OrderStatus::Pending,
            account_number: account_number.to_owned(),
            carrier_id: carrier_id.to_owned(),
            phone_numbers,
            pon: pon.to_owned(),
            authorized_name: authorized_name.map(str::to_owned),
            requested_foc_date: requested_foc_date.map(str::to_owned),
            foc_date: None,
            closed_by: None,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            tenant_id: tenant_id.to_owned(),
            version: 0,
        }
    }

    /// The instant that starts this order's expiry clock (contract §6).
    pub fn expiry_clock(&self) -> Option<i64> {
        match self.status {
            OrderStatus::Pending => clock::parse(&self.created_at),
            OrderStatus::FocConfirmed => clock::date_start(self.foc_date.as_deref()?),
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
        put("pon", s(&self.pon));
        for (k, v) in [
            ("authorizedName", &self.authorized_name),
            ("requestedFocDate", &self.requested_foc_date),
            ("focDate", &self.foc_date),
        ] {
            if let Some(v) = v {
                put(k, s(v));
            }
        }
        if let Some(by) = self.closed_by {
            put("closedBy", s(by.as_str()));
        }
        put("createdAt", s(&self.created_at));
        put("updatedAt", s(&self.updated_at));
        put("version", n(self.version));
        item
    }

    pub(crate) fn from_item(item: &Item) -> Result<Order, StoreError> {
        let r = Reader::new(item, "order");
        Ok(Order {
            id: r.s("id")?,
            status: OrderStatus::parse(&r.s("status")?)
                .ok_or_else(|| StoreError::Corrupt("order has an unknown status".into()))?,
            account_number: r.s("accountNumber")?,
            carrier_id: r.s("carrierId")?,
            phone_numbers: r.list_s("phoneNumbers")?,
            pon: r.s("pon")?,
            authorized_name: r.opt_s("authorizedName"),
            requested_foc_date: r.opt_s("requestedFocDate"),
            foc_date: r.opt_s("focDate"),
            closed_by: match r.opt_s("closedBy") {
                None => None,
                Some(by) => {
                    Some(ActorKind::parse(&by).ok_or_else(|| {
                        StoreError::Corrupt("order has an unknown closedBy".into())
                    })?)
                }
            },
            created_at: r.s("createdAt")?,
            updated_at: r.s("updatedAt")?,
            tenant_id: r.s("tenantId")?,
            version: r.n("version")?,
        })
    }
}
