//! What the fuzz targets reach beyond the pure crates they link directly:
//! the API Gateway event conversion (`portguard-events`) and the carriers'
//! webhook verifier (`portguard-secrets`), the very crates the functions
//! link; neither pulls in the AWS SDK.

pub use portguard_events as event;

pub mod webhooks {
    pub use portguard_secrets::{WebhookSecrets, WebhookVerifyError};
}
