//! The stream's first attempts (contract §14, §17): all of a batch's at
//! once, webhooks, emails and Telnyx alike, each as soon as its delivery is
//! recorded; their ends and notes written in batches as attempts end, those
//! ending within [`LINGER`] of each other together, so a slow endpoint
//! holds nobody else's bookkeeping back.

use crate::deliver::judge;
use crate::stream::{Failures, Planned};
use crate::App;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use portguard_store::clock;
use portguard_store::notify_batch::Ended;
use std::time::{Duration, Instant};

/// First attempts of one batch in flight at most: every delivery of a
/// batch of 100 records at once, with room for their emails.
const SEND_CONCURRENCY: usize = 250;

/// An ended attempt waits at most this long for others to end with it,
/// so that their bookkeeping is one write, not one each.
pub const LINGER: Duration = Duration::from_millis(100);

impl App {
    /// Every first attempt at once; their ends written as they come, those
    /// that end within [`LINGER`] of each other together.
    pub(crate) async fn attempt_all(
        &self,
        recorded: impl futures::Stream<Item = Result<Planned, (usize, String)>>,
        count: usize,
    ) -> Failures {
        let sends = recorded
            .map(|p| async move {
                let p = p?;
                let started = Instant::now();
                let result = self.send(&p.delivery, &p.destination, true).await;
                Ok((p, result, started.elapsed().as_millis() as u64))
            })
            .buffer_unordered(count.clamp(1, SEND_CONCURRENCY));
        futures::pin_mut!(sends);
        let mut ended = Vec::new();
        let mut writes = FuturesUnordered::new();
        let mut failures = Failures::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut sending = true;
        loop {
            let linger =
                tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now));
            tokio::select! {
                next = sends.next(), if sending => match next {
                    Some(Err(failed)) => failures.push(failed),
                    Some(Ok(done)) => {
                        ended.push(done);
                        deadline.get_or_insert_with(|| tokio::time::Instant::now() + LINGER);
                    }
                    None => {
                        sending = false;
                        deadline = None;
                        if !ended.is_empty() {
                            writes.push(self.end_all(std::mem::take(&mut ended)));
                        }
                    }
                },
                () = linger, if deadline.is_some() => {
                    deadline = None;
                    writes.push(self.end_all(std::mem::take(&mut ended)));
                }
                Some(failed) = writes.next(), if !writes.is_empty() => failures.extend(failed),
                else => break,
            }
        }
        failures
    }

    /// The ends of attempts made together, and their notes, in one write.
    async fn end_all(&self, done: Vec<(Planned, Result<(), String>, u64)>) -> Failures {
        let now = clock::now();
        let ended: Vec<Ended> = done
            .iter()
            .map(|(p, result, elapsed_ms)| {
                let result = result.as_ref().map(|_| ()).map_err(String::as_str);
                let (_, end) = judge(&p.delivery, result, now, *elapsed_ms);
                Ended {
                    delivery: &p.delivery,
                    end,
                }
            })
            .collect();
        let written = self.store.end_attempts(&ended, now).await;
        done.iter()
            .zip(written)
            .filter_map(|((p, ..), w)| w.err().map(|e| (p.record, e.to_string())))
            .collect()
    }
}
