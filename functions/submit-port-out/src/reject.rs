//! `POST /v1/port-outs/{id}/reject` (contract §13): the tenant admin
//! ends an open port-out it did not ask for. The transition, the numbers
//! freed and the audit event are one transaction, the same the carrier's
//! webhook and the status check use, so a reject racing a carrier's
//! `completed` ends with exactly one of them applied.

use crate::App;
use lambda_http::Body;
use portguard_api::{json, json_object_body, ApiError, Code, Response};
use portguard_rules::OrderStatus;
use portguard_store::orders::TransitionOutcome;
use portguard_store::{clock, clock::Timestamp, retry_on_conflict, Actor, AuditEvent, Order};
use portguard_validation::{OrderId, RejectReason, TenantId};
use serde_json::{json, Value};

/// A lost race re-reads the order and decides again this many times.
const DECIDE_ATTEMPTS: u32 = 16;

/// The optional `{"reason": "…"}`: a string of at most 500 characters. The
/// reason is checked but not stored: the contract has no field for it.
fn parse_reason(body: &Body) -> Result<Option<RejectReason>, ApiError> {
    let empty = match body {
        Body::Empty => true,
        Body::Text(t) => t.trim().is_empty(),
        Body::Binary(b) => b.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(None);
    }
    match json_object_body(body)?.get("reason") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(reason)) => RejectReason::parse(reason)
            .map(Some)
            .map_err(|e| ApiError::invalid_request(format!("reason: {e}"))),
        Some(_) => Err(ApiError::invalid_request("reason must be a string")),
    }
}

fn not_found() -> ApiError {
    ApiError::of(Code::PortOutNotFound)
}

fn closed(order: &Order) -> ApiError {
    ApiError::explained(
        Code::InvalidTransition,
        format!(
            "the port-out is already {}; only a pending or foc_confirmed port-out can be rejected",
            order.status
        ),
    )
    .details(json!({ "status": order.status }))
}

impl App {
    pub(crate) async fn reject_order(
        &self,
        tenant_id: &TenantId,
        actor: Actor,
        source_ip: Option<String>,
        id: &str,
        body: &Body,
    ) -> Result<Response, ApiError> {
        let id = OrderId::parse(id).ok_or_else(not_found)?;
        parse_reason(body)?;
        let now = clock::now();
        let mut rounds = retry_on_conflict(DECIDE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let order = match self.store.get_order(&id).await? {
                Some(order) if order.tenant_id == *tenant_id => order,
                _ => return Err(not_found()),
            };
            if order.status.is_terminal() {
                return Err(closed(&order));
            }
            let audit =
                AuditEvent::status_changed(&order, OrderStatus::Rejected, actor.clone(), now)
                    .source_ip(source_ip.as_deref());
            let outcome = self
                .store
                .transition_order(
                    &order,
                    OrderStatus::Rejected,
                    None,
                    Timestamp::from_unix(now),
                    &audit,
                    None,
                )
                .await?;
            match outcome {
                TransitionOutcome::Applied(next) => {
                    portguard_api::metrics::count(crate::SERVICE, "PortOutRejectedByTenant");
                    tracing::info!(
                        tenant_id = %tenant_id,
                        port_out_id = %next.id,
                        "port-out rejected by the tenant"
                    );
                    return Ok(json(200, &next));
                }
                // Without a dedupe record a transition cannot be a duplicate.
                TransitionOutcome::OrderChanged | TransitionOutcome::Duplicate => continue,
            }
        }
        tracing::warn!(port_out_id = %id.as_str(), "the order kept changing; gave up rejecting it");
        Err(ApiError::unavailable())
    }
}
