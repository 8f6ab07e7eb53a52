//! Free-text fields of a port-out request.

use time::{macros::format_description, Date};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("pon must be 1 to 25 characters of A-Z a-z 0-9 -")]
    Pon,
    #[error("authorizedName must be 1 to 100 characters with no control characters")]
    AuthorizedName,
    #[error("{0} must not contain invisible characters or text-direction controls")]
    Invisible(&'static str),
    #[error("{0} must be a date written YYYY-MM-DD")]
    Date(&'static str),
}

/// The carrier's purchase order number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pon(String);

impl Pon {
    pub fn parse(input: &str) -> Result<Pon, TextError> {
        let ok = (1..=25).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        ok.then(|| Pon(input.to_owned())).ok_or(TextError::Pon)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The person who authorised the port-out at the gaining carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedName(String);

impl AuthorizedName {
    /// Stored in NFC, so the same name typed two ways is the same name.
    pub fn parse(input: &str) -> Result<AuthorizedName, TextError> {
        let name = free_text(input, "authorizedName")?;
        let len = name.chars().count();
        let ok = (1..=100).contains(&len)
            && !name.trim().is_empty()
            && !name.chars().any(char::is_control);
        ok.then_some(AuthorizedName(name))
            .ok_or(TextError::AuthorizedName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters that make text read differently from what it holds, refused
/// by whole Unicode general category rather than by a list that misses
/// some: `Cf` (format: the bidirectional embeddings, overrides, isolates
/// and marks such as U+202E and the Arabic letter mark U+061C, zero-width
/// characters, U+FEFF, the tag characters U+E0001 and U+E0020–U+E007F),
/// `Zl` and `Zp` (U+2028, U+2029: a line break a viewer may or may not
/// show), `Co` (private use: a glyph only some fonts draw) and `Cn`
/// (unassigned: no one can say what it will look like). A name shown to a
/// tenant in its audit trail or console must read as what it is.
pub fn is_deceptive(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        G::Format | G::LineSeparator | G::ParagraphSeparator | G::PrivateUse | G::Unassigned
    )
}

/// Free text from a caller (`authorizedName`, a webhook `reason`): refused
/// with [`TextError::Invisible`] naming `field` when it holds a deceptive
/// character, else returned in Unicode NFC.
pub fn free_text(input: &str, field: &'static str) -> Result<String, TextError> {
    if input.chars().any(is_deceptive) {
        return Err(TextError::Invisible(field));
    }
    Ok(input.nfc().collect())
}

/// A calendar date written `YYYY-MM-DD`.
pub fn parse_date(input: &str, field: &'static str) -> Result<Date, TextError> {
    Date::parse(input, format_description!("[year]-[month]-[day]"))
        .map_err(|_| TextError::Date(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pon() {
        assert!(Pon::parse("PON-7781").is_ok());
        assert!(Pon::parse(&"A".repeat(25)).is_ok());
        for bad in ["", "PON 7781", "PON_7781", &"A".repeat(26), "PØN"] {
            assert_eq!(Pon::parse(bad), Err(TextError::Pon), "{bad:?}");
        }
    }

    #[test]
    fn dates() {
        assert!(parse_date("2026-11-03", "d").is_ok());
        for bad in ["2026-13-01", "2026-02-30", "03/12/2026", "2026-12-3", ""] {
            assert!(parse_date(bad, "d").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_refuse_invisible_and_direction_controls() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
        ] {
            let name = format!("Jane{c}Doe");
            assert_eq!(
                AuthorizedName::parse(&name),
                Err(TextError::Invisible("authorizedName")),
                "U+{:04X}",
                c as u32
            );
        }
        // Issue 23: what the old list of code points missed — the Arabic
        // letter mark, the line and paragraph separators, tag characters,
        // private use, unassigned code points, other format characters.
        for c in [
            '\u{061C}',
            '\u{2028}',
            '\u{2029}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{E0000}',
            '\u{E0050}',
            '\u{E000}',
            '\u{F8FF}',
            '\u{F0000}',
            '\u{10FFFD}',
            '\u{0378}',
            '\u{FFFF}',
            '\u{00AD}',
            '\u{2064}',
            '\u{206A}',
            '\u{FFF9}',
            '\u{1D173}',
        ] {
            let name = format!("Jane{c}Doe");
            assert_eq!(
                AuthorizedName::parse(&name),
                Err(TextError::Invisible("authorizedName")),
                "U+{:04X}",
                c as u32
            );
            assert_eq!(
                free_text(&name, "reason"),
                Err(TextError::Invisible("reason")),
                "U+{:04X}",
                c as u32
            );
        }
        assert!(AuthorizedName::parse("Zoë Ōtsuka-Nguyễn").is_ok());
        // Letters of every script, marks and ordinary spaces still pass.
        for ok in [
            "محمد علي",
            "Ἀθηνᾶ",
            "李小龍",
            "Nguyễn Thị",
            "O\u{2019}Brien",
            "Ana\u{00A0}Lima",
        ] {
            assert!(AuthorizedName::parse(ok).is_ok(), "{ok:?}");
        }
        assert!(!TextError::Invisible("authorizedName")
            .to_string()
            .contains('\u{202E}'));
    }

    #[test]
    fn names_are_stored_in_nfc() {
        // "Zoë" with a combining diaeresis becomes one precomposed letter.
        let decomposed = "Zoe\u{0308}";
        let name = AuthorizedName::parse(decomposed).unwrap();
        assert_eq!(name.as_str(), "Zo\u{00EB}");
        assert_eq!(name, AuthorizedName::parse("Zo\u{00EB}").unwrap());
        assert_eq!(free_text("Cafe\u{0301}", "reason").unwrap(), "Caf\u{00E9}");
    }

    /// Whole categories: every code point of Cf, Zl, Zp, Co and Cn is
    /// refused, and no other, over all of Unicode.
    #[test]
    fn deceptive_is_exactly_five_general_categories() {
        use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
        let mut refused = 0;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let category = c.general_category();
            let expected = matches!(
                category,
                G::Format
                    | G::LineSeparator
                    | G::ParagraphSeparator
                    | G::PrivateUse
                    | G::Unassigned
            );
            assert_eq!(is_deceptive(c), expected, "U+{:04X}", c as u32);
            refused += usize::from(expected);
        }
        // Most of the code space is unassigned or private use.
        assert!(refused > 900_000, "{refused}");
        // Every tag character, U+E0000 to U+E007F.
        assert!(('\u{E0000}'..='\u{E007F}').all(is_deceptive));
    }

    proptest::proptest! {
        #[test]
        fn free_text_refuses_exactly_the_deceptive(s in "\\PC{0,40}", c in proptest::char::any()) {
            let text = format!("{s}{c}{s}");
            let deceptive = text.chars().any(is_deceptive);
            match free_text(&text, "f") {
                Ok(nfc) => {
                    proptest::prop_assert!(!deceptive);
                    let again: String = nfc.nfc().collect();
                    proptest::prop_assert_eq!(again, nfc);
                }
                Err(e) => {
                    proptest::prop_assert!(deceptive);
                    proptest::prop_assert_eq!(e, TextError::Invisible("f"));
                }
            }
        }
    }

    #[test]
    fn names() {
        assert!(AuthorizedName::parse("Jane Doe").is_ok());
        assert!(AuthorizedName::parse("").is_err());
        assert!(AuthorizedName::parse("  ").is_err());
        assert!(AuthorizedName::parse("Jane\u{0}").is_err());
    }
}
