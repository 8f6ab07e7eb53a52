//! `POST /v1/port-outs`, portguard's own door to the one port-out decision
//! (`decision.rs`): the JSON body (checks 1–5, `body.rs`), idempotent
//! retries, and the decision mapped to JSON answers.

use crate::body;
use crate::decision::{Attempt, Decided, Idem, Refused};
use crate::App;
use lambda_http::{Body, Request};
use portguard_api::{ApiError, Code, Response};
use portguard_rules::port_out::Refusal;
use portguard_rules::LockStatus;
use portguard_store::idempotency::{Claim, StoredResponse};
use portguard_store::{clock, Actor, ActorKind};
use portguard_validation::CarrierId;
use serde_json::json;
use std::time::Duration;

/// A request whose idempotency key is being handled by another request waits
/// for that one this many times, `POLL_INTERVAL` apart (about 3 s in all).
const IDEMPOTENCY_POLLS: u32 = 12;
const POLL_INTERVAL: Duration = Duration::from_millis(250);

impl App {
    pub(crate) async fn submit(
        &self,
        req: &Request,
        carrier: &CarrierId,
    ) -> Result<Response, ApiError> {
        let key = body::idempotency_key(req)?;
        let request = body::parse(req.body())?;
        let attempt = Attempt {
            carrier,
            actor: Actor {
                kind: ActorKind::Carrier,
                id: Some(carrier.to_string()),
            },
            source_ip: portguard_api::source_ip(req),
            numbers: request.numbers.clone(),
        };
        let Some(key) = key else {
            return answer(self.decide(&attempt, &request, None).await?);
        };
        let fingerprint = self.idempotency.fingerprint(&request.canonical());
        match self.claim(attempt.carrier, &key, &fingerprint).await? {
            Claim::Claimed => {}
            Claim::Replay(stored) => return Ok(replay(stored)),
            Claim::Mismatch => return Err(ApiError::of(Code::IdempotencyKeyReused)),
            Claim::InProgress => {
                return Err(ApiError::of(Code::IdempotencyKeyInProgress).retry_after(Some(1)))
            }
        }
        let idem = Idem {
            key: &key,
            fingerprint: &fingerprint,
        };
        let result = self.decide(&attempt, &request, Some(&idem)).await;
        // Only a created order is kept (inside its transaction); any other
        // answer gives the key up, so a corrected retry is handled afresh.
        if !matches!(&result, Ok(Decided::Accepted(_))) {
            if let Err(e) = self
                .store
                .release_idempotency(attempt.carrier, &key, &fingerprint)
                .await
            {
                // The claim lapses on its own after a minute.
                tracing::warn!(error = %e, "could not release an idempotency claim");
            }
        }
        answer(result?)
    }

    /// Claims the key, waiting a little while the same request is in flight.
    async fn claim(
        &self,
        carrier: &CarrierId,
        key: &str,
        fingerprint: &str,
    ) -> Result<Claim, ApiError> {
        let mut poll = 0;
        loop {
            let claim = self
                .store
                .claim_idempotency(carrier, key, fingerprint, clock::now())
                .await?;
            if claim != Claim::InProgress || poll == IDEMPOTENCY_POLLS {
                return Ok(claim);
            }
            poll += 1;
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// The decision as portguard's API answers it: `201` with the order, or
/// the refusal's error from the one catalogue.
fn answer(decided: Decided) -> Result<Response, ApiError> {
    match decided {
        Decided::Accepted(a) => Ok(created(a.body, &a.location)),
        // This door never asks for resubmissions to be recognised.
        Decided::Resubmitted(_) => Err(refusal_error(Refused::new(Refusal::PortOutInProgress))),
        Decided::Refused(refused) => Err(refusal_error(refused)),
    }
}

fn refusal_error(refused: Refused) -> ApiError {
    let error = match refused.lock {
        Some(LockStatus::Hard) => ApiError::hard_locked(),
        _ => ApiError::refused(refused.refusal),
    }
    .retry_after(refused.retry_after);
    match refused.numbers {
        Some(numbers) => error.details(json!({ "numbers": numbers })),
        None => error,
    }
}

fn created(body: String, location: &str) -> Response {
    lambda_http::Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("location", location)
        .body(Body::Text(body))
        .expect("valid status and headers")
}

/// The first answer again, exactly.
fn replay(stored: StoredResponse) -> Response {
    let mut builder = lambda_http::Response::builder()
        .status(stored.status)
        .header("content-type", "application/json")
        .header("idempotent-replayed", "true");
    if let Some(location) = &stored.location {
        builder = builder.header("location", location);
    }
    builder
        .body(Body::Text(stored.body))
        .unwrap_or_else(|_| ApiError::internal().into_response())
}
