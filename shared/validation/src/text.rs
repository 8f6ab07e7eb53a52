//! Free-text fields of a port-out request.

use time::{macros::format_description, Date};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("pon must be 1 to 25 characters of A-Z a-z 0-9 -")]
    Pon,
    #[error("authorizedName must be 1 to 100 characters with no control characters")]
    AuthorizedName,
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
    pub fn parse(input: &str) -> Result<AuthorizedName, TextError> {
        let len = input.chars().count();
        let ok = (1..=100).contains(&len)
            && !input.trim().is_empty()
            && !input.chars().any(char::is_control);
        ok.then(|| AuthorizedName(input.to_owned()))
            .ok_or(TextError::AuthorizedName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
        assert!(parse_date("2026-12-03", "d").is_ok());
        for bad in ["2026-13-01", "2026-02-30", "03/12/2026", "2026-12-3", ""] {
            assert!(parse_date(bad, "d").is_err(), "{bad:?}");
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
