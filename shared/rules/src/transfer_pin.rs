//! One-time transfer PINs (contract §12): their status at a moment, the
//! numbers they may move, how many a tenant may hold. Times are Unix seconds.
//!
//! Expiry needs no sweep: a PIN is `expired` from `expires_at` on because
//! every reader computes the status with [`TransferPinStatus::at`].

/// At most this many active transfer PINs per tenant (bounds the tenant
/// record, which carries their hashes, and the Argon2 work of a port-out).
pub const MAX_ACTIVE: usize = 5;
/// At most this many numbers per transfer PIN, as in a port-out.
pub const MAX_NUMBERS: usize = 50;
/// A generated transfer PIN has this many digits.
pub const PIN_DIGITS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferPinStatus {
    Active,
    /// An accepted order consumed it.
    Used,
    Revoked,
    /// Never stored: an active PIN whose time has passed.
    Expired,
}

impl TransferPinStatus {
    pub const ALL: [TransferPinStatus; 4] = [
        TransferPinStatus::Active,
        TransferPinStatus::Used,
        TransferPinStatus::Revoked,
        TransferPinStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferPinStatus::Active => "active",
            TransferPinStatus::Used => "used",
            TransferPinStatus::Revoked => "revoked",
            TransferPinStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<TransferPinStatus> {
        TransferPinStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The status shown at `now` of a PIN stored as `self`: an active one
    /// is expired from `expires_at` on; used and revoked stay what they are.
    pub fn at(self, expires_at: i64, now: i64) -> TransferPinStatus {
        match self {
            TransferPinStatus::Active if !is_live(expires_at, now) => TransferPinStatus::Expired,
            other => other,
        }
    }
}

/// Whether a PIN expiring at `expires_at` may still be used at `now`.
pub fn is_live(expires_at: i64, now: i64) -> bool {
    now < expires_at
}

/// Check 10 of contract §4.1 for one transfer PIN: it may open a port-out of
/// `requested` only while live and only when it names every requested number.
pub fn opens<N: PartialEq>(pin_numbers: &[N], expires_at: i64, requested: &[N], now: i64) -> bool {
    is_live(expires_at, now)
        && !requested.is_empty()
        && requested.iter().all(|r| pin_numbers.contains(r))
}

/// Whether the tenant's own PIN may open a port-out: not while
/// `transferPinRequired` is in force (contract §11).
pub fn tenant_pin_opens(transfer_pin_required: bool) -> bool {
    !transfer_pin_required
}

/// Whether another transfer PIN may be issued beside `active` live ones.
pub fn may_issue(active: usize) -> bool {
    active < MAX_ACTIVE
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn active_expires_at_its_moment_others_stay() {
        use TransferPinStatus::*;
        assert_eq!(Active.at(100, 99), Active);
        assert_eq!(Active.at(100, 100), Expired, "expired from that moment on");
        assert_eq!(Active.at(100, 101), Expired);
        for s in [Used, Revoked] {
            assert_eq!(s.at(100, 99), s);
            assert_eq!(s.at(100, 1000), s);
        }
    }

    #[test]
    fn names_round_trip() {
        for s in TransferPinStatus::ALL {
            assert_eq!(TransferPinStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TransferPinStatus::parse("Active"), None);
        assert_eq!(TransferPinStatus::parse(""), None);
    }

    #[test]
    fn covering_sets_open_others_do_not() {
        let pin = v(&["+12065550100", "+12065550101", "+12065550102"]);
        assert!(opens(&pin, 100, &v(&["+12065550100"]), 50));
        assert!(opens(&pin, 100, &v(&["+12065550102", "+12065550100"]), 50));
        assert!(opens(&pin, 100, &pin, 50));
        assert!(!opens(&pin, 100, &v(&["+12065550100", "+12065550199"]), 50));
        assert!(!opens(&pin, 100, &v(&["+12065550199"]), 50));
        assert!(
            !opens(&pin, 100, &[], 50),
            "nothing requested opens nothing"
        );
        assert!(!opens(&pin, 100, &v(&["+12065550100"]), 100), "expired");
    }

    #[test]
    fn transfer_pin_required_shuts_the_tenant_pin_out() {
        assert!(tenant_pin_opens(false));
        assert!(!tenant_pin_opens(true));
    }

    #[test]
    fn at_most_five_active() {
        assert!(may_issue(0));
        assert!(may_issue(4));
        assert!(!may_issue(5));
        assert!(!may_issue(6));
    }

    proptest! {
        /// Opens exactly when live and requested ⊆ the PIN's numbers.
        #[test]
        fn opens_is_live_and_subset(
            pin in prop::collection::btree_set(0u8..20, 0..8),
            req in prop::collection::btree_set(0u8..20, 1..5),
            expires_at in 0i64..100,
            now in 0i64..100,
        ) {
            let name = |n: &u8| format!("+1206555{:04}", n);
            let pin_v: Vec<String> = pin.iter().map(name).collect();
            let req_v: Vec<String> = req.iter().map(name).collect();
            prop_assert_eq!(
                opens(&pin_v, expires_at, &req_v, now),
                now < expires_at && req.is_subset(&pin)
            );
        }

        #[test]
        fn status_at_is_monotonic(expires_at in 0i64..1000, a in 0i64..1000, b in 0i64..1000) {
            let (early, late) = (a.min(b), a.max(b));
            if TransferPinStatus::Active.at(expires_at, early) == TransferPinStatus::Expired {
                prop_assert_eq!(TransferPinStatus::Active.at(expires_at, late), TransferPinStatus::Expired);
            }
        }
    }
}
