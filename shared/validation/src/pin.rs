//! The port-out PIN: 6 to 10 ASCII digits, never blank, never weak.
//!
//! A `Pin` has no `Display` and a redacted `Debug`, so it cannot reach a log
//! or a response by accident; `expose` is the one door, used to hash it.

use std::fmt;

pub const MIN_LEN: usize = 6;
pub const MAX_LEN: usize = 10;

#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a PIN is required: it cannot be removed or set back to blank")]
    Required,
    #[error("a PIN is 6 to 10 digits (0-9), with no letters, spaces or other characters")]
    InvalidFormat,
    #[error(
        "this PIN is too easy to guess: avoid a single repeated digit or a run of consecutive digits, up or down"
    )]
    Weak,
}

impl Pin {
    /// A PIN a tenant may set: present, well-formed and not weak.
    pub fn parse_new(input: Option<&str>) -> Result<Pin, PinError> {
        let input = input.ok_or(PinError::Required)?;
        if input.chars().all(char::is_whitespace) {
            return Err(PinError::Required);
        }
        let pin = Pin::parse_presented(input)?;
        if is_weak(pin.0.as_bytes()) {
            return Err(PinError::Weak);
        }
        Ok(pin)
    }

    /// A PIN a carrier presents: only its shape is checked (a weak PIN can
    /// never be set, so it simply will not match).
    pub fn parse_presented(input: &str) -> Result<Pin, PinError> {
        let len_ok = (MIN_LEN..=MAX_LEN).contains(&input.len());
        if len_ok && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Pin(input.to_owned()))
        } else {
            Err(PinError::InvalidFormat)
        }
    }

    /// The digits, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// All digits equal, or each digit one more (or one less) than the one
/// before, counting 9→0 and 0→9 as steps.
fn is_weak(digits: &[u8]) -> bool {
    let steps: Vec<u8> = digits
        .windows(2)
        .map(|w| (10 + w[1] - b'0' - (w[0] - b'0')) % 10)
        .collect();
    [0, 1, 9]
        .iter()
        .any(|&step| steps.iter().all(|&s| s == step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn new(s: &str) -> Result<(), PinError> {
        Pin::parse_new(Some(s)).map(|_| ())
    }

    #[test]
    fn blank_is_required() {
        assert_eq!(Pin::parse_new(None), Err(PinError::Required));
        for s in ["", " ", "   ", "\t\n", "\u{3000}"] {
            assert_eq!(new(s), Err(PinError::Required), "{s:?}");
        }
    }

    #[test]
    fn length_is_six_to_ten() {
        assert_eq!(new("48151"), Err(PinError::InvalidFormat));
        assert_eq!(new("481516"), Ok(()));
        assert_eq!(new("4815162342"), Ok(()));
        assert_eq!(new("48151623420"), Err(PinError::InvalidFormat));
    }

    #[test]
    fn only_ascii_digits_and_nothing_trimmed() {
        for s in [
            "48151a",
            "4815-1623",
            "+4815162",
            "-4815162",
            " 481516",
            "481516 ",
            "4815 16",
            "48.1516",
            "٤٨١٥١٦٢",
            "４８１５１６",
            "481516\n",
            "४८१५१६",
            "0x4815",
        ] {
            assert_eq!(new(s), Err(PinError::InvalidFormat), "{s:?}");
            assert_eq!(
                Pin::parse_presented(s),
                Err(PinError::InvalidFormat),
                "{s:?}"
            );
        }
    }

    #[test]
    fn weak_pins() {
        for s in [
            "000000",
            "999999999",
            "123456",
            "7890123",
            "987654",
            "3210987",
            "8901234567",
            "0987654321",
            "567890",
        ] {
            assert_eq!(new(s), Err(PinError::Weak), "{s:?}");
        }
        for s in [
            "48151623",
            "135790",
            "112233",
            "123457",
            "121212",
            "0123456780",
        ] {
            assert_eq!(new(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn presented_pin_skips_weak_rule() {
        assert!(Pin::parse_presented("123456").is_ok());
    }

    #[test]
    fn debug_never_shows_digits() {
        let pin = Pin::parse_new(Some("48151623")).unwrap();
        assert!(!format!("{pin:?}").contains("4815"));
    }

    proptest! {
        #[test]
        fn any_six_to_ten_digits_parse_unless_weak(s in "[0-9]{6,10}") {
            match new(&s) {
                Ok(()) => prop_assert!(!is_weak(s.as_bytes())),
                Err(e) => prop_assert_eq!(e, PinError::Weak),
            }
        }

        #[test]
        fn a_non_digit_anywhere_fails(prefix in "[0-9]{0,5}", c in "[^0-9]", suffix in "[0-9]{0,5}") {
            let s = format!("{prefix}{c}{suffix}");
            prop_assert!(Pin::parse_presented(&s).is_err());
        }

        #[test]
        fn runs_are_weak(start in 0u8..10, len in 6usize..=10, step in prop::sample::select(vec![0u8, 1, 9])) {
            let s: String = (0..len)
                .map(|i| char::from(b'0' + ((start as usize + step as usize * i) % 10) as u8))
                .collect();
            prop_assert_eq!(new(&s), Err(PinError::Weak));
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Pin::parse_new(Some(&s));
            let _ = Pin::parse_presented(&s);
        }
    }
}
