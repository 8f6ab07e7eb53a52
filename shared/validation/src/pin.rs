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
mod tests;
