//! `status-check`: the scheduled reconciliation of contract §6. It expires
//! open orders that have gone stale, reading only orders already due from the
//! sparse `OpenOrders` index (its cost grows with open orders, never with the
//! table), follows pagination, stops cleanly before the function's deadline,
//! and leaves the rest to the next run.
//!
//! The event's `time` is the clock, so a replayed event gives the same
//! result. Every expiry is a conditional transaction on the order's version,
//! so the check is safe beside webhooks and beside another copy of itself.
//! `main.rs` wires; `App::run_check` holds the loop and is tested directly.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use futures::StreamExt;
use lambda_runtime::{Diagnostic, LambdaEvent};
use portguard_rules::{expiry::ExpiryPolicy, lifecycle::decide, Decision, OrderEvent, OrderStatus};
use portguard_store::{
    clock, clock::Timestamp, orders::TransitionOutcome, retry_on_conflict, Actor, ActorKind,
    AuditEvent, Order, Store, StoreError,
};
use serde::Serialize;
use std::time::{Duration, Instant, SystemTime};

pub const SERVICE: &str = "status-check";

/// Stop this long before the function's deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// The budget of a run whose deadline is unknown: one already past at the
/// start (`cargo lambda watch` 1.9.2 hands out 600 000 ms after the Unix
/// epoch) or further away than Lambda's 15 minute maximum.
pub const OWN_BUDGET: Duration = Duration::from_secs(60);

const LAMBDA_MAX_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How far ahead of the function's own clock an event's `time` may be
/// (contract §6): no one may expire orders early by sending a future time.
pub const MAX_TIME_AHEAD: Duration = Duration::from_secs(5 * 60);

/// Orders read from the index per query.
pub const PAGE_SIZE: i32 = 100;

/// Orders expired at once within a page.
const CONCURRENCY: usize = 8;

/// An order that keeps changing under us is left to the next run after
/// this many fresh reads.
const ATTEMPTS: u32 = 3;

/// What a run did. The function returns (and logs) `{"examined", "expired"}`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Report {
    /// Open orders read from the index because they were due.
    pub examined: u64,
    /// Orders this run moved to `expired`.
    pub expired: u64,
    /// `false` when the run stopped for its deadline with work left.
    #[serde(skip)]
    pub finished: bool,
    /// Read capacity the index queries consumed.
    #[serde(skip)]
    pub read_units: f64,
}

/// Why a run failed; the runtime reports it with this `errorType`.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The event has no usable `time`.
    #[error("{0}")]
    InvalidEvent(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CheckError> for Diagnostic {
    fn from(e: CheckError) -> Diagnostic {
        let error_type = match &e {
            CheckError::InvalidEvent(_) => "InvalidEvent",
            CheckError::Store(StoreError::Unavailable(_)) => "Unavailable",
            CheckError::Store(_) => "Internal",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// The event's `time` (Unix seconds) as the clock of the check, refused
/// when it is more than [`MAX_TIME_AHEAD`] after `wall` (the function's own
/// clock): a future `time` would expire every order early (contract §6).
pub fn check_time(time: i64, wall: i64) -> Result<i64, CheckError> {
    if time > wall + MAX_TIME_AHEAD.as_secs() as i64 {
        return Err(CheckError::InvalidEvent(
            "the scheduled event's time is more than 5 minutes ahead of the clock",
        ));
    }
    Ok(time)
}

/// When a run must stop: `DEADLINE_MARGIN` before the invocation's deadline,
/// or after `OWN_BUDGET` when that deadline is unknown (already past at the
/// start, or further than any Lambda timeout).
pub fn stop_at(deadline: SystemTime, now: SystemTime, started: Instant) -> Instant {
    match deadline.duration_since(now) {
        Ok(left) if !left.is_zero() && left <= LAMBDA_MAX_TIMEOUT => {
            started + left.saturating_sub(DEADLINE_MARGIN)
        }
        _ => started + OWN_BUDGET,
    }
}

/// Everything a run needs, built once per cold start.
pub struct App {
    store: Store,
    policy: ExpiryPolicy,
    page_size: i32,
}

impl App {
    pub fn new(store: Store, policy: ExpiryPolicy) -> App {
        App {
            store,
            policy,
            page_size: PAGE_SIZE,
        }
    }

    /// Orders per index query (tests use small pages).
    pub fn with_page_size(mut self, page_size: i32) -> App {
        self.page_size = page_size.max(1);
        self
    }

    /// `TABLE_NAME`, `PENDING_EXPIRY_HOURS`, `FOC_GRACE_HOURS`; fails naming
    /// the variable.
    pub async fn from_env() -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let table = portguard_api::config::table_name()?;
        let policy = portguard_api::config::expiry_policy()?;
        let store = Store::connect(table).await;
        store.open_connections_to_open_orders().await;
        Ok(App::new(store, policy))
    }

    /// One scheduled invocation: the event's `time` is now.
    pub async fn handle(&self, event: LambdaEvent<EventBridgeEvent>) -> Result<Report, CheckError> {
        let started = Instant::now();
        let Some(time) = event.payload.time else {
            tracing::error!("the scheduled event has no time");
            return Err(CheckError::InvalidEvent(
                "the scheduled event has no time; it is the clock of the check",
            ));
        };
        let wall = clock::now();
        let now = check_time(time.timestamp(), wall).inspect_err(|_| {
            // Nothing is read or written: no order expires early.
            tracing::error!(
                time = %clock::format(time.timestamp()),
                clock = %clock::format(wall),
                "the scheduled event's time is ahead of the clock; refused"
            );
        })?;
        let stop = stop_at(event.context.deadline(), SystemTime::now(), started);
        tracing::info!(
            time = %clock::format(now),
            budget_ms = stop.saturating_duration_since(started).as_millis() as u64,
            "status check started"
        );
        self.run_check(now, stop).await
    }

    /// Expires every open order stale at `now`, oldest first, `pending` then
    /// `foc_confirmed`, until done or until `stop`.
    pub async fn run_check(&self, now: i64, stop: Instant) -> Result<Report, CheckError> {
        let mut report = Report {
            finished: true,
            ..Report::default()
        };
        let result = self.check(now, stop, &mut report).await;
        let Report {
            examined,
            expired,
            finished,
            read_units,
        } = report;
        if let Err(e) = result {
            tracing::error!(examined, expired, error = %e, "status check failed; the next run resumes");
            return Err(e.into());
        }
        if !finished {
            tracing::warn!(
                examined,
                expired,
                "stopping before the deadline; the next run finishes"
            );
            portguard_api::metrics::count(SERVICE, "StoppedForDeadline");
        }
        tracing::info!(examined, expired, finished, read_units, "status check done");
        Ok(report)
    }

    async fn check(&self, now: i64, stop: Instant, report: &mut Report) -> Result<(), StoreError> {
        if Instant::now() >= stop {
            report.finished = false;
            return Ok(());
        }
        let due: Vec<(OrderStatus, i64)> = [OrderStatus::Pending, OrderStatus::FocConfirmed]
            .into_iter()
            .filter_map(|status| Some((status, self.policy.cutoff(status, now)?)))
            .collect();
        // The first page of each status is read together: a run with
        // nothing due (almost every run) is one round trip. The pages are
        // still worked through in order, `pending` first.
        let firsts = futures::future::join_all(due.iter().map(|&(status, cutoff)| {
            self.store
                .stale_orders(status, cutoff, self.page_size, None)
        }))
        .await;
        for ((status, cutoff), first) in due.into_iter().zip(firsts) {
            let mut page = first?;
            loop {
                report.read_units += page.read_units;
                let outcomes: Vec<Option<Result<bool, StoreError>>> =
                    futures::stream::iter(page.items)
                        .map(|order| async move {
                            // Nothing new starts once the deadline is near.
                            if Instant::now() >= stop {
                                None
                            } else {
                                Some(self.expire(order, now).await)
                            }
                        })
                        .buffer_unordered(CONCURRENCY)
                        .collect()
                        .await;
                for outcome in outcomes {
                    match outcome {
                        None => report.finished = false,
                        Some(result) => {
                            report.examined += 1;
                            report.expired += u64::from(result?);
                        }
                    }
                }
                if !report.finished {
                    return Ok(());
                }
                let Some(start) = page.next else {
                    break;
                };
                if Instant::now() >= stop {
                    report.finished = false;
                    return Ok(());
                }
                page = self
                    .store
                    .stale_orders(status, cutoff, self.page_size, Some(start))
                    .await?;
            }
        }
        Ok(())
    }

    /// Expires one order if it is still open and stale; `true` if this run
    /// expired it. An order changed meanwhile is read again and decided
    /// again, so a webhook or another copy of the check that got there first
    /// wins cleanly.
    async fn expire(&self, mut order: Order, now: i64) -> Result<bool, StoreError> {
        let mut rounds = retry_on_conflict(ATTEMPTS);
        while rounds.next().await.is_some() {
            let stale = order
                .expiry_clock()
                .is_some_and(|at| self.policy.is_stale(order.status, at, now));
            if !stale {
                return Ok(false);
            }
            let Decision::Apply(to) = decide(order.status, OrderEvent::Expired) else {
                return Ok(false);
            };
            let actor = Actor {
                kind: ActorKind::Scheduler,
                id: None,
            };
            let audit = AuditEvent::status_changed(&order, to, actor, now);
            let outcome = self
                .store
                .transition_order(&order, to, None, Timestamp::from_unix(now), &audit, None)
                .await?;
            match outcome {
                TransitionOutcome::Applied(_) => {
                    tracing::info!(port_out_id = %order.id, from = %order.status, "order expired");
                    return Ok(true);
                }
                TransitionOutcome::Duplicate => return Ok(false),
                TransitionOutcome::OrderChanged => match self.store.get_order(&order.id).await? {
                    Some(fresh) => order = fresh,
                    None => return Ok(false),
                },
            }
        }
        tracing::warn!(port_out_id = %order.id, "order kept changing; left to the next run");
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_a_margin_before_a_real_deadline() {
        let now = SystemTime::now();
        let started = Instant::now();
        let stop = stop_at(now + Duration::from_secs(30), now, started);
        assert_eq!(stop, started + Duration::from_secs(28));
    }

    #[test]
    fn a_deadline_closer_than_the_margin_stops_at_once() {
        let now = SystemTime::now();
        let started = Instant::now();
        assert_eq!(stop_at(now + Duration::from_secs(1), now, started), started);
    }

    #[test]
    fn a_past_or_absurd_deadline_is_unknown() {
        let now = SystemTime::now();
        let started = Instant::now();
        // cargo lambda watch 1.9.2: 600 000 ms after the epoch.
        let watch = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(stop_at(watch, now, started), started + OWN_BUDGET);
        assert_eq!(stop_at(now, now, started), started + OWN_BUDGET);
        let far = now + Duration::from_secs(3600);
        assert_eq!(stop_at(far, now, started), started + OWN_BUDGET);
    }

    #[test]
    fn a_time_more_than_5_minutes_ahead_is_refused() {
        let wall = 1_790_000_000;
        assert_eq!(check_time(wall, wall).unwrap(), wall);
        assert_eq!(check_time(wall - 86_400, wall).unwrap(), wall - 86_400);
        assert_eq!(check_time(wall + 300, wall).unwrap(), wall + 300);
        for ahead in [301, 3600, 86_400 * 365] {
            assert!(matches!(
                check_time(wall + ahead, wall),
                Err(CheckError::InvalidEvent(_))
            ));
        }
    }

    #[test]
    fn the_output_is_examined_and_expired() {
        let report = Report {
            examined: 3,
            expired: 2,
            finished: false,
            read_units: 1.5,
        };
        assert_eq!(
            serde_json::to_value(report).unwrap(),
            serde_json::json!({"examined": 3, "expired": 2})
        );
    }
}
