//! Bandwidth's XML (contract §15), read with `quick-xml`'s serde support
//! after one streaming pass that refuses what serde would not: a DTD (no
//! entity is ever declared, so none is expanded), an entity other than the
//! five predefined ones, a second or a wrong root, nesting deeper than any
//! real message. Past this module a body is typed values or a refusal.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::{Deserialize, Serialize};

/// The largest body read (contract §15): larger ones are refused unread.
pub const MAX_BODY: usize = 64 * 1024;

/// Deeper than any message of contract §15 (three levels), shallow enough
/// that serde's recursion over unknown elements stays small.
const MAX_DEPTH: usize = 16;

/// A body that is not a well-formed message with the expected root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// `<PortOutValidationRequest>`; every element optional here, unknown ones
/// ignored. Checked by the door in the order of contract §15's table.
#[derive(Debug, Default, Deserialize)]
pub struct ValidationRequest {
    #[serde(rename = "PON")]
    pub pon: Option<String>,
    #[serde(rename = "Pin")]
    pub pin: Option<String>,
    #[serde(rename = "AccountNumber")]
    pub account_number: Option<String>,
    #[serde(rename = "TelephoneNumbers")]
    pub telephone_numbers: Option<TelephoneNumbers>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TelephoneNumbers {
    #[serde(rename = "TelephoneNumber", default)]
    pub numbers: Vec<String>,
}

/// `<Notification>`: Bandwidth's order notification.
#[derive(Debug, Default, Deserialize)]
pub struct Notification {
    #[serde(rename = "OrderType")]
    pub order_type: Option<String>,
    #[serde(rename = "OrderId")]
    pub order_id: Option<String>,
    #[serde(rename = "Status")]
    pub status: Option<String>,
    #[serde(rename = "CompletedTelephoneNumbers")]
    pub completed: Option<TelephoneNumbers>,
}

/// `<PortOutValidationResponse>`: exactly one `Error` when not portable.
#[derive(Debug, Serialize)]
#[serde(rename = "PortOutValidationResponse")]
pub struct ValidationResponse {
    #[serde(rename = "Portable")]
    pub portable: bool,
    #[serde(rename = "PON", skip_serializing_if = "Option::is_none")]
    pub pon: Option<String>,
    #[serde(rename = "Errors", skip_serializing_if = "Option::is_none")]
    pub errors: Option<Errors>,
}

#[derive(Debug, Serialize)]
pub struct Errors {
    #[serde(rename = "Error")]
    pub error: ErrorElement,
}

#[derive(Debug, Serialize)]
pub struct ErrorElement {
    #[serde(rename = "Code")]
    pub code: u16,
    #[serde(rename = "Description")]
    pub description: &'static str,
}

impl ValidationResponse {
    pub fn to_xml(&self) -> String {
        // Every value is a bool, a number, a checked PON or a sentence of
        // ours: serialising cannot fail.
        quick_xml::se::to_string(self).expect("a validation response serialises")
    }
}

/// Reads a body as the message whose root element is `root`.
pub fn read<T: for<'de> Deserialize<'de>>(body: &[u8], root: &str) -> Result<T, Malformed> {
    if body.len() > MAX_BODY {
        return Err(Malformed("the body is over 64 KiB"));
    }
    let text = std::str::from_utf8(body).map_err(|_| Malformed("the body is not UTF-8"))?;
    check_shape(text, root)?;
    quick_xml::de::from_str(text).map_err(|_| Malformed("the body is not the expected message"))
}

/// One streaming pass: well-formed, one root named `root`, no DTD, only
/// predefined entities and character references, at most [`MAX_DEPTH`].
fn check_shape(text: &str, root: &str) -> Result<(), Malformed> {
    let mut reader = Reader::from_str(text);
    let (mut depth, mut roots) = (0usize, 0usize);
    loop {
        let event = reader
            .read_event()
            .map_err(|_| Malformed("the body is not well-formed XML"))?;
        match event {
            Event::DocType(_) => return Err(Malformed("a document type declaration is refused")),
            Event::Empty(_) if depth == 0 => {
                return Err(Malformed("the root element is empty"));
            }
            Event::Start(e) if depth == 0 => {
                roots += 1;
                if roots > 1 || e.local_name().as_ref() != root.as_bytes() {
                    return Err(Malformed("the root element is not the expected one"));
                }
                depth = 1;
            }
            Event::Start(_) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Malformed("the elements are nested too deeply"));
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::GeneralRef(r) => {
                let predefined = matches!(r.as_ref(), b"amp" | b"lt" | b"gt" | b"quot" | b"apos");
                if !predefined && !r.is_char_ref() {
                    return Err(Malformed("an entity that is not predefined is refused"));
                }
            }
            Event::Text(t) if depth == 0 && !t.as_ref().iter().all(u8::is_ascii_whitespace) => {
                return Err(Malformed("text outside the root element"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match (roots, depth) {
        (1, 0) => Ok(()),
        _ => Err(Malformed("the body is not one complete element")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validation(body: &str) -> Result<ValidationRequest, Malformed> {
        read(body.as_bytes(), "PortOutValidationRequest")
    }

    const GOOD: &str = "<PortOutValidationRequest><PON>PON-7781</PON><Pin>48151623</Pin>\
        <AccountNumber>ACC-1001</AccountNumber><ZipCode>98101</ZipCode>\
        <TelephoneNumbers><TelephoneNumber>2065550100</TelephoneNumber>\
        <TelephoneNumber>2065550101</TelephoneNumber></TelephoneNumbers>\
        <Unknown><Deeper>x</Deeper></Unknown></PortOutValidationRequest>";

    #[test]
    fn a_request_in_any_order_with_unknown_elements() {
        let r = validation(GOOD).unwrap();
        assert_eq!(r.pon.as_deref(), Some("PON-7781"));
        assert_eq!(r.pin.as_deref(), Some("48151623"));
        assert_eq!(r.account_number.as_deref(), Some("ACC-1001"));
        assert_eq!(r.telephone_numbers.unwrap().numbers.len(), 2);
        let decl = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{GOOD}");
        assert!(validation(&decl).is_ok());
    }

    #[test]
    fn cdata_and_predefined_entities_are_text() {
        let r = validation(
            "<PortOutValidationRequest><Pin><![CDATA[48151623]]></Pin>\
             <PON>A&amp;B</PON></PortOutValidationRequest>",
        )
        .unwrap();
        assert_eq!(r.pin.as_deref(), Some("48151623"));
        assert_eq!(r.pon.as_deref(), Some("A&B"));
    }

    #[test]
    fn hostile_shapes_are_refused() {
        let deep = format!(
            "<PortOutValidationRequest>{}{}</PortOutValidationRequest>",
            "<a>".repeat(10_000),
            "</a>".repeat(10_000)
        );
        for bad in [
            "<!DOCTYPE r [<!ENTITY x \"48151623\">]><PortOutValidationRequest><Pin>&x;</Pin></PortOutValidationRequest>",
            "<PortOutValidationRequest><Pin>&x;</Pin></PortOutValidationRequest>",
            "<Other><Pin>1</Pin></Other>",
            "<PortOutValidationRequest/>",
            "<PortOutValidationRequest><Pin>1</Pin>",
            "<PortOutValidationRequest></PortOutValidationRequest><PortOutValidationRequest></PortOutValidationRequest>",
            "<PortOutValidationRequest><Pin>1</Pon></PortOutValidationRequest>",
            "<PortOutValidationRequest><Pin>1</Pin><Pin>2</Pin></PortOutValidationRequest>",
            "text<PortOutValidationRequest></PortOutValidationRequest>",
            "",
            &deep,
        ] {
            assert!(validation(bad).is_err(), "{}", &bad[..bad.len().min(80)]);
        }
        assert!(
            read::<ValidationRequest>(&[0xff, 0xfe, b'<'], "PortOutValidationRequest").is_err()
        );
        let big = format!("{GOOD}{}", " ".repeat(MAX_BODY + 1 - GOOD.len()));
        assert_eq!(big.len(), MAX_BODY + 1);
        assert!(validation(&big).is_err());
        assert!(validation(&big[..MAX_BODY]).is_ok());
    }

    #[test]
    fn numbers_as_attributes_are_not_numbers() {
        let r = validation(
            "<PortOutValidationRequest><TelephoneNumbers TelephoneNumber=\"2065550100\">\
             </TelephoneNumbers></PortOutValidationRequest>",
        )
        .unwrap();
        assert!(r.telephone_numbers.unwrap_or_default().numbers.is_empty());
    }

    #[test]
    fn the_response_has_one_error_and_no_acceptable_values() {
        let no = ValidationResponse {
            portable: false,
            pon: Some("PON-7781".into()),
            errors: Some(Errors {
                error: ErrorElement {
                    code: 7513,
                    description: "PIN invalid",
                },
            }),
        };
        assert_eq!(
            no.to_xml(),
            "<PortOutValidationResponse><Portable>false</Portable><PON>PON-7781</PON>\
             <Errors><Error><Code>7513</Code><Description>PIN invalid</Description></Error>\
             </Errors></PortOutValidationResponse>"
        );
        let yes = ValidationResponse {
            portable: true,
            pon: None,
            errors: None,
        };
        assert_eq!(
            yes.to_xml(),
            "<PortOutValidationResponse><Portable>true</Portable></PortOutValidationResponse>"
        );
    }

    #[test]
    fn a_notification() {
        let n: Notification = read(
            b"<Notification><OrderType>portouts</OrderType><OrderId>o-1</OrderId>\
              <Status>COMPLETE</Status><CompletedTelephoneNumbers>\
              <TelephoneNumber>2065550100</TelephoneNumber></CompletedTelephoneNumbers>\
              </Notification>",
            "Notification",
        )
        .unwrap();
        assert_eq!(n.status.as_deref(), Some("COMPLETE"));
        assert_eq!(n.completed.unwrap().numbers, ["2065550100"]);
    }
}
