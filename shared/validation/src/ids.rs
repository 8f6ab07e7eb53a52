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

/// What every id type shares: `as_str`, `Display`, serialisation as the
/// bare string, and comparison with a `&str` (tests and wire values).
macro_rules! id_common {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<&$name> for $name {
            fn eq(&self, other: &&$name) -> bool {
                self == *other
            }
        }
    };
}
pub(crate) use id_common;

macro_rules! token_type {
    ($name:ident, $what:literal, $max:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, IdError> {
                parse_token(input, $what, $max).map(Self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(input: &str) -> Result<Self, IdError> {
                Self::parse(input)
            }
        }

        id_common!($name);
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

/// Is `ulid` a ULID as this API writes one: 26 characters of upper-case
/// Crockford base 32 that decode.
fn is_issued_ulid(ulid: &str) -> bool {
    ulid.len() == 26
        && ulid
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && ulid::Ulid::from_string(ulid).is_ok()
}

/// An id this API issues: a fixed prefix and a fresh ULID (time-ordered).
/// Anything else cannot name one of these records, so it is never looked up:
/// every route answers 404 for it without a read.
macro_rules! issued_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id, unique and ordered by creation time.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, ulid::Ulid::new()))
            }

            pub fn parse(input: &str) -> Option<Self> {
                let ulid = input.strip_prefix($prefix)?;
                is_issued_ulid(ulid).then(|| Self(input.to_owned()))
            }

            /// The ULID without the prefix (sort keys use it).
            pub fn ulid(&self) -> &str {
                &self.0[$prefix.len()..]
            }
        }

        /// Not an id this API issued (a `FromStr` for tests and tools;
        /// routes answer 404 from `parse`'s `None`).
        impl std::str::FromStr for $name {
            type Err = NotIssued;
            fn from_str(input: &str) -> Result<Self, NotIssued> {
                Self::parse(input).ok_or(NotIssued($prefix))
            }
        }

        id_common!($name);
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an id issued by portguard: {0} and a ULID")]
pub struct NotIssued(&'static str);

issued_id!(
    /// A port-out order: `po_` and a ULID.
    OrderId,
    "po_"
);
issued_id!(
    /// A one-time transfer PIN: `tp_` and a ULID.
    TransferPinId,
    "tp_"
);
issued_id!(
    /// An alert contact: `ac_` and a ULID.
    ContactId,
    "ac_"
);
issued_id!(
    /// An audit event: `ae_` and a ULID.
    AuditId,
    "ae_"
);

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
            "po_01jf0000000000000000000000",
        ] {
            assert!(OrderId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_parse_and_keep_their_prefix() {
        let id = super::TransferPinId::generate();
        assert!(id.as_str().starts_with("tp_"));
        assert_eq!(super::TransferPinId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.ulid().len(), 26);
        assert!(super::ContactId::parse(id.as_str()).is_none());
        assert!(super::AuditId::parse(super::AuditId::generate().as_str()).is_some());
    }

    /// Only ids this API issues have a key: anything else is answered as
    /// unknown without a read, never turned into a key.
    #[test]
    fn only_issued_transfer_pin_ids_parse() {
        let good = super::TransferPinId::generate();
        let other_kind = format!("po_{}", good.ulid());
        let (short, long) = (&good.as_str()[..28], format!("{good}0"));
        let lower = good.as_str().to_lowercase();
        for bad in [
            "",
            "tp_",
            other_kind.as_str(),
            lower.as_str(),
            short,
            long.as_str(),
            "tp_01JF00000000000000000000#X",
            "tp_01JF0000000000000000000é",
        ] {
            assert!(super::TransferPinId::parse(bad).is_none(), "{bad:?}");
            assert!(bad.parse::<super::TransferPinId>().is_err(), "{bad:?}");
        }
    }
}
