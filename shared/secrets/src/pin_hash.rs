//! PINs are stored only as Argon2id hashes (OWASP: 19 MiB, t=2, p=1) keyed
//! with a pepper that is not in the table. The pepper's version is stored
//! beside the hash, so a new pepper can be introduced while old hashes still
//! verify until their tenants set a PIN again.

use crate::SecretError;
use argon2::{
    password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString},
    Algorithm, Argon2, Block, Params, Version, ARGON2ID_IDENT,
};
use portguard_validation::Pin;
use secrecy::{ExposeSecret, SecretBox};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

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
    /// Keys what must survive a pepper rotation (idempotency fingerprints):
    /// the secret's `idempotencyKey`, else the pepper of a fixed version.
    stable: SecretBox<Vec<u8>>,
    /// Argon2's 19 MiB working memory, reused by every hash and check. A
    /// fresh allocation per call lets the allocator keep several such
    /// blocks in its heap (peak RSS, issue 6); one reused block is one.
    memory: Mutex<Vec<Block>>,
}

fn params() -> Params {
    Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .expect("constant Argon2 parameters are valid")
}

impl fmt::Debug for PinHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinHasher(current pepper {})", self.current)
    }
}

/// A stored hash names a pepper version this function was not given: an
/// operator's mistake (a version retired while hashes still use it), never
/// a wrong PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored PIN hash names pepper version {0:?}, which is not configured")]
pub struct UnknownPepperVersion(pub String);

/// The pepper version whose pepper keys idempotency fingerprints when the
/// secret carries no `idempotencyKey` (and names no other version).
pub const DEFAULT_IDEMPOTENCY_PEPPER_VERSION: &str = "v1";

impl PinHasher {
    /// Parses a pepper secret. Either the pepper itself (version `v1`), or
    /// JSON `{"current": "v2", "peppers": {"v1": "…", "v2": "…"}}` for
    /// rotation, optionally with `"idempotencyKey": "…"` (at least 32 bytes)
    /// or `"idempotencyPepperVersion": "v1"`: what keys idempotency
    /// fingerprints, which must not change when `current` does. Without
    /// either, the pepper of version `v1` keys them, and a secret without
    /// `v1` is refused rather than silently keyed by another pepper.
    pub fn from_secret(value: &str, var: &'static str) -> Result<PinHasher, SecretError> {
        let invalid = |reason: &str| SecretError::Invalid {
            var,
            reason: reason.to_owned(),
        };
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Rotating {
            current: String,
            peppers: BTreeMap<String, String>,
            idempotency_key: Option<String>,
            idempotency_pepper_version: Option<String>,
        }
        let r: Rotating = if value.trim_start().starts_with('{') {
            serde_json::from_str(value).map_err(|_| {
                invalid(r#"expected {"current": "v2", "peppers": {"v1": "...", "v2": "..."}}"#)
            })?
        } else {
            Rotating {
                current: "v1".into(),
                peppers: BTreeMap::from([("v1".into(), value.to_owned())]),
                idempotency_key: None,
                idempotency_pepper_version: None,
            }
        };
        let (current, peppers) = (r.current, r.peppers);
        if !peppers.contains_key(&current) {
            return Err(invalid(
                "the current pepper version is not among the peppers",
            ));
        }
        if peppers.values().any(|p| p.len() < MIN_PEPPER_BYTES) {
            return Err(invalid("a pepper must be at least 32 bytes"));
        }
        let stable = match (r.idempotency_key, r.idempotency_pepper_version) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "give idempotencyKey or idempotencyPepperVersion, not both",
                ))
            }
            (Some(key), None) if key.len() < MIN_PEPPER_BYTES => {
                return Err(invalid("idempotencyKey must be at least 32 bytes"))
            }
            (Some(key), None) => key.into_bytes(),
            (None, version) => {
                let version =
                    version.unwrap_or_else(|| DEFAULT_IDEMPOTENCY_PEPPER_VERSION.to_owned());
                peppers
                    .get(&version)
                    .ok_or_else(|| {
                        invalid(
                            "the pepper that keys idempotency fingerprints (idempotencyPepperVersion, \
                             default v1) is not among the peppers; keep it, or set idempotencyKey",
                        )
                    })?
                    .clone()
                    .into_bytes()
            }
        };
        let peppers = peppers
            .into_iter()
            .map(|(v, p)| (v, SecretBox::new(Box::new(p.into_bytes()))))
            .collect();
        Ok(PinHasher {
            current,
            peppers,
            stable: SecretBox::new(Box::new(stable)),
            memory: Mutex::new(Vec::new()),
        })
    }

    /// Allocates and touches Argon2's working memory now (at init), so the
    /// first request does not pay for 19 MiB of page faults.
    pub fn prepare(&self) {
        if let Ok(mut memory) = self.memory.try_lock() {
            let blocks = params().block_count();
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
        }
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

    /// The secret that a pepper rotation leaves alone, to derive keys of
    /// values that outlive a rotation (idempotency fingerprints).
    pub(crate) fn stable_secret(&self) -> &[u8] {
        self.stable.expose_secret()
    }

    /// Argon2id of `pin` keyed with the pepper `version`, into `out`, in
    /// the shared working memory. `None` for an unknown pepper or bad input.
    fn digest(
        &self,
        version: &str,
        params: Params,
        pin: &Pin,
        salt: Salt<'_>,
        out: &mut [u8],
    ) -> Option<()> {
        let pepper = self.peppers.get(version)?.expose_secret();
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let salt = salt.decode_b64(&mut salt_bytes).ok()?;
        let blocks = params.block_count();
        let argon2 =
            Argon2::new_with_secret(pepper, Algorithm::Argon2id, Version::V0x13, params).ok()?;
        // Lambda runs one request at a time, so the shared memory is free;
        // a concurrent caller (tests, the CLI) gets its own rather than wait.
        let mut own = Vec::new();
        let mut shared = self.memory.try_lock();
        let memory = match shared.as_deref_mut() {
            Ok(memory) => memory,
            Err(_) => &mut own,
        };
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2
            .hash_password_into_with_memory(
                pin.expose().as_bytes(),
                salt,
                out,
                &mut memory[..blocks],
            )
            .ok()
    }

    pub fn hash(&self, pin: &Pin) -> StoredPin {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.digest(&self.current, params(), pin, salt.as_salt(), &mut out)
            .expect("hashing a short PIN with valid parameters cannot fail");
        let hash = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params()).expect("valid parameters"),
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).expect("a 32-byte output")),
        }
        .to_string();
        StoredPin {
            hash,
            pepper_version: self.current.clone(),
        }
    }

    /// `Err` when `stored` is under a pepper version this hasher was not
    /// given. Checked for every candidate before any is verified, so the
    /// answer to a wrong PIN never depends on which candidates exist.
    pub fn knows(&self, stored: &StoredPin) -> Result<(), UnknownPepperVersion> {
        if self.peppers.contains_key(&stored.pepper_version) {
            return Ok(());
        }
        let shown: String = stored.pepper_version.chars().take(64).collect();
        Err(UnknownPepperVersion(shown))
    }

    /// [`PinHasher::verify`], telling an unknown pepper version (an
    /// operator error: answer 500 and count nothing) from a wrong PIN.
    pub fn check(&self, pin: &Pin, stored: &StoredPin) -> Result<bool, UnknownPepperVersion> {
        self.knows(stored)?;
        Ok(self.verify(pin, stored))
    }

    /// Recomputes the hash with the stored salt and parameters and compares
    /// in constant time. An unknown pepper version, a corrupt hash or
    /// parameters costlier than ours (a tampered item must not make a check
    /// allocate more) never match.
    pub fn verify(&self, pin: &Pin, stored: &StoredPin) -> bool {
        let Ok(parsed) = PasswordHash::new(&stored.hash) else {
            return false;
        };
        let (Ok(params), Some(salt), Some(expected)) =
            (Params::try_from(&parsed), parsed.salt, parsed.hash)
        else {
            return false;
        };
        if parsed.algorithm != ARGON2ID_IDENT
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() > ARGON2_MEMORY_KIB
            || params.t_cost() > ARGON2_ITERATIONS
            || params.p_cost() > ARGON2_PARALLELISM
        {
            return false;
        }
        let mut out = vec![0u8; expected.len()];
        self.digest(&stored.pepper_version, params, pin, salt, &mut out)
            .is_some()
            && bool::from(expected.as_bytes().ct_eq(&out))
    }
}

#[cfg(test)]
mod tests;
