//! Port-out protection (contract §11): `GET/PATCH /v1/port-out-protection`
//! (the numbers' own locks are in `numbers.rs`). The decisions
//! (what is in force now, what a PATCH changes) come from
//! `portguard_rules::protection`; a write is conditioned on what it was
//! decided on, and a lost race is decided again from a fresh read.

use crate::app::tenant_not_found;
use crate::routes::Admin;
use crate::App;
use lambda_http::{http::Method, Body, Request};
use portguard_api::{json, json_object_body, ApiError, Response};
use portguard_rules::{Change, Setting};
use portguard_store::protection::Protection;
use portguard_store::tenants::Written;
use portguard_store::{clock, retry_on_conflict, AuditEvent, AuditType, Tenant, TenantRef};
use portguard_validation::TenantId;
use serde_json::{json, Map, Value};

/// A PATCH that keeps losing races to other writers gives up after this
/// many fresh reads (each lost race means another request made progress).
pub(crate) const WRITE_ATTEMPTS: u32 = 16;

/// The settings of `PATCH /v1/port-out-protection`, by their API name.
const TENANT_SETTINGS: [&str; 2] = ["lock", "transferPinRequired"];

/// `{"enabled": …, "disableAt": …}` of a setting at `now`.
pub(crate) fn setting_json(setting: Setting, now: i64) -> Value {
    let view = setting.view(now);
    json!({"enabled": view.enabled, "disableAt": view.disable_at.map(clock::format)})
}

fn protection_json(tenant_id: &TenantId, p: &Protection, now: i64) -> Value {
    json!({
        "tenantId": tenant_id,
        "lock": setting_json(p.lock, now),
        "transferPinRequired": setting_json(p.transfer_pin_required, now),
        "updatedAt": p.updated_at.map(clock::format),
    })
}

/// The audit record of one change, or none for a no-op.
pub(crate) fn change_event(
    admin: &Admin<'_>,
    setting: &str,
    change: Change,
    now: i64,
) -> Option<AuditEvent> {
    match change {
        Change::Unchanged => None,
        Change::Enable | Change::CancelTurnOff => Some(
            admin
                .event(now, AuditType::ProtectionEnabled)
                .setting(setting),
        ),
        Change::RequestTurnOff { until } => Some(
            admin
                .event(now, AuditType::ProtectionDisableRequested)
                .setting(setting)
                .until(Some(until)),
        ),
    }
}

pub(crate) fn not_eligible() -> ApiError {
    ApiError::tenant_not_eligible()
}

/// The known boolean fields of a PATCH body: at least one, each a boolean.
pub(crate) fn patch_fields(
    body: &Body,
    known: &[&'static str],
) -> Result<Vec<(&'static str, bool)>, ApiError> {
    let body: Map<String, Value> = json_object_body(body)?;
    let mut fields = Vec::new();
    for &name in known {
        match body.get(name) {
            None => {}
            Some(Value::Bool(b)) => fields.push((name, *b)),
            Some(_) => {
                return Err(ApiError::invalid_request(format!(
                    "{name} must be true or false"
                )))
            }
        }
    }
    if fields.is_empty() {
        return Err(ApiError::invalid_request(format!(
            "the body must set {} to true or false",
            known.join(" or ")
        )));
    }
    Ok(fields)
}

impl App {
    /// `/v1/port-out-protection`.
    pub(crate) async fn protection_route(
        &self,
        req: &Request,
        admin: Admin<'_>,
    ) -> Result<Response, ApiError> {
        match *req.method() {
            Method::GET => self.get_protection(admin.tenant_id).await,
            Method::PATCH => self.patch_protection(&admin, req.body()).await,
            _ => Err(ApiError::method_not_allowed("GET, PATCH")),
        }
    }

    async fn get_protection(&self, tenant_id: &TenantId) -> Result<Response, ApiError> {
        let tenant = self
            .store
            .get_tenant(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)?;
        Ok(json(
            200,
            &protection_json(tenant_id, &tenant.protection, clock::now()),
        ))
    }

    /// The tenant's record as `PATCH /v1/port-out-protection` needs it, a
    /// US tenant's. With the account number remembered from an earlier
    /// request (as `PUT /v1/pin` does), the record is read directly: one
    /// round trip before the write, not two. A record no longer the
    /// tenant's drops the memory and reads the pointer, as a first request
    /// does.
    async fn protected_tenant(&self, tenant_id: &TenantId) -> Result<Tenant, ApiError> {
        if let Some(account) = self.accounts.get(tenant_id) {
            let record = self.store.tenant_by_account(&account).await?;
            match record.filter(|t| t.tenant_id == tenant_id) {
                Some(tenant) if !tenant.is_us() => return Err(not_eligible()),
                Some(tenant) => return Ok(tenant),
                None => self.accounts.forget(tenant_id),
            }
        }
        let pointer: TenantRef = self
            .store
            .get_tenant_ref(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)?;
        if !pointer.is_us() {
            return Err(not_eligible());
        }
        let tenant = self
            .store
            .tenant_by_account(&pointer.account_number)
            .await?
            .filter(|t| t.tenant_id == tenant_id)
            .ok_or_else(tenant_not_found)?;
        self.accounts.remember(tenant_id, &pointer.account_number);
        Ok(tenant)
    }

    async fn patch_protection(&self, admin: &Admin<'_>, body: &Body) -> Result<Response, ApiError> {
        let mut read = Some(self.protected_tenant(admin.tenant_id).await?);
        let fields = patch_fields(body, &TENANT_SETTINGS)?;
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let tenant = match read.take() {
                Some(tenant) => tenant,
                None => self.protected_tenant(admin.tenant_id).await?,
            };
            let now = clock::now();
            let mut next = tenant.protection;
            let mut events = Vec::new();
            for &(name, want) in &fields {
                let setting = match name {
                    "lock" => &mut next.lock,
                    _ => &mut next.transfer_pin_required,
                };
                let change = setting.decide(want, now, self.protection_delay);
                events.extend(change_event(admin, name, change, now));
                *setting = setting.apply(change, now);
            }
            if events.is_empty() {
                return Ok(json(
                    200,
                    &protection_json(admin.tenant_id, &tenant.protection, now),
                ));
            }
            next.updated_at = Some(now);
            match self.store.write_protection(&tenant, &next, &events).await? {
                Written::Done(()) => {
                    for event in &events {
                        tracing::info!(
                            tenant_id = %admin.tenant_id,
                            event = event.kind.as_str(),
                            setting = event.setting.as_deref(),
                            "protection changed"
                        );
                    }
                    return Ok(json(200, &protection_json(admin.tenant_id, &next, now)));
                }
                Written::Conflict => {}
            }
        }
        Err(ApiError::unavailable())
    }
}
