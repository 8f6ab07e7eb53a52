//! What a door hands the decision (a [`PortOutRequest`] and its
//! [`Attempt`]) and what the decision hands back ([`Decided`]).

use portguard_rules::port_out::Refusal;
use portguard_rules::LockStatus;
use portguard_store::{clock::Day, Actor, Source};
use portguard_validation::{
    AccountNumber, AuthorizedName, CarrierId, OrderId, PhoneNumber, Pin, Pon, TenantId,
};

/// A port-out request that passed checks 1–5, built by a door from its
/// wire format.
#[derive(Debug)]
pub(crate) struct PortOutRequest {
    pub holder: Holder,
    pub pin: Pin,
    /// E.164, in the order given.
    pub numbers: Vec<PhoneNumber>,
    /// Required by portguard's own API; an upstream may have none.
    pub pon: Option<Pon>,
    pub authorized_name: Option<AuthorizedName>,
    pub requested_foc_date: Option<Day>,
    /// The door, and the upstream's id of the port-out (contract §15).
    pub source: Source,
    pub external_id: Option<String>,
    /// Whether a request for exactly the numbers, carrier and PON of an open
    /// order is that order again (Bandwidth resends a corrected request as
    /// a new one, contract §15): answered accepted before the PIN is looked
    /// at, creating and counting nothing.
    pub resubmission_is_accepted: bool,
}

/// Whose numbers the request names (check 6).
#[derive(Debug)]
pub(crate) enum Holder {
    /// The tenant with this account number (portguard's API, Bandwidth).
    Account(AccountNumber),
    /// The tenant holding the first requested number, as the door read it
    /// (`None`: no tenant holds it): an upstream that sends no account
    /// number (Telnyx, contract §16). The door reads the owner beside its
    /// own first reads, so the decision does not wait for it. Check 11 then
    /// says whether every other number is on that tenant's account.
    OwnerOfFirstNumber(Option<TenantId>),
}

impl Holder {
    pub fn account(&self) -> Option<&AccountNumber> {
        match self {
            Holder::Account(account) => Some(account),
            Holder::OwnerOfFirstNumber(_) => None,
        }
    }
}

/// Who attempts the port-out, for the lockout, the audit trail and the logs.
pub(crate) struct Attempt<'a> {
    pub carrier: &'a CarrierId,
    pub actor: Actor,
    pub source_ip: Option<String>,
    /// The requested numbers, for the audit trail.
    pub numbers: Vec<PhoneNumber>,
}

/// The claimed idempotency record of the request (portguard's own API):
/// completed in the order's transaction.
pub(crate) struct Idem<'a> {
    pub key: &'a str,
    pub fingerprint: &'a str,
}

/// What the decision came to. Failures of portguard's own (the table down,
/// an unknown pepper version) are the `Err` of [`App::decide`], never this.
#[derive(Debug)]
pub(crate) enum Decided {
    Accepted(Accepted),
    /// The request repeats an open order (see
    /// [`PortOutRequest::resubmission_is_accepted`]): its id.
    Resubmitted(OrderId),
    Refused(Refused),
}

#[derive(Debug)]
pub(crate) struct Accepted {
    pub id: OrderId,
    /// The order as portguard's API shows it, and its `Location`.
    pub body: String,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub refusal: Refusal,
    /// For the refusals that name numbers.
    pub numbers: Option<Vec<PhoneNumber>>,
    /// The carrier's lock, for `PIN_LOCKED`.
    pub lock: Option<LockStatus>,
    /// Seconds until a timed lock ends.
    pub retry_after: Option<i64>,
}

impl Refused {
    pub fn new(refusal: Refusal) -> Refused {
        Refused {
            refusal,
            numbers: None,
            lock: None,
            retry_after: None,
        }
    }

    pub fn numbers(mut self, numbers: Vec<PhoneNumber>) -> Refused {
        self.numbers = Some(numbers);
        self
    }

    pub fn locked(status: LockStatus, now: i64) -> Refused {
        Refused {
            lock: Some(status),
            retry_after: status.retry_after(now),
            ..Refused::new(Refusal::PinLocked)
        }
    }
}
