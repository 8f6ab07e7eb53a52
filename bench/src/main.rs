//! `bench`: the driver behind `make bench` (scripts/bench.sh starts DynamoDB
//! Local, builds the release binaries and calls this).
//!
//! In one run, against one DynamoDB Local, it measures the four functions
//! beside two floors built the same way: `floor-hello` (bare
//! `lambda_runtime`) and `floor-sdk` (+ `aws-config` and a DynamoDB client at
//! init; its handler makes the raw DynamoDB calls of each function's
//! request). Phases:
//!
//! 1. cold starts: every binary, round-robin, `--cold` times: spawn → first
//!    Runtime API poll (init) and the first invocation;
//! 2. cold starts with TLS (`--tls-endpoint`: DynamoDB Local behind
//!    stunnel): init, the first request and the same request warm, for every
//!    function and for `floor-sdk` and its twin that connects at init;
//! 3. warm: each function beside a `floor-sdk` process doing the same
//!    DynamoDB calls, invocations interleaved one for one, `--warm` each;
//!    Argon2 hash/verify timed in-process in the same loop; peak RSS (VmHWM)
//!    of every process at the end;
//! 4. capacity: every binary again with DynamoDB behind a recording proxy
//!    (`ReturnConsumedCapacity: INDEXES`), per scenario: each round trip and
//!    its consumed capacity; status-check over tables of 1k and 10k closed
//!    orders;
//! 5. the notifier: batches of 100 deliveries to a loopback HTTPS receiver
//!    beside `floor-post`'s plain POSTs, and batches with a dead endpoint.
//!
//! Raw samples go to `<out>/results.json`; `bench/report.py` turns them into
//! the report and the chart.

mod bandwidth;
mod capacity;
mod cold;
mod http;
mod notify;
mod proxy;
mod receiver;
mod report;
mod requests;
mod runtime;
mod setup;
mod warm;

use cold::Transport::{Plain, Tls};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TENANT: &str = "t-bench";
const ACCOUNT: &str = "ACC-BENCH";
/// The tenant whose PIN `PUT /v1/pin` changes back and forth.
const PIN_TENANT: &str = "t-bench-pin";
/// Its twin for the floor's raw calls (its stored hash is the floor's own).
const FLOOR_PIN_TENANT: &str = "t-bench-floor";
/// The tenant whose port-out lock the capacity phase turns on.
const PROT_TENANT: &str = "t-bench-prot";
const PROT_ACCOUNT: &str = "ACC-BENCH-PROT";
const CARRIER: &str = "carrier-a";
const PIN: &str = "48151623";
const WRONG_PIN: &str = "11223344";
const FUNCTIONS: [&str; 4] = [
    "set-pin",
    "submit-port-out",
    "carrier-webhook",
    "status-check",
];

struct Args {
    bins: PathBuf,
    endpoint: String,
    out: PathBuf,
    cold: usize,
    warm: usize,
    /// DynamoDB Local behind TLS (`https://localhost:PORT`).
    tls_endpoint: String,
    /// Where the webhook receiver listens (plain), and its HTTPS URL.
    hook_listen: String,
    hook_url: String,
}

fn args() -> Args {
    let mut a = Args {
        bins: "target/release".into(),
        endpoint: std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
        out: "bench/results/raw".into(),
        cold: 20,
        warm: 1000,
        tls_endpoint: String::new(),
        hook_listen: String::new(),
        hook_url: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--bins" => a.bins = v.into(),
            "--endpoint" => a.endpoint = v,
            "--out" => a.out = v.into(),
            "--cold" => a.cold = v.parse().expect("--cold N"),
            "--warm" => a.warm = v.parse().expect("--warm N"),
            "--tls-endpoint" => a.tls_endpoint = v,
            "--hook-listen" => a.hook_listen = v,
            "--hook-url" => a.hook_url = v,
            _ => panic!(
                "unknown flag {flag}; flags: --bins --endpoint --out --cold --warm \
                 --tls-endpoint --hook-listen --hook-url"
            ),
        }
    }
    for (flag, v) in [
        ("--endpoint (DynamoDB Local URL)", &a.endpoint),
        (
            "--tls-endpoint (DynamoDB Local behind TLS)",
            &a.tls_endpoint,
        ),
        (
            "--hook-listen (the receiver's plain address)",
            &a.hook_listen,
        ),
        ("--hook-url (the receiver's HTTPS URL)", &a.hook_url),
    ] {
        assert!(
            !v.is_empty(),
            "{flag} is required (scripts/bench.sh sets it)"
        );
    }
    a
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let a = args();
    // The driver's own SDK clients (set-up) talk to the same DynamoDB Local.
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &a.endpoint);
    std::fs::create_dir_all(&a.out).expect("out dir");
    for f in FUNCTIONS.iter().chain(&[
        "notifier",
        "floor-hello",
        "floor-sdk",
        "floor-post",
        "argon2-timer",
    ]) {
        let _ = std::fs::remove_file(a.out.join(format!("{f}.log")));
        assert!(
            a.bins.join(f).exists(),
            "{} missing: build the release binaries first",
            a.bins.join(f).display()
        );
    }
    let started = Instant::now();
    let load_before = report::loadavg();
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let table = format!("bench-{suffix}");

    let mut s = setup::run(&a, &table).await;
    let hooks = notify::setup(
        &portguard_store::Store::connect(&table).await,
        &a.hook_listen,
        &a.hook_url,
    )
    .await;
    let mut failures: Vec<String> = Vec::new();
    let cold = cold::run(&a, &s.env, Plain, &mut s.ctx, &hooks, &mut failures);
    let tls_env = setup::env_for(&a.tls_endpoint, &table);
    let tls_cold = cold::run(&a, &tls_env, Tls, &mut s.ctx, &hooks, &mut failures);
    let warm = warm::run(&a, &s.env, &mut s.ctx, &mut failures);
    let bandwidth = bandwidth::run(&a, &s.env, &tls_env, &mut s.ctx, &mut failures);
    let load_after_timing = report::loadavg();
    // Capacity before the notifier phase: that phase leaves a failed
    // delivery due for a retry, which a scheduled run would then attempt.
    let capacity = capacity::run(&a, &table, &suffix, &mut s, &hooks, &mut failures);
    let notifier = notify::run(&a, &s.env, &hooks, &mut failures);
    report::write(
        &a,
        report::Run {
            started,
            load_before,
            load_after_timing,
            cold,
            tls_cold,
            warm,
            bandwidth,
            capacity,
            notifier,
            failures,
        },
    );
}
