//! Transfer PINs (contract §12): 10 digits from the operating system's
//! CSPRNG (`rand_core`'s `OsRng`, i.e. `getrandom`), drawn again until the
//! result is not weak by contract §3's rules ([`is_weak_for`]: the same checks
//! `PUT /v1/pin` applies, from `portguard_validation`).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use portguard_validation::{KnownDigits, Pin};

/// Digits per transfer PIN.
pub const DIGITS: usize = 10;
/// Draws before giving up. A uniform 10-digit PIN is weak with probability
/// about 1e-5, so this is never reached unless the predicate rejects all.
const MAX_DRAWS: usize = 1_000;

/// A fresh transfer PIN from the OS CSPRNG that `is_weak` accepts, or `None`
/// if `MAX_DRAWS` draws were all weak (a predicate that rejects everything).
pub fn generate_transfer_pin(is_weak: impl Fn(&str) -> bool) -> Option<Pin> {
    generate_with(&mut OsRng, is_weak)
}

/// [`generate_transfer_pin`] with another source (tests).
pub fn generate_with(rng: &mut impl RngCore, is_weak: impl Fn(&str) -> bool) -> Option<Pin> {
    for _ in 0..MAX_DRAWS {
        let digits: String = (0..DIGITS).map(|_| uniform_digit(rng)).collect();
        if !is_weak(&digits) {
            return Pin::parse_presented(&digits).ok();
        }
    }
    None
}

/// One decimal digit, uniform: values in the last partial block of ten are
/// rejected (rejection sampling), so no digit is more likely than another.
fn uniform_digit(rng: &mut impl RngCore) -> char {
    // 2^32 = 429_496_729 blocks of ten and 6 left over: those 6 are redrawn.
    const BLOCKS_END: u32 = 4_294_967_290;
    loop {
        let x = rng.next_u32();
        if x < BLOCKS_END {
            return char::from(b'0' + (x % 10) as u8);
        }
    }
}

/// contract §3's weak-PIN rules (`repeated`, `sequence`, `pattern`, `known`)
/// for a PIN issued to the tenant with this account number and bound to
/// these numbers (E.164): the checks a tenant's own PIN passes.
pub fn is_weak_for<N: AsRef<str>>(account: &str, numbers: &[N]) -> impl Fn(&str) -> bool {
    let known = KnownDigits::new(account, numbers.iter().map(AsRef::as_ref));
    move |digits: &str| match Pin::parse_new(Some(digits)) {
        Ok(pin) => pin.check_known(&known).is_err(),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields the given words, then keeps yielding the last.
    struct Script(Vec<u32>);
    impl RngCore for Script {
        fn next_u32(&mut self) -> u32 {
            if self.0.len() > 1 {
                self.0.remove(0)
            } else {
                self.0[0]
            }
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.next_u32() as u8;
            }
        }
        fn try_fill_bytes(
            &mut self,
            dest: &mut [u8],
        ) -> Result<(), argon2::password_hash::rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn ten_digits_never_weak() {
        let weak = is_weak_for("ACC-1001", &["+12065550100"]);
        for _ in 0..2_000 {
            let pin = generate_transfer_pin(&weak).unwrap();
            let s = pin.expose();
            assert_eq!(s.len(), 10);
            assert!(s.bytes().all(|b| b.is_ascii_digit()));
            assert!(!weak(s), "{s}");
        }
    }

    #[test]
    fn weak_draws_are_drawn_again() {
        // First draw: ten 7s (repeated). Second: 1,2,1,2… (pattern). Third:
        // the tenant's number. Fourth: a good one.
        let mut words: Vec<u32> = vec![7; 10];
        words.extend([1, 2].repeat(5));
        words.extend([2, 0, 6, 5, 5, 5, 0, 1, 0, 0]);
        words.extend([5, 8, 2, 0, 3, 1, 7, 9, 4, 6]);
        let weak = is_weak_for("ACC-1001", &["+12065550100"]);
        let pin = generate_with(&mut Script(words), weak).unwrap();
        assert_eq!(pin.expose(), "5820317946");
    }

    #[test]
    fn the_partial_last_block_is_rejected() {
        // u32::MAX and 4_294_967_290.. would favour 0..5; they are skipped.
        let mut words = vec![u32::MAX, 4_294_967_290];
        words.extend([3u32; 1]);
        let mut rng = Script(words);
        assert_eq!(uniform_digit(&mut rng), '3');
        assert_eq!(
            4_294_967_289u32 % 10,
            9,
            "the last accepted value ends a block"
        );
    }

    #[test]
    fn a_predicate_that_rejects_all_gives_up() {
        assert!(generate_transfer_pin(|_| true).is_none());
    }

    #[test]
    fn digits_are_roughly_uniform() {
        let mut counts = [0usize; 10];
        for _ in 0..2_000 {
            let pin = generate_transfer_pin(|_| false).unwrap();
            for b in pin.expose().bytes() {
                counts[(b - b'0') as usize] += 1;
            }
        }
        // 20 000 digits: 2 000 expected each; 5 sigma ≈ 212.
        for (d, c) in counts.iter().enumerate() {
            assert!((1_750..=2_250).contains(c), "digit {d}: {c}");
        }
    }

    #[test]
    fn the_shared_rules_judge_spec_3_examples() {
        let weak = is_weak_for("ACC-1001-5820317946", &["+12065550100"]);
        for s in ["000000", "123456", "7890123", "987654", "0987654321"] {
            assert!(weak(s), "repeated or sequence: {s}");
        }
        for s in ["121212", "123123", "12341234", "4545454545", "1234512345"] {
            assert!(weak(s), "pattern: {s}");
        }
        assert!(weak("5820317946"), "in the account digits");
        assert!(weak("2065550100"), "a number's national digits");
        for s in ["5820317947", "48151623", "135790"] {
            assert!(!weak(s), "{s}");
        }
    }
}
