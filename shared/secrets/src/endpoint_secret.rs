//! Signing secrets of notification endpoints (contract §14): Standard
//! Webhooks `whsec_` + base64 of 32 bytes from the operating system's CSPRNG.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::{engine::general_purpose::STANDARD as B64, Engine};

pub const ENDPOINT_SECRET_BYTES: usize = 32;

/// A fresh `whsec_…` secret.
pub fn new_endpoint_secret() -> String {
    let mut key = [0u8; ENDPOINT_SECRET_BYTES];
    OsRng.fill_bytes(&mut key);
    format!("whsec_{}", B64.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_32_random_bytes_and_verify_with_standardwebhooks() {
        let a = new_endpoint_secret();
        let b = new_endpoint_secret();
        assert_ne!(a, b);
        let key = B64.decode(a.trim_start_matches("whsec_")).unwrap();
        assert_eq!(key.len(), ENDPOINT_SECRET_BYTES);
        assert!(standardwebhooks::Webhook::new(&a).is_ok());
    }
}
