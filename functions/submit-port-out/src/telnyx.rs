//! Telnyx's door to the one port-out decision (contract §16): its signed
//! port-out events.
//!
//! Telnyx authorises a port-out by itself unless the holder rejects it, so
//! a `pending` port-out is decided once (the decision is kept per Telnyx
//! port-out, so a redelivery never counts an attempt again) and a refusal
//! is sent to Telnyx before the event is answered `200`: a failed call
//! answers `503` and leaves the event unprocessed, so Telnyx delivers it
//! again and the redelivery repeats only the call.

use crate::decision::{Attempt, Decided, Holder, PortOutRequest};
use crate::handler::SERVICE;
use crate::App;
use lambda_http::http::Method;
use lambda_http::Request;
use portguard_api::{json, metrics, ApiError, Code, Response};
use portguard_rules::OrderEvent;
use portguard_store::clock;
use portguard_store::upstream::{Claim, UpstreamDecision};
use portguard_store::{Actor, ActorKind, Order, Source};
use portguard_telnyx::{Change, Event, Pending, PublicKey, Reject, TelnyxApi};
use portguard_validation::CarrierId;
use serde_json::json;

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

    /// A `pending` port-out: decided once, a refusal told to Telnyx. The
    /// writes that do not depend on each other go together: the event's
    /// dedupe read with the port-out's claim, the decision's record with
    /// the call to Telnyx, and "told" with the event's dedupe record.
    async fn telnyx_pending(
        &self,
        tx: &Telnyx,
        event: &Event,
        id: &str,
        pending: &Pending,
        ip: Option<String>,
    ) -> Result<Response, ApiError> {
        let carrier = &tx.carrier;
        let now = clock::now();
        let (seen, claim) = tokio::join!(
            self.store.webhook_seen(carrier, &event.id, now),
            self.store.claim_upstream_decision(carrier, id, now),
        );
        let claim = claim?;
        let claimed = matches!(claim, Claim::Claimed | Claim::TakenOver);
        match seen {
            // This event was processed: its port-out's decision was stored
            // then, so a claim won now only means that record has expired.
            Ok(false) => {}
            Ok(true) if !claimed => return Ok(result("duplicate")),
            seen => {
                if claimed {
                    self.release_claim(carrier, id).await;
                }
                return seen.map(|_| result("duplicate")).map_err(ApiError::from);
            }
        }
        let (decided, fresh) = match claim {
            Claim::Decided(decided) => (decided, false),
            Claim::Busy => {
                tracing::info!(telnyx_port_out_id = id, "another delivery is deciding");
                return Err(ApiError::unavailable());
            }
            Claim::Claimed | Claim::TakenOver => match self
                .telnyx_decide_once(tx, id, pending, ip, claim == Claim::TakenOver)
                .await
            {
                Ok(decided) => (decided, true),
                Err(e) => {
                    self.release_claim(carrier, id).await;
                    return Err(e);
                }
            },
        };
        let store_decision = async {
            match fresh {
                true => {
                    self.store
                        .put_upstream_decision(carrier, id, &decided, clock::now())
                        .await
                }
                false => Ok(()),
            }
        };
        let reject = async {
            match (&decided.reason, decided.told) {
                (Some(reason), false) => Some(tx.api.reject_pending(id, reason).await),
                _ => None,
            }
        };
        let (stored, rejected) = tokio::join!(store_decision, reject);
        stored?;
        let outcome = if decided.code.is_some() {
            "rejected"
        } else {
            "accepted"
        };
        let record = self
            .store
            .record_webhook(carrier, &event.id, outcome, clock::now());
        match rejected {
            None => {
                record.await?;
            }
            Some(Err(failure)) => {
                metrics::count(SERVICE, "TelnyxCallFailed");
                tracing::warn!(
                    telnyx_port_out_id = id,
                    failure = failure.reason(),
                    "could not reject the port-out at Telnyx; answering 503 so Telnyx redelivers"
                );
                return Err(ApiError::unavailable());
            }
            Some(Ok(())) => {
                metrics::count(SERVICE, "TelnyxRejected");
                let (told, recorded) =
                    tokio::join!(self.store.mark_upstream_told(carrier, id), record);
                told?;
                recorded?;
            }
        }
        Ok(json(200, &json!({"result": outcome, "code": decided.code})))
    }

    /// Gives up a claim whose decision failed, so the redelivery decides at
    /// once rather than after the claim lapses.
    async fn release_claim(&self, carrier: &CarrierId, id: &str) {
        if let Err(release) = self.store.release_upstream_claim(carrier, id).await {
            tracing::warn!(error = %release, "could not release a decision's claim");
        }
    }

    /// The decision of a claim: a claim taken over from a delivery that
    /// died may find the order that delivery opened before it could store
    /// its decision. That order is the decision (accepted): deciding again
    /// would find its own numbers busy and reject Telnyx's port-out as
    /// `PORT_OUT_IN_PROGRESS`.
    async fn telnyx_decide_once(
        &self,
        tx: &Telnyx,
        id: &str,
        pending: &Pending,
        ip: Option<String>,
        taken_over: bool,
    ) -> Result<UpstreamDecision, ApiError> {
        if taken_over {
            if let Some(order) = self.telnyx_opened(tx, id, pending).await? {
                tracing::info!(
                    telnyx_port_out_id = id,
                    port_out_id = %order.id,
                    "a delivery that died had opened the order: accepted, nothing decided again"
                );
                return Ok(UpstreamDecision {
                    code: None,
                    reason: None,
                    order_id: Some(order.id),
                    told: false,
                });
            }
        }
        self.telnyx_decide(tx, id, pending, ip).await
    }

    /// The order this Telnyx port-out opened, found without its decision:
    /// among the orders of the holder of its first number, the one of
    /// Telnyx's carrier with `source: telnyx` and `externalId` = `id`.
    async fn telnyx_opened(
        &self,
        tx: &Telnyx,
        id: &str,
        pending: &Pending,
    ) -> Result<Option<Order>, ApiError> {
        // A body that fails checks 1–5 never reached an order.
        let Ok(checked) = pending.check() else {
            return Ok(None);
        };
        let Some(first) = checked.numbers.first() else {
            return Ok(None);
        };
        let Some(tenant) = self.store.number_owner(first).await? else {
            return Ok(None);
        };
        Ok(self
            .store
            .upstream_order(&tenant, &tx.carrier, Source::Telnyx, id)
            .await?)
    }

    /// Checks 1–5 on the event, then the one decision.
    async fn telnyx_decide(
        &self,
        tx: &Telnyx,
        id: &str,
        pending: &Pending,
        ip: Option<String>,
    ) -> Result<UpstreamDecision, ApiError> {
        let refused = |reject: Reject| UpstreamDecision {
            code: Some(reject.code.to_owned()),
            reason: Some(reject.reason()),
            order_id: None,
            told: false,
        };
        let checked = match pending.check() {
            Ok(checked) => checked,
            Err(reject) => {
                metrics::count(SERVICE, "PortOutRejected");
                tracing::info!(
                    telnyx_port_out_id = id,
                    code = reject.code,
                    "Telnyx port-out refused before the decision"
                );
                return Ok(refused(reject));
            }
        };
        let request = PortOutRequest {
            holder: Holder::OfFirstNumber,
            pin: checked.pin,
            numbers: checked.numbers,
            pon: None,
            authorized_name: None,
            requested_foc_date: None,
            source: Source::Telnyx,
            external_id: Some(id.to_owned()),
            resubmission_is_accepted: false,
        };
        let attempt = Attempt {
            carrier: &tx.carrier,
            actor: Actor {
                kind: ActorKind::Carrier,
                id: Some(tx.carrier.to_string()),
            },
            source_ip: ip,
            numbers: request.numbers.clone(),
        };
        Ok(match self.decide(&attempt, &request, None).await? {
            Decided::Accepted(accepted) => UpstreamDecision {
                code: None,
                reason: None,
                order_id: Some(accepted.id),
                told: false,
            },
            // Not asked for (`resubmission_is_accepted` is off); an open
            // order answering is an accepted port-out all the same.
            Decided::Resubmitted(order_id) => UpstreamDecision {
                code: None,
                reason: None,
                order_id: Some(order_id),
                told: false,
            },
            Decided::Refused(r) => refused(Reject::refusal(r.refusal)),
        })
    }
}
