//! Alert-contact confirmation codes (contract §17): 6 digits from the OS
//! CSPRNG, stored only as a keyed hash bound to the contact, compared in
//! constant time.

use crate::{PinHasher, TokenSigner};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;

pub const CODE_DIGITS: usize = 6;

/// A fresh code: uniform over 000000–999999 (rejection sampling).
pub fn new_confirmation_code() -> String {
    // 4_294_000_000 is the largest multiple of 10^6 below 2^32.
    const END: u32 = 4_294_000_000;
    loop {
        let x = OsRng.next_u32();
        if x < END {
            return format!("{:06}", x % 1_000_000);
        }
    }
}

/// Hashes codes with a key derived from the pepper's stable secret, so a
/// pepper rotation within a code's 24 hours does not void it.
#[derive(Clone, Debug)]
pub struct CodeHasher(TokenSigner);

impl CodeHasher {
    pub fn new(hasher: &PinHasher) -> CodeHasher {
        CodeHasher(TokenSigner::derive_stable(
            hasher,
            "portguard/alert-contact-code/v1",
        ))
    }

    /// The hash of `code` for the contact `contact_id`: the same code of
    /// another contact hashes differently.
    pub fn hash(&self, contact_id: &str, code: &str) -> String {
        self.0
            .fingerprint(format!("{contact_id}\n{code}").as_bytes())
    }

    pub fn matches(&self, contact_id: &str, code: &str, stored: &str) -> bool {
        self.hash(contact_id, code)
            .as_bytes()
            .ct_eq(stored.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits() {
        for _ in 0..200 {
            let c = new_confirmation_code();
            assert_eq!(c.len(), CODE_DIGITS);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn bound_to_the_contact() {
        let hasher = PinHasher::from_secret(&"p".repeat(32), "PIN_PEPPER").unwrap();
        let h = CodeHasher::new(&hasher);
        let stored = h.hash("ac_1", "123456");
        assert!(h.matches("ac_1", "123456", &stored));
        assert!(!h.matches("ac_2", "123456", &stored));
        assert!(!h.matches("ac_1", "123457", &stored));
        assert!(!stored.contains("123456"));
    }
}
