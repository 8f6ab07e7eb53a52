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
//! 4. the doors of the upstreams and the alerts, each beside what it is
//!    compared with in the same process: Bandwidth's validation and a
//!    right-PIN POST (and its cold total with TLS); Telnyx's `pending`
//!    events, a right-PIN POST and `floor-post`'s one plain call to the
//!    Telnyx stand-in; one alert email and one webhook in the notifier;
//! 5. capacity: every binary again with DynamoDB behind a recording proxy
//!    (`ReturnConsumedCapacity: INDEXES`), per scenario: each call, its
//!    span (calls issued together are one sequential round trip) and its
//!    consumed capacity; status-check over tables of 1k and 10k closed
//!    orders;
//! 6. the notifier: batches of 100 deliveries to a loopback HTTPS receiver
//!    beside `floor-post`'s plain POSTs, and batches with a dead endpoint.
//!
//! Raw samples go to `<out>/results.json`; `bench/report.py` turns them into
//! the report and the chart.

mod alerts;
mod bandwidth;
mod capacity;
mod closed;
mod cold;
mod http;
mod notify;
mod proxy;
mod receiver;
mod report;
mod requests;
mod runtime;
mod setup;
mod telnyx;
mod warm;

use clap::Parser;
use cold::Transport::{Plain, Tls};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TENANT: &str = "t-bench";
const ACCOUNT: &str = "ACC-BENCH";
/// The tenant whose PIN `PUT /v1/pin` changes back and forth.
const PIN_TENANT: &str = "t-bench-pin";
/// Its twin for the floor's raw calls (its stored hash is the floor's own).
const FLOOR_PIN_TENANT: &str = "t-bench-floor";
const FLOOR_PIN_ACCOUNT: &str = "ACC-BENCH-FLOOR";
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

/// The driver's flags (scripts/bench.sh passes every one of them).
#[derive(Parser)]
#[command(
    name = "bench",
    about = "make bench's driver: measures the functions beside their floors and writes results.json"
)]
struct Args {
    /// Where the release binaries of the functions and floors are.
    #[arg(long, default_value = "target/release")]
    bins: PathBuf,
    /// DynamoDB Local (plain HTTP).
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    endpoint: String,
    /// Where results.json and the processes' logs go.
    #[arg(long, default_value = "bench/results/raw")]
    out: PathBuf,
    /// Measured cold starts per binary.
    #[arg(long, default_value_t = 20)]
    cold: usize,
    /// Warm invocations per function (and as many for its floor).
    #[arg(long, default_value_t = 1000)]
    warm: usize,
    /// DynamoDB Local behind TLS (`https://127.0.0.1:PORT`).
    #[arg(long)]
    tls_endpoint: String,
    /// Where the webhook receiver listens (plain `host:port`).
    #[arg(long)]
    hook_listen: String,
    /// The receiver's HTTPS URL (stunnel in front of `--hook-listen`).
    #[arg(long)]
    hook_url: String,
    /// The Telnyx stand-in's API behind TLS (`https://127.0.0.1:PORT/v2`,
    /// `TELNYX_API_BASE_URL` of the functions); without it the Telnyx
    /// phase is skipped.
    #[arg(long)]
    telnyx_api: Option<String>,
    /// The local SES behind TLS (`AWS_ENDPOINT_URL_SESV2` of the
    /// functions); without it the email phase is skipped.
    #[arg(long)]
    ses_url: Option<String>,
    /// The local SES itself (plain `http://127.0.0.1:PORT`), whose
    /// `GET /store` shows the emails it received.
    #[arg(long)]
    ses_store: Option<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
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
    let store = portguard_store::Store::connect(&table).await;
    let hooks = notify::setup(&store, &a.hook_listen, &a.hook_url).await;
    let contacts = alerts::setup(&store, &a).await;
    let mut failures: Vec<String> = Vec::new();
    let cold = cold::run(&a, &s.env, Plain, &mut s.ctx, &hooks, &mut failures);
    let tls_env = setup::env_for(&a, &a.tls_endpoint, &table);
    let tls_cold = cold::run(&a, &tls_env, Tls, &mut s.ctx, &hooks, &mut failures);
    let init_work = cold::init_work(&a);
    let warm = warm::run(&a, &s.env, &mut s.ctx, &mut failures);
    let bandwidth = bandwidth::run(&a, &s.env, &tls_env, &mut s.ctx, &mut failures);
    let telnyx = telnyx::run(&a, &s.env, &mut s.ctx, &mut failures);
    let alerts = alerts::run(&a, &s.env, &hooks, &contacts, &mut failures);
    let load_after_timing = report::loadavg();
    // Capacity before the notifier phase: that phase leaves a failed
    // delivery due for a retry, which a scheduled run would then attempt.
    let capacity = capacity::run(&a, &table, &mut s, &hooks, &contacts, &mut failures);
    let notifier = notify::run(&a, &s.env, &hooks, &mut failures);
    report::write(
        &a,
        report::Run {
            started,
            load_before,
            load_after_timing,
            cold,
            tls_cold,
            init_work,
            warm,
            bandwidth,
            telnyx,
            alerts,
            capacity,
            notifier,
            failures,
        },
    );
}
