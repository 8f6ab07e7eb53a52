//! The error envelope of SPEC section 2:
//! `{"error": {"code": "…", "message": "…", "details": {…}}}`.

use crate::Response;
use portguard_store::StoreError;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn retry_after(mut self, seconds: Option<i64>) -> ApiError {
        self.retry_after = seconds;
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "INVALID_REQUEST", message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            401,
            "UNAUTHENTICATED",
            "sign in: this route needs a verified token",
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            403,
            "FORBIDDEN",
            "your token lacks the scope this route needs",
        )
    }

    pub fn not_found() -> ApiError {
        ApiError::new(404, "NOT_FOUND", "there is no such route")
    }

    pub fn method_not_allowed(allowed: &str) -> ApiError {
        ApiError::new(
            405,
            "METHOD_NOT_ALLOWED",
            format!("this route allows {allowed} only"),
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            500,
            "INTERNAL",
            "something went wrong on our side; nothing was changed, try again",
        )
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            503,
            "UNAVAILABLE",
            "the service is busy or a dependency is down; nothing was changed, retry shortly",
        )
        .retry_after(Some(1))
    }

    pub fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let mut resp = crate::json(self.status, &json!({ "error": error }));
        if let Some(seconds) = self.retry_after {
            resp.headers_mut()
                .insert("retry-after", seconds.to_string().parse().expect("digits"));
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    /// Logs the cause (which never holds a PIN: the store has none to show)
    /// and answers without internals.
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "dependency unavailable");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

/// A stored hash whose pepper version is not configured: logged, counted
/// (`UnknownPepperVersion`, alarmed in the template) and answered `500`;
/// the caller counts nothing against the tenant.
pub fn unknown_pepper_version(
    service: &str,
    e: &portguard_secrets::UnknownPepperVersion,
) -> ApiError {
    tracing::error!(error = %e, "cannot verify a PIN: pepper version not configured");
    crate::metrics::count(service, "UnknownPepperVersion");
    ApiError::internal()
}
