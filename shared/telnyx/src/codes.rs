//! Why portguard rejects a port-out at Telnyx: the `reason` of the
//! `rejected-pending` call, `"<CODE>: <sentence>"` (contract §16). The code
//! is portguard's own (contract §2's catalogue); the sentence is for the
//! gaining carrier and never holds an input value, so never the PIN.

use portguard_rules::port_out::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    pub code: &'static str,
    pub sentence: &'static str,
}

impl Reject {
    /// The body of the request named no number, or not as a list of strings.
    pub const INVALID_REQUEST: Reject = Reject {
        code: "INVALID_REQUEST",
        sentence: "the port-out names no phone numbers",
    };
    pub const TOO_MANY_NUMBERS: Reject = Reject {
        code: "TOO_MANY_NUMBERS",
        sentence: "a port-out may name at most 50 numbers",
    };
    pub const INVALID_PHONE_NUMBER: Reject = Reject {
        code: "INVALID_PHONE_NUMBER",
        sentence: "some numbers are not valid US numbers",
    };
    pub const DUPLICATE_PHONE_NUMBER: Reject = Reject {
        code: "DUPLICATE_PHONE_NUMBER",
        sentence: "a number is named twice",
    };
    /// No `attempted_pin` (absent, `null` or blank): not counted.
    pub const PIN_REQUIRED: Reject = Reject {
        code: "PIN_REQUIRED",
        sentence: "the number holder requires its port-out PIN; none was given",
    };
    pub const INVALID_PIN_FORMAT: Reject = Reject {
        code: "INVALID_PIN_FORMAT",
        sentence: "the PIN given is not 6 to 10 digits",
    };
    /// The tenant's own reject of an open order (contract §13), which the
    /// notifier forwards.
    pub const REJECTED_BY_HOLDER: Reject = Reject {
        code: "REJECTED_BY_HOLDER",
        sentence: "the number holder rejected this port-out",
    };

    /// A refusal of the one decision.
    pub fn refusal(refusal: Refusal) -> Reject {
        let sentence = match refusal {
            Refusal::AccountNotFound => "the numbers are not held by a portguard account",
            Refusal::TenantNotEligible => "the number holder is not eligible for US port-out",
            Refusal::PinNotSet => {
                "the number holder has set no port-out PIN, so no port-out is accepted"
            }
            Refusal::PortOutLocked => "the number holder has locked these numbers against port-out",
            Refusal::PinLocked => {
                "too many wrong PINs: port-outs of these numbers are locked for now"
            }
            Refusal::PinMismatch => "the PIN does not match the number holder's port-out PIN",
            Refusal::NumberNotOnAccount => "some numbers are not on the number holder's account",
            Refusal::PortOutInProgress => "some numbers are already in an open port-out",
        };
        Reject {
            code: refusal.code(),
            sentence,
        }
    }

    /// `"<CODE>: <sentence>"`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.code, self.sentence)
    }

    /// The reason of an accepted tenant's reject: the tenant's own words
    /// after the sentence, clipped (Telnyx shows the reason to the gaining
    /// carrier; the tenant's text is its own to give).
    pub fn holder_reason(tenant_reason: Option<&str>) -> String {
        let base = Reject::REJECTED_BY_HOLDER.reason();
        match tenant_reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => format!("{base} ({})", r.chars().take(200).collect::<String>()),
            None => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_code_colon_sentence_and_short() {
        let mut all: Vec<Reject> = Refusal::ALL.into_iter().map(Reject::refusal).collect();
        all.extend([
            Reject::INVALID_REQUEST,
            Reject::TOO_MANY_NUMBERS,
            Reject::INVALID_PHONE_NUMBER,
            Reject::DUPLICATE_PHONE_NUMBER,
            Reject::PIN_REQUIRED,
            Reject::INVALID_PIN_FORMAT,
            Reject::REJECTED_BY_HOLDER,
        ]);
        for r in all {
            let reason = r.reason();
            assert!(reason.starts_with(&format!("{}: ", r.code)), "{reason}");
            assert!(reason.len() <= 120, "{reason}");
        }
        assert_eq!(
            Reject::holder_reason(Some(" not me ")),
            "REJECTED_BY_HOLDER: the number holder rejected this port-out (not me)"
        );
    }
}
