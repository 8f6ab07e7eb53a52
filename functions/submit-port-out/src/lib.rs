//! `submit-port-out`: gaining carriers request port-outs (contract §4.1) and
//! carriers and tenant admins read them (contract §4.2). `main.rs` wires;
//! `handler.rs` routes; `decision.rs` is the one port-out decision (checks
//! 6–12, lockout, audit) every door calls; `submit.rs` is portguard's own
//! door (`body.rs` parses checks 1–5; idempotency); `read.rs` serves the reads;
//! `reject.rs` lets the tenant admin reject an open order (contract §13);
//! `bandwidth.rs` is Bandwidth's door (validation webhook, notifications,
//! contract §15); `telnyx.rs` is Telnyx's door (signed port-out events,
//! the reject sent back to Telnyx, contract §16).

mod bandwidth;
mod body;
mod decision;
mod handler;
mod read;
mod reject;
mod submit;
mod telnyx;

pub use bandwidth::{Bandwidth, DEFAULT_DEADLINE as BANDWIDTH_DEADLINE};
pub use handler::{App, SERVICE};
pub use telnyx::Telnyx;
