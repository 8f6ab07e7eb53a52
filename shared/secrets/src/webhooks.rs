//! Carriers' Standard Webhooks secrets: `CARRIER_WEBHOOK_SECRETS` (JSON
//! object carrier id → `whsec_…`, or → a list of them while a secret is being
//! rotated) or the same JSON from Secrets Manager.

use crate::SecretError;
use http::HeaderMap;
use standardwebhooks::Webhook;
use std::collections::HashMap;

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
                hooks.push(Webhook::new(&s).map_err(|_| {
                    invalid(format!("the secret of carrier {carrier:?} is not base64"))
                })?);
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
