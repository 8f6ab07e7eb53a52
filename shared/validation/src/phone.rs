//! US phone numbers, normalised to E.164 (`+12065550100`).

use crate::us_rules::UsRules;
use std::fmt;
use std::sync::LazyLock;

/// libphonenumber's rules for the US alone (us-metadata.xml, from the
/// `phonenumber` crate), only their patterns compiled (see `us_rules`).
static US: LazyLock<UsRules> =
    LazyLock::new(|| UsRules::from_metadata(include_str!("us-metadata.xml")));

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid US phone number")]
pub struct PhoneError(pub String);

impl PhoneNumber {
    /// Reads the bundled metadata and compiles its patterns now (at init)
    /// rather than on the first request that carries a number.
    pub fn prepare() {
        let _ = PhoneNumber::parse("+12065550100");
    }

    /// Accepts E.164 (`+12065550100`) or 10/11 digits (`(206) 555-0100`,
    /// `1.206.555.0100`); spaces, dots, dashes and parentheses are ignored.
    /// The number must be valid for the US under libphonenumber's rules
    /// (so Canadian and other NANP numbers fail).
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let err = || PhoneError(input.to_owned());
        let (plus, rest) = match input.trim_start().strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let mut digits = String::with_capacity(11);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' => {}
                _ => return Err(err()),
            }
        }
        let national = match (plus, digits.len()) {
            (true, 11) | (false, 11) if digits.starts_with('1') => &digits[1..],
            (false, 10) => &digits[..],
            _ => return Err(err()),
        };
        if US.is_valid(national) {
            Ok(PhoneNumber(format!("+1{national}")))
        } else {
            Err(err())
        }
    }

    /// A number written in a URL path segment (contract §11): percent-encoded
    /// as a client sends it (`%2B12065550100`, `(206)%20555-0100`) or plain
    /// (`+12065550100`), then parsed as [`PhoneNumber::parse`]. A bad escape
    /// or bytes that are not UTF-8 make it invalid, like any other garbage.
    pub fn parse_path_segment(raw: &str) -> Result<PhoneNumber, PhoneError> {
        let decoded = percent_decode(raw).ok_or_else(|| PhoneError(raw.to_owned()))?;
        PhoneNumber::parse(&decoded).map_err(|_| PhoneError(decoded))
    }

    /// A number as this service stored it: E.164 `+1` and ten digits, which
    /// only [`PhoneNumber::parse`] wrote. The shape is checked, not the
    /// numbering plan again: a record is not re-validated on every read.
    pub fn from_stored(stored: &str) -> Result<PhoneNumber, PhoneError> {
        let digits = stored.strip_prefix("+1").unwrap_or_default();
        if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(PhoneNumber(stored.to_owned()))
        } else {
            Err(PhoneError(stored.to_owned()))
        }
    }
}

crate::ids::id_common!(PhoneNumber);

/// `%XX` escapes decoded (a `+` stays a `+`: it is a space only in query
/// strings); `None` for a broken escape or a result that is not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::country::Id;
    use proptest::prelude::*;

    /// The crate's whole database, as `phonenumber` decides: valid and US.
    fn whole_database(e164: &str) -> bool {
        phonenumber::parse(Some(Id::US), e164)
            .is_ok_and(|n| phonenumber::is_valid(&n) && n.country().id() == Some(Id::US))
    }

    /// Every area code, with exchanges and lines that walk the patterns'
    /// branches: the compiled rules decide as the crate's whole database.
    #[test]
    fn us_rules_agree_with_the_whole_database_for_every_area_code() {
        let mut disagree = Vec::new();
        for area in 0..1000 {
            for exchange in (0..1000).step_by(37).chain([200, 555, 911, 958, 976]) {
                for line in ["0100", "1234", "9999"] {
                    let e164 = format!("+1{area:03}{exchange:03}{line}");
                    if PhoneNumber::parse(&e164).is_ok() != whole_database(&e164) {
                        disagree.push(e164);
                    }
                }
            }
        }
        assert!(
            disagree.is_empty(),
            "{} disagree: {:?}",
            disagree.len(),
            &disagree[..disagree.len().min(10)]
        );
    }

    fn e164(s: &str) -> Option<String> {
        PhoneNumber::parse(s).ok().map(|p| p.0)
    }

    #[test]
    fn accepted_forms_normalise_to_e164() {
        for s in [
            "+12065550100",
            "2065550100",
            "12065550100",
            "(206) 555-0100",
            "206.555.0100",
            "1-206-555-0100",
            "+1 (206) 555-0100",
        ] {
            assert_eq!(e164(s).as_deref(), Some("+12065550100"), "{s:?}");
        }
    }

    #[test]
    fn rejected_forms() {
        for s in [
            "",
            "555-0100",
            "206555010",
            "+442071838750",  // UK
            "+14165550100",   // Toronto: NANP but not US
            "+1206555010000", // too long
            "22065550100",    // 11 digits not starting with 1
            "+2065550100",    // plus without the country code
            "206/555/0100",
            "206-555-01OO",
            "0065550100", // area code cannot start with 0
            "２０６５５５０１００",
        ] {
            assert_eq!(e164(s), None, "{s:?}");
        }
    }

    /// One parser, the two rules of the contract: a port-out refuses a
    /// number given twice, a transfer PIN counts it once.
    #[test]
    fn a_repeat_is_refused_or_counted_once() {
        let raw = ["2065550100", "+1 206 555 0101", "+12065550100", "555"];
        assert_eq!(
            PhoneNumber::parse_list_with(&raw[..3], Repeats::Refused),
            Err(PhoneListError::Duplicate(vec!["+12065550100".into()]))
        );
        let once = PhoneNumber::parse_list_with(&raw[..3], Repeats::CountOnce).unwrap();
        let once: Vec<&str> = once.iter().map(PhoneNumber::as_str).collect();
        assert_eq!(once, ["+12065550100", "+12065550101"]);
        for repeats in [Repeats::Refused, Repeats::CountOnce] {
            assert_eq!(
                PhoneNumber::parse_list_with(&raw, repeats),
                Err(PhoneListError::Invalid(vec!["555".into()])),
                "invalid entries come first"
            );
            let many = vec!["2065550100"; MAX_PORT_OUT_NUMBERS + 1];
            assert_eq!(
                PhoneNumber::parse_list_with(&many, repeats),
                Err(PhoneListError::TooMany)
            );
        }
    }

    #[test]
    fn path_segments_are_percent_decoded() {
        for s in [
            "+12065550100",
            "%2B12065550100",
            "%2b12065550100",
            "%28206%29%20555-0100",
            "(206)%20555-0100",
            "2065550100",
        ] {
            assert_eq!(
                PhoneNumber::parse_path_segment(s).map(|p| p.0).as_deref(),
                Ok("+12065550100"),
                "{s:?}"
            );
        }
        for s in [
            "%2",
            "%zz12065550100",
            "%FF2065550100",
            "%2B1206555010",
            "",
            "%00",
        ] {
            assert!(PhoneNumber::parse_path_segment(s).is_err(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn path_segment_never_panics(s in any::<String>()) {
            let _ = PhoneNumber::parse_path_segment(&s);
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = PhoneNumber::parse(&s);
        }

        /// The compiled US rules decide exactly as the crate's whole
        /// database: valid and in the US.
        #[test]
        fn us_metadata_agrees_with_the_whole_database(
            national in "[2-9][0-9]{2}[2-9][0-9]{6}|[0-9]{10}"
        ) {
            let e164 = format!("+1{national}");
            prop_assert_eq!(PhoneNumber::parse(&e164).is_ok(), whole_database(&e164), "{}", e164);
        }

        #[test]
        fn normalised_form_parses_to_itself(s in "\\+1[2-9][0-9]{9}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(p.as_str()).unwrap(), p);
            }
        }
    }
}

/// The most numbers one port-out may hold (contract §4.1, check 2).
pub const MAX_PORT_OUT_NUMBERS: usize = 50;

/// Why a list of numbers is not a port-out's list, in the order of
/// contract §4.1's checks 2 to 4 (each door maps it to its own answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneListError {
    /// More than [`MAX_PORT_OUT_NUMBERS`].
    TooMany,
    /// The entries that are not valid US numbers, as given.
    Invalid(Vec<String>),
    /// The numbers (E.164) given more than once, however written.
    Duplicate(Vec<String>),
}

impl std::str::FromStr for PhoneNumber {
    type Err = PhoneError;
    fn from_str(input: &str) -> Result<PhoneNumber, PhoneError> {
        PhoneNumber::parse(input)
    }
}

/// What a list does with a number given twice (however written): the one
/// rule of each door that takes a list (contract §4.1 check 4, §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeats {
    /// A port-out refuses it ([`PhoneListError::Duplicate`]).
    Refused,
    /// A transfer PIN counts it once, in its first place.
    CountOnce,
}

impl PhoneNumber {
    /// Checks 2 to 4 of a port-out's numbers: not too many, each a valid US
    /// number, none twice (`2065550100` and `+12065550100` are one number).
    pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<PhoneNumber>, PhoneListError> {
        PhoneNumber::parse_list_with(raw, Repeats::Refused)
    }

    /// The one parser of a list of numbers: at most
    /// [`MAX_PORT_OUT_NUMBERS`] entries, each a valid US number (all the
    /// invalid ones named, as given), a repeat handled as `repeats` says.
    pub fn parse_list_with<S: AsRef<str>>(
        raw: &[S],
        repeats: Repeats,
    ) -> Result<Vec<PhoneNumber>, PhoneListError> {
        if raw.len() > MAX_PORT_OUT_NUMBERS {
            return Err(PhoneListError::TooMany);
        }
        let mut numbers: Vec<PhoneNumber> = Vec::with_capacity(raw.len());
        let mut invalid = Vec::new();
        let mut duplicates: Vec<String> = Vec::new();
        for raw in raw {
            match PhoneNumber::parse(raw.as_ref()) {
                Ok(number) if numbers.contains(&number) => {
                    if !duplicates.iter().any(|d| d == number.as_str()) {
                        duplicates.push(number.as_str().to_owned());
                    }
                }
                Ok(number) => numbers.push(number),
                Err(_) => invalid.push(raw.as_ref().to_owned()),
            }
        }
        if !invalid.is_empty() {
            return Err(PhoneListError::Invalid(invalid));
        }
        match (repeats, duplicates.is_empty()) {
            (Repeats::Refused, false) => Err(PhoneListError::Duplicate(duplicates)),
            _ => Ok(numbers),
        }
    }
}
