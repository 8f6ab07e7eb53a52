//! `shared/api/src/event.rs` and `shared/secrets/src/webhooks.rs`, compiled
//! as is; the two items webhooks.rs uses from the rest of its crate
//! (`SecretError`, `load_secret`) are stood in for here. The fuzz build then
//! needs no AWS SDK.

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Never called by the fuzz targets (they build secrets from a string).
pub async fn load_secret(
    _direct: &'static str,
    _arn: &'static str,
) -> Result<(String, &'static str), SecretError> {
    unreachable!("the fuzz targets never load secrets from the environment")
}

#[path = "../../shared/secrets/src/webhooks.rs"]
pub mod webhooks;

#[path = "../../shared/api/src/event.rs"]
pub mod event;
