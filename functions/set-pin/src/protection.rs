//! Port-out protection (contract §11): `GET/PATCH /v1/port-out-protection`,
//! `GET /v1/numbers`, `GET/PATCH /v1/numbers/{phoneNumber}`. The decisions
//! (what is in force now, what a PATCH changes) come from
//! `portguard_rules::protection`; a write is conditioned on what it was
//! decided on, and a lost race is decided again from a fresh read.

use crate::handler::tenant_not_found;
use crate::App;
use lambda_http::{http::Method, Body, Request};
use portguard_api::{json, json_object_body, ApiError, Caller, Response};
use portguard_rules::{Change, Setting};
use portguard_store::numbers::NumberRecord;
use portguard_store::protection::Protection;
use portguard_store::tenants::Written;
use portguard_store::{clock, conflict_backoff, Actor, AuditEvent, AuditType, Tenant, TenantRef};
use portguard_validation::PhoneNumber;
use serde_json::{json, Map, Value};

/// A PATCH that keeps losing races to other writers gives up after this
/// many fresh reads (each lost race means another request made progress).
const WRITE_ATTEMPTS: u32 = 16;

/// The settings of `PATCH /v1/port-out-protection`, by their API name.
const TENANT_SETTINGS: [&str; 2] = ["lock", "transferPinRequired"];

/// Who asks, for the audit trail.
pub(crate) struct Admin<'a> {
    pub tenant_id: &'a str,
    pub actor: Actor,
    pub source_ip: Option<String>,
}

impl Admin<'_> {
    fn event(&self, now: i64, kind: AuditType, setting: &str) -> AuditEvent {
        AuditEvent::new(self.tenant_id, now, kind, self.actor.clone())
            .source_ip(self.source_ip.as_deref())
            .setting(setting)
    }
}

/// `{"enabled": …, "disableAt": …}` of a setting at `now`.
fn setting_json(setting: Setting, now: i64) -> Value {
    let view = setting.view(now);
    json!({"enabled": view.enabled, "disableAt": view.disable_at.map(clock::format)})
}

fn protection_json(tenant_id: &str, p: &Protection, now: i64) -> Value {
    json!({
        "tenantId": tenant_id,
        "lock": setting_json(p.lock, now),
        "transferPinRequired": setting_json(p.transfer_pin_required, now),
        "updatedAt": p.updated_at.map(clock::format),
    })
}

fn number_json(record: &NumberRecord, now: i64) -> Value {
    json!({
        "phoneNumber": record.number,
        "lock": setting_json(record.lock, now),
        "portOutId": record.open_port_out_id,
    })
}

/// The audit record of one change, or none for a no-op.
fn change_event(admin: &Admin<'_>, setting: &str, change: Change, now: i64) -> Option<AuditEvent> {
    match change {
        Change::Unchanged => None,
        Change::Enable | Change::CancelTurnOff => {
            Some(admin.event(now, AuditType::ProtectionEnabled, setting))
        }
        Change::RequestTurnOff { until } => Some(
            admin
                .event(now, AuditType::ProtectionDisableRequested, setting)
                .until(Some(until)),
        ),
    }
}

fn not_eligible() -> ApiError {
    ApiError::new(
        422,
        "TENANT_NOT_ELIGIBLE",
        "port-out protection is only offered to organisations in the United States",
    )
}

fn number_not_found() -> ApiError {
    ApiError::new(
        404,
        "NUMBER_NOT_FOUND",
        "this number is not on your account",
    )
}

/// At most 64 characters of an input, for an error's details (contract §2).
fn clip(input: &str) -> String {
    input.chars().take(64).collect()
}

fn invalid_number(raw: &str) -> ApiError {
    ApiError::new(
        400,
        "INVALID_PHONE_NUMBER",
        "the path does not name a valid US phone number; write it in E.164 (%2B12065550100) or as 10 digits",
    )
    .details(json!({ "numbers": [clip(raw)] }))
}

/// The known boolean fields of a PATCH body: at least one, each a boolean.
fn patch_fields(
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

    /// `/v1/numbers/{phoneNumber}`; `segment` is the raw path segment.
    pub(crate) async fn number_route(
        &self,
        req: &Request,
        admin: Admin<'_>,
        segment: &str,
    ) -> Result<Response, ApiError> {
        let patch = match *req.method() {
            Method::GET => false,
            Method::PATCH => true,
            _ => return Err(ApiError::method_not_allowed("GET, PATCH")),
        };
        // contract §12's order: tenant, country, body, number.
        let parsed = PhoneNumber::parse_path_segment(segment);
        let (pointer, mut record) = match &parsed {
            Ok(e164) => {
                self.store
                    .admin_number(admin.tenant_id, e164.as_str())
                    .await?
            }
            Err(_) => (self.store.get_tenant_ref(admin.tenant_id).await?, None),
        };
        let pointer = pointer.ok_or_else(tenant_not_found)?;
        let want = if patch {
            if !pointer.is_us() {
                return Err(not_eligible());
            }
            Some(patch_fields(req.body(), &["lock"])?[0].1)
        } else {
            None
        };
        let e164 = parsed.map_err(|_| invalid_number(segment))?;
        for attempt in 0..WRITE_ATTEMPTS {
            // Another tenant's number answers exactly as an unknown one.
            let current = record
                .take()
                .filter(|r| r.tenant_id == pointer.tenant_id)
                .ok_or_else(number_not_found)?;
            // The clock is read after the state: a lock's time is never
            // before an order that reserved the number before the read.
            let now = clock::now();
            let Some(want) = want else {
                return Ok(json(200, &number_json(&current, now)));
            };
            let change = current.lock.decide(want, now, self.protection_delay);
            let Some(event) = change_event(&admin, "lock", change, now) else {
                return Ok(json(200, &number_json(&current, now)));
            };
            let event = event.phone_numbers(&[e164.as_str()]);
            let next = current.lock.apply(change, now);
            match self
                .store
                .write_number_lock(&current, next, now, &event)
                .await?
            {
                Written::Done(()) => {
                    tracing::info!(
                        tenant_id = admin.tenant_id,
                        event = event.kind.as_str(),
                        "number lock changed"
                    );
                    let shown = NumberRecord {
                        lock: next,
                        lock_updated_at: Some(now),
                        ..current
                    };
                    return Ok(json(200, &number_json(&shown, now)));
                }
                Written::Conflict => {
                    conflict_backoff(attempt).await;
                    record = self
                        .store
                        .admin_number(admin.tenant_id, e164.as_str())
                        .await?
                        .1;
                }
            }
        }
        Err(ApiError::unavailable())
    }

    /// `GET /v1/numbers`: the tenant's numbers by number, one Query page.
    pub(crate) async fn list_numbers(
        &self,
        req: &Request,
        caller: &Caller,
        tenant_id: &str,
    ) -> Result<Response, ApiError> {
        if req.method() != Method::GET {
            return Err(ApiError::method_not_allowed("GET"));
        }
        let params = self.paging.params(req, caller, "numbers")?;
        let (pointer, page) = tokio::join!(
            self.store.get_tenant_ref(tenant_id),
            self.store
                .numbers_page(tenant_id, params.limit, params.start)
        );
        pointer?.ok_or_else(tenant_not_found)?;
        let page = page?;
        let now = clock::now();
        let items: Vec<Value> = page.items.iter().map(|r| number_json(r, now)).collect();
        let next = self.paging.token(caller, "numbers", page.next);
        Ok(json(200, &json!({"items": items, "nextToken": next})))
    }

    async fn get_protection(&self, tenant_id: &str) -> Result<Response, ApiError> {
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
    async fn protected_tenant(&self, tenant_id: &str) -> Result<Tenant, ApiError> {
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
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                conflict_backoff(attempt - 1).await;
            }
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
                            tenant_id = admin.tenant_id,
                            event = event.kind.as_str(),
                            setting = event.setting.as_deref(),
                            "protection changed"
                        );
                    }
                    return Ok(json(200, &protection_json(admin.tenant_id, &next, now)));
                }
                Written::Conflict => continue,
            }
        }
        Err(ApiError::unavailable())
    }
}
