//! Signing secrets of notification endpoints (contract §14): Standard
//! Webhooks `whsec_` + base64 of 32 bytes.
//!
//! The table never holds a secret that signs. An endpoint's item stores
//! `derived:v1:{key id}:{salt}`; the secret is HMAC-SHA256 of the master key
//! (`ENDPOINT_SECRET_KEY`, from Secrets Manager in AWS) over the endpoint's
//! owner and that salt. A copy of the table alone signs nothing, and a stored
//! form moved onto another owner's item derives another secret. Items written
//! before this scheme hold `whsec_…` itself; they are read as they are until
//! the secret is next rotated.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::OnceLock;

pub const ENDPOINT_SECRET_BYTES: usize = 32;
/// The master key's variables: the key itself (development) or its secret's
/// ARN (Secrets Manager).
pub const ENDPOINT_SECRET_KEY: &str = "ENDPOINT_SECRET_KEY";
pub const ENDPOINT_SECRET_KEY_ARN: &str = "ENDPOINT_SECRET_KEY_ARN";
/// A master key shorter than this many bytes is refused at start-up.
pub const MIN_KEY_BYTES: usize = 32;

const PREFIX: &str = "derived:v1:";
const SALT_BYTES: usize = 16;
/// Domain separation: this key derives nothing else.
const LABEL: &[u8] = b"portguard endpoint secret v1";

/// The master key of endpoint secrets. No `Debug`: it never reaches a log.
#[derive(Clone)]
pub struct EndpointKeys {
    key: Vec<u8>,
    /// Names the key in stored forms, so a secret stored under another key
    /// is an error, not a silently wrong signature.
    id: String,
}

/// Why a stored form gives no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevealError {
    #[error("the endpoint's secret was issued under another ENDPOINT_SECRET_KEY (key {0})")]
    OtherKey(String),
    #[error("the endpoint's stored secret is neither whsec_… nor derived:v1:…")]
    Malformed,
}

/// A new secret: what the table stores and what the owner is shown once.
pub struct IssuedSecret {
    pub stored: String,
    pub shown: String,
}

impl EndpointKeys {
    /// A key of at least [`MIN_KEY_BYTES`] bytes, used as given.
    pub fn new(key: &[u8]) -> Result<EndpointKeys, String> {
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the endpoint secret key must be at least {MIN_KEY_BYTES} bytes, not {}",
                key.len()
            ));
        }
        let mut mac = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(b"portguard endpoint secret key id");
        let id = hex4(&mac.finalize().into_bytes());
        Ok(EndpointKeys {
            key: key.to_vec(),
            id,
        })
    }

    /// `ENDPOINT_SECRET_KEY`, else the secret `ENDPOINT_SECRET_KEY_ARN` names.
    pub async fn from_env() -> Result<EndpointKeys, crate::SecretError> {
        let (value, var) = crate::load_secret(ENDPOINT_SECRET_KEY, ENDPOINT_SECRET_KEY_ARN).await?;
        EndpointKeys::new(value.as_bytes())
            .map_err(|reason| crate::SecretError::Invalid { var, reason })
    }

    /// A key made for this process, shared by everything in it that has no
    /// configured key (tests that build the functions in one process). What
    /// it issues no other process can reveal.
    pub fn process_local() -> EndpointKeys {
        static KEY: OnceLock<EndpointKeys> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut key = [0u8; 32];
            OsRng.fill_bytes(&mut key);
            EndpointKeys::new(&key).expect("32 bytes")
        })
        .clone()
    }

    /// A fresh secret for `owner` (an endpoint's owner, e.g. `tenant#t1`).
    pub fn issue(&self, owner: &str) -> IssuedSecret {
        let mut salt = [0u8; SALT_BYTES];
        OsRng.fill_bytes(&mut salt);
        IssuedSecret {
            stored: format!("{PREFIX}{}:{}", self.id, B64URL.encode(salt)),
            shown: self.derive(owner, &salt),
        }
    }

    /// The signing secret of a stored form, for `owner`.
    pub fn reveal(&self, owner: &str, stored: &str) -> Result<String, RevealError> {
        if stored.starts_with("whsec_") {
            return Ok(stored.to_owned());
        }
        let rest = stored.strip_prefix(PREFIX).ok_or(RevealError::Malformed)?;
        let (id, salt) = rest.split_once(':').ok_or(RevealError::Malformed)?;
        if id != self.id {
            return Err(RevealError::OtherKey(id.chars().take(8).collect()));
        }
        let salt = B64URL.decode(salt).map_err(|_| RevealError::Malformed)?;
        if salt.len() != SALT_BYTES {
            return Err(RevealError::Malformed);
        }
        Ok(self.derive(owner, &salt))
    }

    fn derive(&self, owner: &str, salt: &[u8]) -> String {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.key).expect("HMAC takes any key");
        // Length-prefixed parts: no two (owner, salt) pairs share an input.
        for part in [LABEL, owner.as_bytes(), salt] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        format!("whsec_{}", B64.encode(mac.finalize().into_bytes()))
    }
}

fn hex4(bytes: &[u8]) -> String {
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random `whsec_…` secret, as items written before derived secrets
/// held (tests use it to write such items).
pub fn new_endpoint_secret() -> String {
    let mut key = [0u8; ENDPOINT_SECRET_BYTES];
    OsRng.fill_bytes(&mut key);
    format!("whsec_{}", B64.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> EndpointKeys {
        EndpointKeys::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn an_issued_secret_is_32_bytes_standardwebhooks_accepts_and_is_not_stored() {
        let k = keys(1);
        let a = k.issue("tenant#t1");
        let b = k.issue("tenant#t1");
        assert_ne!(a.shown, b.shown);
        assert!(!a.stored.contains(&a.shown[6..]));
        assert!(a.stored.starts_with("derived:v1:"), "{}", a.stored);
        let key = B64.decode(a.shown.trim_start_matches("whsec_")).unwrap();
        assert_eq!(key.len(), ENDPOINT_SECRET_BYTES);
        assert!(standardwebhooks::Webhook::new(&a.shown).is_ok());
        assert_eq!(k.reveal("tenant#t1", &a.stored).unwrap(), a.shown);
    }

    #[test]
    fn the_secret_depends_on_the_key_the_owner_and_the_salt() {
        let k = keys(1);
        let a = k.issue("tenant#t1");
        // Moved onto another owner's item: another secret.
        assert_ne!(k.reveal("tenant#t2", &a.stored).unwrap(), a.shown);
        assert_ne!(k.reveal("carrier#t1", &a.stored).unwrap(), a.shown);
        // Another master key: named, not silently wrong.
        assert!(matches!(
            keys(2).reveal("tenant#t1", &a.stored),
            Err(RevealError::OtherKey(_))
        ));
    }

    #[test]
    fn legacy_secrets_are_read_as_stored_and_nonsense_is_refused() {
        let k = keys(1);
        let old = new_endpoint_secret();
        assert_eq!(k.reveal("tenant#t1", &old).unwrap(), old);
        let good = k.issue("tenant#t1").stored;
        let (head, _) = good.rsplit_once(':').unwrap();
        for bad in [
            "",
            "derived:v1:",
            "derived:v2:abcd:AAAA",
            &format!("{head}:%%%"),
            &format!("{head}:AAAA"),
            "plain",
        ] {
            assert!(k.reveal("tenant#t1", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_short_master_key_is_refused() {
        assert!(EndpointKeys::new(&[0; 31]).is_err());
        assert!(EndpointKeys::new(&[0; 32]).is_ok());
    }

    #[test]
    fn the_process_key_is_one_key() {
        let a = EndpointKeys::process_local().issue("tenant#t1");
        assert_eq!(
            EndpointKeys::process_local().reveal("tenant#t1", &a.stored),
            Ok(a.shown)
        );
    }
}
