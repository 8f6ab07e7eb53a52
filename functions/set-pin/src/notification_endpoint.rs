//! `GET/PUT/DELETE /v1/notification-endpoint`: the tenant's webhook endpoint
//! (contract §14). The signing secret is shown only when it is created
//! or rotated; every change is audited in the same transaction.

use crate::routes::Admin;
use crate::App;
use lambda_http::{http::Method, Body, Request};
use portguard_api::{json, json_object_body, ApiError, Code, Response};
use portguard_store::clock::{self, Timestamp};
use portguard_store::notify::{Endpoint, EndpointChange, Target};
use portguard_store::Written;
use portguard_store::{retry_on_conflict, AuditEvent, AuditType};
use portguard_validation::{NotifyUrl, UrlError};
use serde_json::{json, Value};

/// Writes that lose a race with another write of the same endpoint are
/// decided again on a fresh read this many times.
const WRITE_ATTEMPTS: u32 = 8;

struct PutBody {
    url: NotifyUrl,
    rotate_secret: bool,
}

impl App {
    /// `NOTIFY_ALLOW_LOOPBACK_HTTP`: accept loopback endpoints (development).
    pub fn allow_loopback_http(mut self, allow: bool) -> App {
        self.allow_loopback_http = allow;
        self
    }

    pub(crate) async fn notification_endpoint(
        &self,
        req: &Request,
        admin: Admin<'_>,
    ) -> Result<Response, ApiError> {
        let tenant_id = admin.tenant_id;
        let target = Target::Tenant(tenant_id.to_owned());
        let audit = |now: i64| admin.event(now, AuditType::NotificationEndpointChanged);
        match *req.method() {
            Method::GET => match self.store.get_endpoint(&target).await? {
                Some(ep) => Ok(json(200, &EndpointView::stored(&ep).json())),
                None => Err(endpoint_not_found()),
            },
            Method::PUT => {
                let body = self.parse_put(req.body())?;
                if self.store.get_tenant_ref(tenant_id).await?.is_none() {
                    return Err(ApiError::tenant_not_found());
                }
                self.put_endpoint(&target, body, audit).await
            }
            Method::DELETE => {
                let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
                while rounds.next().await.is_some() {
                    let Some(read) = self.store.get_endpoint(&target).await? else {
                        return Ok(portguard_api::no_content());
                    };
                    let now = clock::now();
                    match self.store.delete_endpoint(&read, Some(&audit(now))).await? {
                        Written::Done(()) => {
                            tracing::info!(tenant_id = %tenant_id, "notification endpoint deleted");
                            return Ok(portguard_api::no_content());
                        }
                        Written::Conflict => {}
                    }
                }
                Err(ApiError::unavailable())
            }
            _ => Err(ApiError::method_not_allowed("GET, PUT, DELETE")),
        }
    }

    fn parse_put(&self, body: &Body) -> Result<PutBody, ApiError> {
        let body = json_object_body(body)?;
        let raw = match body.get("url") {
            Some(Value::String(s)) => s.as_str(),
            None | Some(Value::Null) => {
                return Err(ApiError::invalid_request("url is required"));
            }
            Some(_) => return Err(ApiError::invalid_request("url must be a string")),
        };
        let rotate_secret = match body.get("rotateSecret") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ApiError::invalid_request(
                    "rotateSecret must be true or false",
                ))
            }
        };
        let url = NotifyUrl::parse(raw, self.allow_loopback_http).map_err(invalid_url)?;
        Ok(PutBody { url, rotate_secret })
    }

    async fn put_endpoint(
        &self,
        target: &Target,
        body: PutBody,
        audit: impl Fn(i64) -> AuditEvent,
    ) -> Result<Response, ApiError> {
        let mut rounds = retry_on_conflict(WRITE_ATTEMPTS);
        while rounds.next().await.is_some() {
            let read = self.store.get_endpoint(target).await?;
            let now = clock::now();
            let now_t = Timestamp::from_unix(now);
            let new_secret = match &read {
                None => true,
                Some(_) => body.rotate_secret,
            };
            if let Some(ep) = &read {
                if ep.url == body.url.as_str() && !new_secret {
                    // Nothing changes: no write, no audit event.
                    return Ok(json(200, &EndpointView::stored(ep).json()));
                }
            }
            // The table keeps only the secret's stored form; the secret
            // itself is derived from the master key and shown once.
            let issued = new_secret.then(|| self.endpoint_keys.issue(&target.to_string()));
            let change = EndpointChange {
                url: body.url.as_str(),
                secret: issued.as_ref().map(|s| s.stored.as_str()),
                now: now_t,
            };
            match self
                .store
                .write_endpoint(target, read.as_ref(), change, Some(&audit(now)))
                .await?
            {
                Written::Done(()) => {
                    tracing::info!(
                        target = %target,
                        created = read.is_none(),
                        rotated = issued.is_some(),
                        "notification endpoint stored"
                    );
                    let shown = EndpointView {
                        url: body.url.as_str(),
                        created_at: read.as_ref().map_or(now_t, |r| r.created_at),
                        updated_at: now_t,
                        last_delivery_at: read.as_ref().and_then(|r| r.last_delivery_at),
                        last_failure_at: read.as_ref().and_then(|r| r.last_failure_at),
                        last_failure: read.as_ref().and_then(|r| r.last_failure.as_deref()),
                        secret: issued.as_ref().map(|s| s.shown.as_str()),
                    };
                    return Ok(match issued {
                        Some(_) => portguard_api::json_secret(200, &shown.json()),
                        None => json(200, &shown.json()),
                    });
                }
                Written::Conflict => {}
            }
        }
        Err(ApiError::unavailable())
    }
}

/// The endpoint as the API shows it; `secret` only when just created or
/// rotated (the table holds only its stored form).
pub(crate) struct EndpointView<'a> {
    pub url: &'a str,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_delivery_at: Option<Timestamp>,
    pub last_failure_at: Option<Timestamp>,
    pub last_failure: Option<&'a str>,
    pub secret: Option<&'a str>,
}

impl<'a> EndpointView<'a> {
    /// A stored endpoint, without its secret.
    pub(crate) fn stored(ep: &'a Endpoint) -> EndpointView<'a> {
        EndpointView {
            url: &ep.url,
            created_at: ep.created_at,
            updated_at: ep.updated_at,
            last_delivery_at: ep.last_delivery_at,
            last_failure_at: ep.last_failure_at,
            last_failure: ep.last_failure.as_deref(),
            secret: None,
        }
    }

    pub(crate) fn json(&self) -> Value {
        let mut out = json!({
            "url": self.url,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "lastDeliveryAt": self.last_delivery_at,
            "lastFailureAt": self.last_failure_at,
            "lastFailure": self.last_failure,
        });
        if let Some(secret) = self.secret {
            out["secret"] = json!(secret);
        }
        out
    }
}

fn invalid_url(e: UrlError) -> ApiError {
    ApiError::explained(Code::InvalidUrl, e.to_string()).details(json!({"field": "url"}))
}

fn endpoint_not_found() -> ApiError {
    ApiError::of(Code::NotificationEndpointNotFound)
}
