//! Configuration from the environment, read once at start-up. A bad value
//! fails the cold start with a message naming the variable.

use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

pub fn required(var: &'static str) -> Result<String, ConfigError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError {
            var,
            message: "is required".into(),
        }),
    }
}

/// An integer in `range`, or `default` when unset.
pub fn int_or<T>(
    var: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Ok(raw) = std::env::var(var) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| ConfigError {
            var,
            message: format!(
                "must be an integer from {} to {}, got {raw:?}",
                range.start(),
                range.end()
            ),
        })
}

/// `TABLE_NAME`.
pub fn table_name() -> Result<String, ConfigError> {
    required("TABLE_NAME")
}

/// `PIN_MAX_FAILED_ATTEMPTS` and `PIN_LOCKOUT_SECONDS`.
pub fn lock_policy() -> Result<portguard_rules::LockPolicy, ConfigError> {
    Ok(portguard_rules::LockPolicy {
        max_failed_attempts: int_or("PIN_MAX_FAILED_ATTEMPTS", 5, 1..=100)?,
        lockout_seconds: int_or("PIN_LOCKOUT_SECONDS", 3600, 1..=30 * 86400)?,
    })
}

/// `PENDING_EXPIRY_HOURS` and `FOC_GRACE_HOURS`.
pub fn expiry_policy() -> Result<portguard_rules::expiry::ExpiryPolicy, ConfigError> {
    Ok(portguard_rules::expiry::ExpiryPolicy {
        pending_expiry_hours: int_or("PENDING_EXPIRY_HOURS", 168, 1..=24 * 365)?,
        foc_grace_hours: int_or("FOC_GRACE_HOURS", 72, 0..=24 * 365)?,
    })
}

/// `NOTIFY_ALLOW_LOOPBACK_HTTP`: `true` lets notification endpoints be
/// loopback (development and tests only); default `false`.
pub fn allow_loopback_http() -> Result<bool, ConfigError> {
    match std::env::var("NOTIFY_ALLOW_LOOPBACK_HTTP") {
        Err(_) => Ok(false),
        Ok(v) => match v.trim() {
            "" | "false" | "0" => Ok(false),
            "true" | "1" => Ok(true),
            other => Err(ConfigError {
                var: "NOTIFY_ALLOW_LOOPBACK_HTTP",
                message: format!(
                    "must be true or false, got {:?}",
                    other.chars().take(64).collect::<String>()
                ),
            }),
        },
    }
}

/// `PROTECTION_DISABLE_DELAY_SECONDS`: how long a turn-off of a lock or of
/// `transferPinRequired` waits (contract §11); 0 turns off at once.
pub fn protection_disable_delay() -> Result<i64, ConfigError> {
    int_or("PROTECTION_DISABLE_DELAY_SECONDS", 86_400, 0..=2_592_000)
}

/// `TRANSFER_PIN_TTL_SECONDS`: the life of a transfer PIN (contract §12).
pub fn transfer_pin_ttl() -> Result<i64, ConfigError> {
    int_or("TRANSFER_PIN_TTL_SECONDS", 604_800, 1..=604_800)
}
