//! HMAC-SHA256 with keys derived from the pepper, for values the API hands
//! out and must recognise later (pagination tokens) and for fingerprints
//! that must not reveal what they fingerprint (idempotency payloads, which
//! contain a PIN).

use crate::PinHasher;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;
const TAG_LEN: usize = 32;

#[derive(Clone)]
pub struct TokenSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(<redacted>)")
    }
}

impl TokenSigner {
    /// A key for one `purpose`, derived from the current pepper.
    pub fn derive(hasher: &PinHasher, purpose: &str) -> TokenSigner {
        TokenSigner {
            key: mac(hasher.current_pepper(), purpose.as_bytes()),
        }
    }

    /// A key for one `purpose`, derived from the secret a pepper rotation
    /// does not change (see [`PinHasher::from_secret`]): for values that
    /// must be recognised across a rotation, such as idempotency
    /// fingerprints.
    pub fn derive_stable(hasher: &PinHasher, purpose: &str) -> TokenSigner {
        TokenSigner {
            key: mac(hasher.stable_secret(), purpose.as_bytes()),
        }
    }

    /// A keyed fingerprint, hex.
    pub fn fingerprint(&self, data: &[u8]) -> String {
        mac(&self.key, data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// `payload` with a tag, URL-safe base64.
    pub fn seal(&self, payload: &[u8]) -> String {
        let mut out = payload.to_vec();
        out.extend_from_slice(&mac(&self.key, payload));
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The payload of a token this signer sealed; `None` for anything else.
    pub fn open(&self, token: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() < TAG_LEN {
            return None;
        }
        let (payload, tag) = raw.split_at(raw.len() - TAG_LEN);
        let mut m = HmacSha256::new_from_slice(&self.key).expect("any key length");
        m.update(payload);
        m.verify_slice(tag).ok()?; // constant time
        Some(payload.to_vec())
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let h = PinHasher::from_secret(&"p".repeat(32), "PIN_PEPPER").unwrap();
        let s = TokenSigner::derive(&h, "next-token");
        let t = s.seal(b"hello");
        assert_eq!(s.open(&t).as_deref(), Some(&b"hello"[..]));
        let other = TokenSigner::derive(&h, "other");
        assert_eq!(other.open(&t), None);
        let mut bad = t.clone();
        bad.replace_range(0..1, if t.starts_with('a') { "b" } else { "a" });
        assert_eq!(s.open(&bad), None);
        assert_eq!(s.open("!!"), None);
        assert_ne!(s.fingerprint(b"x"), other.fingerprint(b"x"));
    }
}
