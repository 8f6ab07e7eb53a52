//! An alert contact's address (contract §17): parsed by a real RFC 5322
//! parser, a bare address only (no display name), at most 254 characters,
//! ASCII (SES sends to internationalised local parts poorly, and a
//! look-alike address is a phishing aid), and a domain with a dot.

use email_address::{EmailAddress as Parsed, Options};

/// The longest address a mail path carries (RFC 5321's 256-octet path
/// minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an email address such as ops@example.com, at most 254 characters, without a name")]
pub struct EmailError;

/// A valid address. Two addresses are the same contact when their
/// [`EmailAddress::key`]s are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, EmailError> {
        // Dot-atoms only: no quoted local part, comment or space, so an
        // accepted address can never carry a second header or a name.
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.@".contains(c);
        if input.len() > MAX_EMAIL_LEN || !input.chars().all(atext) {
            return Err(EmailError);
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal();
        let parsed = Parsed::parse_with_options(input, options).map_err(|_| EmailError)?;
        // A single-label domain (`ops@localhost`) is not a mailbox on the
        // internet; an address with a dot is.
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(EmailError);
        }
        Ok(EmailAddress(parsed.email().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address lower-cased: what "the same address" compares.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_addresses_only() {
        assert_eq!(
            EmailAddress::parse("ops@example.com").unwrap().as_str(),
            "ops@example.com"
        );
        assert!(EmailAddress::parse("first.last+alerts@sub.example.co.uk").is_ok());
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            "Ops <ops@example.com>",
            "ops@localhost",
            "ops@[127.0.0.1]",
            " ops@example.com",
            "ops@example.com\n",
            "ops@exämple.com",
            "a@b@example.com",
            "\"ops team\"@example.com",
            "ops(comment)@example.com",
            "ops@example.com\r\nBcc: x@example.com",
            "ops@example..com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn at_most_254_characters() {
        // a domain label is at most 63 characters: split it
        let labels = |n: usize| {
            let mut d = String::new();
            while d.len() + 64 < n {
                d.push_str(&"b".repeat(62));
                d.push('.');
            }
            d.push_str(&"c".repeat(n - d.len() - 4));
            d.push_str(".com");
            d
        };
        let ok = format!("{}@{}", "a".repeat(64), labels(254 - 65));
        assert_eq!(ok.len(), 254);
        assert!(EmailAddress::parse(&ok).is_ok(), "{ok}");
        let long = format!("{}@{}", "a".repeat(64), labels(255 - 65));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn the_same_address_in_another_case_is_the_same_contact() {
        let a = EmailAddress::parse("Ops@Example.com").unwrap();
        let b = EmailAddress::parse("ops@example.COM").unwrap();
        assert_eq!(a.key(), b.key());
    }
}
