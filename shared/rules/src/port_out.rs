//! The refusals of the one port-out decision (contract §4.1, checks 6–12),
//! whichever door the request came through: one catalogue of code, HTTP
//! status and sentence, which each door maps to its own wire format.

/// Why the decision refused a port-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AccountNotFound,
    TenantNotEligible,
    PinNotSet,
    PortOutLocked,
    PinLocked,
    PinMismatch,
    NumberNotOnAccount,
    PortOutInProgress,
}

impl Refusal {
    /// Every refusal, in the order of contract §4.1's checks.
    pub const ALL: [Refusal; 8] = [
        Refusal::AccountNotFound,
        Refusal::TenantNotEligible,
        Refusal::PinNotSet,
        Refusal::PortOutLocked,
        Refusal::PinLocked,
        Refusal::PinMismatch,
        Refusal::NumberNotOnAccount,
        Refusal::PortOutInProgress,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Refusal::AccountNotFound => "ACCOUNT_NOT_FOUND",
            Refusal::TenantNotEligible => "TENANT_NOT_ELIGIBLE",
            Refusal::PinNotSet => "PIN_NOT_SET",
            Refusal::PortOutLocked => "PORT_OUT_LOCKED",
            Refusal::PinLocked => "PIN_LOCKED",
            Refusal::PinMismatch => "PIN_MISMATCH",
            Refusal::NumberNotOnAccount => "NUMBER_NOT_ON_ACCOUNT",
            Refusal::PortOutInProgress => "PORT_OUT_IN_PROGRESS",
        }
    }

    /// The HTTP status of portguard's own API.
    pub fn status(self) -> u16 {
        match self {
            Refusal::PinLocked => 429,
            Refusal::PortOutInProgress => 409,
            _ => 422,
        }
    }

    /// A sentence for the gaining carrier; never an input value.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::AccountNotFound => {
                "no account has this account number; check it with the account holder"
            }
            Refusal::TenantNotEligible => {
                "port-out protection is only for organisations in the United States"
            }
            Refusal::PinNotSet => {
                "the account holder has not set a port-out PIN, so no port-out can be accepted"
            }
            Refusal::PortOutLocked => {
                "the account holder has locked these numbers against port-out; only the account holder can lift the lock"
            }
            Refusal::PinLocked => {
                "too many wrong PINs: port-outs for this account are locked for you for a while; retry after the time in Retry-After"
            }
            Refusal::PinMismatch => {
                "the PIN does not match the account holder's port-out PIN; repeated wrong PINs lock port-outs for this account"
            }
            Refusal::NumberNotOnAccount => {
                "some numbers are not on this account; remove them or check the account number"
            }
            Refusal::PortOutInProgress => {
                "some numbers are already in an open port-out; wait for it to finish"
            }
        }
    }

    /// The message of a hard lock, which no waiting ends.
    pub const HARD_LOCK_MESSAGE: &'static str = "too many wrong PINs: port-outs for this account are locked for you until the account holder sets a new PIN";

    /// Whether the refusal counts as a failed attempt (only a wrong PIN).
    pub fn counted(self) -> bool {
        self == Refusal::PinMismatch
    }

    /// Whether the refusal is recorded (and so notified) at most once per
    /// tenant, carrier, code and clock hour (contract §4.1, *Keeping the
    /// audit trail readable*): the refusals that do not look at the PIN, so
    /// a carrier repeating them cannot flood a tenant's trail and receiver.
    pub fn audited_once_per_hour(self) -> bool {
        matches!(
            self,
            Refusal::PortOutLocked | Refusal::PinNotSet | Refusal::TenantNotEligible
        )
    }
}

/// The clock hour (UTC) a refusal of [`Refusal::audited_once_per_hour`]
/// falls in: Unix seconds divided by 3600.
pub fn audit_hour(now: i64) -> i64 {
    now.div_euclid(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_messages_short() {
        let all = Refusal::ALL;
        let codes: std::collections::HashSet<_> = all.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), all.len());
        for r in all {
            assert!(r.message().len() <= 120, "{}", r.code());
            assert_eq!(r.counted(), r == Refusal::PinMismatch);
        }
    }

    #[test]
    fn only_the_refusals_that_do_not_look_at_the_pin_are_audited_once_an_hour() {
        let once: Vec<_> = Refusal::ALL
            .into_iter()
            .filter(|r| r.audited_once_per_hour())
            .map(Refusal::code)
            .collect();
        assert_eq!(
            once,
            ["TENANT_NOT_ELIGIBLE", "PIN_NOT_SET", "PORT_OUT_LOCKED"]
        );
        assert_eq!(audit_hour(0), 0);
        assert_eq!(audit_hour(3599), 0);
        assert_eq!(audit_hour(3600), 1);
        assert_eq!(audit_hour(-1), -1);
    }
}
