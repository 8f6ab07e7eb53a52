//! The one-minute schedule (contract §14, §17): every delivery due by the
//! event's `time` is attempted again, fairly across destinations, and
//! abandoned after the last attempt of `portguard_rules::notify`. A retry
//! reads its destination again (a deleted endpoint or a removed contact
//! drops it, a rotated secret signs it) and claims the delivery before it
//! tries, so two runs never attempt it together.

use crate::deliver::{judge, Destination, Hook, Outcome};
use crate::{App, Report, LEASE_SECONDS, PER_TARGET_PER_RUN};
use futures::StreamExt;
use portguard_store::contacts::ContactStatus;
use portguard_store::notify::{Delivery, Target};
use portguard_store::{clock, StoreError};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

/// Retries attempted at once by the scheduled run.
const RETRY_CONCURRENCY: usize = 16;

/// Due deliveries read per query.
const PAGE_SIZE: i32 = 100;

/// Due deliveries read by one scheduled run at most; the rest wait a minute.
const SCAN_LIMIT: usize = 5000;

impl App {
    /// Notes the outcome on what the tenant sees: the endpoint or the contact.
    async fn note_result(
        &self,
        target: &Target,
        now: i64,
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        match target {
            Target::Contact { tenant, contact } => {
                self.store
                    .note_contact_result(tenant, contact, now, failure)
                    .await
            }
            // Telnyx has no record of ours to note it on, and the endpoint
            // as it was before is no longer the tenant's: the log says it.
            Target::Telnyx(_) | Target::Previous(_) => Ok(()),
            _ => self.store.note_endpoint_result(target, now, failure).await,
        }
    }

    /// One attempt of a delivery this caller claimed, to the destination as
    /// just read, at the run's clock `now`, and its bookkeeping.
    async fn attempt(
        &self,
        delivery: &Delivery,
        destination: &Destination,
        now: i64,
    ) -> Result<Outcome, StoreError> {
        let started = Instant::now();
        let result = self.send(delivery, destination, false).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let reason = result.err();
        let (outcome, end) = judge(
            delivery,
            reason.as_deref().map_or(Ok(()), Err),
            now,
            elapsed_ms,
        );
        // Two items, independent of each other: written at once, so the
        // bookkeeping holds the run's concurrency slot for one round trip.
        let (ended, noted) = futures::join!(
            self.store.end_attempt(delivery, end, now),
            self.note_result(&delivery.target, now, reason.as_deref()),
        );
        ended?;
        noted?;
        Ok(outcome)
    }

    /// Where a due delivery goes, read at attempt time: a deleted endpoint
    /// or a removed contact drops it, a rotated secret signs it (beside the
    /// old one for its 24 hours, by the run's clock `now`).
    async fn destination(
        &self,
        delivery: &Delivery,
        now: i64,
    ) -> Result<Option<Destination>, StoreError> {
        Ok(match &delivery.target {
            Target::Contact { tenant, contact } => self
                .store
                .get_alert_contact(tenant, contact)
                .await?
                .filter(|c| c.status == ContactStatus::Confirmed)
                .map(|c| Destination::Email(c.email)),
            Target::Telnyx(id) => self
                .telnyx
                .as_ref()
                .map(|_| Destination::Telnyx(id.clone())),
            Target::Previous(tenant) => self
                .store
                .get_previous_endpoint(tenant, &delivery.audit_id, now)
                .await?
                .map(|p| Destination::Webhook(Hook::before(p, tenant))),
            target => self
                .store
                .get_endpoint(target)
                .await?
                .map(|ep| Destination::Webhook(Hook::of(&ep, now))),
        })
    }

    /// One due delivery: read its destination, take it, try it.
    async fn retry(&self, due: Delivery, now: i64) -> Result<Option<Outcome>, StoreError> {
        let Some(destination) = self.destination(&due, now).await? else {
            self.store.drop_delivery(&due).await?;
            tracing::info!(audit_id = %due.audit_id, target = %due.target, "destination gone; delivery dropped");
            return Ok(None);
        };
        match self.store.claim_delivery(&due, now + LEASE_SECONDS).await? {
            Some(claimed) => self.attempt(&claimed, &destination, now).await.map(Some),
            None => Ok(None),
        }
    }

    /// The scheduled run: the deliveries due at `now`, fairly across their
    /// destinations, until done or the budget is spent (the next run, a
    /// minute later, goes on). Every destination's due deliveries are read
    /// first (at most [`PER_TARGET_PER_RUN`] each), then taken in turn, one
    /// of each destination after the other; once an attempt to a destination
    /// fails, the rest of its deliveries wait for the next run.
    pub async fn run_retries(&self, now: i64) -> Result<Report, StoreError> {
        let stop = Instant::now() + self.retry_budget;
        let mut report = Report::default();
        let mut queues: Vec<VecDeque<Delivery>> = Vec::new();
        let mut by_target: HashMap<Target, usize> = HashMap::new();
        let (mut scanned, mut over_cap) = (0usize, 0u64);
        let mut start = None;
        loop {
            let page = self.store.due_deliveries(now, PAGE_SIZE, start).await?;
            for due in page.items {
                scanned += 1;
                let i = *by_target.entry(due.target.clone()).or_insert_with(|| {
                    queues.push(VecDeque::new());
                    queues.len() - 1
                });
                if queues[i].len() < PER_TARGET_PER_RUN {
                    queues[i].push_back(due);
                } else {
                    over_cap += 1;
                }
            }
            start = page.next;
            if start.is_none() || scanned >= SCAN_LIMIT || Instant::now() >= stop {
                break;
            }
        }
        if over_cap > 0 {
            tracing::info!(
                over_cap,
                "deliveries over a destination's share of this run wait for the next"
            );
        }
        let mut turns = Vec::with_capacity(scanned);
        while queues.iter().any(|q| !q.is_empty()) {
            turns.extend(queues.iter_mut().filter_map(VecDeque::pop_front));
        }
        let failed: Mutex<HashSet<Target>> = Mutex::default();
        let failed = &failed;
        let outcomes: Vec<Result<Option<Outcome>, StoreError>> = futures::stream::iter(turns)
            .map(|due| async move {
                if Instant::now() >= stop {
                    return Ok(None);
                }
                if failed.lock().expect("not poisoned").contains(&due.target) {
                    return Ok(None);
                }
                let target = due.target.clone();
                let outcome = self.retry(due, now).await?;
                if matches!(outcome, Some(Outcome::Retrying | Outcome::Abandoned)) {
                    failed.lock().expect("not poisoned").insert(target);
                }
                Ok(outcome)
            })
            .buffer_unordered(RETRY_CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                None => {}
                Some(o) => {
                    report.attempted += 1;
                    match o {
                        Outcome::Delivered => report.delivered += 1,
                        Outcome::Abandoned => report.abandoned += 1,
                        Outcome::Retrying => {}
                    }
                }
            }
        }
        if Instant::now() >= stop {
            tracing::warn!("retry budget spent; the next run goes on");
        }
        tracing::info!(
            time = %clock::format(now),
            attempted = report.attempted,
            delivered = report.delivered,
            abandoned = report.abandoned,
            "retries done"
        );
        Ok(report)
    }
}
