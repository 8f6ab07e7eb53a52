//! The caller, as API Gateway's JWT authorizer verified it. The identity is
//! read from the request context only, never from the body.

use crate::ApiError;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use portguard_validation::{CarrierId, TenantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Admin,
    Carrier,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Admin => "portguard/admin",
            Scope::Carrier => "portguard/carrier",
        }
    }

    fn claim(self) -> &'static str {
        match self {
            Scope::Admin => "tenant_id",
            Scope::Carrier => "carrier_id",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A tenant admin; `subject` is the token's `sub`, for the audit trail.
    Admin {
        tenant_id: TenantId,
        subject: Option<String>,
    },
    Carrier {
        carrier_id: CarrierId,
    },
}

impl Caller {
    /// Who the caller is, accepting any of `allowed` scopes: no verified
    /// identity is 401, an identity without an allowed scope is 403.
    pub fn from_request(req: &Request, allowed: &[Scope]) -> Result<Caller, ApiError> {
        let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
            return Err(ApiError::unauthenticated());
        };
        let Some(jwt) = ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()) else {
            return Err(ApiError::unauthenticated());
        };
        let scopes = jwt.scopes.as_deref().unwrap_or_default();
        let has_identity = [Scope::Admin, Scope::Carrier]
            .iter()
            .any(|s| jwt.claims.contains_key(s.claim()));
        if !has_identity {
            return Err(ApiError::unauthenticated());
        }
        for &scope in allowed {
            if !scopes.iter().any(|s| s == scope.name()) {
                continue;
            }
            let Some(value) = jwt.claims.get(scope.claim()) else {
                continue;
            };
            let bad_claim = |_| ApiError::unauthenticated();
            return Ok(match scope {
                Scope::Admin => Caller::Admin {
                    tenant_id: TenantId::parse(value).map_err(bad_claim)?,
                    subject: jwt.claims.get("sub").cloned(),
                },
                Scope::Carrier => Caller::Carrier {
                    carrier_id: CarrierId::parse(value).map_err(bad_claim)?,
                },
            });
        }
        Err(ApiError::forbidden())
    }

    /// A stable name of the caller, to bind pagination tokens to it.
    pub fn principal(&self) -> String {
        match self {
            Caller::Admin { tenant_id, .. } => format!("tenant:{tenant_id}"),
            Caller::Carrier { carrier_id } => format!("carrier:{carrier_id}"),
        }
    }
}

/// The client's address as API Gateway saw it.
pub fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
}
