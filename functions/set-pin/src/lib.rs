//! `set-pin`: the tenant admin's port-out PIN (contract §3) and the audit
//! trail (contract §7). `main.rs` wires; `app.rs` holds the
//! state, `routes.rs` routes, and each resource has its own module.

mod alert_contacts;
mod app;
mod audit_events;
mod notification_endpoint;
mod numbers;
mod pin;
mod pin_rules;
mod protection;
mod routes;
mod transfer_pins;

pub use app::App;

/// The function's name in logs and metrics.
pub const SERVICE: &str = "set-pin";
