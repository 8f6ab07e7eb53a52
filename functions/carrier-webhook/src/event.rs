//! The body of a signed carrier event, parsed into a type that cannot hold an
//! invalid event. Pure: no IO, no clock.

use portguard_rules::OrderEvent;
use portguard_store::clock::Day;
use serde_json::Value;

/// A carrier's status event (contract §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierEvent {
    pub kind: OrderEvent,
    /// As sent; looked up as is (an id that cannot exist answers 404).
    pub port_out_id: String,
    /// `YYYY-MM-DD`, present exactly for `port_out.foc_confirmed`.
    pub foc_date: Option<Day>,
    /// A cancellation's or rejection's reason, in NFC.
    pub reason: Option<String>,
}

/// Why a signed body is not an event: `400 INVALID_EVENT` with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError(pub String);

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EventError {}

pub const TYPES: [&str; 4] = [
    "port_out.foc_confirmed",
    "port_out.completed",
    "port_out.cancelled",
    "port_out.rejected",
];

fn bad(message: impl Into<String>) -> EventError {
    EventError(message.into())
}

impl CarrierEvent {
    /// Parses the exact body bytes that were signed.
    pub fn parse(body: &[u8]) -> Result<CarrierEvent, EventError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|_| bad("the body is not valid JSON"))?;
        let Value::Object(map) = value else {
            return Err(bad("the body must be a JSON object"));
        };
        let kind = match map.get("type") {
            Some(Value::String(t)) => match t.as_str() {
                "port_out.foc_confirmed" => OrderEvent::FocConfirmed,
                "port_out.completed" => OrderEvent::Completed,
                "port_out.cancelled" => OrderEvent::Cancelled,
                "port_out.rejected" => OrderEvent::Rejected,
                _ => {
                    return Err(bad(format!(
                        "unknown event type; expected one of {}",
                        TYPES.join(", ")
                    )))
                }
            },
            Some(_) => return Err(bad("type must be a string")),
            None => return Err(bad("type is required")),
        };
        let port_out_id = match map.get("portOutId") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(bad("portOutId is required"))
            }
            Some(_) => return Err(bad("portOutId must be a string")),
        };
        let foc_date = match kind {
            OrderEvent::FocConfirmed => {
                let raw = match map.get("focDate") {
                    Some(Value::String(d)) => d,
                    None | Some(Value::Null) => {
                        return Err(bad("focDate is required for port_out.foc_confirmed"))
                    }
                    Some(_) => return Err(bad("focDate must be a date written YYYY-MM-DD")),
                };
                let date = portguard_validation::parse_date(raw, "focDate")
                    .map_err(|_| bad("focDate must be a date written YYYY-MM-DD"))?;
                Some(Day::from_date(date))
            }
            _ => None,
        };
        let mut reason = None;
        if matches!(kind, OrderEvent::Cancelled | OrderEvent::Rejected) {
            match map.get("reason") {
                None | Some(Value::Null) => {}
                Some(Value::String(r)) => {
                    let text = portguard_validation::free_text(r, "reason")
                        .map_err(|e| bad(e.to_string()))?;
                    reason = Some(text);
                }
                Some(_) => return Err(bad("reason must be a string")),
            }
        }
        Ok(CarrierEvent {
            kind,
            port_out_id,
            foc_date,
            reason,
        })
    }

    /// The event's `type` as carriers write it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            OrderEvent::FocConfirmed => TYPES[0],
            OrderEvent::Completed => TYPES[1],
            OrderEvent::Cancelled => TYPES[2],
            OrderEvent::Rejected => TYPES[3],
            OrderEvent::Expired => "port_out.expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<CarrierEvent, EventError> {
        CarrierEvent::parse(s.as_bytes())
    }

    #[test]
    fn the_four_events() {
        let e =
            parse(r#"{"type":"port_out.foc_confirmed","portOutId":"po_1","focDate":"2026-11-03"}"#)
                .unwrap();
        assert_eq!(e.kind, OrderEvent::FocConfirmed);
        assert_eq!(
            e.foc_date.map(|d| d.to_string()).as_deref(),
            Some("2026-11-03")
        );
        assert_eq!(
            parse(r#"{"type":"port_out.completed","portOutId":"po_1"}"#)
                .unwrap()
                .kind,
            OrderEvent::Completed
        );
        assert_eq!(
            parse(r#"{"type":"port_out.cancelled","portOutId":"po_1","reason":"customer"}"#)
                .unwrap()
                .kind,
            OrderEvent::Cancelled
        );
        let e = parse(r#"{"type":"port_out.rejected","portOutId":"po_1","extra":1}"#).unwrap();
        assert_eq!((e.kind, e.foc_date), (OrderEvent::Rejected, None));
    }

    #[test]
    fn malformed() {
        for body in [
            "",
            "not json",
            "[]",
            r#""port_out.completed""#,
            r#"{"portOutId":"po_1"}"#,
            r#"{"type":7,"portOutId":"po_1"}"#,
            r#"{"type":"port_out.expired","portOutId":"po_1"}"#,
            r#"{"type":"port_out.COMPLETED","portOutId":"po_1"}"#,
            r#"{"type":"port_out.completed"}"#,
            r#"{"type":"port_out.completed","portOutId":""}"#,
            r#"{"type":"port_out.completed","portOutId":42}"#,
            r#"{"type":"port_out.foc_confirmed","portOutId":"po_1"}"#,
            r#"{"type":"port_out.foc_confirmed","portOutId":"po_1","focDate":null}"#,
            r#"{"type":"port_out.foc_confirmed","portOutId":"po_1","focDate":"2026-02-30"}"#,
            r#"{"type":"port_out.foc_confirmed","portOutId":"po_1","focDate":"03/12/2026"}"#,
            r#"{"type":"port_out.foc_confirmed","portOutId":"po_1","focDate":"2026-11-03T00:00:00Z"}"#,
            r#"{"type":"port_out.foc_confirmed","portOutId":"po_1","focDate":20261203}"#,
            r#"{"type":"port_out.cancelled","portOutId":"po_1","reason":{"a":1}}"#,
        ] {
            assert!(parse(body).is_err(), "{body:?} should be refused");
        }
    }

    #[test]
    fn reasons_refuse_direction_controls_and_are_nfc() {
        for c in ["\u{202E}", "\u{2066}", "\u{200B}", "\u{FEFF}", "\u{2060}"] {
            let body = json_reason(&format!("customer{c}request"));
            let e = parse(&body).unwrap_err();
            assert!(e.0.contains("reason"), "{e}");
        }
        let e = parse(&json_reason("Cafe\u{0301}")).unwrap();
        assert_eq!(e.reason.as_deref(), Some("Caf\u{00E9}"));
    }

    fn json_reason(reason: &str) -> String {
        serde_json::json!({"type": "port_out.cancelled", "portOutId": "po_1", "reason": reason})
            .to_string()
    }

    #[test]
    fn messages_name_the_problem() {
        let e = parse(r#"{"type":"port_out.expired","portOutId":"po_1"}"#).unwrap_err();
        assert!(e.0.contains("unknown event type"), "{e}");
    }
}
