//! Bandwidth's side of contract §15, pure: the XML of its port-out
//! validation webhook and order notifications, the checks a validation
//! request must pass before portguard's one port-out decision, and the code
//! table that tells Bandwidth why not. No AWS, no IO: the fuzz target
//! `bandwidth` links this crate as it is.

pub mod codes;
pub mod xml;

use codes::BwError;
use portguard_rules::port_out::Refusal;
use portguard_validation::{AccountNumber, PhoneListError, PhoneNumber, Pin, Pon};
use std::collections::HashSet;
use xml::{ErrorElement, Errors, ValidationRequest, ValidationResponse};

/// A validation request that passed the body's checks: what the decision
/// needs from it.
#[derive(Debug)]
pub struct Validation {
    pub account: AccountNumber,
    pub pin: Pin,
    /// E.164, in the order given.
    pub numbers: Vec<PhoneNumber>,
    /// Only a valid PON (contract §4.1's alphabet); `None` otherwise.
    pub pon: Option<Pon>,
}

/// The checks of contract §15's table that need only the body, in its
/// order, and the PON to echo (only a valid one).
pub fn parse_validation(body: &[u8]) -> (Option<Pon>, Result<Validation, BwError>) {
    let wire: ValidationRequest = match xml::read(body, "PortOutValidationRequest") {
        Ok(wire) => wire,
        Err(_) => return (None, Err(codes::MALFORMED)),
    };
    let pon = wire.pon.as_deref().and_then(|p| Pon::parse(p.trim()).ok());
    (pon.clone(), checks(wire, pon))
}

fn checks(wire: ValidationRequest, pon: Option<Pon>) -> Result<Validation, BwError> {
    let raw = wire.telephone_numbers.unwrap_or_default().numbers;
    let raw: Vec<&str> = raw.iter().map(|n| n.trim()).collect();
    let mut seen = HashSet::new();
    if raw.is_empty() || !raw.iter().all(|n| seen.insert(*n)) {
        return Err(codes::MALFORMED);
    }
    let numbers = PhoneNumber::parse_list(&raw).map_err(|e| match e {
        PhoneListError::TooMany => codes::TOO_MANY_NUMBERS,
        PhoneListError::Invalid(_) => codes::INVALID_NUMBER,
        // One number written two ways is still the same number twice.
        PhoneListError::Duplicate(_) => codes::MALFORMED,
    })?;
    let pin = match wire.pin.as_deref().map(str::trim) {
        None | Some("") => return Err(codes::PIN_REQUIRED),
        Some(pin) => Pin::parse_presented(pin).map_err(|_| codes::PIN_FORMAT)?,
    };
    let account = match wire.account_number.as_deref().map(str::trim) {
        None | Some("") => return Err(codes::ACCOUNT_REQUIRED),
        // No tenant can hold an account number that is not one.
        Some(account) => AccountNumber::parse(account)
            .map_err(|_| codes::refusal(Refusal::AccountNotFound, None))?,
    };
    Ok(Validation {
        account,
        pin,
        numbers,
        pon,
    })
}

/// The validation answer: portable without an error, else one `Error`.
pub fn answer_xml(pon: Option<&Pon>, error: Option<BwError>) -> String {
    ValidationResponse {
        portable: error.is_none(),
        pon: pon.map(|p| p.as_str().to_owned()),
        errors: error.map(|e| Errors {
            error: ErrorElement {
                code: e.code,
                description: e.description,
            },
        }),
    }
    .to_xml()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(inner: &str) -> Vec<u8> {
        format!("<PortOutValidationRequest>{inner}</PortOutValidationRequest>").into_bytes()
    }

    fn code(inner: &str) -> Option<u16> {
        parse_validation(&body(inner)).1.err().map(|e| e.code)
    }

    const NUMBERS: &str = "<TelephoneNumbers><TelephoneNumber>2065550100</TelephoneNumber>\
                           <TelephoneNumber>+12065550101</TelephoneNumber></TelephoneNumbers>";

    #[test]
    fn the_table_before_the_decision_in_order() {
        let full = |pin: &str, account: &str| {
            format!(
                "<PON>PON-1</PON><Pin>{pin}</Pin><AccountNumber>{account}</AccountNumber>{NUMBERS}"
            )
        };
        assert_eq!(code(&full("48151623", "ACC-1001")), None);
        assert_eq!(code("<Pin>48151623</Pin>"), Some(7598));
        let twice = "<TelephoneNumbers><TelephoneNumber>2065550100</TelephoneNumber>\
                     <TelephoneNumber>+12065550100</TelephoneNumber></TelephoneNumbers>";
        assert_eq!(code(twice), Some(7598));
        let many: String = (0..51)
            .map(|i| format!("<TelephoneNumber>206555{i:04}</TelephoneNumber>"))
            .collect();
        assert_eq!(
            code(&format!("<TelephoneNumbers>{many}</TelephoneNumbers>")),
            Some(7517)
        );
        assert_eq!(
            code("<TelephoneNumbers><TelephoneNumber>555</TelephoneNumber></TelephoneNumbers>"),
            Some(7516)
        );
        assert_eq!(code(NUMBERS), Some(7512));
        assert_eq!(code(&full(" ", "ACC-1001")), Some(7512));
        assert_eq!(code(&full("4815", "ACC-1001")), Some(7513));
        assert_eq!(code(&full("48151623", " ")), Some(7510));
        assert_eq!(code(&full("48151623", "ACC 1001 !")), Some(7511));
    }

    #[test]
    fn the_pon_is_echoed_only_when_valid() {
        let (pon, _) = parse_validation(&body("<PON>PON-1</PON>"));
        assert_eq!(pon.unwrap().as_str(), "PON-1");
        let (pon, _) = parse_validation(&body("<PON>not a pon!</PON>"));
        assert!(pon.is_none());
        let (pon, _) = parse_validation(b"<x/>");
        assert!(pon.is_none());
    }

    #[test]
    fn a_parsed_request_is_bandwidths() {
        let (_, r) = parse_validation(&body(&format!(
            "<Pin>48151623</Pin><AccountNumber>ACC-1001</AccountNumber>{NUMBERS}"
        )));
        let r = r.unwrap();
        let e164: Vec<&str> = r.numbers.iter().map(PhoneNumber::as_str).collect();
        assert_eq!(e164, ["+12065550100", "+12065550101"]);
        assert!(r.pon.is_none());
    }
}
