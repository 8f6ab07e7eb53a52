//! `submit-port-out`: gaining carriers request port-outs (contract §4.1) and
//! carriers and tenant admins read them (contract §4.2). `main.rs` wires;
//! `handler.rs` routes; `body.rs` parses (checks 1–5); `submit.rs` decides
//! (checks 6–12, lockout, idempotency); `read.rs` serves the reads;
//! `reject.rs` lets the tenant admin reject an open order (contract §13).

mod body;
mod handler;
mod read;
mod reject;
mod submit;

pub use handler::{App, SERVICE};
