//! One-time transfer PINs (contract §12): `POST /v1/transfer-pins`,
//! `GET /v1/transfer-pins`, `DELETE /v1/transfer-pins/{id}`.
//!
//! The PIN is drawn from the OS CSPRNG until it is not weak, hashed like the
//! account PIN (Argon2id, pepper) and shown once, in the `201`. A write is
//! conditioned on the tenant record as read (its `stateVersion`), so the
//! limit of 5 active PINs holds under races; a lost race is decided again
//! from a fresh read.

use crate::app::tenant_not_found;
use crate::routes::Admin;
use crate::App;
use lambda_http::{http::Method, Body, Request, RequestExt};
use portguard_api::{json, json_object_body, ApiError, Code, Response};
use portguard_rules::port_out::Refusal;
use portguard_rules::transfer_pin::{self as rules, TransferPinStatus};
use portguard_secrets::transfer_pin::is_weak_for;
use portguard_secrets::{generate_transfer_pin, StoredPin};
use portguard_store::tenants::Written;
use portguard_store::transfer_pins::TransferPin;
use portguard_store::{clock, retry_on_conflict, AuditEvent, AuditType, TenantRef};
use portguard_validation::{PhoneListError, PhoneNumber, Pin, Repeats, TenantId, TransferPinId};
use serde_json::{json, Value};

/// A write that keeps losing races gives up after this many fresh reads.
const WRITE_ATTEMPTS: u32 = 16;

/// `{"id", "status", "phoneNumbers", "createdAt", "expiresAt", "portOutId"}`
/// with the status at `now`. Never the PIN: only the `201` adds it.
fn view(tp: &TransferPin, now: i64) -> Value {
    json!({
        "id": tp.id,
        "status": tp.status_at(now).as_str(),
        "phoneNumbers": tp.numbers,
        "createdAt": clock::format(tp.created_at),
        "expiresAt": clock::format(tp.expires_at),
        "portOutId": tp.port_out_id,
    })
}

/// Unknown, malformed and another tenant's ids all answer this, byte for byte.
fn not_found() -> ApiError {
    ApiError::of(Code::TransferPinNotFound)
}

fn not_eligible() -> ApiError {
    ApiError::tenant_not_eligible()
}

/// `phoneNumbers` of a `POST` body: 1 to 50 valid US numbers, normalised to
/// E.164; a number given twice (after normalising) counts once.
fn parse_numbers(body: &Body) -> Result<Vec<PhoneNumber>, ApiError> {
    let body = json_object_body(body)?;
    let shape = || {
        ApiError::invalid_request(format!(
            "phoneNumbers must be a list of 1 to {} phone numbers (strings)",
            rules::MAX_NUMBERS
        ))
    };
    let list = match body.get("phoneNumbers") {
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= rules::MAX_NUMBERS => list,
        _ => return Err(shape()),
    };
    let raw: Vec<&str> = list
        .iter()
        .map(Value::as_str)
        .collect::<Option<_>>()
        .ok_or_else(shape)?;
    PhoneNumber::parse_list_with(&raw, Repeats::CountOnce).map_err(|e| match e {
        PhoneListError::Invalid(invalid) => {
            ApiError::invalid_phone_numbers(invalid.iter().map(String::as_str))
        }
        // Both excluded above (the length) and by `CountOnce`.
        PhoneListError::TooMany | PhoneListError::Duplicate(_) => shape(),
    })
}

impl App {
    /// `/v1/transfer-pins` (`id` none) and `/v1/transfer-pins/{id}`.
    pub(crate) async fn transfer_pins_route(
        &self,
        req: &Request,
        admin: Admin<'_>,
        id: Option<&str>,
    ) -> Result<Response, ApiError> {
        match (id, req.method().clone()) {
            (None, Method::GET) => self.list_transfer_pins(req, &admin).await,
            (None, Method::POST) => self.create_transfer_pin(&admin, req.body()).await,
            (None, _) => Err(ApiError::method_not_allowed("GET, POST")),
            (Some(id), Method::DELETE) => self.revoke_transfer_pin(&admin, id).await,
            (Some(_), _) => Err(ApiError::method_not_allowed("DELETE")),
        }
    }

    async fn pointer(&self, tenant_id: &TenantId) -> Result<TenantRef, ApiError> {
        self.store
            .get_tenant_ref(tenant_id)
            .await?
            .ok_or_else(tenant_not_found)
    }

    /// `POST`: checks in contract §12's order, then one transaction.
    async fn create_transfer_pin(
        &self,
        admin: &Admin<'_>,
        body: &Body,
    ) -> Result<Response, ApiError> {
        let tenant_id = admin.tenant_id;
        let mut pointer = self.pointer(tenant_id).await?;
        if !pointer.is_us() {
            return Err(not_eligible());
        }
        let numbers = parse_numbers(body)?;
        // Drawn and hashed once, whatever the number of rounds.
        let mut issued: Option<(Pin, StoredPin, f64)> = None;
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while let Some(round) = rounds.next().await {
            if round > 0 {
                pointer = self.pointer(tenant_id).await?;
                if !pointer.is_us() {
                    return Err(not_eligible());
                }
            }
            // The record and every requested number item: one consistent read.
            let read = self
                .store
                .port_out_view(&pointer.account_number, &numbers)
                .await?;
            let Some(read) = read.filter(|v| v.tenant.tenant_id == tenant_id) else {
                continue; // renumbered since the pointer was read
            };
            let foreign: Vec<&PhoneNumber> = numbers
                .iter()
                .filter(|n| {
                    read.numbers
                        .get(*n)
                        .is_none_or(|r| r.tenant_id != tenant_id)
                })
                .collect();
            if !foreign.is_empty() {
                return Err(ApiError::refused(Refusal::NumberNotOnAccount)
                    .details(json!({ "numbers": foreign })));
            }
            let now = clock::now();
            let live = read
                .tenant
                .transfer_pins
                .iter()
                .filter(|e| e.is_live(now))
                .count();
            if !rules::may_issue(live) {
                return Err(ApiError::of(Code::TooManyTransferPins));
            }
            let (pin, stored, argon2_ms) = match &issued {
                Some(done) => done,
                None => issued.insert(self.issue(&pointer.account_number, &numbers)?),
            };
            let tp = TransferPin::new(tenant_id, numbers.clone(), now, self.transfer_pin_ttl);
            let audit =
                transfer_pin_audit(tenant_id, admin, AuditType::TransferPinCreated, &tp, now);
            match self
                .store
                .create_transfer_pin(&read.tenant, &tp, stored, now, &audit)
                .await?
            {
                Written::Done(()) => {
                    tracing::info!(
                        tenant_id = %tenant_id,
                        transfer_pin_id = %tp.id,
                        numbers = tp.numbers.len(),
                        argon2_ms = *argon2_ms,
                        "transfer PIN issued"
                    );
                    let mut body = view(&tp, now);
                    body["pin"] = Value::from(pin.expose());
                    return Ok(portguard_api::json_secret(201, &body));
                }
                Written::Conflict => {}
            }
        }
        Err(ApiError::unavailable())
    }

    /// A fresh PIN that is not weak for this account and these numbers, its
    /// hash, and the milliseconds Argon2 took.
    fn issue(
        &self,
        account: &str,
        numbers: &[PhoneNumber],
    ) -> Result<(Pin, StoredPin, f64), ApiError> {
        let pin = generate_transfer_pin(is_weak_for(account, numbers)).ok_or_else(|| {
            tracing::error!("could not draw a transfer PIN that is not weak");
            ApiError::internal()
        })?;
        let started = std::time::Instant::now();
        let stored = self.hasher.hash(&pin);
        Ok((pin, stored, started.elapsed().as_secs_f64() * 1e3))
    }

    /// `GET`: newest first, `status` filter, sealed `nextToken`.
    async fn list_transfer_pins(
        &self,
        req: &Request,
        admin: &Admin<'_>,
    ) -> Result<Response, ApiError> {
        let status = match req
            .query_string_parameters_ref()
            .and_then(|q| q.first("status"))
        {
            None => None,
            Some(raw) => Some(TransferPinStatus::parse(raw).ok_or_else(|| {
                let known: Vec<&str> = TransferPinStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid_request(format!("status must be one of {}", known.join(", ")))
            })?),
        };
        // The token is bound to the caller and to the filter.
        let list = format!(
            "transfer-pins|{}",
            status.map_or("all", TransferPinStatus::as_str)
        );
        let params = self.paging.params(req, admin.caller, &list)?;
        self.pointer(admin.tenant_id).await?;
        let now = clock::now();
        let page = self
            .store
            .list_transfer_pins(admin.tenant_id, status, now, params.limit, params.start)
            .await?;
        let items: Vec<Value> = page.items.iter().map(|tp| view(tp, now)).collect();
        let next = self.paging.token(admin.caller, &list, page.next);
        Ok(json(200, &json!({"items": items, "nextToken": next})))
    }

    /// `DELETE`: revokes an active PIN; any other answers as it is.
    async fn revoke_transfer_pin(&self, admin: &Admin<'_>, id: &str) -> Result<Response, ApiError> {
        let tenant_id = admin.tenant_id;
        let id = TransferPinId::parse(id).ok_or_else(not_found)?;
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let Some(mut tp) = self.store.get_transfer_pin(tenant_id, &id).await? else {
                return Err(not_found());
            };
            let now = clock::now();
            if tp.status_at(now) != TransferPinStatus::Active {
                return Ok(json(200, &view(&tp, now)));
            }
            let Some(tenant) = self.store.get_tenant(tenant_id).await? else {
                return Err(tenant_not_found());
            };
            let audit =
                transfer_pin_audit(tenant_id, admin, AuditType::TransferPinRevoked, &tp, now);
            match self
                .store
                .revoke_transfer_pin(&tenant, &tp, now, &audit)
                .await?
            {
                Written::Done(()) => {
                    tracing::info!(tenant_id = %tenant_id, transfer_pin_id = %tp.id, "transfer PIN revoked");
                    tp.status = TransferPinStatus::Revoked;
                    return Ok(json(200, &view(&tp, now)));
                }
                // Used or revoked meanwhile, or the tenant changed: read again.
                Written::Conflict => {}
            }
        }
        Err(ApiError::unavailable())
    }
}

/// The audit event of a transfer PIN issued or revoked (contract §7): its id,
/// its numbers and its expiry.
fn transfer_pin_audit(
    tenant_id: &TenantId,
    admin: &Admin<'_>,
    kind: AuditType,
    tp: &TransferPin,
    now: i64,
) -> AuditEvent {
    AuditEvent::new(tenant_id, now, kind, admin.actor.clone())
        .source_ip(admin.source_ip.as_deref())
        .transfer_pin(&tp.id)
        .phone_numbers(&tp.numbers)
        .until(Some(tp.expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Vec<PhoneNumber>, ApiError> {
        parse_numbers(&Body::Text(body.to_owned()))
    }

    #[test]
    fn numbers_are_normalised_and_counted_once() {
        assert_eq!(
            parse(r#"{"phoneNumbers": ["(206) 555-0100", "+12065550100", "2065550101"]}"#).unwrap(),
            ["+12065550100", "+12065550101"]
        );
    }

    #[test]
    fn malformed_bodies_are_invalid_requests() {
        let fifty_one = json!({ "phoneNumbers": vec!["+12065550100"; 51] }).to_string();
        for body in [
            "",
            "[]",
            "{}",
            r#"{"phoneNumbers": []}"#,
            r#"{"phoneNumbers": "+12065550100"}"#,
            r#"{"phoneNumbers": [12065550100]}"#,
            r#"{"phoneNumbers": null}"#,
            &fifty_one,
        ] {
            assert_eq!(parse(body).unwrap_err().code, "INVALID_REQUEST", "{body}");
        }
    }

    #[test]
    fn invalid_numbers_are_listed_as_given_and_clipped() {
        let long = "9".repeat(100);
        let e =
            parse(&json!({"phoneNumbers": ["+12065550100", "555", long]}).to_string()).unwrap_err();
        assert_eq!(e.code, "INVALID_PHONE_NUMBER");
        assert_eq!(
            e.details.unwrap()["numbers"],
            json!(["555", "9".repeat(64)])
        );
    }

    /// The catalogue's sentence states the limit enforced here.
    #[test]
    fn the_limit_is_the_catalogues() {
        let limit = rules::MAX_ACTIVE.to_string();
        assert!(ApiError::of(Code::TooManyTransferPins)
            .message
            .contains(&limit));
    }
}
