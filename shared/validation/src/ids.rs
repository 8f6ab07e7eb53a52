//! Identifiers: tenant and carrier ids (from verified JWT claims or a URL
//! path), account numbers and country codes.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be 1 to {max} characters of A-Z a-z 0-9 . _ -")]
pub struct IdError {
    pub what: &'static str,
    pub max: usize,
}

/// 1..=max characters of `A-Z a-z 0-9 . _ -`: safe inside a DynamoDB key
/// (never contains the `#` separator) and in a URL.
fn parse_token(input: &str, what: &'static str, max: usize) -> Result<String, IdError> {
    let ok = !input.is_empty()
        && input.len() <= max
        && input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(input.to_owned())
    } else {
        Err(IdError { what, max })
    }
}

macro_rules! token_type {
    ($name:ident, $what:literal, $max:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, IdError> {
                parse_token(input, $what, $max).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

token_type!(TenantId, "a tenant id", 64);
token_type!(CarrierId, "a carrier id", 64);
token_type!(AccountNumber, "an account number", 64);

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    pub fn parse(input: &str) -> Result<Country, IdError> {
        if input.len() == 2 && input.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Country(input.to_owned()))
        } else {
            Err(IdError {
                what: "a country (ISO 3166-1 alpha-2, upper case, such as US)",
                max: 2,
            })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A port-out PIN is only used for organisations in the United States.
    pub fn is_us(&self) -> bool {
        self.0 == "US"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(TenantId::parse("t-100").is_ok());
        assert!(AccountNumber::parse("ACC-1001").is_ok());
        for bad in ["", "a#b", "a b", "é", &"x".repeat(65)] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn countries() {
        assert!(Country::parse("US").unwrap().is_us());
        assert!(!Country::parse("GB").unwrap().is_us());
        assert!(Country::parse("us").is_err());
        assert!(Country::parse("USA").is_err());
    }
}

/// A port-out order id: `po_` and a ULID (26 characters of Crockford's
/// base 32). Anything else cannot name an order, so it is never looked up
/// (every route and the webhook answer 404 for it without a read).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(input: &str) -> Option<OrderId> {
        let ulid = input.strip_prefix("po_")?;
        ulid::Ulid::from_string(ulid).ok()?;
        Some(OrderId(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod order_id_tests {
    use super::OrderId;

    #[test]
    fn only_po_and_a_ulid_is_an_order_id() {
        assert!(OrderId::parse("po_01JF0000000000000000000000").is_some());
        for bad in [
            "",
            "po_",
            "po_1",
            "01JF0000000000000000000000",
            "po_01JF000000000000000000000",
            "po_01JF00000000000000000000000",
            "po_01JF000000000000000000000U",
            "po_01JF00000000000000000000-0",
            "PO_01JF0000000000000000000000",
        ] {
            assert!(OrderId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
