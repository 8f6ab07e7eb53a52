//! A Telnyx `pending` port-out (contract §16): claimed, decided once by
//! the one decision, and a refusal told to Telnyx before the event is
//! answered.

use super::{result, Telnyx};
use crate::decision::{Attempt, Decided, Holder, PortOutRequest};
use crate::handler::SERVICE;
use crate::App;
use portguard_api::{json, metrics, ApiError, Response};
use portguard_store::clock;
use portguard_store::upstream::{Claim, UpstreamDecision};
use portguard_store::{Actor, ActorKind, Source};
use portguard_telnyx::{Checked, Event, Pending, Reject};
use portguard_validation::{CarrierId, OrderId, TenantId};
use serde_json::json;

impl App {
    /// A `pending` port-out: decided once, a refusal told to Telnyx.
    ///
    /// The reads that do not depend on each other go together: the event's
    /// record, the port-out's claim and the owner of its first number (the
    /// decision's account). After the decision, its record and the event's
    /// go together too, once Telnyx has acknowledged a refusal: a refusal is
    /// stored as told only when it was.
    pub(super) async fn telnyx_pending(
        &self,
        tx: &Telnyx,
        event: &Event,
        id: &str,
        pending: &Pending,
        ip: Option<String>,
    ) -> Result<Response, ApiError> {
        let carrier = &tx.carrier;
        let now = clock::now();
        // Checks 1–5 are pure: done once, before anything is read.
        let checked = pending.check();
        let first = checked.as_ref().ok().and_then(|c| c.numbers.first());
        let owner = async {
            match first {
                Some(first) => self.store.number_owner(first).await,
                None => Ok(None),
            }
        };
        let (seen, claim, owner) = tokio::join!(
            self.store.webhook_seen(carrier, &event.id, now),
            self.store.claim_upstream_decision(carrier, id, now),
            owner,
        );
        let claim = claim?;
        let claimed = matches!(claim, Claim::Claimed | Claim::TakenOver);
        let owner = match (seen, owner) {
            (Ok(false), Ok(owner)) => owner,
            // This event was processed: its port-out's decision was stored
            // then, so a claim won now only means that record has expired.
            (Ok(true), _) if !claimed => return Ok(result("duplicate")),
            (seen, owner) => {
                if claimed {
                    self.release_claim(carrier, id).await;
                }
                seen?;
                owner?;
                return Ok(result("duplicate"));
            }
        };
        let (decided, fresh) = match claim {
            Claim::Decided(decided) => (decided, false),
            Claim::Busy => {
                tracing::info!(telnyx_port_out_id = id, "another delivery is deciding");
                return Err(ApiError::unavailable());
            }
            Claim::Claimed | Claim::TakenOver => match self
                .telnyx_decide(tx, id, checked, owner, ip, claim == Claim::TakenOver)
                .await
            {
                Ok(decided) => (decided, true),
                Err(e) => {
                    self.release_claim(carrier, id).await;
                    return Err(e);
                }
            },
        };
        let told_now = match (&decided.reason, decided.told) {
            (Some(reason), false) => match tx.api.reject_pending(id, reason).await {
                Ok(()) => {
                    metrics::count(SERVICE, "TelnyxRejected");
                    true
                }
                Err(failure) => {
                    metrics::count(SERVICE, "TelnyxCallFailed");
                    tracing::warn!(
                        telnyx_port_out_id = id,
                        failure = failure.reason(),
                        "could not reject the port-out at Telnyx; answering 503 so Telnyx redelivers"
                    );
                    // Stored untold: the redelivery repeats only the call.
                    if fresh {
                        self.store
                            .put_upstream_decision(carrier, id, &decided, clock::now())
                            .await?;
                    }
                    return Err(ApiError::unavailable());
                }
            },
            _ => false,
        };
        let outcome = if decided.code.is_some() {
            "rejected"
        } else {
            "accepted"
        };
        let store_decision = async {
            if fresh {
                let decided = UpstreamDecision {
                    told: told_now,
                    ..decided.clone()
                };
                let at = clock::now();
                self.store
                    .put_upstream_decision(carrier, id, &decided, at)
                    .await
            } else if told_now {
                self.store.mark_upstream_told(carrier, id).await
            } else {
                Ok(())
            }
        };
        let (stored, recorded) = tokio::join!(
            store_decision,
            self.store
                .record_webhook(carrier, &event.id, outcome, clock::now()),
        );
        stored?;
        recorded?;
        Ok(json(200, &json!({"result": outcome, "code": decided.code})))
    }

    /// Gives up a claim whose decision failed, so the redelivery decides at
    /// once rather than after the claim lapses.
    async fn release_claim(&self, carrier: &CarrierId, id: &str) {
        if let Err(release) = self.store.release_upstream_claim(carrier, id).await {
            tracing::warn!(error = %release, "could not release a decision's claim");
        }
    }

    /// Checks 1–5 on the event, then the one decision.
    ///
    /// A claim taken over from a delivery that died may find the order that
    /// delivery opened before it could store its decision (an order of
    /// Telnyx's carrier among the first number's owner's, with `source:
    /// telnyx` and `externalId` = `id`). That order is the decision
    /// (accepted): deciding again would find its own numbers busy and
    /// reject Telnyx's port-out as `PORT_OUT_IN_PROGRESS`.
    async fn telnyx_decide(
        &self,
        tx: &Telnyx,
        id: &str,
        checked: Result<Checked, Reject>,
        owner: Option<TenantId>,
        ip: Option<String>,
        taken_over: bool,
    ) -> Result<UpstreamDecision, ApiError> {
        if let (true, Some(tenant)) = (taken_over, &owner) {
            let opened = self
                .store
                .upstream_order(tenant, &tx.carrier, Source::Telnyx, id)
                .await?;
            if let Some(order) = opened {
                tracing::info!(
                    telnyx_port_out_id = id,
                    port_out_id = %order.id,
                    "a delivery that died had opened the order: accepted, nothing decided again"
                );
                return Ok(accepted(order.id));
            }
        }
        let refused = |reject: Reject| UpstreamDecision {
            code: Some(reject.code.to_owned()),
            reason: Some(reject.reason()),
            order_id: None,
            told: false,
        };
        let checked = match checked {
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
            holder: Holder::OwnerOfFirstNumber(owner),
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
            Decided::Accepted(order) => accepted(order.id),
            // Not asked for (`resubmission_is_accepted` is off); an open
            // order answering is an accepted port-out all the same.
            Decided::Resubmitted(order_id) => accepted(order_id),
            Decided::Refused(r) => refused(Reject::refusal(r.refusal)),
        })
    }
}

/// An accepted port-out's decision: the order it opened.
fn accepted(order_id: OrderId) -> UpstreamDecision {
    UpstreamDecision {
        code: None,
        reason: None,
        order_id: Some(order_id),
        told: false,
    }
}
