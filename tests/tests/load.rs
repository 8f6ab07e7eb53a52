//! Load: a bounded loopback load on all four functions (in process, several
//! requests at a time), then a consistency audit of the whole table.
//!
//! `PORTGUARD_LOAD_REQUESTS` (default 1000) and `PORTGUARD_LOAD_WORKERS`
//! (default 8) size it; `make soak` runs it bigger. It stops by itself: the
//! request count is fixed and a deadline (`PORTGUARD_LOAD_DEADLINE_SECS`,
//! default 600) fails the test rather than letting it hang.
//!
//! The audit: every reservation belongs to an open order of the number's
//! tenant, every open order holds all its numbers, closed orders hold none,
//! completed orders' numbers left the inventory; one order per 201 and per
//! `port_out.requested` event; the failed-attempt counter of a tenant that
//! only ever got wrong PINs equals the PIN_MISMATCH answers it caused, and
//! every tenant's audited PIN_MISMATCH rejections equal those answers.

use portguard_tests::support;
use portguard_tests::typed::*;

use futures::future::join_all;
use portguard_rules::LockPolicy;
use portguard_store::{clock, Store};
use portguard_tests::{event, event_with, fresh_store, items_with_prefix, As};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// No lock during the load: the audit compares counters with answers.
const NO_LOCK: LockPolicy = LockPolicy {
    max_failed_attempts: 1_000_000,
    lockout_seconds: 1,
};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator per worker (no shared RNG state).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Default)]
struct Counts {
    by_status: Mutex<HashMap<String, usize>>,
    /// PIN_MISMATCH answers per tenant.
    mismatches: Mutex<HashMap<&'static str, usize>>,
    created: AtomicUsize,
    expired: AtomicUsize,
}

impl Counts {
    fn seen(&self, what: &str, a: &portguard_tests::Answer) {
        assert!(a.status < 500, "{what}: {}", a.raw);
        assert_envelope(a, what);
        *self
            .by_status
            .lock()
            .unwrap()
            .entry(format!("{what} {} {}", a.status, a.code()))
            .or_default() += 1;
    }
}

struct Tenant {
    id: &'static str,
    account: &'static str,
    pin: &'static str,
    numbers: Vec<String>,
}

fn tenants() -> Vec<Tenant> {
    vec![
        Tenant {
            id: TENANT,
            account: ACCOUNT,
            pin: PIN,
            numbers: numbers("206", 100, 40),
        },
        Tenant {
            id: "t-200",
            account: "ACC-2002",
            pin: "27182818",
            numbers: numbers("312", 100, 40),
        },
        // Only ever wrong PINs: its counter must equal the mismatches.
        Tenant {
            id: "t-guess",
            account: "ACC-GUESS",
            pin: "31415926",
            numbers: numbers("415", 100, 5),
        },
    ]
}

async fn one_request(
    apps: &Apps,
    rng: &mut Rng,
    tenants: &[Tenant],
    orders: &Mutex<Vec<(String, &'static str)>>,
    counts: &Counts,
) {
    let roll = rng.below(100);
    let carrier: &'static str = if rng.below(2) == 0 {
        "carrier-a"
    } else {
        "carrier-b"
    };
    match roll {
        // A port-out with the right PIN, one to three numbers.
        0..=29 => {
            let t = &tenants[rng.below(2)];
            let n = 1 + rng.below(3);
            let start = rng.below(t.numbers.len() - n);
            let nums = t.numbers[start..start + n].to_vec();
            let key = (rng.below(3) == 0).then(|| format!("k-{}", rng.below(50)));
            let a = send_submit(
                apps,
                &post_event(
                    carrier,
                    &port_out_body(t.account, t.pin, &nums),
                    key.as_deref(),
                ),
            )
            .await;
            counts.seen("POST", &a);
            if a.status == 201 && !a.headers.contains_key("idempotent-replayed") {
                counts.created.fetch_add(1, Ordering::Relaxed);
                orders
                    .lock()
                    .unwrap()
                    .push((a.body["id"].as_str().unwrap().to_owned(), carrier));
            }
        }
        // A wrong PIN (well-formed: it counts).
        30..=39 => {
            let t = &tenants[rng.below(3)];
            let guess = format!("{:08}", 20_000_000 + rng.below(70_000_000));
            let a = post(
                apps,
                carrier,
                &port_out_body(t.account, &guess, &t.numbers[..1]),
            )
            .await;
            counts.seen("POST wrong", &a);
            assert_eq!(a.code(), "PIN_MISMATCH", "{}", a.raw);
            *counts.mismatches.lock().unwrap().entry(t.id).or_default() += 1;
        }
        // A webhook on a known order.
        40..=64 => {
            let Some((id, owner)) = ({
                let o = orders.lock().unwrap();
                (!o.is_empty()).then(|| o[rng.below(o.len())].clone())
            }) else {
                return;
            };
            let body = match rng.below(5) {
                0 | 1 => {
                    json!({"type": "port_out.foc_confirmed", "portOutId": id, "focDate": portguard_tests::date_in(7)})
                }
                2 => json!({"type": "port_out.completed", "portOutId": id}),
                3 => json!({"type": "port_out.cancelled", "portOutId": id, "reason": "load"}),
                _ => json!({"type": "port_out.rejected", "portOutId": id, "reason": "load"}),
            };
            // Mostly the owner; sometimes the other carrier (404).
            let from = if rng.below(6) == 0 { carrier } else { owner };
            let a = send_webhook(apps, &signed(from, &body)).await;
            counts.seen("webhook", &a);
        }
        // Reads.
        65..=84 => {
            let t = &tenants[rng.below(3)];
            let who = if rng.below(2) == 0 {
                As::Carrier(carrier)
            } else {
                As::Admin(t.id)
            };
            let a = match rng.below(4) {
                0 => {
                    send_submit(
                        apps,
                        &event_with("GET", "/v1/port-outs", "limit=10", who, None, &[]),
                    )
                    .await
                }
                1 => {
                    let id = orders
                        .lock()
                        .unwrap()
                        .first()
                        .map(|o| o.0.clone())
                        .unwrap_or_default();
                    send_submit(
                        apps,
                        &event("GET", &format!("/v1/port-outs/{id}"), who, None),
                    )
                    .await
                }
                2 => send_pin(apps, &event("GET", "/v1/pin", As::Admin(t.id), None)).await,
                _ => {
                    send_pin(
                        apps,
                        &event_with(
                            "GET",
                            "/v1/audit-events",
                            "limit=5",
                            As::Admin(t.id),
                            None,
                            &[],
                        ),
                    )
                    .await
                }
            };
            counts.seen("GET", &a);
        }
        // The admin sets the same PIN again (clears counters: not t-guess).
        85..=89 => {
            let t = &tenants[rng.below(2)];
            let a = put_pin(apps, t.id, t.pin).await;
            counts.seen("PUT", &a);
            assert_eq!(a.status, 200, "{}", a.raw);
        }
        // Hostile odds and ends: malformed bodies, bad signatures.
        90..=96 => {
            let a = if rng.below(2) == 0 {
                send_submit(
                    apps,
                    &event(
                        "POST",
                        "/v1/port-outs",
                        As::Carrier(carrier),
                        Some("{\"pin\":"),
                    ),
                )
                .await
            } else {
                let body = json!({"type": "port_out.completed", "portOutId": "po_x"}).to_string();
                send_webhook(
                    apps,
                    &webhook_event("carrier-a", SECRET_B, "msg_x", clock::now(), &body),
                )
                .await
            };
            counts.seen("hostile", &a);
            assert!(a.status == 400 || a.status == 401, "{}", a.raw);
        }
        // The scheduled check, as if 200 hours later: every pending order
        // is stale and expires (concurrently with everything above).
        _ => {
            // `run_check` with a future clock: the handler refuses a
            // scheduled `time` more than 5 minutes ahead (contract §6).
            let report = apps
                .check
                .run_check(
                    clock::now() + 200 * 3600,
                    std::time::Instant::now() + Duration::from_secs(60),
                )
                .await
                .expect("the check runs");
            counts
                .expired
                .fetch_add(report.expired as usize, Ordering::Relaxed);
        }
    }
}

async fn audit_count(store: &Store, tenant: &str, code: &str) -> usize {
    items_with_prefix(store, &format!("TENANT#{tenant}"))
        .await
        .iter()
        .filter(|i| {
            i.get("code")
                .and_then(|c| c.as_s().ok())
                .map(String::as_str)
                == Some(code)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_load_leaves_a_consistent_table() {
    let total = env_usize("PORTGUARD_LOAD_REQUESTS", 1000);
    let workers = env_usize("PORTGUARD_LOAD_WORKERS", 8);
    let deadline = Duration::from_secs(env_usize("PORTGUARD_LOAD_DEADLINE_SECS", 600) as u64);
    let store = fresh_store().await;
    let apps = apps(&store, NO_LOCK);
    let tenants = Arc::new(tenants());
    for t in tenants.iter() {
        tenant_with_pin(&apps, t.id, t.account, t.pin, &t.numbers).await;
    }
    let orders: Arc<Mutex<Vec<(String, &'static str)>>> = Arc::default();
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let tasks = (0..workers).map(|w| {
        let (apps, tenants, orders, counts, done) = (
            apps.clone(),
            tenants.clone(),
            orders.clone(),
            counts.clone(),
            done.clone(),
        );
        tokio::spawn(async move {
            let mut rng =
                Rng(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
            while done.fetch_add(1, Ordering::Relaxed) < total {
                one_request(&apps, &mut rng, &tenants, &orders, &counts).await;
            }
        })
    });
    let finished = tokio::time::timeout(deadline, join_all(tasks))
        .await
        .expect("the load finishes before its deadline");
    for r in finished {
        r.expect("no panic under load");
    }
    let elapsed = started.elapsed();
    let mut summary: Vec<_> = counts
        .by_status
        .lock()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    summary.sort();
    eprintln!(
        "{total} requests, {workers} at a time, in {elapsed:?} ({:.0}/s); {} orders created, {} expired",
        total as f64 / elapsed.as_secs_f64(),
        counts.created.load(Ordering::Relaxed),
        counts.expired.load(Ordering::Relaxed)
    );
    for (k, v) in summary {
        eprintln!("  {v:6}  {k}");
    }

    // The audit.
    let (open, closed) = audit_consistency(&store).await;
    let orders_written = items_with_prefix(&store, "ORDER#").await.len();
    assert_eq!(open + closed, orders_written);
    assert_eq!(
        orders_written,
        counts.created.load(Ordering::Relaxed),
        "one order per 201"
    );
    let requested: usize = {
        let mut n = 0;
        for t in tenants.iter() {
            n += items_with_prefix(&store, &format!("TENANT#{}", t.id))
                .await
                .iter()
                .filter(|i| {
                    i.get("type")
                        .and_then(|c| c.as_s().ok())
                        .map(String::as_str)
                        == Some("port_out.requested")
                })
                .count();
        }
        n
    };
    assert_eq!(
        requested, orders_written,
        "one port_out.requested per order"
    );
    let mismatches = counts.mismatches.lock().unwrap().clone();
    for t in tenants.iter() {
        let answered = mismatches.get(t.id).copied().unwrap_or(0);
        assert_eq!(
            audit_count(&store, t.id, "PIN_MISMATCH").await,
            answered,
            "{}: audited mismatches",
            t.id
        );
    }
    let guess = store.get_tenant(&tid("t-guess")).await.unwrap().unwrap();
    assert_eq!(
        // Per carrier (contract §4.1); no lock at this policy, so the sum.
        guess
            .locks
            .iter()
            .map(|(_, l)| l.failed_attempts as usize)
            .sum::<usize>(),
        mismatches.get("t-guess").copied().unwrap_or(0),
        "t-guess: failed attempts = wrong PINs answered"
    );
    // No idempotency claim left in progress.
    for r in items_with_prefix(&store, "IDEMPOTENCY#").await {
        assert_eq!(
            r.get("state")
                .and_then(|s| s.as_s().ok())
                .map(String::as_str),
            Some("completed")
        );
    }
}
