//! Telnyx's port-out events (contract §16), parsed into a type that holds
//! only what portguard acts on. Pure: no IO, no clock.

use crate::codes::Reject;
use portguard_validation::{PhoneListError, PhoneNumber, Pin};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// The longest event id kept as a dedupe key.
pub const MAX_EVENT_ID: usize = 255;
/// The longest port-out id: Telnyx's are UUIDs (36 characters).
pub const MAX_PORT_OUT_ID: usize = 64;

/// `attempted_pin`: a PIN, so its `Debug` never shows it and it has no
/// `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct AttemptedPin(Option<String>);

impl std::fmt::Debug for AttemptedPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttemptedPin(<redacted>)")
    }
}

impl AttemptedPin {
    /// The PIN as the decision takes it; `None` when it is not one
    /// (`INVALID_PIN_FORMAT`, not counted).
    fn pin(&self) -> Option<Pin> {
        self.0
            .as_deref()
            .and_then(|p| Pin::parse_presented(p.trim()).ok())
    }
}

/// A `pending` port-out: what the checks of contract §4.1 need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// As sent; `None` when absent or not a list of strings.
    pub phone_numbers: Option<Vec<String>>,
    /// `None`: absent, `null` or blank (`PIN_REQUIRED`).
    pub attempted_pin: Option<AttemptedPin>,
}

/// A pending port-out that passed the checks on the body alone.
#[derive(Debug)]
pub struct Checked {
    /// E.164, in the order given.
    pub numbers: Vec<PhoneNumber>,
    pub pin: Pin,
}

impl Pending {
    /// Checks 1–5 of contract §4.1 in order, `attempted_pin` as the PIN.
    pub fn check(&self) -> Result<Checked, Reject> {
        let raw = self
            .phone_numbers
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or(Reject::INVALID_REQUEST)?;
        let numbers = PhoneNumber::parse_list(raw).map_err(|e| match e {
            PhoneListError::TooMany => Reject::TOO_MANY_NUMBERS,
            PhoneListError::Invalid(_) => Reject::INVALID_PHONE_NUMBER,
            PhoneListError::Duplicate(_) => Reject::DUPLICATE_PHONE_NUMBER,
        })?;
        let attempted = self.attempted_pin.as_ref().ok_or(Reject::PIN_REQUIRED)?;
        let pin = attempted.pin().ok_or(Reject::INVALID_PIN_FORMAT)?;
        Ok(Checked { numbers, pin })
    }
}

/// What an event says happened to a port-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `portout.status_changed`, `pending`.
    Pending(Pending),
    Ported,
    Canceled,
    Rejected,
    Authorized,
    RejectedPending,
    /// `portout.foc_date_changed`: the UTC date, `YYYY-MM-DD`.
    FocDateChanged(String),
    NewComment,
    /// Another event type, or a status portguard does not know.
    Unknown,
}

/// A signed event's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `data.id`: the dedupe key.
    pub id: String,
    /// `data.event_type`, as sent (clipped before it is logged).
    pub event_type: String,
    /// `data.payload.id`; required for the events portguard acts on.
    pub port_out_id: Option<String>,
    pub change: Change,
}

/// Why a signed body is not an event: `400 INVALID_EVENT` with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError(pub &'static str);

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for EventError {}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Telnyx's ids are UUIDs; anything outside a path-safe alphabet is
/// refused before it can reach a URL or a key.
fn port_out_id(payload: Option<&Map<String, Value>>) -> Result<Option<String>, EventError> {
    match payload.map(|p| p.get("id")) {
        None | Some(None) | Some(Some(Value::Null)) => Ok(None),
        Some(Some(Value::String(id)))
            if !id.is_empty()
                && id.len() <= MAX_PORT_OUT_ID
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(id.clone()))
        }
        Some(Some(_)) => Err(EventError(
            "data.payload.id must be 1 to 64 letters, digits, '-' or '_'",
        )),
    }
}

/// `foc_date`: a date, or an RFC 3339 date-time whose UTC date is taken.
pub fn foc_date(raw: &str) -> Option<String> {
    let date = match Date::parse(raw, format_description!("[year]-[month]-[day]")) {
        Ok(date) => date,
        Err(_) => OffsetDateTime::parse(raw, &Rfc3339)
            .ok()?
            .to_offset(UtcOffset::UTC)
            .date(),
    };
    let format = format_description!("[year]-[month]-[day]");
    date.format(format).ok()
}

impl Event {
    /// Parses the exact body bytes that were signed.
    pub fn parse(body: &[u8]) -> Result<Event, EventError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|_| EventError("the body is not valid JSON"))?;
        let data = value
            .get("data")
            .and_then(Value::as_object)
            .ok_or(EventError("data must be an object"))?;
        let id = string(data, "id")
            .filter(|id| !id.is_empty() && id.len() <= MAX_EVENT_ID)
            .ok_or(EventError(
                "data.id must be a string of 1 to 255 characters",
            ))?
            .to_owned();
        let event_type = string(data, "event_type")
            .ok_or(EventError("data.event_type must be a string"))?
            .to_owned();
        let payload = match data.get("payload") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => Some(p),
            Some(_) => return Err(EventError("data.payload must be an object")),
        };
        let port_out_id = port_out_id(payload)?;
        let change = match event_type.as_str() {
            "portout.status_changed" => {
                let payload = payload.ok_or(EventError("data.payload is required"))?;
                match string(payload, "status") {
                    Some("pending") => Change::Pending(pending(payload)),
                    Some("ported") => Change::Ported,
                    Some("canceled") => Change::Canceled,
                    Some("rejected") => Change::Rejected,
                    Some("authorized") => Change::Authorized,
                    Some("rejected-pending") => Change::RejectedPending,
                    Some(_) => Change::Unknown,
                    None => return Err(EventError("data.payload.status must be a string")),
                }
            }
            "portout.foc_date_changed" => {
                let payload = payload.ok_or(EventError("data.payload is required"))?;
                let date = string(payload, "foc_date")
                    .and_then(foc_date)
                    .ok_or(EventError(
                        "data.payload.foc_date must be a date or an RFC 3339 date-time",
                    ))?;
                Change::FocDateChanged(date)
            }
            "portout.new_comment" => Change::NewComment,
            _ => Change::Unknown,
        };
        let acts = !matches!(change, Change::NewComment | Change::Unknown);
        if acts && port_out_id.is_none() {
            return Err(EventError("data.payload.id is required"));
        }
        Ok(Event {
            id,
            event_type,
            port_out_id,
            change,
        })
    }
}

fn pending(payload: &Map<String, Value>) -> Pending {
    let phone_numbers = match payload.get("phone_numbers") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>(),
        _ => None,
    };
    let attempted_pin = match payload.get("attempted_pin") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(AttemptedPin(Some(p.clone()))),
        // A number or another type is a PIN given in a form portguard
        // does not take (a number loses leading zeros).
        Some(_) => Some(AttemptedPin(None)),
    };
    Pending {
        phone_numbers,
        attempted_pin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(event_type: &str, payload: Value) -> Result<Event, EventError> {
        let body = json!({"data": {"event_type": event_type, "id": "ev-1", "record_type": "event",
                                    "occurred_at": "2026-12-05T10:00:00Z", "payload": payload},
                          "meta": {"attempt": 1}});
        Event::parse(body.to_string().as_bytes())
    }

    fn status(s: &str) -> Change {
        event("portout.status_changed", json!({"id": "po-1", "status": s}))
            .unwrap()
            .change
    }

    #[test]
    fn every_status_and_type() {
        assert_eq!(status("ported"), Change::Ported);
        assert_eq!(status("canceled"), Change::Canceled);
        assert_eq!(status("rejected"), Change::Rejected);
        assert_eq!(status("authorized"), Change::Authorized);
        assert_eq!(status("rejected-pending"), Change::RejectedPending);
        assert_eq!(status("something-new"), Change::Unknown);
        let e = event("portout.new_comment", json!({"comment": "hi"})).unwrap();
        assert_eq!((e.change, e.port_out_id), (Change::NewComment, None));
        assert_eq!(
            event("call.hangup", json!(null)).unwrap().change,
            Change::Unknown
        );
        let foc = |d: &str| {
            event(
                "portout.foc_date_changed",
                json!({"id": "po-1", "foc_date": d}),
            )
            .map(|e| e.change)
        };
        assert_eq!(
            foc("2026-12-03"),
            Ok(Change::FocDateChanged("2026-12-03".into()))
        );
        assert_eq!(
            foc("2026-12-03T23:30:00-05:00"),
            Ok(Change::FocDateChanged("2026-12-04".into()))
        );
        assert_eq!(
            foc("2026-12-03T22:25:27.521Z"),
            Ok(Change::FocDateChanged("2026-12-03".into()))
        );
        assert!(foc("03/12/2026").is_err());
        assert!(foc("2026-02-30").is_err());
    }

    #[test]
    fn malformed_events_are_refused() {
        for body in [
            "not json",
            "{}",
            r#"{"data": []}"#,
            r#"{"data": {"event_type": "portout.status_changed"}}"#,
            r#"{"data": {"id": "", "event_type": "x"}}"#,
            r#"{"data": {"id": "e", "event_type": 5}}"#,
            r#"{"data": {"id": "e", "event_type": "portout.status_changed", "payload": {"id": "po"}}}"#,
            r#"{"data": {"id": "e", "event_type": "portout.status_changed", "payload": {"status": "ported"}}}"#,
            r#"{"data": {"id": "e", "event_type": "portout.status_changed", "payload": {"id": "../x", "status": "ported"}}}"#,
        ] {
            assert!(Event::parse(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn pending_checks_in_order_with_the_pin_redacted() {
        let pending = |payload: Value| match status_of(payload) {
            Change::Pending(p) => p,
            other => panic!("{other:?}"),
        };
        fn status_of(mut payload: Value) -> Change {
            payload["id"] = json!("po-1");
            payload["status"] = json!("pending");
            event("portout.status_changed", payload).unwrap().change
        }
        let code = |payload: Value| pending(payload).check().err().map(|r| r.code);
        let ok = pending(json!({"phone_numbers": ["+12065550100"], "attempted_pin": "48151623"}));
        assert!(!format!("{ok:?}").contains("48151623"));
        let checked = ok.check().unwrap();
        assert_eq!(checked.numbers[0].as_str(), "+12065550100");
        assert_eq!(
            code(json!({"attempted_pin": "48151623"})),
            Some("INVALID_REQUEST")
        );
        assert_eq!(
            code(json!({"phone_numbers": [], "attempted_pin": "48151623"})),
            Some("INVALID_REQUEST")
        );
        assert_eq!(
            code(json!({"phone_numbers": [5], "attempted_pin": "48151623"})),
            Some("INVALID_REQUEST")
        );
        let many: Vec<String> = (0..51).map(|i| format!("+1206555{:04}", 100 + i)).collect();
        assert_eq!(
            code(json!({"phone_numbers": many, "attempted_pin": "1"})),
            Some("TOO_MANY_NUMBERS")
        );
        assert_eq!(
            code(json!({"phone_numbers": ["555"], "attempted_pin": "1"})),
            Some("INVALID_PHONE_NUMBER")
        );
        assert_eq!(
            code(json!({"phone_numbers": ["+12065550100", "2065550100"], "attempted_pin": "1"})),
            Some("DUPLICATE_PHONE_NUMBER")
        );
        let nums = json!(["+12065550100"]);
        assert_eq!(code(json!({"phone_numbers": nums})), Some("PIN_REQUIRED"));
        assert_eq!(
            code(json!({"phone_numbers": nums, "attempted_pin": null})),
            Some("PIN_REQUIRED")
        );
        assert_eq!(
            code(json!({"phone_numbers": nums, "attempted_pin": "  "})),
            Some("PIN_REQUIRED")
        );
        assert_eq!(
            code(json!({"phone_numbers": nums, "attempted_pin": "12ab56"})),
            Some("INVALID_PIN_FORMAT")
        );
        assert_eq!(
            code(json!({"phone_numbers": nums, "attempted_pin": 48151623})),
            Some("INVALID_PIN_FORMAT")
        );
    }
}
