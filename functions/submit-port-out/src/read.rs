//! `GET /v1/port-outs/{id}` and `GET /v1/port-outs` (contract §4.2): a carrier
//! sees its own orders, a tenant admin its tenant's. Another party's order
//! answers exactly as one that does not exist.

use crate::App;
use lambda_http::{Request, RequestExt};
use portguard_api::{json, ApiError, Caller, Code, Response};
use portguard_rules::OrderStatus;
use portguard_store::orders::Owner;
use portguard_store::Order;
use portguard_validation::OrderId;
use serde_json::json;

fn not_found() -> ApiError {
    ApiError::of(Code::PortOutNotFound)
}

fn visible_to(order: &Order, caller: &Caller) -> bool {
    match caller {
        Caller::Carrier { carrier_id } => order.carrier_id == *carrier_id,
        Caller::Admin { tenant_id, .. } => order.tenant_id == *tenant_id,
    }
}

impl App {
    pub(crate) async fn get(&self, caller: &Caller, id: &str) -> Result<Response, ApiError> {
        let id = OrderId::parse(id).ok_or_else(not_found)?;
        match self.store.get_order(&id).await? {
            Some(order) if visible_to(&order, caller) => Ok(json(200, &order)),
            _ => Err(not_found()),
        }
    }

    pub(crate) async fn list(&self, req: &Request, caller: &Caller) -> Result<Response, ApiError> {
        let status = match req
            .query_string_parameters_ref()
            .and_then(|q| q.first("status"))
        {
            None => None,
            Some(raw) => Some(OrderStatus::parse(raw).ok_or_else(|| {
                let known: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid_request(format!("status must be one of {}", known.join(", ")))
            })?),
        };
        // The token is bound to the caller and to the filter.
        let list = format!("orders|{}", status.map_or("all", OrderStatus::as_str));
        let params = self.paging.params(req, caller, &list)?;
        let owner = match caller {
            Caller::Carrier { carrier_id } => Owner::Carrier(carrier_id),
            Caller::Admin { tenant_id, .. } => Owner::Tenant(tenant_id),
        };
        let page = self
            .store
            .list_orders(owner, status, params.limit, params.start)
            .await?;
        let next = self.paging.token(caller, &list, page.next);
        Ok(json(200, &json!({"items": page.items, "nextToken": next})))
    }
}
