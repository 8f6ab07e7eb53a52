//! Bandwidth's door to the one port-out decision (contract §15): its
//! port-out validation webhook and its order notifications.
//!
//! Bandwidth lets the numbers go on any answer but a well-formed `200` that
//! says no, so after authentication the validation route answers nothing
//! else: a failure of portguard's own (the table down, a deadline passed, a
//! panic) is `Portable` false with `7598`, which the gaining carrier
//! resubmits.

use crate::decision::{Attempt, Decided, Holder, PortOutRequest};
use crate::handler::SERVICE;
use crate::App;
use futures::FutureExt;
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use portguard_api::{metrics, ApiError, Code, Response};
use portguard_bandwidth::codes::{self, BwError};
use portguard_bandwidth::xml::{self, Notification};
use portguard_bandwidth::{parse_validation, Validation};
use portguard_rules::OrderStatus;
use portguard_secrets::{BasicCheck, BasicCredentials};
use portguard_store::orders::TransitionOutcome;
use portguard_store::{clock, clock::Timestamp, Actor, ActorKind, AuditEvent, Source};
use portguard_validation::{CarrierId, OrderId, PhoneNumber, Pon};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

pub(crate) const VALIDATION_PATH: &str = "/v1/integrations/bandwidth/port-out-validation";
pub(crate) const NOTIFICATIONS_PATH: &str = "/v1/integrations/bandwidth/notifications";

/// The longest a validation may take before portguard answers `7598`
/// itself: well inside Bandwidth's 30 s and the function's timeout.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(6);

/// The integration's configuration (contract §9).
pub struct Bandwidth {
    pub credentials: BasicCredentials,
    /// The carrier Bandwidth's requests are counted, ordered and audited as.
    pub carrier: CarrierId,
    pub deadline: Duration,
}

impl Bandwidth {
    /// `BANDWIDTH_CREDENTIALS[_ARN]` and `BANDWIDTH_CARRIER_ID`; `None` when
    /// no credentials are configured (the routes answer `404`).
    pub async fn from_env() -> Result<Option<Bandwidth>, Box<dyn std::error::Error + Send + Sync>> {
        let credentials =
            BasicCredentials::from_env("BANDWIDTH_CREDENTIALS", "BANDWIDTH_CREDENTIALS_ARN")
                .await?;
        let carrier = std::env::var("BANDWIDTH_CARRIER_ID").unwrap_or_else(|_| "bandwidth".into());
        let carrier =
            CarrierId::parse(&carrier).map_err(|e| format!("BANDWIDTH_CARRIER_ID: {e}"))?;
        Ok(credentials.map(|credentials| Bandwidth {
            credentials,
            carrier,
            deadline: DEFAULT_DEADLINE,
        }))
    }
}

/// The two routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Validation,
    Notifications,
}

impl Route {
    pub fn of(path: &str) -> Option<Route> {
        match path {
            VALIDATION_PATH => Some(Route::Validation),
            NOTIFICATIONS_PATH => Some(Route::Notifications),
            _ => None,
        }
    }
}

impl App {
    /// Either route: configured, `POST`, then HTTP Basic.
    pub(crate) async fn bandwidth(
        &self,
        req: &Request,
        route: Route,
    ) -> Result<Response, ApiError> {
        let Some(bw) = &self.bandwidth else {
            return Err(ApiError::not_found());
        };
        if req.method() != Method::POST {
            return Err(ApiError::method_not_allowed("POST"));
        }
        let header = req.headers().get("authorization").map(|v| v.as_bytes());
        match (bw.credentials.check(header), route) {
            (BasicCheck::Missing, _) => Ok(challenge()),
            (BasicCheck::Wrong, route) => {
                metrics::count(SERVICE, "IntegrationAuthFailed");
                tracing::warn!(integration = "bandwidth", "wrong Basic credentials");
                match route {
                    // Fail closed and read nothing: a well-formed no.
                    Route::Validation => Ok(answer(None, Some(codes::UNAVAILABLE))),
                    Route::Notifications => Ok(challenge()),
                }
            }
            (BasicCheck::Right, Route::Validation) => Ok(self.validation(bw, req).await),
            (BasicCheck::Right, Route::Notifications) => self.notification(bw, req).await,
        }
    }

    /// A body over 64 KiB, refused before anything reads it: on the
    /// validation route still a well-formed no (never `413`).
    pub fn too_large(&self, req: &Request) -> Option<Response> {
        let bw = self.bandwidth.as_ref()?;
        if Route::of(crate::handler::path(req)) != Some(Route::Validation)
            || req.method() != Method::POST
        {
            return None;
        }
        let header = req.headers().get("authorization").map(|v| v.as_bytes());
        Some(match bw.credentials.check(header) {
            BasicCheck::Missing => challenge(),
            _ => answer(None, Some(codes::MALFORMED)),
        })
    }

    /// Always `200` with a well-formed answer, whatever happens inside.
    async fn validation(&self, bw: &Bandwidth, req: &Request) -> Response {
        let body: &[u8] = req.body().as_ref();
        let parsed = std::panic::catch_unwind(|| parse_validation(body));
        let Ok((pon, parsed)) = parsed else {
            return self.unavailable(None, "a panic while reading the request");
        };
        let request = match parsed {
            Ok(valid) => request(valid),
            Err(error) => {
                tracing::info!(
                    code = error.code,
                    "Bandwidth validation refused before the decision"
                );
                return answer(pon, Some(error));
            }
        };
        let attempt = Attempt {
            carrier: &bw.carrier,
            actor: Actor {
                kind: ActorKind::Carrier,
                id: Some(bw.carrier.to_string()),
            },
            source_ip: portguard_api::source_ip(req),
            numbers: request.numbers.clone(),
        };
        let decided = AssertUnwindSafe(self.decide(&attempt, &request, None)).catch_unwind();
        match tokio::time::timeout(bw.deadline, decided).await {
            Ok(Ok(Ok(Decided::Accepted(_)))) => answer(pon, None),
            Ok(Ok(Ok(Decided::Resubmitted(id)))) => {
                tracing::info!(port_out_id = %id, "Bandwidth resubmitted an open order");
                answer(pon, None)
            }
            Ok(Ok(Ok(Decided::Refused(refused)))) => {
                answer(pon, Some(codes::refusal(refused.refusal, refused.lock)))
            }
            Ok(Ok(Err(e))) => self.unavailable(pon, &format!("{} {}", e.status, e.code)),
            Ok(Err(_)) => self.unavailable(pon, "a panic while deciding"),
            Err(_) => self.unavailable(pon, "the deadline passed"),
        }
    }

    fn unavailable(&self, pon: Option<Pon>, cause: &str) -> Response {
        metrics::count(SERVICE, "ValidationUnavailable");
        tracing::error!(
            cause,
            "Bandwidth validation answered 7598: portguard could not decide"
        );
        answer(pon, Some(codes::UNAVAILABLE))
    }

    /// An order notification: `COMPLETE` of `portouts` closes every open
    /// order of Bandwidth's carrier holding a completed number.
    async fn notification(&self, bw: &Bandwidth, req: &Request) -> Result<Response, ApiError> {
        let body: &[u8] = req.body().as_ref();
        let mut n: Notification = xml::read(body, "Notification").map_err(|e| {
            ApiError::explained(
                Code::InvalidEvent,
                format!("not a Bandwidth order notification: {}", e.0),
            )
        })?;
        let (order_type, status) = (n.order_type.as_deref(), n.status.as_deref());
        if order_type.map(str::trim) != Some("portouts")
            || status.map(str::trim) != Some("COMPLETE")
        {
            tracing::info!(
                order_type = order_type.map(portguard_api::echo),
                status = status.map(portguard_api::echo),
                "Bandwidth notification ignored: not a completed port-out"
            );
            return Ok(empty());
        }
        let mut ported: Vec<PhoneNumber> = Vec::new();
        for raw in n.completed.take().map(|c| c.numbers).unwrap_or_default() {
            match PhoneNumber::parse(raw.trim()) {
                Ok(number) if !ported.contains(&number) => ported.push(number),
                Ok(_) => {}
                Err(_) => {
                    tracing::info!(number = %portguard_api::echo(&raw), "not a US number; ignored")
                }
            }
        }
        // The open orders holding the ported numbers, each with its own.
        let mut by_order: BTreeMap<OrderId, Vec<PhoneNumber>> = BTreeMap::new();
        for record in self.store.number_records(&ported).await? {
            if let Some(id) = record.open_port_out_id {
                by_order.entry(id).or_default().push(record.number);
            }
        }
        let ip = portguard_api::source_ip(req);
        let mut completed = 0;
        for (id, numbers) in by_order {
            completed += self.complete(bw, &id, &numbers, ip.as_deref()).await? as usize;
        }
        tracing::info!(
            bandwidth_order_id = n.order_id.as_deref().map(portguard_api::echo),
            numbers = ported.len(),
            completed,
            "Bandwidth port-out completion handled"
        );
        Ok(empty())
    }

    /// Completes one order of Bandwidth's carrier with `ported`; `false`
    /// when it is another carrier's or no longer open.
    async fn complete(
        &self,
        bw: &Bandwidth,
        id: &OrderId,
        ported: &[PhoneNumber],
        ip: Option<&str>,
    ) -> Result<bool, ApiError> {
        let mut rounds = portguard_store::retry_on_conflict(8);
        while rounds.next().await.is_some() {
            let Some(order) = self.store.get_order(id).await? else {
                return Ok(false);
            };
            if order.carrier_id != bw.carrier || order.status.is_terminal() {
                return Ok(false);
            }
            let now = clock::now();
            let actor = Actor {
                kind: ActorKind::Carrier,
                id: Some(bw.carrier.to_string()),
            };
            let audit = AuditEvent::status_changed(&order, OrderStatus::Completed, actor, now)
                .source_ip(ip);
            match self
                .store
                .complete_order(&order, ported, Timestamp::from_unix(now), &audit)
                .await?
            {
                TransitionOutcome::Applied(_) => {
                    metrics::count(SERVICE, "TransitionApplied");
                    return Ok(true);
                }
                TransitionOutcome::OrderChanged | TransitionOutcome::Duplicate => continue,
            }
        }
        tracing::warn!(port_out_id = %id, "the order kept changing; Bandwidth will retry");
        Err(ApiError::unavailable())
    }
}

/// The request as the one decision takes it: Bandwidth's, and a repeat of
/// an open order is that order (contract §15).
fn request(valid: Validation) -> PortOutRequest {
    PortOutRequest {
        holder: Holder::Account(valid.account),
        pin: valid.pin,
        numbers: valid.numbers,
        pon: valid.pon,
        authorized_name: None,
        requested_foc_date: None,
        source: Source::Bandwidth,
        external_id: None,
        resubmission_is_accepted: true,
    }
}

/// `200` with the validation answer: portable without an error, else not.
fn answer(pon: Option<Pon>, error: Option<BwError>) -> Response {
    lambda_http::Response::builder()
        .status(200)
        .header("content-type", "application/xml")
        .body(Body::Text(portguard_bandwidth::answer_xml(
            pon.as_ref(),
            error,
        )))
        .expect("valid status and headers")
}

/// `401` with the challenge Bandwidth answers with its credentials.
fn challenge() -> Response {
    let mut resp = ApiError::of(Code::Unauthenticated).into_response();
    resp.headers_mut().insert(
        "www-authenticate",
        "Basic realm=\"portguard\"".parse().expect("ASCII"),
    );
    resp
}

fn empty() -> Response {
    lambda_http::Response::builder()
        .status(200)
        .body(Body::Empty)
        .expect("valid status")
}
