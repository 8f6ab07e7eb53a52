//! The catalogue of error codes (contract §2, *Error codes*): each code's
//! HTTP status and its one message. A port-out's refusals (checks 6–12 of
//! contract §4.1) are the other half, in `portguard_rules::port_out::Refusal`,
//! because the Bandwidth and Telnyx doors answer them in their own words.
//!
//! Most codes always say the same sentence ([`ApiError::of`]). A few name
//! what was wrong with the caller's input or the order's state, so their
//! sentence is made where that is known ([`ApiError::explained`]); the
//! catalogue says which.

use crate::ApiError;

/// Whether a code's message is the catalogue's or names the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Fixed(&'static str),
    /// The catalogue's sentence says what the explanation is about.
    Explained(&'static str),
}

macro_rules! codes {
    ($($variant:ident => $status:literal, $code:literal, $kind:ident($message:literal);)*) => {
        /// Every error code of portguard's API other than a port-out refusal.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            pub fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                }
            }

            pub fn message(self) -> Message {
                match self {
                    $(Code::$variant => Message::$kind($message),)*
                }
            }
        }
    };
}

codes! {
    InvalidRequest => 400, "INVALID_REQUEST", Explained("which field, query or header is malformed, and how");
    PinRequired => 400, "PIN_REQUIRED", Explained("the PIN rule that applies");
    InvalidPinFormat => 400, "INVALID_PIN_FORMAT", Explained("the PIN rule that applies");
    WeakPin => 400, "WEAK_PIN", Explained("why the PIN is weak");
    PinUnchanged => 400, "PIN_UNCHANGED", Fixed("port-outs are locked after repeated wrong PINs: choose a new PIN, not the current one");
    InvalidPhoneNumber => 400, "INVALID_PHONE_NUMBER", Fixed("some numbers are not valid US phone numbers; write them in E.164 (+12065550100) or as 10 digits");
    DuplicatePhoneNumber => 400, "DUPLICATE_PHONE_NUMBER", Fixed("some numbers appear more than once; list each number once");
    InvalidEvent => 400, "INVALID_EVENT", Explained("what is wrong with the event");
    InvalidUrl => 400, "INVALID_URL", Explained("the URL rule that is broken");
    InvalidEmail => 400, "INVALID_EMAIL", Explained("what is wrong with the address");
    InvalidConfirmationCode => 400, "INVALID_CONFIRMATION_CODE", Fixed("this is not the code sent to the contact's address");
    Unauthenticated => 401, "UNAUTHENTICATED", Fixed("sign in: this route needs credentials (a verified token; HTTP Basic on Bandwidth's routes)");
    InvalidSignature => 401, "INVALID_SIGNATURE", Fixed("the webhook signature is missing, invalid or outside the 300 s tolerance; sign with your current key and the current time");
    Forbidden => 403, "FORBIDDEN", Fixed("your token lacks the scope this route needs");
    NotFound => 404, "NOT_FOUND", Fixed("there is no such route");
    TenantNotFound => 404, "TENANT_NOT_FOUND", Fixed("this tenant is not provisioned for port-out protection; contact your provider");
    PortOutNotFound => 404, "PORT_OUT_NOT_FOUND", Fixed("there is no port-out with this id for you");
    NumberNotFound => 404, "NUMBER_NOT_FOUND", Fixed("this number is not on your account");
    TransferPinNotFound => 404, "TRANSFER_PIN_NOT_FOUND", Fixed("there is no transfer PIN with this id for your account");
    NotificationEndpointNotFound => 404, "NOTIFICATION_ENDPOINT_NOT_FOUND", Fixed("no notification endpoint is registered; register one with PUT");
    AlertContactNotFound => 404, "ALERT_CONTACT_NOT_FOUND", Fixed("there is no alert contact with this id for your account");
    MethodNotAllowed => 405, "METHOD_NOT_ALLOWED", Explained("the methods the route allows");
    PinCannotBeRemoved => 405, "PIN_CANNOT_BE_REMOVED", Fixed("a port-out PIN cannot be removed or set back to blank; change it with PUT instead");
    IdempotencyKeyReused => 409, "IDEMPOTENCY_KEY_REUSED", Fixed("this Idempotency-Key was used with a different request; use a new key for a new request");
    IdempotencyKeyInProgress => 409, "IDEMPOTENCY_KEY_IN_PROGRESS", Fixed("a request with this Idempotency-Key is still being handled; retry shortly");
    InvalidTransition => 409, "INVALID_TRANSITION", Explained("the port-out's status, and that this change cannot follow it");
    TooManyTransferPins => 409, "TOO_MANY_TRANSFER_PINS", Fixed("this account already has 5 active transfer PINs; revoke one or let it expire first");
    TooManyAlertContacts => 409, "TOO_MANY_ALERT_CONTACTS", Fixed("an account has at most 5 alert contacts; remove one first");
    AlertContactExists => 409, "ALERT_CONTACT_EXISTS", Fixed("this address is already an alert contact of your account");
    ConfirmationExpired => 410, "CONFIRMATION_EXPIRED", Fixed("this confirmation code has expired or was entered wrongly too often; remove the contact and add it again for a new code");
    PayloadTooLarge => 413, "PAYLOAD_TOO_LARGE", Fixed("the request body is over 64 KiB; send a smaller one");
    TooManyNumbers => 422, "TOO_MANY_NUMBERS", Fixed("a port-out holds at most 50 numbers; split the request into several");
    Internal => 500, "INTERNAL", Fixed("something went wrong on our side; nothing was changed, try again");
    Unavailable => 503, "UNAVAILABLE", Fixed("the service is busy or a dependency is down; nothing was changed, retry shortly");
}

impl ApiError {
    /// The code with its one message.
    pub fn of(code: Code) -> ApiError {
        match code.message() {
            Message::Fixed(message) => ApiError::new(code.status(), code.as_str(), message),
            // A programming error caught by the catalogue's tests, answered
            // with the catalogue's description rather than nothing.
            Message::Explained(about) => {
                debug_assert!(false, "{} needs ApiError::explained", code.as_str());
                ApiError::new(code.status(), code.as_str(), about)
            }
        }
    }

    /// A code whose message names the input's problem (see [`Message`]).
    pub fn explained(code: Code, message: impl Into<String>) -> ApiError {
        debug_assert!(
            matches!(code.message(), Message::Explained(_)),
            "{} has one message: use ApiError::of",
            code.as_str()
        );
        ApiError::new(code.status(), code.as_str(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portguard_rules::port_out::Refusal;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_and_never_a_refusals() {
        let mut seen = BTreeSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
        }
        for refusal in Refusal::ALL {
            assert!(
                seen.insert(refusal.code()),
                "{} is also a refusal",
                refusal.code()
            );
        }
    }

    #[test]
    fn fixed_codes_answer_their_one_message() {
        for &code in Code::ALL {
            if let Message::Fixed(message) = code.message() {
                let e = ApiError::of(code);
                assert_eq!(
                    (e.status, e.code, e.message.as_str()),
                    (code.status(), code.as_str(), message)
                );
            }
        }
    }

    /// Every code of the catalogue (and of the refusals) with its status.
    fn catalogue() -> BTreeSet<(u16, &'static str)> {
        let codes = Code::ALL.iter().map(|c| (c.status(), c.as_str()));
        let refusals = Refusal::ALL.iter().map(|r| (r.status(), r.code()));
        codes.chain(refusals).collect()
    }

    fn repo_file(path: &str) -> String {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
        std::fs::read_to_string(format!("{root}{path}")).expect(path)
    }

    /// The contract's table of error codes (`| 404 | `NOT_FOUND` | …`) and
    /// the catalogue say the same codes with the same statuses.
    #[test]
    fn the_contract_lists_exactly_the_catalogue() {
        let doc = repo_file("docs/contract.md");
        let table: BTreeSet<(u16, String)> = doc
            .lines()
            .skip_while(|l| !l.starts_with("| status | code |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (
                    cells[1].parse().expect(l),
                    cells[2].trim_matches('`').to_owned(),
                )
            })
            .collect();
        let ours: BTreeSet<(u16, String)> = catalogue()
            .into_iter()
            .map(|(status, code)| (status, code.to_owned()))
            .collect();
        assert_eq!(
            ours.difference(&table).collect::<Vec<_>>(),
            Vec::<&(u16, String)>::new(),
            "in the catalogue, not in docs/contract.md"
        );
        assert_eq!(
            table.difference(&ours).collect::<Vec<_>>(),
            Vec::<&(u16, String)>::new(),
            "in docs/contract.md, not in the catalogue"
        );
    }

    /// The OpenAPI description's `Error.code` enum names every code.
    #[test]
    fn the_openapi_description_names_every_code() {
        let spec = repo_file("infra/openapi.yaml");
        let missing: Vec<&str> = catalogue()
            .into_iter()
            .map(|(_, code)| code)
            .filter(|code| !spec.contains(&format!("- {code}\n")))
            .collect();
        assert!(missing.is_empty(), "not in infra/openapi.yaml: {missing:?}");
    }
}
