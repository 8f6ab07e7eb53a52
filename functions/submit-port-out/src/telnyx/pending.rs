//! A Telnyx `pending` port-out (contract §16): claimed, decided once by
//! the one decision, and a refusal told to Telnyx before the event is
//! answered.

use super::Telnyx;
use crate::decision::{Attempt, Decided, Holder, PortOutRequest};
use crate::handler::SERVICE;
use crate::App;
use portguard_api::{json, metrics, ApiError, Response};
use portguard_store::clock;
use portguard_store::upstream::{Claim, UpstreamDecision};
use portguard_store::{Actor, ActorKind, Order, Source};
use portguard_telnyx::{Event, Pending, Reject};
use portguard_validation::CarrierId;
use serde_json::json;

impl App {
    /// A `pending` port-out: decided once, a refusal told to Telnyx.
    pub(super) async fn telnyx_pending(
        &self,
        tx: &Telnyx,
        event: &Event,
        id: &str,
        pending: &Pending,
        ip: Option<String>,
    ) -> Result<Response, ApiError> {
        let carrier = &tx.carrier;
        let claim = self
            .store
            .claim_upstream_decision(carrier, id, clock::now())
            .await?;
        let decided = match claim {
            Claim::Decided(decided) => decided,
            Claim::Busy => {
                tracing::info!(telnyx_port_out_id = id, "another delivery is deciding");
                return Err(ApiError::unavailable());
            }
            Claim::Claimed | Claim::TakenOver => match self
                .telnyx_decide_once(tx, id, pending, ip, claim == Claim::TakenOver)
                .await
            {
                Ok(decided) => {
                    self.store
                        .put_upstream_decision(carrier, id, &decided, clock::now())
                        .await?;
                    decided
                }
                Err(e) => {
                    self.release_claim(carrier, id).await;
                    return Err(e);
                }
            },
        };
        if let (Some(reason), false) = (&decided.reason, decided.told) {
            if let Err(failure) = tx.api.reject_pending(id, reason).await {
                metrics::count(SERVICE, "TelnyxCallFailed");
                tracing::warn!(
                    telnyx_port_out_id = id,
                    failure = failure.reason(),
                    "could not reject the port-out at Telnyx; answering 503 so Telnyx redelivers"
                );
                return Err(ApiError::unavailable());
            }
            metrics::count(SERVICE, "TelnyxRejected");
            self.store.mark_upstream_told(carrier, id).await?;
        }
        let outcome = if decided.code.is_some() {
            "rejected"
        } else {
            "accepted"
        };
        self.store
            .record_webhook(carrier, &event.id, outcome, clock::now())
            .await?;
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
