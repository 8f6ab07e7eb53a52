//! `GET/PUT /v1/pin` (contract §3): the tenant admin's port-out PIN. The
//! rules a new PIN must pass are in `pin_rules.rs`.

use crate::app::{tenant_not_found, WRITE_ATTEMPTS};
use crate::routes::Admin;
use crate::App;
use lambda_http::{http::Method, Body, Request};
use portguard_api::{json, json_object_body, ApiError, Code, Response};
use portguard_rules::CarrierLocks;
use portguard_store::clock::{self, Timestamp};
use portguard_store::{retry_on_conflict, Actor, AuditEvent, AuditType, TenantRef, Written};
use portguard_validation::{Pin, TenantId};
use serde_json::{json, Value};

impl App {
    /// `/v1/pin`.
    pub(crate) async fn pin_route(
        &self,
        req: &Request,
        admin: Admin<'_>,
    ) -> Result<Response, ApiError> {
        match *req.method() {
            Method::GET => self.get_pin(admin.tenant_id).await,
            Method::PUT => {
                self.put_pin(admin.tenant_id, admin.actor, admin.source_ip, req.body())
                    .await
            }
            Method::DELETE => Err(ApiError::of(Code::PinCannotBeRemoved)),
            _ => Err(ApiError::method_not_allowed("GET, PUT")),
        }
    }

    async fn get_pin(&self, tenant_id: &TenantId) -> Result<Response, ApiError> {
        let tenant = self
            .store
            .get_tenant(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)?;
        let updated_at = tenant.pin_updated_at;
        Ok(json(
            200,
            &pin_status(tenant_id, tenant.pin.is_some(), updated_at, &tenant.locks),
        ))
    }

    /// The pointer: one read, all that a PUT decides on before it writes.
    async fn tenant(&self, tenant_id: &TenantId) -> Result<TenantRef, ApiError> {
        self.store
            .get_tenant_ref(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)
    }

    async fn put_pin(
        &self,
        tenant_id: &TenantId,
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
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while let Some(round) = rounds.next().await {
            if round > 0 {
                tenant = self.tenant(tenant_id).await?;
                hard_locked = self.recheck_unchanged(&tenant, &pin).await?;
            }
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
                    Timestamp::from_unix(now),
                    &audit,
                    !hard_locked,
                )
                .await?;
            if let Written::Done(()) = written {
                tracing::info!(tenant_id = %tenant_id, event = kind.as_str(), argon2_ms, "pin stored");
                // A stored PIN clears any lock.
                let updated_at = Timestamp::from_unix(now);
                return Ok(json(
                    200,
                    &pin_status(tenant_id, true, Some(updated_at), &CarrierLocks::default()),
                ));
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

/// `{"tenantId", "pinSet", "updatedAt", "locked", "lockedUntil", "lockedCarriers"}`.
pub(crate) fn pin_status(
    tenant_id: &TenantId,
    pin_set: bool,
    updated_at: Option<Timestamp>,
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
