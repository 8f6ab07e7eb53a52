//! Carriers' Standard Webhooks secrets: `CARRIER_WEBHOOK_SECRETS` (JSON
//! object carrier id → `whsec_…`, or → a list of them while a secret is being
//! rotated) or the same JSON from Secrets Manager.

use crate::SecretError;
use base64::Engine;
use http::HeaderMap;
use standardwebhooks::Webhook;
use std::collections::HashMap;

/// contract §9: every `whsec_` secret decodes to 24 to 64 bytes.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

pub struct WebhookSecrets {
    by_carrier: HashMap<String, Vec<Webhook>>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut carriers: Vec<_> = self.by_carrier.keys().collect();
        carriers.sort();
        write!(f, "WebhookSecrets(carriers {carriers:?})")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookVerifyError {
    #[error("unknown carrier")]
    UnknownCarrier,
    #[error("{0}")]
    Invalid(String),
}

impl WebhookSecrets {
    pub fn from_secret(value: &str, var: &'static str) -> Result<WebhookSecrets, SecretError> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let invalid = |reason: String| SecretError::Invalid { var, reason };
        let raw: HashMap<String, OneOrMany> = serde_json::from_str(value).map_err(|_| {
            invalid(r#"expected a JSON object such as {"carrier-a": "whsec_..."}"#.into())
        })?;
        let mut by_carrier = HashMap::new();
        for (carrier, secrets) in raw {
            let secrets = match secrets {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            let mut hooks = Vec::new();
            for s in secrets {
                if !s.starts_with("whsec_") {
                    return Err(invalid(format!(
                        "the secret of carrier {carrier:?} must start with whsec_"
                    )));
                }
                let not_base64 =
                    || invalid(format!("the secret of carrier {carrier:?} is not base64"));
                let key = base64::engine::general_purpose::STANDARD
                    .decode(&s["whsec_".len()..])
                    .map_err(|_| not_base64())?;
                if !SECRET_BYTES.contains(&key.len()) {
                    return Err(invalid(format!(
                        "the secret of carrier {carrier:?} must decode to 24 to 64 bytes"
                    )));
                }
                hooks.push(Webhook::new(&s).map_err(|_| not_base64())?);
            }
            by_carrier.insert(carrier, hooks);
        }
        Ok(WebhookSecrets { by_carrier })
    }

    pub async fn from_env() -> Result<WebhookSecrets, SecretError> {
        let (value, var) =
            crate::load_secret("CARRIER_WEBHOOK_SECRETS", "CARRIER_WEBHOOK_SECRETS_ARN").await?;
        WebhookSecrets::from_secret(&value, var)
    }

    /// Verifies the signature (any of the carrier's secrets, any of the
    /// header's signatures) and the timestamp (300 s tolerance) over the
    /// exact body bytes.
    pub fn verify(
        &self,
        carrier: &str,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<(), WebhookVerifyError> {
        let hooks = self
            .by_carrier
            .get(carrier)
            .ok_or(WebhookVerifyError::UnknownCarrier)?;
        let mut last = None;
        for hook in hooks {
            match hook.verify(body, headers) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(WebhookVerifyError::Invalid(
            last.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn with_bytes(n: usize) -> String {
        format!(
            r#"{{"carrier-a": "whsec_{}"}}"#,
            STANDARD.encode(vec![7u8; n])
        )
    }

    #[test]
    fn secrets_decode_to_24_to_64_bytes() {
        for n in [24, 32, 64] {
            assert!(
                WebhookSecrets::from_secret(&with_bytes(n), "CARRIER_WEBHOOK_SECRETS").is_ok(),
                "{n}"
            );
        }
        for n in [0, 1, 16, 23, 65, 128] {
            let err = WebhookSecrets::from_secret(&with_bytes(n), "CARRIER_WEBHOOK_SECRETS")
                .err()
                .unwrap_or_else(|| panic!("{n} bytes accepted"));
            let message = err.to_string();
            assert!(message.starts_with("CARRIER_WEBHOOK_SECRETS:"), "{message}");
            assert!(message.contains("24 to 64 bytes"), "{message}");
            assert!(
                !message.contains(&STANDARD.encode(vec![7u8; n.max(1)])),
                "never the secret"
            );
        }
        // Rotation lists are checked too.
        let list = format!(
            r#"{{"carrier-a": ["whsec_{}", "whsec_{}"]}}"#,
            STANDARD.encode([1u8; 32]),
            STANDARD.encode([1u8; 8])
        );
        assert!(WebhookSecrets::from_secret(&list, "X").is_err());
        assert!(WebhookSecrets::from_secret(r#"{"c": "whsec_%%%"}"#, "X").is_err());
    }
}
