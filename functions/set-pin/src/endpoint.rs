//! `GET/PUT/DELETE /v1/notification-endpoint`: the tenant's webhook endpoint
//! (contract §14). The signing secret is shown only when it is created
//! or rotated; every change is audited in the same transaction.

use crate::App;
use lambda_http::{http::Method, Body, Request};
use portguard_api::{json, json_object_body, ApiError, Caller, Response, Scope};
use portguard_store::notify::{Decided, Endpoint, EndpointChange, Target};
use portguard_store::{clock, conflict_backoff, Actor, ActorKind, AuditEvent, AuditType};
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

    pub(crate) async fn notification_endpoint(&self, req: &Request) -> Result<Response, ApiError> {
        let caller = Caller::from_request(req, &[Scope::Admin])?;
        let Caller::Admin { tenant_id, subject } = &caller else {
            return Err(ApiError::forbidden());
        };
        let target = Target::Tenant(tenant_id.as_str().to_owned());
        let audit = |now: i64| {
            AuditEvent::new(
                tenant_id.as_str(),
                now,
                AuditType::NotificationEndpointChanged,
                Actor {
                    kind: ActorKind::TenantAdmin,
                    id: subject.clone(),
                },
            )
            .source_ip(portguard_api::source_ip(req).as_deref())
        };
        match *req.method() {
            Method::GET => match self.store.get_endpoint(&target).await? {
                Some(ep) => Ok(json(200, &view(&ep, false))),
                None => Err(endpoint_not_found()),
            },
            Method::PUT => {
                let body = self.parse_put(req.body())?;
                if self
                    .store
                    .get_tenant_ref(tenant_id.as_str())
                    .await?
                    .is_none()
                {
                    return Err(ApiError::new(
                        404,
                        "TENANT_NOT_FOUND",
                        "this tenant is not provisioned for port-out protection; contact your provider",
                    ));
                }
                self.put_endpoint(&target, body, audit).await
            }
            Method::DELETE => {
                for attempt in 0..WRITE_ATTEMPTS {
                    let Some(read) = self.store.get_endpoint(&target).await? else {
                        return Ok(portguard_api::no_content());
                    };
                    let now = clock::now();
                    match self.store.delete_endpoint(&read, Some(&audit(now))).await? {
                        Decided::Done(()) => {
                            tracing::info!(tenant_id = %tenant_id, "notification endpoint deleted");
                            return Ok(portguard_api::no_content());
                        }
                        Decided::Conflict => conflict_backoff(attempt).await,
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
        for attempt in 0..WRITE_ATTEMPTS {
            let read = self.store.get_endpoint(target).await?;
            let now = clock::now();
            let now_s = clock::format(now);
            let new_secret = match &read {
                None => true,
                Some(_) => body.rotate_secret,
            };
            if let Some(ep) = &read {
                if ep.url == body.url.as_str() && !new_secret {
                    // Nothing changes: no write, no audit event.
                    return Ok(json(200, &view(ep, false)));
                }
            }
            let secret = new_secret.then(portguard_secrets::new_endpoint_secret);
            let change = EndpointChange {
                url: body.url.as_str(),
                secret: secret.as_deref(),
                now: &now_s,
            };
            match self
                .store
                .write_endpoint(target, read.as_ref(), change, Some(&audit(now)))
                .await?
            {
                Decided::Done(()) => {
                    tracing::info!(
                        target = %target,
                        created = read.is_none(),
                        rotated = secret.is_some(),
                        "notification endpoint stored"
                    );
                    let written = Endpoint {
                        target: target.clone(),
                        url: body.url.as_str().to_owned(),
                        secret: secret
                            .clone()
                            .or_else(|| read.as_ref().map(|r| r.secret.clone()))
                            .unwrap_or_default(),
                        created_at: read
                            .as_ref()
                            .map_or_else(|| now_s.clone(), |r| r.created_at.clone()),
                        updated_at: now_s.clone(),
                        last_delivery_at: read.as_ref().and_then(|r| r.last_delivery_at.clone()),
                        last_failure_at: read.as_ref().and_then(|r| r.last_failure_at.clone()),
                        last_failure: read.as_ref().and_then(|r| r.last_failure.clone()),
                        version: read.as_ref().map_or(0, |r| r.version + 1),
                        // Only the view is built from it: no secret of the
                        // past is shown.
                        old_secret: None,
                    };
                    let body = view(&written, secret.is_some());
                    return Ok(match secret {
                        Some(_) => portguard_api::json_secret(200, &body),
                        None => json(200, &body),
                    });
                }
                Decided::Conflict => conflict_backoff(attempt).await,
            }
        }
        Err(ApiError::unavailable())
    }
}

/// The endpoint as the API shows it; `secret` only when just created or rotated.
pub(crate) fn view(ep: &Endpoint, with_secret: bool) -> Value {
    let mut out = json!({
        "url": ep.url,
        "createdAt": ep.created_at,
        "updatedAt": ep.updated_at,
        "lastDeliveryAt": ep.last_delivery_at,
        "lastFailureAt": ep.last_failure_at,
        "lastFailure": ep.last_failure,
    });
    if with_secret {
        out["secret"] = json!(ep.secret);
    }
    out
}

fn invalid_url(e: UrlError) -> ApiError {
    ApiError::new(400, "INVALID_URL", e.to_string()).details(json!({"field": "url"}))
}

fn endpoint_not_found() -> ApiError {
    ApiError::new(
        404,
        "NOTIFICATION_ENDPOINT_NOT_FOUND",
        "no notification endpoint is registered; register one with PUT",
    )
}
