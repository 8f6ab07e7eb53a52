//! Where a secret comes from: `NAME` directly (development) or `NAME_ARN`
//! / `..._SECRET_ARN` through Secrets Manager (AWS).

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("set {direct} (development) or {arn} (Secrets Manager)")]
    Missing {
        direct: &'static str,
        arn: &'static str,
    },
}

/// Reads the secret from `direct`, else fetches the secret named by `arn`.
/// Returns the variable it came from, for error messages.
pub async fn load_secret(
    direct: &'static str,
    arn: &'static str,
) -> Result<(String, &'static str), SecretError> {
    if let Ok(value) = std::env::var(direct) {
        return Ok((value, direct));
    }
    let Ok(secret_id) = std::env::var(arn) else {
        return Err(SecretError::Missing { direct, arn });
    };
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let out = client
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .map_err(|e| SecretError::Invalid {
            var: arn,
            reason: format!(
                "cannot read the secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ),
        })?;
    let value = out.secret_string.ok_or(SecretError::Invalid {
        var: arn,
        reason: "the secret has no string value".into(),
    })?;
    Ok((value, arn))
}
