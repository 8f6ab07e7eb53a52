//! Checks 1–5 of contract §4.1: everything that can be decided from the request
//! alone, in the table's order. Past this module a request cannot hold an
//! invalid value. No message echoes the PIN.

use crate::decision::{Holder, PortOutRequest};
use lambda_http::{Body, Request};
use portguard_api::{json_object_body, ApiError, Code};
use portguard_store::{clock::Day, Source};
use portguard_validation::{
    parse_date, AccountNumber, AuthorizedName, PhoneListError, PhoneNumber, Pin, Pon,
};
use serde_json::{json, Map, Value};

pub(crate) const MAX_IDEMPOTENCY_KEY: usize = 255;

impl PortOutRequest {
    /// The request as parsed, in a fixed shape: two bodies that mean the
    /// same (numbers written differently, fields in another order, unknown
    /// fields) give the same bytes. The PIN is not part of it (contract
    /// §4.1): neither a replay nor a `409` may tell right from wrong, and
    /// nothing stored for idempotency derives from a PIN.
    pub fn canonical(&self) -> Vec<u8> {
        let canonical = json!([
            "portguard/port-out/v2",
            self.holder.account().map(AccountNumber::as_str),
            self.numbers
                .iter()
                .map(PhoneNumber::as_str)
                .collect::<Vec<_>>(),
            self.pon.as_ref().map(Pon::as_str),
            self.authorized_name.as_ref().map(AuthorizedName::as_str),
            self.requested_foc_date,
        ]);
        serde_json::to_vec(&canonical).expect("strings serialise")
    }
}

/// The optional `Idempotency-Key` header: 1 to 255 visible characters.
pub(crate) fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::invalid_request(format!(
            "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        ))
    };
    let key = value.to_str().map_err(|_| bad())?;
    let ok = (1..=MAX_IDEMPOTENCY_KEY).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !key.trim().is_empty();
    ok.then(|| Some(key.to_owned())).ok_or_else(bad)
}

/// Checks 1 to 5, the first that fails answers.
pub(crate) fn parse(body: &Body) -> Result<PortOutRequest, ApiError> {
    // 1: a well-formed body.
    let map = json_object_body(body)?;
    let account = required_str(&map, "accountNumber")?;
    let pin = required_str(&map, "pin")?;
    let raw_numbers = phone_numbers(&map)?;
    let pon = Pon::parse(required_str(&map, "pon")?)
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
    let account = AccountNumber::parse(account).map_err(|_| {
        ApiError::invalid_request("accountNumber must be 1 to 64 characters of A-Z a-z 0-9 . _ -")
    })?;
    let authorized_name = optional_str(&map, "authorizedName")?
        .map(AuthorizedName::parse)
        .transpose()
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
    let requested_foc_date = optional_str(&map, "requestedFocDate")?
        .map(|d| parse_date(d, "requestedFocDate").map(Day::from_date))
        .transpose()
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;

    // 2 to 4: not too many, each a valid US number, none twice.
    let numbers = PhoneNumber::parse_list(&raw_numbers).map_err(|e| match e {
        PhoneListError::TooMany => ApiError::of(Code::TooManyNumbers),
        // As given (`details` clips each to 64 characters, contract §2).
        PhoneListError::Invalid(invalid) => {
            ApiError::invalid_phone_numbers(invalid.iter().map(String::as_str))
        }
        PhoneListError::Duplicate(duplicates) => {
            ApiError::of(Code::DuplicatePhoneNumber).details(json!({ "numbers": duplicates }))
        }
    })?;

    // 5: a PIN of the right shape (not a failed attempt).
    let pin = Pin::parse_presented(pin)
        .map_err(|e| ApiError::explained(Code::InvalidPinFormat, e.to_string()))?;

    Ok(PortOutRequest {
        holder: Holder::Account(account),
        pin,
        numbers,
        pon: Some(pon),
        authorized_name,
        requested_foc_date,
        source: Source::Api,
        external_id: None,
        resubmission_is_accepted: false,
    })
}

fn required_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match map.get(field) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(ApiError::invalid_request(format!("{field} is required"))),
        Some(_) => Err(ApiError::invalid_request(format!(
            "{field} must be a string"
        ))),
    }
}

fn optional_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_request(format!(
            "{field} must be a string"
        ))),
    }
}

fn phone_numbers(map: &Map<String, Value>) -> Result<Vec<&str>, ApiError> {
    let items = match map.get("phoneNumbers") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_request("phoneNumbers is required"))
        }
        Some(_) => {
            return Err(ApiError::invalid_request(
                "phoneNumbers must be an array of strings",
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid_request(
            "phoneNumbers must list at least one number",
        ));
    }
    items
        .iter()
        .map(|v| {
            v.as_str().ok_or_else(|| {
                ApiError::invalid_request("phoneNumbers must be an array of strings")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_json(v: Value) -> Result<PortOutRequest, ApiError> {
        parse(&Body::Text(v.to_string()))
    }

    fn valid() -> Value {
        json!({
            "accountNumber": "ACC-1001",
            "pin": "48151623",
            "phoneNumbers": ["+12065550100", "(206) 555-0101"],
            "pon": "PON-7781",
            "authorizedName": "Jane Doe",
            "requestedFocDate": "2026-11-03",
            "unknown": true
        })
    }

    fn code(v: Value) -> &'static str {
        parse_json(v).map(|_| "OK").unwrap_or_else(|e| e.code)
    }

    #[test]
    fn valid_body_normalises_numbers() {
        let r = parse_json(valid()).unwrap();
        assert_eq!(r.numbers, ["+12065550100", "+12065550101"]);
        assert_eq!(r.requested_foc_date.unwrap(), "2026-11-03");
    }

    #[test]
    fn canonical_form_ignores_spelling_unknown_fields_and_the_pin() {
        let a = parse_json(valid()).unwrap().canonical();
        let mut other = valid();
        other["phoneNumbers"] = json!(["2065550100", "+12065550101"]);
        other.as_object_mut().unwrap().remove("unknown");
        assert_eq!(a, parse_json(other).unwrap().canonical());
        // The PIN is not part of it; the rest is.
        let mut pin = valid();
        pin["pin"] = json!("48151624");
        assert_eq!(a, parse_json(pin).unwrap().canonical());
        let mut pon = valid();
        pon["pon"] = json!("PON-OTHER");
        assert_ne!(a, parse_json(pon).unwrap().canonical());
    }

    #[test]
    fn rule_order() {
        let with = |k: &str, v: Value| {
            let mut b = valid();
            b[k] = v;
            b
        };
        assert_eq!(code(with("pin", json!(48151623))), "INVALID_REQUEST");
        assert_eq!(code(with("phoneNumbers", json!([]))), "INVALID_REQUEST");
        assert_eq!(code(with("phoneNumbers", json!([1]))), "INVALID_REQUEST");
        assert_eq!(code(with("authorizedName", Value::Null)), "OK");
        let many: Vec<String> = (0..51).map(|i| format!("+1206555{i:04}")).collect();
        let mut b = with("phoneNumbers", json!(many));
        b["pin"] = json!("x");
        assert_eq!(code(b), "TOO_MANY_NUMBERS");
        let mut b = with("phoneNumbers", json!(["nope", "+12065550100"]));
        b["pin"] = json!("x");
        let err = parse_json(b).unwrap_err();
        assert_eq!(err.code, "INVALID_PHONE_NUMBER");
        assert_eq!(err.details, Some(json!({"numbers": ["nope"]})));
        let mut b = with("phoneNumbers", json!(["2065550100", "+12065550100"]));
        b["pin"] = json!("x");
        assert_eq!(code(b), "DUPLICATE_PHONE_NUMBER");
        assert_eq!(code(with("pin", json!("4815"))), "INVALID_PIN_FORMAT");
    }

    /// The catalogue's sentence states the limit this door enforces.
    #[test]
    fn too_many_numbers_names_the_limit() {
        let limit = portguard_validation::MAX_PORT_OUT_NUMBERS.to_string();
        assert!(ApiError::of(Code::TooManyNumbers).message.contains(&limit));
    }
}
