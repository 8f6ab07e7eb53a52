use lambda_http::{http::Method, Body, Request};
use portguard_api::{json, json_object_body, ApiError, Caller, Paging, Response, Scope};
use portguard_email::Mailer;
use portguard_rules::CarrierLocks;
use portguard_secrets::{CodeHasher, PinHasher, TokenSigner};
use portguard_store::{
    clock, conflict_backoff, tenants::Written, Actor, ActorKind, AuditEvent, AuditType, Store,
    TenantRef,
};
use portguard_validation::Pin;
use serde_json::{json, Value};

use crate::protection::Admin;

/// Everything a request needs, built once per cold start.
pub struct App {
    pub(crate) store: Store,
    pub(crate) hasher: PinHasher,
    pub(crate) paging: Paging,
    pub(crate) allow_loopback_http: bool,
    /// `PROTECTION_DISABLE_DELAY_SECONDS` (contract §11).
    pub(crate) protection_delay: i64,
    /// `TRANSFER_PIN_TTL_SECONDS` (contract §12).
    pub(crate) transfer_pin_ttl: i64,
    /// Tenant id → account number, remembered across requests (`PUT /v1/pin`).
    pub(crate) accounts: AccountMemory,
    /// Confirmation codes of alert contacts (contract §17), and their email.
    pub(crate) code_hasher: CodeHasher,
    pub(crate) mailer: Mailer,
}

/// Which account number each tenant had when last read. Operators move a
/// tenant to another account number rarely; a reader that finds the record
/// no longer the tenant's forgets the entry and reads the pointer again.
/// Bounded: a process serves few tenants, and forgetting costs one read.
#[derive(Default)]
pub(crate) struct AccountMemory(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl AccountMemory {
    const MAX: usize = 4096;

    pub(crate) fn get(&self, tenant_id: &str) -> Option<String> {
        self.0.lock().ok()?.get(tenant_id).cloned()
    }

    pub(crate) fn remember(&self, tenant_id: &str, account: &str) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            map.insert(tenant_id.to_owned(), account.to_owned());
        }
    }

    pub(crate) fn forget(&self, tenant_id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(tenant_id);
        }
    }
}

/// Conflicting writes (a failed attempt landing between our read and our
/// write) are retried with a fresh read this many times.
const WRITE_ATTEMPTS: usize = 16;

impl App {
    /// An app that sends no email ([`App::with_mailer`] adds it).
    pub fn new(store: Store, hasher: PinHasher) -> App {
        let paging = Paging::new(TokenSigner::derive(&hasher, "portguard/next-token/v1"));
        App {
            store,
            accounts: AccountMemory::default(),
            code_hasher: CodeHasher::new(&hasher),
            mailer: Mailer::disabled(),
            hasher,
            paging,
            allow_loopback_http: false,
            protection_delay: 86_400,
            transfer_pin_ttl: 604_800,
        }
    }

    /// Sends the alert contacts' confirmation codes with `mailer`.
    pub fn with_mailer(mut self, mailer: Mailer) -> App {
        self.mailer = mailer;
        self
    }

    /// How long a turn-off of a protection waits (tests use short ones).
    pub fn with_protection_delay(mut self, seconds: i64) -> App {
        self.protection_delay = seconds;
        self
    }

    /// How long a transfer PIN lives (tests use short ones).
    pub fn with_transfer_pin_ttl(mut self, seconds: i64) -> App {
        self.transfer_pin_ttl = seconds;
        self
    }

    /// Reads the configuration of contract §9; fails naming the variable.
    pub async fn from_env() -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let table = portguard_api::config::table_name()?;
        let delay = portguard_api::config::protection_disable_delay()?;
        let ttl = portguard_api::config::transfer_pin_ttl()?;
        let hasher = PinHasher::from_env().await?;
        hasher.prepare();
        portguard_validation::PhoneNumber::prepare();
        let loopback = portguard_api::config::allow_loopback_http()?;
        let (store, mailer) =
            tokio::join!(Store::connect_at_init(table, "TENANT"), Mailer::from_env());
        Ok(App::new(store, hasher)
            .with_mailer(mailer?)
            .allow_loopback_http(loopback)
            .with_protection_delay(delay)
            .with_transfer_pin_ttl(ttl))
    }

    /// Never fails: every outcome is an HTTP answer (tests call this).
    pub async fn handle(&self, req: Request) -> Response {
        portguard_api::answer(self.route(&req).await)
    }

    /// The answer to one request; `serve` turns errors into answers.
    pub async fn route(&self, req: &Request) -> Result<Response, ApiError> {
        let path = req.uri().path().trim_end_matches('/');
        match path {
            "/v1/pin" => {
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                let Caller::Admin { tenant_id, subject } = &caller else {
                    return Err(ApiError::forbidden());
                };
                let actor = Actor {
                    kind: ActorKind::TenantAdmin,
                    id: subject.clone(),
                };
                match *req.method() {
                    Method::GET => self.get_pin(tenant_id.as_str()).await,
                    Method::PUT => {
                        let ip = portguard_api::source_ip(req);
                        self.put_pin(tenant_id.as_str(), actor, ip, req.body()).await
                    }
                    Method::DELETE => Err(ApiError::new(
                        405,
                        "PIN_CANNOT_BE_REMOVED",
                        "a port-out PIN cannot be removed or set back to blank; change it with PUT instead",
                    )),
                    _ => Err(ApiError::method_not_allowed("GET, PUT")),
                }
            }
            "/v1/port-out-protection" => {
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                self.protection_route(req, admin(req, &caller)?).await
            }
            "/v1/numbers" => {
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                let tenant_id = admin(req, &caller)?.tenant_id;
                self.list_numbers(req, &caller, tenant_id).await
            }
            _ if path.starts_with("/v1/numbers/") => {
                let segment = &path["/v1/numbers/".len()..];
                if segment.contains('/') {
                    return Err(ApiError::not_found());
                }
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                self.number_route(req, admin(req, &caller)?, segment).await
            }
            crate::transfer_pins::COLLECTION => {
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                self.transfer_pins_route(req, &caller, admin(req, &caller)?, None)
                    .await
            }
            _ if path.starts_with("/v1/transfer-pins/") => {
                let id = &path["/v1/transfer-pins/".len()..];
                if id.contains('/') {
                    return Err(ApiError::not_found());
                }
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                self.transfer_pins_route(req, &caller, admin(req, &caller)?, Some(id))
                    .await
            }
            "/v1/audit-events" => {
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                if req.method() != Method::GET {
                    return Err(ApiError::method_not_allowed("GET"));
                }
                self.list_audit(req, &caller).await
            }
            "/v1/notification-endpoint" => self.notification_endpoint(req).await,
            // Boxed: the contacts' futures (a send through SES among them)
            // would otherwise make every route's future as large as theirs.
            crate::alert_contacts::COLLECTION => {
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                Box::pin(self.alert_contacts_route(req, admin(req, &caller)?, None)).await
            }
            _ if path.starts_with("/v1/alert-contacts/") => {
                let rest = &path["/v1/alert-contacts/".len()..];
                let caller = Caller::from_request(req, &[Scope::Admin])?;
                Box::pin(self.alert_contacts_route(req, admin(req, &caller)?, Some(rest))).await
            }
            _ => Err(ApiError::not_found()),
        }
    }

    async fn get_pin(&self, tenant_id: &str) -> Result<Response, ApiError> {
        let tenant = self
            .store
            .get_tenant(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)?;
        let updated_at = tenant.pin_updated_at.as_deref();
        Ok(json(
            200,
            &pin_status(tenant_id, tenant.pin.is_some(), updated_at, &tenant.locks),
        ))
    }

    /// The pointer: one read, all that a PUT decides on before it writes.
    async fn tenant(&self, tenant_id: &str) -> Result<TenantRef, ApiError> {
        self.store
            .get_tenant_ref(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)
    }

    async fn put_pin(
        &self,
        tenant_id: &str,
        actor: Actor,
        source_ip: Option<String>,
        body: &Body,
    ) -> Result<Response, ApiError> {
        let (mut tenant, pin, mut hard_locked) =
            self.check_new_pin(tenant_id, parse_pin(body)).await?;
        // Inline on purpose: a Lambda process serves one request at a time,
        // and hashing on the one runtime thread keeps a single 19 MiB Argon2
        // block resident instead of one per blocking-pool thread.
        let started = std::time::Instant::now();
        let stored = self.hasher.hash(&pin);
        let argon2_ms = started.elapsed().as_secs_f64() * 1e3;
        for attempt in 0..WRITE_ATTEMPTS as u32 {
            let now = clock::now();
            let kind = if tenant.pin_set {
                AuditType::PinChanged
            } else {
                AuditType::PinSet
            };
            let audit = AuditEvent::new(tenant_id, now, kind, actor.clone())
                .source_ip(source_ip.as_deref());
            // Not hard-locked as read: the write also refuses a hard lock
            // that came since, so PIN_UNCHANGED is decided again.
            let written = self
                .store
                .set_pin_if(
                    &tenant,
                    &stored.hash,
                    &stored.pepper_version,
                    &clock::format(now),
                    &audit,
                    !hard_locked,
                )
                .await?;
            match written {
                Written::Done(()) => {
                    tracing::info!(tenant_id, event = kind.as_str(), argon2_ms, "pin stored");
                    // A stored PIN clears any lock.
                    let updated_at = clock::format(now);
                    return Ok(json(
                        200,
                        &pin_status(tenant_id, true, Some(&updated_at), &CarrierLocks::default()),
                    ));
                }
                Written::Conflict => {
                    conflict_backoff(attempt).await;
                    tenant = self.tenant(tenant_id).await?;
                    hard_locked = self.recheck_unchanged(&tenant, &pin).await?;
                }
            }
        }
        Err(ApiError::unavailable())
    }
}

/// The `pin` field under contract §3's rules. The message never echoes the value.
fn parse_pin(body: &Body) -> Result<Pin, ApiError> {
    let body = json_object_body(body)?;
    let pin = match body.get("pin") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(ApiError::invalid_request("pin must be a string of digits")),
    };
    Pin::parse_new(pin).map_err(crate::pin_rules::pin_error)
}

/// The tenant admin behind `caller`, for routes and their audit records.
fn admin<'a>(req: &Request, caller: &'a Caller) -> Result<Admin<'a>, ApiError> {
    let Caller::Admin { tenant_id, subject } = caller else {
        return Err(ApiError::forbidden());
    };
    Ok(Admin {
        tenant_id: tenant_id.as_str(),
        actor: Actor {
            kind: ActorKind::TenantAdmin,
            id: subject.clone(),
        },
        source_ip: portguard_api::source_ip(req),
    })
}

pub(crate) fn tenant_not_found() -> ApiError {
    ApiError::new(
        404,
        "TENANT_NOT_FOUND",
        "this tenant is not provisioned for port-out protection; contact your provider",
    )
}

/// `{"tenantId", "pinSet", "updatedAt", "locked", "lockedUntil", "lockedCarriers"}`.
pub(crate) fn pin_status(
    tenant_id: &str,
    pin_set: bool,
    updated_at: Option<&str>,
    locks: &CarrierLocks,
) -> Value {
    // Per carrier (contract §3): locked while any carrier is; lockedUntil
    // the latest end of a timed lock, null while any lock is hard.
    let now = clock::now();
    let (locked, until) = locks.summary(now);
    let carriers: Vec<Value> = locks
        .locked(now)
        .into_iter()
        .map(|l| json!({"carrierId": l.carrier_id, "until": l.until.map(clock::format)}))
        .collect();
    json!({
        "tenantId": tenant_id,
        "pinSet": pin_set,
        "updatedAt": updated_at,
        "locked": locked,
        "lockedUntil": until.map(clock::format),
        "lockedCarriers": carriers,
    })
}
