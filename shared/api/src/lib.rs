//! HTTP plumbing the functions share: who is calling, the error envelope,
//! JSON responses, pagination tokens, configuration and logs. No business
//! rule lives here.

pub mod codes;
pub mod config;
mod error;
/// API Gateway events in, responses out (`portguard-events`, SDK-free).
pub use portguard_events as event;
mod identity;
pub mod logging;
pub mod metrics;
mod paging;
mod response;
mod serve;

pub use codes::Code;
pub use error::{echo, unknown_pepper_version, ApiError, MAX_ECHO_CHARS};
pub use identity::{source_ip, Caller, Scope};
pub use paging::{ListParams, Paging};
pub use response::{
    check_body_size, json, json_object_body, json_secret, no_content, MAX_BODY_BYTES,
};
pub use serve::{
    answer, answer_event, answer_event_with, serve, serve_events, serve_with, started,
};

pub type Response = lambda_http::Response<lambda_http::Body>;
