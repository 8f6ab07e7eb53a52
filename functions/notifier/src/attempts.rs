//! The stream's first attempts (contract §14, §17): all of a batch's at
//! once, webhooks, emails and Telnyx alike, each as soon as its track hands
//! it over; then each delivery recorded with its outcome and its note, in
//! batches as attempts end, those ending within [`LINGER`] of each other
//! together, so a slow endpoint holds nobody else's bookkeeping back.

use crate::deliver::judge;
use crate::stream::{Failures, Next, Planned};
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

/// An attempt made (its result and how long it took), or none: queued for
/// the scheduled run.
type Attempted = Option<(Result<(), String>, u64)>;

impl App {
    /// Every delivery handed over, attempted at once; their records written
    /// as they end, those that end within [`LINGER`] of each other together.
    pub(crate) async fn attempt_all(&self, planned: impl futures::Stream<Item = Next>) -> Failures {
        let sends = planned
            .map(|p| async move {
                let p = p?;
                if p.queued {
                    tracing::info!(
                        audit_id = %p.delivery.audit_id,
                        target = %p.delivery.target,
                        "endpoint failed within the last minute: delivery left to the scheduled run"
                    );
                    return Ok((p, None));
                }
                let started = Instant::now();
                let result = self.send(&p.delivery, &p.destination, true).await;
                let elapsed_ms = started.elapsed().as_millis() as u64;
                Ok((p, Some((result, elapsed_ms))))
            })
            .buffer_unordered(SEND_CONCURRENCY);
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
                            writes.push(self.record_all(std::mem::take(&mut ended)));
                        }
                    }
                },
                () = linger, if deadline.is_some() => {
                    deadline = None;
                    writes.push(self.record_all(std::mem::take(&mut ended)));
                }
                Some(failed) = writes.next(), if !writes.is_empty() => failures.extend(failed),
                else => break,
            }
        }
        failures
    }

    /// Deliveries whose attempts ended together (or that were queued),
    /// recorded with their outcomes and notes in one write.
    async fn record_all(&self, done: Vec<(Planned, Attempted)>) -> Failures {
        let now = clock::now();
        let ended: Vec<Ended> = done
            .iter()
            .map(|(p, attempted)| Ended {
                delivery: &p.delivery,
                end: attempted.as_ref().map(|(result, elapsed_ms)| {
                    let result = result.as_ref().map(|_| ()).map_err(String::as_str);
                    judge(&p.delivery, result, now, *elapsed_ms).1
                }),
            })
            .collect();
        let written = self.store.record_deliveries(&ended, now).await;
        done.iter()
            .zip(written)
            .filter_map(|((p, _), w)| match w {
                Ok(true) => None,
                Ok(false) => {
                    let (audit_id, target) = (&p.delivery.audit_id, &p.delivery.target);
                    tracing::info!(%audit_id, %target, "delivery already recorded: another invocation handled its record");
                    None
                }
                Err(e) => Some((p.record, e.to_string())),
            })
            .collect()
    }
}
