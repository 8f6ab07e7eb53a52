//! HTTP Basic credentials an upstream presents (Bandwidth, contract §15):
//! JSON `{"username": …, "password": …}` from the environment or Secrets
//! Manager, checked in constant time.

use crate::SecretError;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// contract §9: the password is 16 to 128 characters.
const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 16..=128;

pub struct BasicCredentials {
    /// SHA-256 of `username:password`: a fixed-length value to compare in
    /// constant time whatever length the caller sends.
    digest: [u8; 32],
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BasicCredentials(..)")
    }
}

/// What an `Authorization` header came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicCheck {
    /// No `Authorization` header: answer the challenge.
    Missing,
    /// A header that is not these credentials (or not Basic at all).
    Wrong,
    Right,
}

impl BasicCredentials {
    pub fn from_secret(value: &str, var: &'static str) -> Result<BasicCredentials, SecretError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            username: String,
            password: String,
        }
        let invalid = |reason: &str| SecretError::Invalid {
            var,
            reason: reason.to_owned(),
        };
        let raw: Raw = serde_json::from_str(value).map_err(|_| {
            invalid(r#"expected a JSON object {"username": "...", "password": "..."}"#)
        })?;
        let visible = |s: &str| s.chars().all(|c| c.is_ascii_graphic());
        if raw.username.is_empty() || raw.username.contains(':') || !visible(&raw.username) {
            return Err(invalid(
                "the username must be visible ASCII characters without ':'",
            ));
        }
        if !PASSWORD_CHARS.contains(&raw.password.chars().count()) || !visible(&raw.password) {
            return Err(invalid(
                "the password must be 16 to 128 visible ASCII characters",
            ));
        }
        Ok(BasicCredentials {
            digest: digest(format!("{}:{}", raw.username, raw.password).as_bytes()),
        })
    }

    /// Loads from `direct` or the secret named by `arn`; `None` when neither
    /// is set (the integration is off).
    pub async fn from_env(
        direct: &'static str,
        arn: &'static str,
    ) -> Result<Option<BasicCredentials>, SecretError> {
        match crate::load_secret(direct, arn).await {
            Ok((value, var)) => BasicCredentials::from_secret(&value, var).map(Some),
            Err(SecretError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, header: Option<&[u8]>) -> BasicCheck {
        let Some(header) = header else {
            return BasicCheck::Missing;
        };
        let decoded = std::str::from_utf8(header)
            .ok()
            .and_then(|h| {
                let (scheme, value) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("basic").then_some(value)
            })
            .and_then(|value| {
                base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .ok()
            });
        let Some(decoded) = decoded else {
            return BasicCheck::Wrong;
        };
        match bool::from(digest(&decoded).ct_eq(&self.digest)) {
            true => BasicCheck::Right,
            false => BasicCheck::Wrong,
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"username": "bandwidth", "password": "correct-horse-battery"}"#;

    fn header(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[test]
    fn right_wrong_and_missing() {
        let c = BasicCredentials::from_secret(GOOD, "X").unwrap();
        let right = header("bandwidth:correct-horse-battery");
        assert_eq!(c.check(Some(right.as_bytes())), BasicCheck::Right);
        assert_eq!(
            c.check(Some(right.to_lowercase().as_bytes())),
            BasicCheck::Wrong
        );
        let wrong = header("bandwidth:correct-horse-batterx");
        assert_eq!(c.check(Some(wrong.as_bytes())), BasicCheck::Wrong);
        assert_eq!(c.check(Some(b"Bearer abc")), BasicCheck::Wrong);
        assert_eq!(c.check(Some(b"Basic !!!")), BasicCheck::Wrong);
        assert_eq!(c.check(Some(&[0xff, 0xfe])), BasicCheck::Wrong);
        assert_eq!(c.check(None), BasicCheck::Missing);
    }

    #[test]
    fn bad_configuration_names_the_variable_and_hides_the_password() {
        for bad in [
            "not json",
            r#"{"username": "b", "password": "short"}"#,
            r#"{"username": "a:b", "password": "correct-horse-battery"}"#,
            r#"{"username": "", "password": "correct-horse-battery"}"#,
            r#"{"username": "b", "password": "correct-horse-battery", "x": 1}"#,
        ] {
            let e = BasicCredentials::from_secret(bad, "BANDWIDTH_CREDENTIALS").unwrap_err();
            let text = e.to_string();
            assert!(text.starts_with("BANDWIDTH_CREDENTIALS"), "{text}");
            assert!(!text.contains("short") && !text.contains("horse"), "{text}");
        }
        let c = BasicCredentials::from_secret(GOOD, "X").unwrap();
        assert!(!format!("{c:?}").contains("horse"));
    }
}
