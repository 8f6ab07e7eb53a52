//! `/v1/alert-contacts`: who hears of the audit trail by email (contract
//! §17). A new contact is sent a 6-digit code from here, at once: the code
//! is stored only as a hash, so it cannot wait in the table for the
//! notifier. Only a confirmed contact is sent alerts, so an address typed
//! by a stranger (or a stolen session) is mailed once, the code, and the
//! tenant's other contacts hear of the addition.

use crate::app::tenant_not_found;
use crate::routes::Admin;
use crate::App;
use lambda_http::{http::Method, Body, Request};
use portguard_api::{json, json_object_body, ApiError, Code, Response};
use portguard_secrets::new_confirmation_code;
use portguard_store::contacts::{
    format_time, AlertContact, ContactBook, ContactStatus, MAX_CODE_TRIES,
};
use portguard_store::tenants::Written;
use portguard_store::{clock, retry_on_conflict, AuditEvent, AuditType};
use portguard_validation::{ContactId, EmailAddress};
use serde_json::{json, Map, Value};

/// A write that keeps losing races gives up after this many fresh reads.
const WRITE_ATTEMPTS: u32 = 16;

fn view(c: &AlertContact) -> Value {
    json!({
        "id": c.id,
        "email": c.email,
        "status": c.status.as_str(),
        "types": c.types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "createdAt": clock::format(c.created_at),
        "confirmedAt": format_time(c.confirmed_at),
        "lastDeliveryAt": format_time(c.last_delivery_at),
        "lastFailure": c.last_failure,
    })
}

/// Unknown, malformed and another tenant's ids all answer this, byte for byte.
fn not_found() -> ApiError {
    ApiError::of(Code::AlertContactNotFound)
}

fn expired() -> ApiError {
    ApiError::of(Code::ConfirmationExpired)
}

/// `types`: absent → every type; else a non-empty list of audit types,
/// kept in the trail's own order, each once.
fn parse_types(value: Option<&Value>) -> Result<Vec<AuditType>, ApiError> {
    let Some(value) = value else {
        return Ok(AuditType::ALL.to_vec());
    };
    let known = || {
        AuditType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let shape = || {
        ApiError::invalid_request(format!(
            "types must be a non-empty list of audit event types: {}",
            known()
        ))
    };
    let list = value
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or_else(shape)?;
    let mut chosen = Vec::with_capacity(list.len());
    for item in list {
        let kind = item.as_str().ok_or_else(shape)?;
        let Some(kind) = AuditType::parse(kind) else {
            return Err(ApiError::invalid_request(format!(
                "types holds an unknown audit event type; known types: {}",
                known()
            )));
        };
        chosen.push(kind);
    }
    Ok(AuditType::ALL
        .into_iter()
        .filter(|t| chosen.contains(t))
        .collect())
}

/// Refuses any field but `allowed`: a misspelt field must not be ignored.
fn only_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(_) => Err(ApiError::invalid_request(format!(
            "unknown field; this request takes only: {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn parse_email(body: &Map<String, Value>) -> Result<EmailAddress, ApiError> {
    let invalid = |message: String| ApiError::explained(Code::InvalidEmail, message);
    match body.get("email") {
        Some(Value::String(raw)) => {
            EmailAddress::parse(raw).map_err(|e| invalid(format!("email {e}")))
        }
        _ => Err(invalid(
            "email is required: an address such as ops@example.com".into(),
        )),
    }
}

impl App {
    pub(crate) async fn alert_contacts_route(
        &self,
        req: &Request,
        admin: Admin<'_>,
        rest: Option<&str>,
    ) -> Result<Response, ApiError> {
        let method = req.method().clone();
        match rest {
            None => match method {
                Method::GET => self.list_alert_contacts(&admin).await,
                Method::POST => self.add_alert_contact(&admin, req.body()).await,
                _ => Err(ApiError::method_not_allowed("GET, POST")),
            },
            Some(rest) => match rest.split_once('/') {
                None => match method {
                    Method::PATCH => self.patch_alert_contact(&admin, rest, req.body()).await,
                    Method::DELETE => self.remove_alert_contact(&admin, rest).await,
                    _ => Err(ApiError::method_not_allowed("PATCH, DELETE")),
                },
                Some((id, "confirm")) => match method {
                    Method::POST => self.confirm_alert_contact(&admin, id, req.body()).await,
                    _ => Err(ApiError::method_not_allowed("POST")),
                },
                Some(_) => Err(ApiError::not_found()),
            },
        }
    }

    async fn list_alert_contacts(&self, admin: &Admin<'_>) -> Result<Response, ApiError> {
        let book = self.store.alert_contacts(admin.tenant_id).await?;
        let items: Vec<Value> = book.contacts.iter().map(view).collect();
        Ok(json(200, &json!({ "items": items })))
    }

    fn audit(&self, admin: &Admin<'_>, kind: AuditType, email: &str) -> AuditEvent {
        admin.event(clock::now(), kind).email(email)
    }

    /// `POST`: the body, the tenant, the address not yet a contact, room
    /// for one more; then one transaction, then the code by email.
    async fn add_alert_contact(
        &self,
        admin: &Admin<'_>,
        body: &Body,
    ) -> Result<Response, ApiError> {
        let body = json_object_body(body)?;
        only_fields(&body, &["email", "types"])?;
        let email = parse_email(&body)?;
        let types = parse_types(body.get("types"))?;
        let (tenant, book) = futures_join(
            self.store.get_tenant_ref(admin.tenant_id),
            self.store.alert_contacts(admin.tenant_id),
        )
        .await;
        tenant?.ok_or_else(tenant_not_found)?;
        let mut book = book?;
        let code = new_confirmation_code();
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while let Some(round) = rounds.next().await {
            if round > 0 {
                book = self.store.alert_contacts(admin.tenant_id).await?;
            }
            check_room(&book, &email)?;
            let mut contact = AlertContact::new(
                admin.tenant_id,
                email.as_str(),
                types.clone(),
                String::new(),
                clock::now(),
            );
            let hash = self.code_hasher.hash(contact.id.as_str(), &code);
            if let Some(pending) = contact.code.as_mut() {
                pending.hash = hash;
            }
            let audit = self.audit(admin, AuditType::AlertContactAdded, email.as_str());
            match self
                .store
                .add_alert_contact(&book, &contact, &audit)
                .await?
            {
                Written::Done(()) => {
                    contact.last_failure = self.send_code(&contact, &code).await;
                    return Ok(json(201, &view(&contact)));
                }
                Written::Conflict => {}
            }
        }
        Err(ApiError::unavailable())
    }

    /// Sends the code; the failure a contact then shows, if any.
    async fn send_code(&self, contact: &AlertContact, code: &str) -> Option<String> {
        let message =
            portguard_email::confirmation_code(code, &contact.email, self.mailer.console_url());
        let failure = match self.mailer.send(&contact.email, &message).await {
            Ok(()) => return None,
            Err(failure) => failure,
        };
        let reason = format!("confirmation email not sent: {}", failure.reason());
        tracing::warn!(contact = %contact.id, failure = %failure.reason(), "confirmation email not sent");
        // Best effort: the 201 says it either way.
        if let Err(e) = self
            .store
            .note_contact_result(&contact.tenant_id, &contact.id, clock::now(), Some(&reason))
            .await
        {
            tracing::warn!(error = %e, "could not note the failure on the contact");
        }
        Some(reason)
    }

    /// Tells a confirmed contact its types changed (best effort: the
    /// change stands either way, and the console shows it).
    async fn notice_types_changed(&self, admin: &Admin<'_>, contact: &AlertContact) {
        let types: Vec<&str> = contact.types.iter().map(|t| t.as_str()).collect();
        let by = match &admin.actor.id {
            Some(id) => format!("admin {id}"),
            None => "an admin".to_owned(),
        };
        let message = portguard_email::types_changed(
            &contact.email,
            &types,
            &by,
            &clock::format(clock::now()),
            self.mailer.console_url(),
        );
        if let Err(failure) = self.mailer.send(&contact.email, &message).await {
            tracing::warn!(contact = %contact.id, failure = %failure.reason(), "types notice not sent");
        }
    }

    async fn contact(&self, admin: &Admin<'_>, id: &str) -> Result<AlertContact, ApiError> {
        self.store
            .get_alert_contact(
                admin.tenant_id,
                &ContactId::parse(id).ok_or_else(not_found)?,
            )
            .await?
            .ok_or_else(not_found)
    }

    async fn patch_alert_contact(
        &self,
        admin: &Admin<'_>,
        id: &str,
        body: &Body,
    ) -> Result<Response, ApiError> {
        let body = json_object_body(body)?;
        only_fields(&body, &["types"])?;
        let Some(value) = body.get("types") else {
            return Err(ApiError::invalid_request("types is required"));
        };
        let types = parse_types(Some(value))?;
        let mut contact = self.contact(admin, id).await?;
        if !self.store.set_alert_contact_types(&contact, &types).await? {
            return Err(not_found());
        }
        contact.types = types;
        if contact.status == ContactStatus::Confirmed {
            self.notice_types_changed(admin, &contact).await;
        }
        Ok(json(200, &view(&contact)))
    }

    async fn confirm_alert_contact(
        &self,
        admin: &Admin<'_>,
        id: &str,
        body: &Body,
    ) -> Result<Response, ApiError> {
        let body = json_object_body(body)?;
        only_fields(&body, &["code"])?;
        let Some(Value::String(code)) = body.get("code") else {
            return Err(ApiError::invalid_request(
                "code is required: the 6 digits sent to the contact's address",
            ));
        };
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let contact = self.contact(admin, id).await?;
            if contact.status == ContactStatus::Confirmed {
                return Ok(json(200, &view(&contact)));
            }
            let Some(pending) = contact.code.as_ref() else {
                return Err(expired());
            };
            let now = clock::now();
            if pending.tries >= MAX_CODE_TRIES || pending.until <= now {
                return Err(expired());
            }
            if self
                .code_hasher
                .matches(contact.id.as_str(), code, &pending.hash)
            {
                let audit = self.audit(admin, AuditType::AlertContactConfirmed, &contact.email);
                match self
                    .store
                    .confirm_alert_contact(&contact, now, &audit)
                    .await?
                {
                    Written::Done(()) => {
                        let mut confirmed = contact.clone();
                        confirmed.status = ContactStatus::Confirmed;
                        confirmed.confirmed_at = Some(now);
                        return Ok(json(200, &view(&confirmed)));
                    }
                    Written::Conflict => {}
                }
            } else {
                match self.store.count_wrong_code(&contact).await? {
                    Written::Done(()) => {
                        let left = MAX_CODE_TRIES - pending.tries - 1;
                        return Err(ApiError::of(Code::InvalidConfirmationCode)
                            .details(json!({ "attemptsLeft": left })));
                    }
                    Written::Conflict => {}
                }
            }
            // The contact changed since it was read: decide again.
        }
        Err(ApiError::unavailable())
    }

    async fn remove_alert_contact(
        &self,
        admin: &Admin<'_>,
        id: &str,
    ) -> Result<Response, ApiError> {
        let id = ContactId::parse(id).ok_or_else(not_found)?;
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let book = self.store.alert_contacts(admin.tenant_id).await?;
            let Some(contact) = book.find(&id) else {
                return Err(not_found());
            };
            let audit = self.audit(admin, AuditType::AlertContactRemoved, &contact.email);
            match self
                .store
                .remove_alert_contact(&book, contact, &audit)
                .await?
            {
                Written::Done(()) => return Ok(portguard_api::no_content()),
                Written::Conflict => {}
            }
        }
        Err(ApiError::unavailable())
    }
}

/// The address is not a contact yet, and there is room for one more.
fn check_room(book: &ContactBook, email: &EmailAddress) -> Result<(), ApiError> {
    if book.has_address(&email.key()) {
        return Err(ApiError::of(Code::AlertContactExists));
    }
    if book.is_full() {
        return Err(ApiError::of(Code::TooManyAlertContacts));
    }
    Ok(())
}

/// Two independent reads at once.
async fn futures_join<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: std::future::Future,
    B: std::future::Future,
{
    tokio::join!(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue's sentence states the limit enforced here.
    #[test]
    fn the_limit_is_the_catalogues() {
        let limit = portguard_store::contacts::MAX_CONTACTS.to_string();
        assert!(ApiError::of(Code::TooManyAlertContacts)
            .message
            .contains(&limit));
    }
}
