//! Parse, don't validate: every input portguard accepts is turned into a type
//! that cannot hold an invalid value. Pure: no AWS, no IO, no clock.

mod ids;
mod phone;
mod pin;
mod reason;
mod text;

pub use ids::{AccountNumber, CarrierId, Country, IdError, OrderId, TenantId};
pub use phone::{PhoneError, PhoneNumber};
pub use pin::{Pin, PinError};
pub use reason::{ReasonError, RejectReason};
pub use text::{parse_date, AuthorizedName, Pon, TextError};
