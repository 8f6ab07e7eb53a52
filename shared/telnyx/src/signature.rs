//! Telnyx's event signature (contract §16): Ed25519 over
//! `"{telnyx-timestamp}|{raw body}"`, the timestamp within 300 s of now.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use ed25519_dalek::{Signature, VerifyingKey, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH};

pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// How far `telnyx-timestamp` may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a request is not Telnyx's: all answer `401 INVALID_SIGNATURE`; the
/// variant is for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    MissingHeader,
    MalformedHeader,
    Stale,
    Mismatch,
}

impl SignatureError {
    pub fn reason(self) -> &'static str {
        match self {
            SignatureError::MissingHeader => "missing signature or timestamp header",
            SignatureError::MalformedHeader => "malformed signature or timestamp header",
            SignatureError::Stale => "timestamp outside the 300 s tolerance",
            SignatureError::Mismatch => "signature does not match",
        }
    }
}

/// The account's public key, `TELNYX_PUBLIC_KEY`.
#[derive(Clone)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Public, but a log line has no use for it.
        f.write_str("PublicKey(ed25519)")
    }
}

impl PublicKey {
    /// Base64 of the 32-byte key, as Telnyx's portal shows it.
    pub fn parse(base64: &str) -> Result<PublicKey, String> {
        let bytes = B64
            .decode(base64.trim())
            .map_err(|_| "not base64".to_owned())?;
        let bytes: [u8; PUBLIC_KEY_LENGTH] = bytes
            .try_into()
            .map_err(|_| format!("not {PUBLIC_KEY_LENGTH} bytes"))?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "not an Ed25519 public key".to_owned())
    }

    /// Checks the two headers (as received, `None` when absent) against the
    /// exact body bytes at `now` (Unix seconds). Strict verification: a
    /// signature with a small-order component or a non-canonical encoding
    /// is refused too.
    pub fn verify(
        &self,
        signature: Option<&[u8]>,
        timestamp: Option<&[u8]>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
            return Err(SignatureError::MissingHeader);
        };
        let ts_text = std::str::from_utf8(timestamp)
            .ok()
            .filter(|t| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(SignatureError::MalformedHeader)?;
        let ts: i64 = ts_text
            .parse()
            .map_err(|_| SignatureError::MalformedHeader)?;
        let signature: [u8; SIGNATURE_LENGTH] = B64
            .decode(signature.trim_ascii())
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or(SignatureError::MalformedHeader)?;
        if (now - ts).abs() > TOLERANCE_SECONDS {
            return Err(SignatureError::Stale);
        }
        let mut signed = Vec::with_capacity(ts_text.len() + 1 + body.len());
        signed.extend_from_slice(ts_text.as_bytes());
        signed.push(b'|');
        signed.extend_from_slice(body);
        self.0
            .verify_strict(&signed, &Signature::from_bytes(&signature))
            .map_err(|_| SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    const NOW: i64 = 1_800_000_000;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn public() -> PublicKey {
        PublicKey::parse(&B64.encode(key().verifying_key().to_bytes())).unwrap()
    }

    fn sign(ts: i64, body: &[u8]) -> String {
        let mut m = format!("{ts}|").into_bytes();
        m.extend_from_slice(body);
        B64.encode(key().sign(&m).to_bytes())
    }

    fn check(sig: Option<&str>, ts: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        public().verify(sig.map(str::as_bytes), ts.map(str::as_bytes), body, NOW)
    }

    #[test]
    fn right_wrong_missing_stale_and_changed() {
        let body = br#"{"data":{"id":"e1"}}"#;
        let sig = sign(NOW, body);
        let ts = NOW.to_string();
        assert_eq!(check(Some(&sig), Some(&ts), body), Ok(()));
        let edge = (NOW - 300).to_string();
        assert_eq!(
            check(Some(&sign(NOW - 300, body)), Some(&edge), body),
            Ok(())
        );
        let stale = (NOW - 301).to_string();
        assert_eq!(
            check(Some(&sign(NOW - 301, body)), Some(&stale), body),
            Err(SignatureError::Stale)
        );
        let ahead = (NOW + 301).to_string();
        assert_eq!(
            check(Some(&sign(NOW + 301, body)), Some(&ahead), body),
            Err(SignatureError::Stale)
        );
        let mut changed = body.to_vec();
        changed[3] ^= 1;
        assert_eq!(
            check(Some(&sig), Some(&ts), &changed),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: another one within tolerance fails.
        let other = (NOW - 1).to_string();
        assert_eq!(
            check(Some(&sig), Some(&other), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(None, Some(&ts), body),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            check(Some(&sig), None, body),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            check(Some("!!"), Some(&ts), body),
            Err(SignatureError::MalformedHeader)
        );
        assert_eq!(
            check(Some(&sig), Some("-5"), body),
            Err(SignatureError::MalformedHeader)
        );
        let short = B64.encode([0u8; 63]);
        assert_eq!(
            check(Some(&short), Some(&ts), body),
            Err(SignatureError::MalformedHeader)
        );
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(PublicKey::parse("nope!").is_err());
        assert!(PublicKey::parse(&B64.encode([1u8; 31])).is_err());
        assert!(PublicKey::parse(&B64.encode(key().verifying_key().to_bytes())).is_ok());
    }
}
