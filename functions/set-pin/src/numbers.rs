//! A tenant's numbers and their locks (contract §11): `GET /v1/numbers`,
//! `GET/PATCH /v1/numbers/{phoneNumber}`. A lock is decided by
//! `portguard_rules::protection` like the tenant's (`protection.rs`).

use crate::app::tenant_not_found;
use crate::protection::{change_event, not_eligible, patch_fields, setting_json, WRITE_ATTEMPTS};
use crate::routes::Admin;
use crate::App;
use lambda_http::{http::Method, Request};
use portguard_api::{json, ApiError, Code, Response};
use portguard_store::numbers::NumberRecord;
use portguard_store::tenants::Written;
use portguard_store::{clock, retry_on_conflict};
use portguard_validation::PhoneNumber;
use serde_json::{json, Value};

fn number_json(record: &NumberRecord, now: i64) -> Value {
    json!({
        "phoneNumber": record.number,
        "lock": setting_json(record.lock, now),
        "portOutId": record.open_port_out_id,
    })
}

fn number_not_found() -> ApiError {
    ApiError::of(Code::NumberNotFound)
}

fn invalid_number(raw: &str) -> ApiError {
    ApiError::invalid_phone_numbers([raw])
}

impl App {
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
            Ok(e164) => self.store.admin_number(admin.tenant_id, e164).await?,
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
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while let Some(round) = rounds.next().await {
            if round > 0 {
                record = self.store.admin_number(admin.tenant_id, &e164).await?.1;
            }
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
            let event = event.phone_numbers(std::slice::from_ref(&e164));
            let next = current.lock.apply(change, now);
            match self
                .store
                .write_number_lock(&current, next, now, &event)
                .await?
            {
                Written::Done(()) => {
                    tracing::info!(
                        tenant_id = %admin.tenant_id,
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
                Written::Conflict => {}
            }
        }
        Err(ApiError::unavailable())
    }

    /// `GET /v1/numbers`: the tenant's numbers by number, one Query page.
    pub(crate) async fn list_numbers(
        &self,
        req: &Request,
        admin: &Admin<'_>,
    ) -> Result<Response, ApiError> {
        let (caller, tenant_id) = (admin.caller, admin.tenant_id);
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
}
