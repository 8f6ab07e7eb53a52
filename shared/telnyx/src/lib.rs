//! Telnyx's side of contract §16, pure: the Ed25519 signature of its
//! events, the events themselves, the checks a `pending` port-out must pass
//! before portguard's one port-out decision, and the reason a reject gives.
//! No AWS, no IO: the fuzz target `telnyx` links this crate as it is.
//!
//! With feature `client`, [`TelnyxApi`]: the one call portguard makes at
//! Telnyx, shared by `submit-port-out` and the notifier.

pub mod codes;
pub mod event;
pub mod signature;

#[cfg(feature = "client")]
mod client;

#[cfg(feature = "client")]
pub use client::{CallFailure, ConfigError, TelnyxApi, CALL_TIMEOUT, DEFAULT_BASE_URL};
pub use codes::Reject;
pub use event::{AttemptedPin, Change, Checked, Event, EventError, Pending};
pub use signature::{PublicKey, SignatureError, SIGNATURE_HEADER, TIMESTAMP_HEADER};
