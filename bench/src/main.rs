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
//! 2. warm: each function beside a `floor-sdk` process doing the same
//!    DynamoDB calls, invocations interleaved one for one, `--warm` each;
//!    Argon2 hash/verify timed in-process in the same loop; peak RSS (VmHWM)
//!    of every process at the end;
//! 3. capacity: every binary again with DynamoDB behind a recording proxy
//!    (`ReturnConsumedCapacity: INDEXES`), per scenario: each round trip and
//!    its consumed capacity; status-check over tables of 1k and 10k closed
//!    orders.
//!
//! Raw samples go to `<out>/results.json`; `bench/report.py` turns them into
//! the report and the chart.

mod capacity;
mod cold;
mod http;
mod proxy;
mod report;
mod requests;
mod runtime;
mod setup;
mod warm;

use std::path::PathBuf;
use std::time::{Duration, Instant};

const TENANT: &str = "t-bench";
const ACCOUNT: &str = "ACC-BENCH";
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
}

fn args() -> Args {
    let mut a = Args {
        bins: "target/release".into(),
        endpoint: std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
        out: "bench/results/raw".into(),
        cold: 20,
        warm: 1000,
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
            _ => panic!("unknown flag {flag}; flags: --bins --endpoint --out --cold --warm"),
        }
    }
    assert!(
        !a.endpoint.is_empty(),
        "--endpoint (DynamoDB Local URL) is required"
    );
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
    for f in FUNCTIONS
        .iter()
        .chain(&["floor-hello", "floor-sdk", "argon2-timer"])
    {
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
    let mut failures: Vec<String> = Vec::new();
    let cold = cold::run(&a, &s.env, &mut s.ctx, &mut failures);
    let warm = warm::run(&a, &s.env, &mut s.ctx, &mut failures);
    let load_after_timing = report::loadavg();
    let capacity = capacity::run(&a, &table, &suffix, &mut s, &mut failures);
    report::write(
        &a,
        report::Run {
            started,
            load_before,
            load_after_timing,
            cold,
            warm,
            capacity,
            failures,
        },
    );
}
