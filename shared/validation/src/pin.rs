//! The port-out PIN: 6 to 10 ASCII digits, never blank, never weak.
//!
//! A `Pin` has no `Display` and a redacted `Debug`, so it cannot reach a log
//! or a response by accident; `expose` is the one door, used to hash it.

use std::fmt;

pub const MIN_LEN: usize = 6;
pub const MAX_LEN: usize = 10;
/// The `pattern` rule: a block of this many digits repeated to fill the PIN.
const PATTERN_BLOCKS: std::ops::RangeInclusive<usize> = 2..=5;

#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

/// Why a PIN is weak: `details.reason` of `400 WEAK_PIN` (contract §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakReason {
    /// Every digit the same.
    Repeated,
    /// Each digit one more, or each one less, than the one before.
    Sequence,
    /// A block of 2 to 5 digits repeated to fill the PIN.
    Pattern,
    /// Consecutive digits of the account number or of one of the numbers.
    Known,
}

impl WeakReason {
    pub fn as_str(self) -> &'static str {
        match self {
            WeakReason::Repeated => "repeated",
            WeakReason::Sequence => "sequence",
            WeakReason::Pattern => "pattern",
            WeakReason::Known => "known",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a PIN is required: it cannot be removed or set back to blank")]
    Required,
    #[error("a PIN is 6 to 10 digits (0-9), with no letters, spaces or other characters")]
    InvalidFormat,
    /// The messages name the rule, never the digits.
    #[error("{}", weak_message(*.0))]
    Weak(WeakReason),
}

fn weak_message(reason: WeakReason) -> &'static str {
    match reason {
        WeakReason::Repeated | WeakReason::Sequence => {
            "this PIN is too easy to guess: avoid a single repeated digit or a run of consecutive digits, up or down"
        }
        WeakReason::Pattern => {
            "this PIN is too easy to guess: avoid a short group of digits repeated over and over"
        }
        WeakReason::Known => {
            "this PIN is too easy to guess: it appears in your account number or in one of your phone numbers"
        }
    }
}

impl Pin {
    /// A PIN a tenant may set: present, well-formed and not weak by its
    /// digits alone (the `known` rule needs the tenant: [`Pin::check_known`]).
    pub fn parse_new(input: Option<&str>) -> Result<Pin, PinError> {
        let input = input.ok_or(PinError::Required)?;
        if input.chars().all(char::is_whitespace) {
            return Err(PinError::Required);
        }
        let pin = Pin::parse_presented(input)?;
        if let Some(reason) = weak_reason(pin.0.as_bytes()) {
            return Err(PinError::Weak(reason));
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

    /// The `known` rule: the PIN must not appear, as consecutive digits, in
    /// what an attacker already knows about the tenant.
    pub fn check_known(&self, known: &KnownDigits) -> Result<(), PinError> {
        if known.contains(&self.0) {
            Err(PinError::Weak(WeakReason::Known))
        } else {
            Ok(())
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

/// Digit strings an attacker may know: the tenant's account number with
/// every other character dropped, and the 10 national digits of each of the
/// tenant's numbers. Kept apart, so a PIN never matches across two of them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KnownDigits(Vec<String>);

impl KnownDigits {
    /// `numbers` in E.164 (`+12065550100`) or any writing whose last ten
    /// digits are the national number.
    pub fn new<'a>(account_number: &str, numbers: impl IntoIterator<Item = &'a str>) -> Self {
        let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
        let mut out = vec![digits(account_number)];
        for number in numbers {
            let all = digits(number);
            out.push(all[all.len().saturating_sub(10)..].to_owned());
        }
        out.retain(|d| d.len() >= MIN_LEN);
        KnownDigits(out)
    }

    fn contains(&self, pin: &str) -> bool {
        self.0.iter().any(|d| d.contains(pin))
    }
}

impl fmt::Debug for KnownDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KnownDigits({} sources)", self.0.len())
    }
}

/// The rules of contract §3 that look at the digits alone, in the table's order.
fn weak_reason(digits: &[u8]) -> Option<WeakReason> {
    let steps: Vec<u8> = digits
        .windows(2)
        .map(|w| (10 + w[1] - b'0' - (w[0] - b'0')) % 10)
        .collect();
    let all = |step: u8| steps.iter().all(|&s| s == step);
    if all(0) {
        Some(WeakReason::Repeated)
    } else if all(1) || all(9) {
        // Counting 9→0 and 0→9 as steps.
        Some(WeakReason::Sequence)
    } else if is_pattern(digits) {
        Some(WeakReason::Pattern)
    } else {
        None
    }
}

/// A block of 2 to 5 digits that fills the PIN when repeated: the block
/// appears whole at least twice, and a last, partial repeat counts too
/// (`1231231`): an attacker's list of patterns is no shorter for it.
fn is_pattern(digits: &[u8]) -> bool {
    PATTERN_BLOCKS
        .filter(|&block| 2 * block <= digits.len())
        .any(|block| (block..digits.len()).all(|i| digits[i] == digits[i - block]))
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

    fn weak(s: &str) -> Option<&'static str> {
        match new(s) {
            Err(PinError::Weak(reason)) => Some(reason.as_str()),
            Ok(()) => None,
            Err(e) => panic!("{s:?}: {e:?}"),
        }
    }

    #[test]
    fn weak_pins() {
        for s in ["000000", "999999999", "5555555555"] {
            assert_eq!(weak(s), Some("repeated"), "{s:?}");
        }
        for s in [
            "123456",
            "7890123",
            "987654",
            "3210987",
            "8901234567",
            "0987654321",
            "567890",
        ] {
            assert_eq!(weak(s), Some("sequence"), "{s:?}");
        }
        for s in [
            "121212",
            "123123",
            "12341234",
            "4545454545",
            "1234512345",
            "1231231",
            "90909090",
            "007007",
        ] {
            assert_eq!(weak(s), Some("pattern"), "{s:?}");
        }
        for s in [
            "48151623",
            "135790",
            "112233",
            "123457",
            "0123456780",
            "1234512",
            "12312",
            "123412",
            "1212121213",
        ] {
            if s.len() >= MIN_LEN {
                assert_eq!(weak(s), None, "{s:?}");
            }
        }
    }

    #[test]
    fn weak_messages_never_hold_digits() {
        for reason in [
            WeakReason::Repeated,
            WeakReason::Sequence,
            WeakReason::Pattern,
            WeakReason::Known,
        ] {
            let message = PinError::Weak(reason).to_string();
            assert!(!message.bytes().any(|b| b.is_ascii_digit()), "{message}");
        }
    }

    #[test]
    fn known_digits() {
        let known = KnownDigits::new("ACC-1001-77", ["+12065550100", "(425) 555-0199"]);
        let check = |s: &str| Pin::parse_presented(s).unwrap().check_known(&known);
        // 1001 77 -> "100177": the account's digits, other characters dropped.
        assert_eq!(check("100177"), Err(PinError::Weak(WeakReason::Known)));
        for s in ["2065550100", "5550100", "065550", "4255550199", "555019"] {
            assert_eq!(check(s), Err(PinError::Weak(WeakReason::Known)), "{s:?}");
        }
        // The country code is not part of the national number, and digits
        // of two sources are never joined.
        for s in ["1206555", "01994255", "77206555", "48151623"] {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
        assert!(!format!("{known:?}").contains("555"));
    }

    /// The reference: every run of consecutive digits of every source.
    fn naive_known(pin: &str, account: &str, numbers: &[String]) -> bool {
        let digits = |s: &str| -> Vec<u8> { s.bytes().filter(u8::is_ascii_digit).collect() };
        let mut sources = vec![digits(account)];
        for n in numbers {
            let d = digits(n);
            sources.push(d[d.len().saturating_sub(10)..].to_vec());
        }
        sources
            .iter()
            .any(|src| src.windows(pin.len()).any(|w| w == pin.as_bytes()))
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
                Ok(()) => prop_assert!(weak_reason(s.as_bytes()).is_none()),
                Err(e) => prop_assert_eq!(e, PinError::Weak(weak_reason(s.as_bytes()).unwrap())),
            }
        }

        #[test]
        fn known_refuses_exactly_the_pins_that_occur(
            pin in "[0-9]{6,10}",
            account in "[A-Za-z0-9._-]{0,64}",
            numbers in prop::collection::vec("\\+1[2-9][0-9]{9}", 0..6),
        ) {
            let known = KnownDigits::new(&account, numbers.iter().map(String::as_str));
            let refused = Pin::parse_presented(&pin).unwrap().check_known(&known).is_err();
            prop_assert_eq!(refused, naive_known(&pin, &account, &numbers));
        }

        #[test]
        fn any_run_of_a_source_is_known(
            numbers in prop::collection::vec("\\+1[2-9][0-9]{9}", 1..6),
            account in "[A-Za-z0-9._-]{0,64}",
            which in any::<prop::sample::Index>(),
            start in 0usize..5,
            len in 6usize..=10,
        ) {
            // Any 6–10 consecutive national digits of any number is refused.
            let number = which.get(&numbers);
            let national = &number[2..];
            let len = len.min(10 - start);
            prop_assume!(len >= MIN_LEN);
            let pin = &national[start..start + len];
            let known = KnownDigits::new(&account, numbers.iter().map(String::as_str));
            prop_assert_eq!(
                Pin::parse_presented(pin).unwrap().check_known(&known),
                Err(PinError::Weak(WeakReason::Known))
            );
        }

        #[test]
        fn block_repeats_are_patterns(block in "[0-9]{2,5}", len in 6usize..=10) {
            let pin: String = block.chars().cycle().take(len).collect();
            prop_assume!(2 * block.len() <= len);
            match new(&pin) {
                Err(PinError::Weak(_)) => {}
                other => prop_assert!(false, "{:?} accepted: {:?}", pin, other),
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
            let reason = if step == 0 { WeakReason::Repeated } else { WeakReason::Sequence };
            prop_assert_eq!(new(&s), Err(PinError::Weak(reason)));
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Pin::parse_new(Some(&s));
            let _ = Pin::parse_presented(&s);
        }
    }
}
