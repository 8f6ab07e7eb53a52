use crate::{ApiError, Response};
use lambda_http::Body;
use serde::Serialize;
use serde_json::{Map, Value};

pub fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> Response {
    let body = serde_json::to_string(body).expect("our response types serialise");
    lambda_http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .expect("valid status and header")
}

/// `204 No Content`.
pub fn no_content() -> Response {
    lambda_http::Response::builder()
        .status(204)
        .body(Body::Empty)
        .expect("valid status")
}

/// [`json`] for an answer that carries a secret shown once (a transfer PIN,
/// a webhook secret): `Cache-Control: no-store`, so no cache or browser
/// history keeps it.
pub fn json_secret<T: Serialize + ?Sized>(status: u16, body: &T) -> Response {
    let mut response = json(status, body);
    response
        .headers_mut()
        .insert("cache-control", http::HeaderValue::from_static("no-store"));
    response
}

/// contract §2: the largest body a function reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `413 PAYLOAD_TOO_LARGE` for a body over 64 KiB (decoded bytes), before
/// anything reads it.
pub fn check_body_size(body: &Body) -> Result<(), ApiError> {
    let len = AsRef::<[u8]>::as_ref(body).len();
    if len > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large());
    }
    Ok(())
}

/// The request body as a JSON object, or `400 INVALID_REQUEST` (`413` over
/// 64 KiB). API Gateway may base64-encode bodies; `lambda_http` has decoded
/// them into bytes.
pub fn json_object_body(body: &Body) -> Result<Map<String, Value>, ApiError> {
    check_body_size(body)?;
    let bytes: &[u8] = body.as_ref();
    if bytes.is_empty() {
        return Err(ApiError::invalid_request("the body must be a JSON object"));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_request("the body must be a JSON object")),
        Err(_) => Err(ApiError::invalid_request("the body is not valid JSON")),
    }
}
