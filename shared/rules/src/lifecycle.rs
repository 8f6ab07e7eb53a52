//! The order life cycle of contract §4.3:
//! pending → foc_confirmed → completed; pending → completed;
//! pending | foc_confirmed → cancelled | rejected | expired.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    FocConfirmed,
    Completed,
    Cancelled,
    Rejected,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::FocConfirmed,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::FocConfirmed => "foc_confirmed",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, OrderStatus::Pending | OrderStatus::FocConfirmed)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to an order: a carrier event or the scheduler's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    FocConfirmed,
    Completed,
    Cancelled,
    Rejected,
    Expired,
}

impl OrderEvent {
    pub fn target(self) -> OrderStatus {
        match self {
            OrderEvent::FocConfirmed => OrderStatus::FocConfirmed,
            OrderEvent::Completed => OrderStatus::Completed,
            OrderEvent::Cancelled => OrderStatus::Cancelled,
            OrderEvent::Rejected => OrderStatus::Rejected,
            OrderEvent::Expired => OrderStatus::Expired,
        }
    }
}

/// Where an order's numbers go when it reaches a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberFate {
    /// Still reserved by the order.
    Reserved,
    /// Ported away: they leave the tenant's inventory.
    Removed,
    /// Free again for a new port-out.
    Freed,
}

impl NumberFate {
    pub fn of(status: OrderStatus) -> NumberFate {
        match status {
            OrderStatus::Pending | OrderStatus::FocConfirmed => NumberFate::Reserved,
            OrderStatus::Completed => NumberFate::Removed,
            _ => NumberFate::Freed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write the new status (for foc_confirmed → foc_confirmed: the new date).
    Apply(OrderStatus),
    /// A terminal order already in the event's state: nothing to do.
    Unchanged,
    /// Not allowed by the life cycle.
    Invalid,
}

pub fn decide(current: OrderStatus, event: OrderEvent) -> Decision {
    let target = event.target();
    if !current.is_terminal() {
        // Events never target `pending`, so every open order may move.
        Decision::Apply(target)
    } else if current == target {
        Decision::Unchanged
    } else {
        Decision::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    #[test]
    fn full_table() {
        let events = [
            E::FocConfirmed,
            E::Completed,
            E::Cancelled,
            E::Rejected,
            E::Expired,
        ];
        for current in S::ALL {
            for event in events {
                let got = decide(current, event);
                let want = match current {
                    S::Pending | S::FocConfirmed => Decision::Apply(event.target()),
                    c if c == event.target() => Decision::Unchanged,
                    _ => Decision::Invalid,
                };
                assert_eq!(got, want, "{current} + {event:?}");
            }
        }
    }

    #[test]
    fn spot_checks() {
        assert_eq!(decide(S::Completed, E::Cancelled), Decision::Invalid);
        assert_eq!(decide(S::Expired, E::FocConfirmed), Decision::Invalid);
        assert_eq!(decide(S::Completed, E::Completed), Decision::Unchanged);
        assert_eq!(
            decide(S::FocConfirmed, E::FocConfirmed),
            Decision::Apply(S::FocConfirmed)
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::parse("open"), None);
    }

    #[test]
    fn fates() {
        assert_eq!(NumberFate::of(S::Completed), NumberFate::Removed);
        assert_eq!(NumberFate::of(S::Expired), NumberFate::Freed);
        assert_eq!(NumberFate::of(S::Pending), NumberFate::Reserved);
    }
}
