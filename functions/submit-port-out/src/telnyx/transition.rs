//! A later Telnyx event moves an order (contract §16), through the store's
//! one transition.

use super::{invalid_event, result, Telnyx, DECIDE_ATTEMPTS};
use crate::handler::SERVICE;
use crate::App;
use portguard_api::{json, metrics, ApiError, Code, Response};
use portguard_rules::{lifecycle, Decision, OrderEvent};
use portguard_store::clock::{self, Day};
use portguard_store::orders::{EventFrom, TransitionOutcome};
use portguard_store::{retry_on_conflict, Order};
use portguard_telnyx::{Change, Event};
use serde_json::json;

impl App {
    /// A later event moves the order as contract §4.3 allows, with the
    /// store's one transition (the carrier webhook's).
    pub(super) async fn telnyx_transition(
        &self,
        tx: &Telnyx,
        event: &Event,
        mut order: Order,
        kind: OrderEvent,
        ip: Option<&str>,
    ) -> Result<Response, ApiError> {
        let carrier = &tx.carrier;
        let now = clock::now();
        let foc_date = match &event.change {
            Change::FocDateChanged(date) => Some(check_foc_date(date, &order, now)?),
            _ => None,
        };
        let mut rounds = retry_on_conflict(DECIDE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let to = match lifecycle::decide(order.status, kind) {
                Decision::Invalid => {
                    return Err(ApiError::explained(
                        Code::InvalidTransition,
                        format!(
                            "the port-out is {}; this event cannot change it",
                            order.status
                        ),
                    )
                    .details(json!({"status": order.status})));
                }
                Decision::Unchanged => {
                    let first = self
                        .store
                        .record_webhook(carrier, &event.id, "unchanged", now)
                        .await?;
                    return Ok(result(if first { "unchanged" } else { "duplicate" }));
                }
                Decision::Apply(to) => to,
            };
            let by = EventFrom {
                carrier,
                webhook_id: &event.id,
                source_ip: ip,
            };
            match self
                .store
                .transition_by_carrier(&order, to, foc_date, now, &by)
                .await?
            {
                TransitionOutcome::Applied(next) => {
                    metrics::count(SERVICE, "TransitionApplied");
                    return Ok(json(200, &json!({"result": "applied", "portOut": next})));
                }
                TransitionOutcome::Duplicate => return Ok(result("duplicate")),
                TransitionOutcome::OrderChanged => match self.store.get_order(&order.id).await? {
                    Some(fresh) => order = fresh,
                    None => return Err(ApiError::unavailable()),
                },
            }
        }
        tracing::warn!(port_out_id = %order.id, "the order kept changing; Telnyx will retry");
        Err(ApiError::unavailable())
    }
}

/// contract §5's bounds: not before the order's creation date, not more
/// than 120 days ahead.
fn check_foc_date(date: &str, order: &Order, now: i64) -> Result<Day, ApiError> {
    let foc = Day::parse(date).ok_or_else(|| invalid_event("foc_date must be a date"))?;
    portguard_rules::foc::check_foc_date(foc.start(), order.created_at.unix(), now)
        .map_err(|e| invalid_event(e.message()))?;
    Ok(foc)
}
