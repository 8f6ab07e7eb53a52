//! Everything secret: the PIN pepper and PIN hashing, HMAC tokens derived
//! from the pepper, and the carriers' webhook secrets. Secrets come from the
//! environment in development and from Secrets Manager in AWS, once per cold
//! start; none of them is ever logged (no `Debug` prints a key).

mod pin_hash;
mod source;
mod tokens;
pub mod transfer_pin;
mod webhooks;

pub use pin_hash::{PinHasher, StoredPin, ARGON2_MEMORY_KIB};
pub use source::{load_secret, SecretError};
pub use tokens::TokenSigner;
pub use transfer_pin::generate_transfer_pin;
pub use webhooks::{WebhookSecrets, WebhookVerifyError};
