//! Which resource a request is for (contract §§3, 7, 11, 12, 14, 17): one
//! [`Route`] per path, one module per resource, and the caller authorised
//! once, here, before any resource is read.

use crate::App;
use lambda_http::Request;
use portguard_api::{ApiError, Caller, Response, Scope};
use portguard_store::{Actor, ActorKind, AuditEvent, AuditType};
use portguard_validation::TenantId;

/// The paths `set-pin` serves; a path segment is kept raw for its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `/v1/pin` (`pin.rs`)
    Pin,
    /// `/v1/port-out-protection` (`protection.rs`)
    Protection,
    /// `/v1/numbers` (`numbers.rs`)
    Numbers,
    /// `/v1/numbers/{phoneNumber}`
    Number(&'a str),
    /// `/v1/transfer-pins` (`transfer_pins.rs`)
    TransferPins,
    /// `/v1/transfer-pins/{id}`
    TransferPin(&'a str),
    /// `/v1/audit-events` (`audit_events.rs`)
    AuditEvents,
    /// `/v1/notification-endpoint` (`notification_endpoint.rs`)
    NotificationEndpoint,
    /// `/v1/alert-contacts` (`alert_contacts.rs`)
    AlertContacts,
    /// `/v1/alert-contacts/{id}` and `/v1/alert-contacts/{id}/confirm`
    AlertContact(&'a str),
}

impl<'a> Route<'a> {
    /// The route of `path` (trailing `/` ignored); `None` is a `404`.
    pub(crate) fn parse(path: &'a str) -> Option<Route<'a>> {
        let path = path.trim_end_matches('/');
        // One more segment, no deeper: `/v1/numbers/a/b` is no route.
        let one = |prefix: &str| path.strip_prefix(prefix).filter(|s| !s.contains('/'));
        Some(match path {
            "/v1/pin" => Route::Pin,
            "/v1/port-out-protection" => Route::Protection,
            "/v1/numbers" => Route::Numbers,
            "/v1/transfer-pins" => Route::TransferPins,
            "/v1/audit-events" => Route::AuditEvents,
            "/v1/notification-endpoint" => Route::NotificationEndpoint,
            "/v1/alert-contacts" => Route::AlertContacts,
            _ => {
                if let Some(number) = one("/v1/numbers/") {
                    Route::Number(number)
                } else if let Some(id) = one("/v1/transfer-pins/") {
                    Route::TransferPin(id)
                } else if let Some(rest) = path.strip_prefix("/v1/alert-contacts/") {
                    Route::AlertContact(rest)
                } else {
                    return None;
                }
            }
        })
    }
}

/// The tenant admin asking, for every route and its audit records.
pub(crate) struct Admin<'a> {
    pub tenant_id: &'a TenantId,
    pub actor: Actor,
    pub source_ip: Option<String>,
    /// For paging tokens, which are bound to the caller.
    pub caller: &'a Caller,
}

impl<'a> Admin<'a> {
    /// Every route of `set-pin` is the tenant admin's (scope `portguard/admin`).
    fn of(req: &Request, caller: &'a Caller) -> Result<Admin<'a>, ApiError> {
        let Caller::Admin { tenant_id, subject } = caller else {
            return Err(ApiError::forbidden());
        };
        Ok(Admin {
            tenant_id,
            actor: Actor {
                kind: ActorKind::TenantAdmin,
                id: subject.clone(),
            },
            source_ip: portguard_api::source_ip(req),
            caller,
        })
    }

    /// An audit record of this admin's request.
    pub(crate) fn event(&self, now: i64, kind: AuditType) -> AuditEvent {
        AuditEvent::new(self.tenant_id, now, kind, self.actor.clone())
            .source_ip(self.source_ip.as_deref())
    }
}

impl App {
    /// The answer to one request; `serve` turns errors into answers.
    pub async fn route(&self, req: &Request) -> Result<Response, ApiError> {
        let route = Route::parse(req.uri().path()).ok_or_else(ApiError::not_found)?;
        let caller = Caller::from_request(req, &[Scope::Admin])?;
        let admin = Admin::of(req, &caller)?;
        match route {
            Route::Pin => self.pin_route(req, admin).await,
            Route::Protection => self.protection_route(req, admin).await,
            Route::Numbers => self.list_numbers(req, &admin).await,
            Route::Number(segment) => self.number_route(req, admin, segment).await,
            Route::TransferPins => self.transfer_pins_route(req, admin, None).await,
            Route::TransferPin(id) => self.transfer_pins_route(req, admin, Some(id)).await,
            Route::AuditEvents => self.list_audit(req, &admin).await,
            Route::NotificationEndpoint => self.notification_endpoint(req, admin).await,
            // Boxed: the contacts' futures (a send through SES among them)
            // would otherwise make every route's future as large as theirs.
            Route::AlertContacts => Box::pin(self.alert_contacts_route(req, admin, None)).await,
            Route::AlertContact(rest) => {
                Box::pin(self.alert_contacts_route(req, admin, Some(rest))).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn every_path_has_one_route_and_deeper_paths_none() {
        for (path, route) in [
            ("/v1/pin", Some(Route::Pin)),
            ("/v1/pin/", Some(Route::Pin)),
            ("/v1/port-out-protection", Some(Route::Protection)),
            ("/v1/numbers", Some(Route::Numbers)),
            ("/v1/numbers/", Some(Route::Numbers)),
            (
                "/v1/numbers/%2B12065550100",
                Some(Route::Number("%2B12065550100")),
            ),
            ("/v1/numbers/a/b", None),
            ("/v1/transfer-pins", Some(Route::TransferPins)),
            ("/v1/transfer-pins/tp_1", Some(Route::TransferPin("tp_1"))),
            ("/v1/transfer-pins/tp_1/x", None),
            ("/v1/audit-events", Some(Route::AuditEvents)),
            (
                "/v1/notification-endpoint",
                Some(Route::NotificationEndpoint),
            ),
            ("/v1/alert-contacts", Some(Route::AlertContacts)),
            (
                "/v1/alert-contacts/ac_1/confirm",
                Some(Route::AlertContact("ac_1/confirm")),
            ),
            ("/v1/pins", None),
            ("/", None),
            ("", None),
        ] {
            assert_eq!(Route::parse(path), route, "{path}");
        }
    }
}
