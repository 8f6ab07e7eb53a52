//! Port-out protection settings (contract §11): the tenant's lock, each number's
//! lock and `transferPinRequired`. One rule governs them all: turning one on
//! takes effect at once, turning one off takes effect after a delay, and
//! turning it on again meanwhile cancels the turn-off. Times are Unix seconds.

/// What the table stores about one setting: whether it was turned on, and
/// when a requested turn-off takes effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Setting {
    pub on: bool,
    /// Present while a turn-off waits (or has taken effect and not yet been
    /// overwritten: readers compare it with now).
    pub off_at: Option<i64>,
}

/// A setting as the API shows it at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingView {
    /// The state in force now.
    pub enabled: bool,
    /// When a waiting turn-off takes effect; `None` unless one waits.
    pub disable_at: Option<i64>,
}

/// What a PATCH to one setting does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// On and asked on, or off (or already going off) and asked off.
    Unchanged,
    /// Off and asked on: on at once.
    Enable,
    /// On, waiting to go off, and asked on: the turn-off is cancelled.
    CancelTurnOff,
    /// On and asked off: off at `until` (now + the delay).
    RequestTurnOff { until: i64 },
}

impl Change {
    /// Whether the change is recorded as `protection.enabled` (else
    /// `protection.disable_requested`); `None` when nothing changes.
    pub fn enables(self) -> Option<bool> {
        match self {
            Change::Unchanged => None,
            Change::Enable | Change::CancelTurnOff => Some(true),
            Change::RequestTurnOff { .. } => Some(false),
        }
    }
}

impl Setting {
    /// The state in force at `now`: on, and not past a requested turn-off.
    pub fn effective(&self, now: i64) -> bool {
        self.on && self.off_at.is_none_or(|at| now < at)
    }

    pub fn view(&self, now: i64) -> SettingView {
        let enabled = self.effective(now);
        SettingView {
            enabled,
            disable_at: self.off_at.filter(|_| enabled),
        }
    }

    /// What asking for `want` at `now` does, with turn-offs delayed by
    /// `delay` seconds (0: at once, still recorded as a turn-off).
    pub fn decide(&self, want: bool, now: i64, delay: i64) -> Change {
        let view = self.view(now);
        match (want, view.enabled, view.disable_at) {
            (true, true, None) => Change::Unchanged,
            (true, true, Some(_)) => Change::CancelTurnOff,
            (true, false, _) => Change::Enable,
            (false, false, _) | (false, true, Some(_)) => Change::Unchanged,
            (false, true, None) => Change::RequestTurnOff {
                until: now + delay.max(0),
            },
        }
    }

    /// The setting to store after `change` at `now`. A turn-off already in
    /// effect is stored as plain off, so no stale `off_at` lingers.
    pub fn apply(&self, change: Change, now: i64) -> Setting {
        match change {
            Change::Unchanged => *self,
            Change::Enable | Change::CancelTurnOff => Setting {
                on: true,
                off_at: None,
            },
            Change::RequestTurnOff { until } if until <= now => Setting::default(),
            Change::RequestTurnOff { until } => Setting {
                on: true,
                off_at: Some(until),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    fn on() -> Setting {
        Setting {
            on: true,
            off_at: None,
        }
    }

    #[test]
    fn on_at_once_off_after_the_delay() {
        let off = Setting::default();
        assert_eq!(off.decide(true, NOW, DAY), Change::Enable);
        let s = off.apply(Change::Enable, NOW);
        assert!(s.effective(NOW));
        let change = s.decide(false, NOW, DAY);
        assert_eq!(change, Change::RequestTurnOff { until: NOW + DAY });
        let going = s.apply(change, NOW);
        assert_eq!(
            going.view(NOW + DAY - 1),
            SettingView {
                enabled: true,
                disable_at: Some(NOW + DAY)
            }
        );
        assert_eq!(
            going.view(NOW + DAY),
            SettingView {
                enabled: false,
                disable_at: None
            }
        );
    }

    #[test]
    fn turning_on_cancels_a_waiting_turn_off() {
        let going = on().apply(Change::RequestTurnOff { until: NOW + 10 }, NOW);
        assert_eq!(going.decide(true, NOW + 5, DAY), Change::CancelTurnOff);
        assert_eq!(going.apply(Change::CancelTurnOff, NOW + 5), on());
        // After it took effect, turning on is a plain enable.
        assert_eq!(going.decide(true, NOW + 10, DAY), Change::Enable);
    }

    #[test]
    fn no_ops() {
        assert_eq!(on().decide(true, NOW, DAY), Change::Unchanged);
        assert_eq!(
            Setting::default().decide(false, NOW, DAY),
            Change::Unchanged
        );
        let going = on().apply(Change::RequestTurnOff { until: NOW + 10 }, NOW);
        assert_eq!(
            going.decide(false, NOW + 1, DAY),
            Change::Unchanged,
            "the first turn-off stands"
        );
        assert_eq!(
            going.decide(false, NOW + 10, DAY),
            Change::Unchanged,
            "already off"
        );
    }

    #[test]
    fn a_zero_delay_turns_off_at_once_and_is_still_a_turn_off() {
        let change = on().decide(false, NOW, 0);
        assert_eq!(change, Change::RequestTurnOff { until: NOW });
        assert_eq!(change.enables(), Some(false));
        let s = on().apply(change, NOW);
        assert_eq!(s, Setting::default());
        assert!(!s.effective(NOW));
    }

    fn setting() -> impl Strategy<Value = Setting> {
        (
            any::<bool>(),
            proptest::option::of(NOW - 2 * DAY..NOW + 2 * DAY),
        )
            .prop_map(|(on, off_at)| Setting { on, off_at })
    }

    proptest! {
        /// Whatever the state: asking for on leaves it on now and with no
        /// turn-off waiting.
        #[test]
        fn on_is_immediate(s in setting(), now in NOW - DAY..NOW + DAY, delay in 0..3 * DAY) {
            let after = s.apply(s.decide(true, now, delay), now);
            prop_assert_eq!(after.view(now), SettingView { enabled: true, disable_at: None });
        }

        /// Asking for off never turns a setting off before `delay` has
        /// passed, and it is off once it has.
        #[test]
        fn off_waits_for_the_delay(s in setting(), now in NOW - DAY..NOW + DAY, delay in 0..3 * DAY, dt in 0..6 * DAY) {
            let change = s.decide(false, now, delay);
            let after = s.apply(change, now);
            if s.effective(now) && s.view(now).disable_at.is_none() {
                prop_assert_eq!(change, Change::RequestTurnOff { until: now + delay });
                prop_assert_eq!(after.effective(now + dt), dt < delay);
            }
            if !s.effective(now) {
                prop_assert_eq!(change, Change::Unchanged);
                prop_assert!(!after.effective(now + dt));
            }
            // An already waiting turn-off is never moved earlier or later.
            if let Some(at) = s.view(now).disable_at {
                prop_assert_eq!(change, Change::Unchanged);
                prop_assert_eq!(after.view(now).disable_at, Some(at));
            }
        }

        /// A no-op is exactly when what is asked for is what is shown.
        #[test]
        fn unchanged_iff_already_as_asked(s in setting(), want in any::<bool>(), now in NOW - DAY..NOW + DAY, delay in 0..3 * DAY) {
            let view = s.view(now);
            let already = if want { view.enabled && view.disable_at.is_none() } else { !view.enabled || view.disable_at.is_some() };
            let change = s.decide(want, now, delay);
            prop_assert_eq!(change == Change::Unchanged, already);
            prop_assert_eq!(s.apply(Change::Unchanged, now), s);
        }

        /// The view never shows a past turn-off time or one on a setting
        /// not in force.
        #[test]
        fn view_is_consistent(s in setting(), now in NOW - 3 * DAY..NOW + 3 * DAY) {
            let v = s.view(now);
            if let Some(at) = v.disable_at {
                prop_assert!(v.enabled && at > now);
            }
            prop_assert_eq!(v.enabled, s.effective(now));
        }
    }
}
