//! Telnyx's door to the one port-out decision (contract §16): its signed
//! port-out events.
//!
//! Telnyx authorises a port-out by itself unless the holder rejects it, so
//! a `pending` port-out is decided once (the decision is kept per Telnyx
//! port-out, so a redelivery never counts an attempt again) and a refusal
//! is sent to Telnyx before the event is answered `200`: a failed call
//! answers `503` and leaves the event unprocessed, so Telnyx delivers it
//! again and the redelivery repeats only the call.

use crate::handler::SERVICE;
use crate::App;
use lambda_http::http::Method;
use lambda_http::Request;
use portguard_api::{json, metrics, ApiError, Code, Response};
use portguard_rules::OrderEvent;
use portguard_store::clock;
use portguard_store::{Order, Source};
use portguard_telnyx::{Change, Event, PublicKey, TelnyxApi};
use portguard_validation::CarrierId;
use serde_json::json;

mod pending;
mod transition;

pub(crate) const EVENTS_PATH: &str = "/v1/integrations/telnyx/port-out-events";

/// A transition that loses to a concurrent change of the same order is
/// decided again on a fresh read this many times before answering 503.
const DECIDE_ATTEMPTS: u32 = 5;

/// The integration's configuration (contract §9).
pub struct Telnyx {
    pub key: PublicKey,
    pub api: TelnyxApi,
    /// The carrier Telnyx's port-outs are counted, ordered and audited as.
    pub carrier: CarrierId,
}

type StartError = Box<dyn std::error::Error + Send + Sync>;

impl Telnyx {
    /// `TELNYX_PUBLIC_KEY`, `TELNYX_API_KEY[_ARN]`, `TELNYX_API_BASE_URL`,
    /// `TELNYX_CARRIER_ID`; `None` when no public key is configured (the
    /// route answers `404`). A bad value fails naming its variable.
    pub async fn from_env() -> Result<Option<Telnyx>, StartError> {
        let Ok(key) = std::env::var("TELNYX_PUBLIC_KEY") else {
            return Ok(None);
        };
        let key = PublicKey::parse(&key).map_err(|e| format!("TELNYX_PUBLIC_KEY: {e}"))?;
        let api = TelnyxApi::from_env()
            .await?
            .ok_or("TELNYX_API_KEY: set it (development) or TELNYX_API_KEY_ARN (Secrets Manager) with TELNYX_PUBLIC_KEY")?;
        let carrier = std::env::var("TELNYX_CARRIER_ID").unwrap_or_else(|_| "telnyx".into());
        let carrier = CarrierId::parse(&carrier).map_err(|e| format!("TELNYX_CARRIER_ID: {e}"))?;
        Ok(Some(Telnyx { key, api, carrier }))
    }
}

fn result(result: &str) -> Response {
    json(200, &json!({ "result": result }))
}

fn invalid_event(message: impl Into<String>) -> ApiError {
    ApiError::explained(Code::InvalidEvent, message)
}

impl App {
    /// `POST /v1/integrations/telnyx/port-out-events`.
    pub(crate) async fn telnyx(&self, req: &Request) -> Result<Response, ApiError> {
        let Some(tx) = &self.telnyx else {
            return Err(ApiError::not_found());
        };
        if req.method() != Method::POST {
            return Err(ApiError::method_not_allowed("POST"));
        }
        // The signature first: nothing else in the request is looked at
        // until it is known to come from Telnyx.
        portguard_api::check_body_size(req.body())?;
        let body: &[u8] = req.body().as_ref();
        let header = |name: &str| req.headers().get(name).map(|v| v.as_bytes());
        if let Err(e) = tx.key.verify(
            header(portguard_telnyx::SIGNATURE_HEADER),
            header(portguard_telnyx::TIMESTAMP_HEADER),
            body,
            clock::now(),
        ) {
            metrics::count(SERVICE, "IntegrationAuthFailed");
            tracing::warn!(
                integration = "telnyx",
                reason = e.reason(),
                "event refused: invalid signature"
            );
            return Err(ApiError::of(Code::InvalidSignature));
        }
        let event = Event::parse(body).map_err(|e| invalid_event(e.0))?;
        let answer = match (&event.change, event.port_out_id.as_deref()) {
            // Reads its event's record beside its own first reads.
            (Change::Pending(pending), Some(id)) => {
                let ip = portguard_api::source_ip(req);
                self.telnyx_pending(tx, &event, id, pending, ip).await
            }
            _ if self
                .store
                .webhook_seen(&tx.carrier, &event.id, clock::now())
                .await? =>
            {
                Ok(result("duplicate"))
            }
            _ => self.telnyx_event(tx, &event, req).await,
        };
        let outcome = match &answer {
            Ok(resp) => resp.status().as_u16().to_string(),
            Err(e) => e.code.to_owned(),
        };
        tracing::info!(
            integration = "telnyx",
            event_id = %portguard_api::echo(&event.id),
            event_type = %portguard_api::echo(&event.event_type),
            telnyx_port_out_id = event.port_out_id.as_deref(),
            outcome,
            "Telnyx event handled"
        );
        answer
    }

    async fn telnyx_event(
        &self,
        tx: &Telnyx,
        event: &Event,
        req: &Request,
    ) -> Result<Response, ApiError> {
        let carrier = &tx.carrier;
        let ip = portguard_api::source_ip(req);
        let id = event.port_out_id.as_deref();
        let to = match (&event.change, id) {
            (Change::Ported, _) => OrderEvent::Completed,
            (Change::Canceled, _) => OrderEvent::Cancelled,
            (Change::Rejected, _) => OrderEvent::Rejected,
            (Change::FocDateChanged(_), _) => OrderEvent::FocConfirmed,
            (Change::Authorized | Change::RejectedPending, _) => {
                return self.telnyx_unchanged(tx, event).await
            }
            _ => {
                return self
                    .telnyx_ignored(carrier, event, "no action for this event")
                    .await
            }
        };
        let Some(order) = self.telnyx_order(tx, id).await? else {
            return self
                .telnyx_ignored(carrier, event, "no order for this port-out")
                .await;
        };
        self.telnyx_transition(tx, event, order, to, ip.as_deref())
            .await
    }

    /// Processed, nothing changes: `ignored`, logged.
    async fn telnyx_ignored(
        &self,
        carrier: &CarrierId,
        event: &Event,
        why: &str,
    ) -> Result<Response, ApiError> {
        tracing::info!(
            event_type = %portguard_api::echo(&event.event_type),
            telnyx_port_out_id = event.port_out_id.as_deref(),
            why,
            "Telnyx event ignored"
        );
        let first = self
            .store
            .record_webhook(carrier, &event.id, "ignored", clock::now())
            .await?;
        Ok(result(if first { "ignored" } else { "duplicate" }))
    }

    /// `authorized` and `rejected-pending` change nothing in portguard.
    async fn telnyx_unchanged(&self, tx: &Telnyx, event: &Event) -> Result<Response, ApiError> {
        let carrier = &tx.carrier;
        if self
            .telnyx_order(tx, event.port_out_id.as_deref())
            .await?
            .is_none()
        {
            return self
                .telnyx_ignored(carrier, event, "no order for this port-out")
                .await;
        }
        let first = self
            .store
            .record_webhook(carrier, &event.id, "unchanged", clock::now())
            .await?;
        Ok(result(if first { "unchanged" } else { "duplicate" }))
    }

    /// The order a Telnyx port-out opened, if portguard accepted it.
    async fn telnyx_order(&self, tx: &Telnyx, id: Option<&str>) -> Result<Option<Order>, ApiError> {
        let Some(id) = id else {
            return Ok(None);
        };
        let carrier = &tx.carrier;
        let Some(decided) = self.store.upstream_decision(carrier, id).await? else {
            return Ok(None);
        };
        let Some(order_id) = decided.order_id else {
            return Ok(None);
        };
        // Only an order of Telnyx's carrier opened by this very port-out:
        // an event never moves an order of another door or carrier.
        Ok(self.store.get_order(&order_id).await?.filter(|o| {
            o.carrier_id == *carrier
                && o.source == Source::Telnyx
                && o.external_id.as_deref() == Some(id)
        }))
    }
}
