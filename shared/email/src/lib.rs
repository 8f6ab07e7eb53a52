//! Alert emails (contract §17): one message per audit item, in words a
//! person understands without opening it, and the confirmation-code
//! message. [`render`] is pure; [`Mailer`] sends through SES v2.

mod mailer;
mod render;
mod words;

pub use mailer::{Mailer, SendFailure};
pub use render::{alert, confirmation_code, types_changed, Message};
pub use words::subject;
