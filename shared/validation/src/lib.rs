//! Parse, don't validate: every input portguard accepts is turned into a type
//! that cannot hold an invalid value. Pure: no AWS, no IO, no clock.

mod email;
mod ids;
mod phone;
mod pin;
mod reason;
mod text;
mod url;
mod us_rules;

pub use email::{EmailAddress, EmailError, MAX_EMAIL_LEN};
pub use ids::{
    AccountNumber, AuditId, CarrierId, ContactId, Country, IdError, OrderId, TenantId,
    TransferPinId,
};
pub use phone::{PhoneError, PhoneListError, PhoneNumber, Repeats, MAX_PORT_OUT_NUMBERS};
pub use pin::{KnownDigits, Pin, PinError, WeakReason};
pub use reason::{ReasonError, RejectReason};
pub use text::{free_text, is_deceptive, parse_date, AuthorizedName, Pon, TextError};
pub use url::{ip_blocked, NotifyUrl, UrlError, MAX_URL_LEN};
