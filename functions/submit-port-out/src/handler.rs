use crate::bandwidth::{self, Bandwidth};
use crate::telnyx::{Telnyx, EVENTS_PATH as TELNYX_EVENTS};
use lambda_http::{http::Method, Request, RequestExt};
use portguard_api::{ApiError, Caller, Paging, Response, Scope};
use portguard_rules::LockPolicy;
use portguard_secrets::{PinHasher, TokenSigner};
use portguard_store::{Actor, ActorKind, Store};

/// The raw path, without any stage prefix or trailing slash; identity
/// never comes from the body.
pub(crate) fn path(req: &Request) -> &str {
    let raw = match req.raw_http_path() {
        "" => req.uri().path(),
        raw => raw,
    };
    raw.trim_end_matches('/')
}

/// The `service` of logs and metrics.
pub const SERVICE: &str = "submit-port-out";

/// The collection route; an order is `{COLLECTION}/{id}`.
pub(crate) const COLLECTION: &str = "/v1/port-outs";

/// Everything a request needs, built once per cold start.
pub struct App {
    pub(crate) store: Store,
    pub(crate) hasher: PinHasher,
    pub(crate) paging: Paging,
    /// Keys the fingerprint of an idempotent request (the request without
    /// its PIN; a keyed MAC, so the stored record tells nothing of the
    /// body either). Its key outlives a pepper
    /// rotation, so a retry across one still replays.
    pub(crate) idempotency: TokenSigner,
    pub(crate) policy: LockPolicy,
    /// Bandwidth's door (contract §15), when configured.
    pub(crate) bandwidth: Option<Bandwidth>,
    /// Telnyx's door (contract §16), when configured.
    pub(crate) telnyx: Option<Telnyx>,
    /// Probes of account numbers and numbers, per carrier (issue 23).
    pub(crate) probes: crate::decision::ProbeWatch,
    /// The account of the tenant owning an upstream port-out's first
    /// number, remembered so the next decision reads it directly.
    pub(crate) accounts: portguard_store::accounts::AccountMemory,
}

impl App {
    pub fn new(store: Store, hasher: PinHasher, policy: LockPolicy) -> App {
        let paging = Paging::new(TokenSigner::derive(&hasher, "portguard/next-token/v1"));
        let idempotency = TokenSigner::derive_stable(&hasher, "portguard/idempotency/v1");
        App {
            store,
            hasher,
            paging,
            idempotency,
            policy,
            bandwidth: None,
            telnyx: None,
            probes: crate::decision::ProbeWatch::default(),
            accounts: Default::default(),
        }
    }

    /// The window and threshold of the per-carrier probe warning (tests use
    /// small ones; the defaults are `PROBE_WINDOW_SECONDS`, `PROBE_THRESHOLD`).
    pub fn with_probe_warning(mut self, window_seconds: i64, threshold: u32) -> App {
        self.probes = crate::decision::ProbeWatch::new(window_seconds, threshold);
        self
    }

    /// Opens Bandwidth's door (contract §15).
    pub fn with_bandwidth(mut self, bandwidth: Bandwidth) -> App {
        self.bandwidth = Some(bandwidth);
        self
    }

    /// Opens Telnyx's door (contract §16).
    pub fn with_telnyx(mut self, telnyx: Telnyx) -> App {
        self.telnyx = Some(telnyx);
        self
    }

    /// Reads the configuration of contract §9; fails naming the variable.
    pub async fn from_env() -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let table = portguard_api::config::table_name()?;
        let policy = portguard_api::config::lock_policy()?;
        let hasher = PinHasher::from_env().await?;
        hasher.prepare();
        portguard_validation::PhoneNumber::prepare();
        let bandwidth = Bandwidth::from_env().await?;
        let telnyx = Telnyx::from_env().await?;
        let store = Store::connect_at_init(table, "ACCOUNT").await;
        let mut app = App::new(store, hasher, policy);
        app.bandwidth = bandwidth;
        app.telnyx = telnyx;
        Ok(app)
    }

    /// Never fails: every outcome is an HTTP answer (tests call this).
    pub async fn handle(&self, req: Request) -> Response {
        portguard_api::answer(self.route(&req).await)
    }

    /// The answer to one request; `serve` turns errors into answers.
    pub async fn route(&self, req: &Request) -> Result<Response, ApiError> {
        let path = path(req);
        let method = req.method();
        if let Some(route) = bandwidth::Route::of(path) {
            return self.bandwidth(req, route).await;
        }
        if path == TELNYX_EVENTS {
            // Boxed: the door's future (a decision and an HTTP call) stays
            // out of every other route's.
            return Box::pin(self.telnyx(req)).await;
        }
        if path == COLLECTION {
            let scopes: &[Scope] = if method == Method::POST {
                &[Scope::Carrier]
            } else {
                &[Scope::Carrier, Scope::Admin]
            };
            let caller = Caller::from_request(req, scopes)?;
            return match *method {
                Method::GET => self.list(req, &caller).await,
                Method::POST => {
                    let Caller::Carrier { carrier_id } = &caller else {
                        return Err(ApiError::forbidden());
                    };
                    self.submit(req, carrier_id).await
                }
                _ => Err(ApiError::method_not_allowed("GET, POST")),
            };
        }
        if let Some(id) = path
            .strip_prefix(COLLECTION)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            if let Some(id) = id.strip_suffix("/reject") {
                return self.reject_route(req, id).await;
            }
            if id.is_empty() || id.contains('/') {
                return Err(ApiError::not_found());
            }
            let caller = Caller::from_request(req, &[Scope::Carrier, Scope::Admin])?;
            if method != Method::GET {
                return Err(ApiError::method_not_allowed("GET"));
            }
            return self.get(&caller, id).await;
        }
        Err(ApiError::not_found())
    }

    /// `POST /v1/port-outs/{id}/reject`: tenant admins only (a carrier's
    /// token is `403`).
    async fn reject_route(&self, req: &Request, id: &str) -> Result<Response, ApiError> {
        if id.is_empty() || id.contains('/') {
            return Err(ApiError::not_found());
        }
        let caller = Caller::from_request(req, &[Scope::Admin])?;
        let Caller::Admin { tenant_id, subject } = &caller else {
            return Err(ApiError::forbidden());
        };
        if req.method() != Method::POST {
            return Err(ApiError::method_not_allowed("POST"));
        }
        let actor = Actor {
            kind: ActorKind::TenantAdmin,
            id: subject.clone(),
        };
        let ip = portguard_api::source_ip(req);
        self.reject_order(tenant_id, actor, ip, id, req.body())
            .await
    }
}
