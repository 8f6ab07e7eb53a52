//! Pure decisions: what a failed PIN attempt does to the lock, which order
//! transitions are allowed, when an open order has gone stale. Values in,
//! decisions out; the store applies them with conditional writes.

pub mod admission;
pub mod expiry;
pub mod foc;
pub mod lifecycle;
pub mod lockout;
pub mod notify;
pub mod port_out;
pub mod protection;
pub mod transfer_pin;

pub use lifecycle::{Decision, NumberFate, OrderEvent, OrderStatus};
pub use lockout::{CarrierLocks, LockId, LockPolicy, LockState, LockStatus, LockedCarrier};
pub use protection::{Change, Setting, SettingView};
