//! Everything secret: the PIN pepper and PIN hashing, HMAC tokens derived
//! from the pepper, the carriers' webhook secrets and the upstreams'
//! credentials. Secrets come from the
//! environment in development and from Secrets Manager in AWS, once per cold
//! start; none of them is ever logged (no `Debug` prints a key).

mod basic;
mod confirmation;
mod endpoint_secret;
mod pin_hash;
mod source;
mod tokens;
pub mod transfer_pin;
mod webhooks;

pub use basic::{BasicCheck, BasicCredentials};
pub use confirmation::{new_confirmation_code, CodeHasher, CODE_DIGITS};
pub use endpoint_secret::{
    new_endpoint_secret, EndpointKeys, IssuedSecret, RevealError, ENDPOINT_SECRET_BYTES,
    ENDPOINT_SECRET_KEY, ENDPOINT_SECRET_KEY_ARN,
};
pub use pin_hash::{
    PinHasher, StoredPin, UnknownPepperVersion, ARGON2_MEMORY_KIB,
    DEFAULT_IDEMPOTENCY_PEPPER_VERSION,
};
pub use source::{load_secret, SecretError};
pub use tokens::TokenSigner;
pub use transfer_pin::generate_transfer_pin;
pub use webhooks::{WebhookSecrets, WebhookVerifyError};
