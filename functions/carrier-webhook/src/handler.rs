use crate::CarrierEvent;
use lambda_http::{http::Method, Request};
use portguard_api::{json, ApiError, Code, Response};
use portguard_rules::{lifecycle::decide, Decision};
use portguard_secrets::{WebhookSecrets, WebhookVerifyError};
use portguard_store::{
    clock,
    orders::{EventFrom, TransitionOutcome},
    retry_on_conflict, Order, Store,
};
use portguard_validation::{CarrierId, OrderId};
use serde_json::json;

/// Everything a request needs, built once per cold start.
pub struct App {
    store: Store,
    secrets: WebhookSecrets,
}

const ROUTE_PREFIX: &str = "/v1/carrier-events/";
pub const SERVICE: &str = "carrier-webhook";

/// A transition that loses to a concurrent change of the same order is
/// decided again on a fresh read this many times before answering 503.
const DECIDE_ATTEMPTS: u32 = 5;

/// The longest `webhook-id` kept as a dedupe key.
const MAX_WEBHOOK_ID: usize = 255;

impl App {
    pub fn new(store: Store, secrets: WebhookSecrets) -> App {
        App { store, secrets }
    }

    /// Reads the configuration of contract §9 (`TABLE_NAME`,
    /// `CARRIER_WEBHOOK_SECRETS` / `CARRIER_WEBHOOK_SECRETS_ARN`); fails
    /// naming the variable. This function needs no pepper.
    pub async fn from_env() -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let table = portguard_api::config::table_name()?;
        let secrets = WebhookSecrets::from_env().await?;
        tracing::info!(secrets = ?secrets, "webhook secrets loaded");
        let store = Store::connect_at_init(table, "ORDER").await;
        Ok(App::new(store, secrets))
    }

    /// Never fails: every outcome is an HTTP answer (tests call this).
    pub async fn handle(&self, req: Request) -> Response {
        portguard_api::answer(self.route(&req).await)
    }

    /// The answer to one request; `serve` turns errors into answers.
    pub async fn route(&self, req: &Request) -> Result<Response, ApiError> {
        let path = req.uri().path().trim_end_matches('/');
        let carrier = path
            .strip_prefix(ROUTE_PREFIX)
            .filter(|c| !c.is_empty() && !c.contains('/'))
            .ok_or_else(ApiError::not_found)?;
        if req.method() != Method::POST {
            return Err(ApiError::method_not_allowed("POST"));
        }
        // The signature first: nothing else in the request is looked at
        // until it is known to come from this carrier. A body over 64 KiB
        // is not even read for that.
        portguard_api::check_body_size(req.body())?;
        let body: &[u8] = req.body().as_ref();
        let verified = self
            .secrets
            .verify(carrier, body, req.headers())
            .and_then(|()| {
                CarrierId::parse(carrier).map_err(|_| WebhookVerifyError::UnknownCarrier)
            });
        let carrier = match verified {
            Ok(carrier) => carrier,
            Err(e) => {
                let reason = match &e {
                    WebhookVerifyError::UnknownCarrier => "unknown carrier".to_owned(),
                    WebhookVerifyError::Invalid(why) => why.clone(),
                };
                // The carrier id is unauthenticated here: clipped as any echo
                // of input (contract §2), so no caller writes long lines to logs.
                let carrier = portguard_api::echo(carrier);
                tracing::warn!(carrier, reason, "webhook refused: invalid signature");
                portguard_api::metrics::count(SERVICE, "InvalidSignature");
                return Err(ApiError::of(Code::InvalidSignature));
            }
        };
        let webhook_id = req
            .headers()
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if webhook_id.is_empty() || webhook_id.len() > MAX_WEBHOOK_ID {
            return Err(invalid_event(format!(
                "webhook-id must be 1 to {MAX_WEBHOOK_ID} characters"
            )));
        }
        let event = CarrierEvent::parse(body).map_err(|e| invalid_event(e.0))?;
        let source_ip = portguard_api::source_ip(req);
        let answer = self
            .apply(&carrier, webhook_id, &event, source_ip.as_deref())
            .await;
        let outcome = match &answer {
            Ok(resp) => resp.status().as_u16().to_string(),
            Err(e) => e.code.to_owned(),
        };
        tracing::info!(
            carrier = %carrier,
            webhook_id,
            event = event.type_name(),
            port_out_id = %event.port_out_id,
            outcome,
            "carrier event handled"
        );
        answer
    }

    /// Ownership, the life cycle, then one transaction. Dedupe costs no
    /// read up front: a retried event that would change the order again is
    /// stopped by the dedupe record the transaction Puts, one that leaves it
    /// unchanged by `record_webhook`; only a refusal looks the id up, so a
    /// retry of an event the order has since moved past is still
    /// `duplicate`, not `409`.
    async fn apply(
        &self,
        carrier: &CarrierId,
        webhook_id: &str,
        event: &CarrierEvent,
        source_ip: Option<&str>,
    ) -> Result<Response, ApiError> {
        let now = clock::now();
        let mut order = self.order_of(carrier, &event.port_out_id).await?;
        check_foc_date(event, &order, now)?;
        let mut rounds = retry_on_conflict(DECIDE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let to = match decide(order.status, event.kind) {
                Decision::Invalid => {
                    if self.store.webhook_seen(carrier, webhook_id, now).await? {
                        return Ok(result("duplicate"));
                    }
                    return Err(ApiError::explained(
                        Code::InvalidTransition,
                        format!(
                            "the port-out is {}; a {} event cannot change it",
                            order.status,
                            event.type_name()
                        ),
                    )
                    .details(json!({"status": order.status})));
                }
                Decision::Unchanged => {
                    let first = self
                        .store
                        .record_webhook(carrier, webhook_id, "unchanged", now)
                        .await?;
                    return Ok(result(if first { "unchanged" } else { "duplicate" }));
                }
                Decision::Apply(to) => to,
            };
            let by = EventFrom {
                carrier,
                webhook_id,
                source_ip,
            };
            let outcome = self
                .store
                .transition_by_carrier(&order, to, event.foc_date, now, &by)
                .await?;
            match outcome {
                TransitionOutcome::Applied(next) => {
                    portguard_api::metrics::count(SERVICE, "TransitionApplied");
                    return Ok(json(200, &json!({"result": "applied", "portOut": next})));
                }
                TransitionOutcome::Duplicate => return Ok(result("duplicate")),
                TransitionOutcome::OrderChanged => {
                    order = self.order_of(carrier, &event.port_out_id).await?;
                }
            }
        }
        tracing::warn!(
            port_out_id = %event.port_out_id,
            "the order kept changing; the carrier will retry"
        );
        Err(ApiError::unavailable())
    }

    /// The order, if it exists and is this carrier's; otherwise 404, the
    /// same answer for both so a carrier learns nothing of others' orders.
    async fn order_of(&self, carrier: &CarrierId, id: &str) -> Result<Order, ApiError> {
        let not_found = || ApiError::of(Code::PortOutNotFound);
        let id = OrderId::parse(id).ok_or_else(not_found)?;
        match self.store.get_order(&id).await? {
            Some(order) if order.carrier_id == *carrier => Ok(order),
            _ => Err(not_found()),
        }
    }
}

/// contract §5: a `focDate` before the order's creation date or more than 120
/// days after the event is received is `400 INVALID_EVENT` (an order holds
/// its numbers only so long).
fn check_foc_date(event: &CarrierEvent, order: &Order, now: i64) -> Result<(), ApiError> {
    let Some(foc) = event.foc_date else {
        return Ok(());
    };
    portguard_rules::foc::check_foc_date(foc.start(), order.created_at.unix(), now)
        .map_err(|e| invalid_event(e.message()))
}

fn invalid_event(message: impl Into<String>) -> ApiError {
    ApiError::explained(Code::InvalidEvent, message)
}

fn result(result: &str) -> Response {
    json(200, &json!({ "result": result }))
}
