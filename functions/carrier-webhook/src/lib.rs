//! `carrier-webhook`: carriers report an order's progress with Standard
//! Webhooks signed events (contract §5). `main.rs` wires; `handler.rs`
//! verifies, parses, deduplicates and applies the life cycle of contract §4.3.

mod event;
mod handler;

pub use event::{CarrierEvent, EventError};
pub use handler::{App, SERVICE};
