//! `set-pin`: the tenant admin's port-out PIN (contract §3) and the audit
//! trail (contract §7). `main.rs` wires; `handler.rs` routes and decides.

mod alert_contacts;
mod audit_route;
mod endpoint;
mod handler;
mod pin_rules;
mod protection;
mod transfer_pins;

pub use handler::App;

/// The function's name in logs and metrics.
pub const SERVICE: &str = "set-pin";
