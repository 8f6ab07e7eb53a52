//! The error envelope of contract §2:
//! `{"error": {"code": "…", "message": "…", "details": {…}}}`.

use crate::codes::Code;
use crate::Response;
use portguard_rules::port_out::Refusal;
use portguard_store::StoreError;
use serde_json::{json, Value};

/// contract §2: an error never echoes more than this many characters of any one
/// input value.
pub const MAX_ECHO_CHARS: usize = 64;

/// An input value as an error may echo it: its first 64 characters.
pub fn echo(input: &str) -> String {
    input.chars().take(MAX_ECHO_CHARS).collect()
}

/// Every string in `details` cut to [`MAX_ECHO_CHARS`]: `details` is where
/// inputs are echoed, so no route can forget the limit.
fn clamp(value: Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > MAX_ECHO_CHARS => Value::String(echo(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(clamp).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, clamp(v))).collect()),
        other => other,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<i64>,
}

impl ApiError {
    /// Only through the catalogue: [`ApiError::of`], [`ApiError::explained`]
    /// and [`ApiError::refused`].
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
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
        ApiError::explained(Code::InvalidRequest, message)
    }

    /// The caller's tenant is not in the table (contract §2).
    pub fn tenant_not_found() -> ApiError {
        ApiError::of(Code::TenantNotFound)
    }

    /// Outside the US (contract §3): the same code and sentence on every
    /// route, the port-out decision's refusal included.
    pub fn tenant_not_eligible() -> ApiError {
        ApiError::refused(Refusal::TenantNotEligible)
    }

    /// A port-out refusal of contract §4.1, as portguard's own API answers it.
    pub fn refused(r: Refusal) -> ApiError {
        ApiError::new(r.status(), r.code(), r.message())
    }

    /// `PIN_LOCKED` for a hard lock, which no waiting ends.
    pub fn hard_locked() -> ApiError {
        let r = Refusal::PinLocked;
        ApiError::new(r.status(), r.code(), Refusal::HARD_LOCK_MESSAGE)
    }

    /// Numbers that are not valid US numbers, each clipped to 64
    /// characters in `details.numbers` (contract §2).
    pub fn invalid_phone_numbers<'a>(numbers: impl IntoIterator<Item = &'a str>) -> ApiError {
        let numbers: Vec<String> = numbers.into_iter().map(echo).collect();
        ApiError::of(Code::InvalidPhoneNumber).details(serde_json::json!({ "numbers": numbers }))
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::of(Code::Unauthenticated)
    }

    pub fn forbidden() -> ApiError {
        ApiError::of(Code::Forbidden)
    }

    pub fn not_found() -> ApiError {
        ApiError::of(Code::NotFound)
    }

    pub fn method_not_allowed(allowed: &str) -> ApiError {
        ApiError::explained(
            Code::MethodNotAllowed,
            format!("this route allows {allowed} only"),
        )
    }

    /// contract §2: a body over 64 KiB, answered without being parsed.
    pub fn payload_too_large() -> ApiError {
        ApiError::of(Code::PayloadTooLarge)
    }

    pub fn internal() -> ApiError {
        ApiError::of(Code::Internal)
    }

    pub fn unavailable() -> ApiError {
        ApiError::of(Code::Unavailable).retry_after(Some(1))
    }

    pub fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(details) = self.details {
            error["details"] = clamp(details);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_never_echo_more_than_64_characters() {
        let long = "é".repeat(500);
        let resp = ApiError::invalid_request("m")
            .details(json!({"numbers": [long, "+12065550100"], "nested": {"a": "x".repeat(65)}}))
            .into_response();
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        let d = &body["error"]["details"];
        assert_eq!(d["numbers"][0].as_str().unwrap().chars().count(), 64);
        assert_eq!(d["numbers"][1], "+12065550100");
        assert_eq!(d["nested"]["a"].as_str().unwrap().len(), 64);
    }
}
