//! PINs are stored only as Argon2id hashes (OWASP: 19 MiB, t=2, p=1) keyed
//! with a pepper that is not in the table. The pepper's version is stored
//! beside the hash, so a new pepper can be introduced while old hashes still
//! verify until their tenants set a PIN again.

use crate::SecretError;
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use portguard_validation::Pin;
use secrecy::{ExposeSecret, SecretBox};
use std::collections::BTreeMap;
use std::fmt;

pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_ITERATIONS: u32 = 2;
const ARGON2_PARALLELISM: u32 = 1;
const MIN_PEPPER_BYTES: usize = 32;

/// A hash as stored: the PHC string and the pepper version that keyed it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPin {
    pub hash: String,
    pub pepper_version: String,
}

impl fmt::Debug for StoredPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StoredPin(pepper {}, hash <redacted>)",
            self.pepper_version
        )
    }
}

pub struct PinHasher {
    current: String,
    peppers: BTreeMap<String, SecretBox<Vec<u8>>>,
}

impl fmt::Debug for PinHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinHasher(current pepper {})", self.current)
    }
}

impl PinHasher {
    /// Parses a pepper secret. Either the pepper itself (version `v1`), or
    /// JSON `{"current": "v2", "peppers": {"v1": "…", "v2": "…"}}` for rotation.
    pub fn from_secret(value: &str, var: &'static str) -> Result<PinHasher, SecretError> {
        let invalid = |reason: &str| SecretError::Invalid {
            var,
            reason: reason.to_owned(),
        };
        let (current, peppers): (String, BTreeMap<String, String>) =
            if value.trim_start().starts_with('{') {
                #[derive(serde::Deserialize)]
                struct Rotating {
                    current: String,
                    peppers: BTreeMap<String, String>,
                }
                let r: Rotating = serde_json::from_str(value).map_err(|_| {
                    invalid(r#"expected {"current": "v2", "peppers": {"v1": "...", "v2": "..."}}"#)
                })?;
                (r.current, r.peppers)
            } else {
                (
                    "v1".into(),
                    BTreeMap::from([("v1".into(), value.to_owned())]),
                )
            };
        if !peppers.contains_key(&current) {
            return Err(invalid(
                "the current pepper version is not among the peppers",
            ));
        }
        if peppers.values().any(|p| p.len() < MIN_PEPPER_BYTES) {
            return Err(invalid("a pepper must be at least 32 bytes"));
        }
        let peppers = peppers
            .into_iter()
            .map(|(v, p)| (v, SecretBox::new(Box::new(p.into_bytes()))))
            .collect();
        Ok(PinHasher { current, peppers })
    }

    /// Loads from `PIN_PEPPER` or `PIN_PEPPER_SECRET_ARN`.
    pub async fn from_env() -> Result<PinHasher, SecretError> {
        let (value, var) = crate::load_secret("PIN_PEPPER", "PIN_PEPPER_SECRET_ARN").await?;
        PinHasher::from_secret(&value, var)
    }

    pub fn current_version(&self) -> &str {
        &self.current
    }

    /// The pepper in use, to derive other keys (HMAC tokens) from.
    pub(crate) fn current_pepper(&self) -> &[u8] {
        self.peppers[&self.current].expose_secret()
    }

    fn argon2(&self, version: &str) -> Option<Argon2<'_>> {
        let pepper = self.peppers.get(version)?.expose_secret();
        let params = Params::new(
            ARGON2_MEMORY_KIB,
            ARGON2_ITERATIONS,
            ARGON2_PARALLELISM,
            None,
        )
        .expect("constant Argon2 parameters are valid");
        Argon2::new_with_secret(pepper, Algorithm::Argon2id, Version::V0x13, params).ok()
    }

    pub fn hash(&self, pin: &Pin) -> StoredPin {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let hash = self
            .argon2(&self.current)
            .expect("the current pepper exists")
            .hash_password(pin.expose().as_bytes(), &salt)
            .expect("hashing a short PIN with valid parameters cannot fail")
            .to_string();
        StoredPin {
            hash,
            pepper_version: self.current.clone(),
        }
    }

    /// Constant-time comparison (the Argon2 output is compared with
    /// `subtle`'s `ConstantTimeEq` inside `password-hash`). An unknown pepper
    /// version or a corrupt hash never matches.
    pub fn verify(&self, pin: &Pin, stored: &StoredPin) -> bool {
        let Some(argon2) = self.argon2(&stored.pepper_version) else {
            return false;
        };
        let Ok(parsed) = PasswordHash::new(&stored.hash) else {
            return false;
        };
        argon2
            .verify_password(pin.expose().as_bytes(), &parsed)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEPPER: &str = "0123456789abcdef0123456789abcdef-test";

    fn pin(s: &str) -> Pin {
        Pin::parse_presented(s).unwrap()
    }

    #[test]
    fn hash_verifies_and_hides_the_pin() {
        let h = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
        let stored = h.hash(&pin("48151623"));
        assert!(stored.hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!stored.hash.contains("48151623"));
        assert!(h.verify(&pin("48151623"), &stored));
        assert!(!h.verify(&pin("48151624"), &stored));
        assert!(!format!("{stored:?}{h:?}").contains("argon2id"));
    }

    #[test]
    fn pepper_is_part_of_the_key() {
        let a = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
        let b = PinHasher::from_secret(&PEPPER.replace('0', "9"), "PIN_PEPPER").unwrap();
        let stored = a.hash(&pin("48151623"));
        assert!(!b.verify(&pin("48151623"), &stored));
    }

    #[test]
    fn rotation_keeps_old_hashes_valid() {
        let old = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
        let stored = old.hash(&pin("48151623"));
        let json = format!(
            r#"{{"current":"v2","peppers":{{"v1":"{PEPPER}","v2":"{}"}}}}"#,
            "z".repeat(40)
        );
        let new = PinHasher::from_secret(&json, "PIN_PEPPER").unwrap();
        assert!(new.verify(&pin("48151623"), &stored));
        assert_eq!(new.hash(&pin("48151623")).pepper_version, "v2");
    }

    #[test]
    fn short_or_inconsistent_peppers_fail_naming_the_variable() {
        let err = PinHasher::from_secret("short", "PIN_PEPPER").unwrap_err();
        assert!(err.to_string().starts_with("PIN_PEPPER:"));
        assert!(PinHasher::from_secret(r#"{"current":"v3","peppers":{}}"#, "X").is_err());
        assert!(!err.to_string().contains("short"), "never echo the secret");
    }
}
