//! contract §15's code table: what Bandwidth is told for each failed check.
//! Pure: every description is a sentence of ours, at most 100 characters,
//! never an input value (so never the PIN).

use portguard_rules::port_out::Refusal;
use portguard_rules::LockStatus;

/// One `<Error>`: Bandwidth's code and a sentence for the gaining carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BwError {
    pub code: u16,
    pub description: &'static str,
}

const fn e(code: u16, description: &'static str) -> BwError {
    BwError { code, description }
}

/// The body is not a request portguard can read (XML, root, numbers, size).
pub const MALFORMED: BwError = e(
    7598,
    "the request could not be read as a port-out validation request; correct it and resubmit",
);
/// A failure on portguard's side: Bandwidth lets the carrier resubmit.
pub const UNAVAILABLE: BwError = e(7598, "validation temporarily unavailable; please resubmit");
pub const TOO_MANY_NUMBERS: BwError = e(
    7517,
    "a port-out holds at most 50 telephone numbers; split the request",
);
pub const INVALID_NUMBER: BwError = e(7516, "some telephone numbers are not valid US numbers");
pub const PIN_REQUIRED: BwError = e(7512, "a port-out PIN is required");
pub const PIN_FORMAT: BwError = e(7513, "PIN invalid: a port-out PIN is 6 to 10 digits");
pub const ACCOUNT_REQUIRED: BwError = e(7510, "an account number is required");

/// The decision's refusal as Bandwidth's code.
pub fn refusal(refusal: Refusal, lock: Option<LockStatus>) -> BwError {
    match refusal {
        Refusal::AccountNotFound => e(7511, "no account has this account number"),
        Refusal::TenantNotEligible => e(
            7519,
            "these numbers are not eligible for port-out validation by PIN",
        ),
        Refusal::PinNotSet => e(
            7512,
            "the number holder has not set a port-out PIN, so no port-out can be accepted",
        ),
        Refusal::PortOutLocked => e(
            7519,
            "the number holder has locked these numbers against port-out",
        ),
        Refusal::PinLocked => match lock {
            Some(LockStatus::Hard) => e(
                7513,
                "PIN invalid: too many wrong PINs; the number holder must set a new PIN",
            ),
            _ => e(
                7513,
                "PIN invalid: too many wrong PINs; port-outs are locked for a while",
            ),
        },
        Refusal::PinMismatch => e(7513, "PIN invalid"),
        Refusal::NumberNotOnAccount => e(7516, "some telephone numbers are not on this account"),
        Refusal::PortOutInProgress => e(
            7519,
            "some telephone numbers are already in an open port-out",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_is_short_and_every_code_is_bandwidths() {
        let refusals = Refusal::ALL;
        let mut all = vec![
            MALFORMED,
            UNAVAILABLE,
            TOO_MANY_NUMBERS,
            INVALID_NUMBER,
            PIN_REQUIRED,
            PIN_FORMAT,
            ACCOUNT_REQUIRED,
            refusal(Refusal::PinLocked, Some(LockStatus::Hard)),
        ];
        all.extend(refusals.iter().map(|r| refusal(*r, None)));
        for err in all {
            assert!(err.description.len() <= 100, "{}", err.description);
            assert!(
                [7510, 7511, 7512, 7513, 7516, 7517, 7519, 7598].contains(&err.code),
                "{}",
                err.code
            );
        }
        // The table of contract §15, row by row.
        let code = |r| refusal(r, None).code;
        assert_eq!(code(Refusal::AccountNotFound), 7511);
        assert_eq!(code(Refusal::TenantNotEligible), 7519);
        assert_eq!(code(Refusal::PinNotSet), 7512);
        assert_eq!(code(Refusal::PortOutLocked), 7519);
        assert_eq!(code(Refusal::PinLocked), 7513);
        assert_eq!(code(Refusal::PinMismatch), 7513);
        assert_eq!(code(Refusal::NumberNotOnAccount), 7516);
        assert_eq!(code(Refusal::PortOutInProgress), 7519);
    }
}
