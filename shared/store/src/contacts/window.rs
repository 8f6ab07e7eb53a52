//! A contact's hourly alert window (contract §17): at most
//! [`ALERTS_PER_WINDOW`] alerts in [`WINDOW_SECONDS`], the rest counted and
//! told with the next one sent.

use super::{AlertContact, ALERTS_PER_WINDOW, WINDOW_SECONDS};
use crate::attr::{n, Item, Reader, Update};
use crate::{Store, StoreError};
use aws_sdk_dynamodb::types::ReturnValue;

/// The contact's window as read with its book (`windowStart`,
/// `windowCount`): which of [`Store::take_alert_slot`]'s updates will most
/// likely apply, so that it is tried first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    start: Option<i64>,
    count: i64,
}

impl Window {
    pub(crate) fn from_item(item: &Item) -> Window {
        let r = Reader::new(item, "alert contact");
        Window {
            start: r.opt_n("windowStart").ok().flatten(),
            count: r.opt_n("windowCount").ok().flatten().unwrap_or(0),
        }
    }

    /// The update that applies at `now` to the window as read: 0 within
    /// the open window under the limit, 1 a window to open, 2 a full one.
    fn first_update(&self, now: i64) -> usize {
        match self.start {
            Some(start) if start > now - WINDOW_SECONDS => {
                if self.count < ALERTS_PER_WINDOW {
                    0
                } else {
                    2
                }
            }
            _ => 1,
        }
    }
}

/// What the hourly limit says about one alert to one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Send it, and say that this many were left out before it.
    Send { left_out: i64 },
    /// Over the limit: counted, not sent.
    LeftOut,
    /// The contact was removed meanwhile.
    Gone,
}

impl Store {
    /// Takes one alert slot of the contact's window at `now`: a window
    /// opens at the first alert and lets [`ALERTS_PER_WINDOW`] through for
    /// [`WINDOW_SECONDS`]; an alert past that is counted in `leftOut`, and
    /// the next one sent takes (and clears) the count. `read`: the window
    /// as the caller read it, whose update is tried first (one round trip
    /// unless another alert changed it since); without it, the open window's.
    pub async fn take_alert_slot(
        &self,
        contact: &AlertContact,
        now: i64,
        read: Option<Window>,
    ) -> Result<Slot, StoreError> {
        // Three updates whose conditions exclude each other and, for an
        // existing contact, cover every state: whichever applies decides.
        // Concurrent alerts can make each fail in turn (another alert
        // opened or filled the window meanwhile), so they are tried again
        // in order; all failing a few rounds means the contact is gone.
        const ROUNDS: usize = 8;
        let since = now - WINDOW_SECONDS;
        let first = read.map_or(0, |w| w.first_update(now));
        for update in (0..3).cycle().skip(first).take(3 * ROUNDS) {
            match update {
                // In the open window, under the limit.
                0 => {
                    let in_window = Update::default()
                        .set_expr("#windowCount = #windowCount + :one")
                        .name("windowCount")
                        .name("windowStart")
                        .remove("leftOut")
                        .value(":one", n(1))
                        .value(":since", n(since))
                        .value(":max", n(ALERTS_PER_WINDOW));
                    if let Some(old) = self
                        .update_returning_old(
                            contact.key(),
                            in_window,
                            "attribute_exists(PK) AND #windowStart > :since AND #windowCount < :max",
                        )
                        .await?
                    {
                        return Ok(Slot::Send {
                            left_out: left_out(&old),
                        });
                    }
                }
                // No window, or the last one closed: this alert opens one.
                1 => {
                    let open = Update::default()
                        .set("windowStart", n(now))
                        .set("windowCount", n(1))
                        .remove("leftOut")
                        .value(":since", n(since));
                    if let Some(old) = self
                        .update_returning_old(
                            contact.key(),
                            open,
                            "attribute_exists(PK) AND (attribute_not_exists(#windowStart) OR #windowStart <= :since)",
                        )
                        .await?
                    {
                        return Ok(Slot::Send {
                            left_out: left_out(&old),
                        });
                    }
                }
                // The open window is full: counted, not sent.
                _ => {
                    let full = Update::default()
                        .set_expr("#leftOut = if_not_exists(#leftOut, :zero) + :one")
                        .name("leftOut")
                        .name("windowStart")
                        .name("windowCount")
                        .value(":zero", n(0))
                        .value(":one", n(1))
                        .value(":since", n(since))
                        .value(":max", n(ALERTS_PER_WINDOW));
                    if self
                        .update_if(
                            contact.key(),
                            full,
                            "attribute_exists(PK) AND #windowStart > :since AND #windowCount >= :max",
                        )
                        .await?
                    {
                        return Ok(Slot::LeftOut);
                    }
                }
            }
        }
        Ok(Slot::Gone)
    }

    /// An UpdateItem under `condition` returning the item as it was;
    /// `None` when the condition failed.
    async fn update_returning_old(
        &self,
        key: Item,
        update: Update,
        condition: &str,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .conditional_update(key, update, condition)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if crate::error::is_condition_failure(&e) => Ok(None),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }
}

fn left_out(old: &Item) -> i64 {
    Reader::new(old, "alert contact")
        .opt_n("leftOut")
        .ok()
        .flatten()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_as_read_names_the_update_tried_first() {
        let now = 1_000_000;
        let window = |start, count| Window { start, count };
        // Never opened, or closed an hour after it opened: open one.
        assert_eq!(window(None, 0).first_update(now), 1);
        assert_eq!(window(Some(now - WINDOW_SECONDS), 30).first_update(now), 1);
        // Open, under the limit: counted in it.
        assert_eq!(
            window(Some(now - WINDOW_SECONDS + 1), 29).first_update(now),
            0
        );
        assert_eq!(window(Some(now), 1).first_update(now), 0);
        // Open and full: left out.
        assert_eq!(
            window(Some(now - 10), ALERTS_PER_WINDOW).first_update(now),
            2
        );
    }
}
