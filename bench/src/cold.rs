//! Phases 1 and 2, cold starts: every binary, round-robin, spawn → first
//! Runtime API poll (init) and the first invocation, with the process's peak
//! RSS; first against DynamoDB Local over plain HTTP, then with TLS.
//!
//! With TLS (`--tls-endpoint`: DynamoDB Local behind stunnel, with a
//! certificate authority made for the run and trusted the standard way,
//! `SSL_CERT_FILE` naming the system's roots and that CA, which rustls loads
//! as native roots), each cold start also makes `WARM_SAME` more of the same
//! request in the same process, whose p50 the first request is compared with.

use crate::notify::{batch, floor_posts, Hooks};
use crate::requests::{check, expected, Ctx};
use crate::runtime::Function;
use crate::{ms, Args};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The binaries started cold, in the order of each round: label, binary.
/// `floor-sdk-connect` opens its connection during init, as the functions do;
/// `floor-post`'s first POST (to the receiver, over TLS) is what a first
/// connection to an endpoint costs, which the notifier's first delivery pays.
const BINS: [(&str, &str); 9] = [
    ("floor-hello", "floor-hello"),
    ("floor-sdk", "floor-sdk"),
    ("floor-sdk-connect", "floor-sdk"),
    ("set-pin", "set-pin"),
    ("submit-port-out", "submit-port-out"),
    ("carrier-webhook", "carrier-webhook"),
    ("status-check", "status-check"),
    ("notifier", "notifier"),
    ("floor-post", "floor-post"),
];

/// With TLS: invocations of the same request after the first, per start.
const WARM_SAME: usize = 5;

/// Plain HTTP or TLS: which DynamoDB endpoint the environment names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    Tls,
}

/// The environment of `label`: the floor twin is told to connect at init.
fn env_of(label: &str, env: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    if label == "floor-sdk-connect" {
        env.push(("FLOOR_CONNECT_AT_INIT".into(), "1".into()));
    }
    env
}

/// The first request of `label`: the notifier delivers one stream record to
/// a live endpoint (whose HTTPS connection no init can open: the endpoint
/// comes with the record); both SDK floors make one GetItem.
fn request(ctx: &mut Ctx, hooks: &Hooks, label: &str) -> Value {
    match label {
        "notifier" => batch(&hooks.tenants[..1]).0,
        "floor-post" => floor_posts(hooks, &hooks.tenants[..1]).0,
        "floor-sdk-connect" => ctx.request("floor-sdk"),
        other => ctx.request(other),
    }
}

/// `a.cold` measured rounds after one unmeasured round (page cache,
/// DynamoDB Local's JIT); samples per binary.
pub fn run(
    a: &Args,
    env: &[(String, String)],
    transport: Transport,
    ctx: &mut Ctx,
    hooks: &Hooks,
    failures: &mut Vec<String>,
) -> HashMap<&'static str, Vec<Value>> {
    let (tag, repeats) = match transport {
        Transport::Plain => ("", 0),
        Transport::Tls => ("-tls", WARM_SAME),
    };
    eprintln!("[bench] cold starts{tag}: {} rounds", a.cold);
    let mut cold: HashMap<&str, Vec<Value>> = HashMap::new();
    for round in 0..=a.cold {
        for (b, bin) in BINS {
            // floor-hello makes no connection: nothing to learn with TLS.
            if transport == Transport::Tls && b == "floor-hello" {
                continue;
            }
            let mut f = Function::spawn(
                b,
                &a.bins.join(bin),
                &env_of(b, env),
                &a.out.join(format!("{b}{tag}.log")),
            );
            let init = f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
            let mut times = Vec::new();
            for _ in 0..=repeats {
                let req = request(ctx, hooks, b);
                let (d, out) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
                if b.starts_with("floor") {
                    if !out.ok {
                        failures.push(format!("{b} cold{tag}: {}", out.body));
                    }
                } else {
                    check(failures, &format!("{b} cold{tag}"), &out.body, expected(b));
                }
                times.push(ms(d));
            }
            let rss = f.peak_rss_kib();
            f.stop();
            if round > 0 {
                cold.entry(b).or_default().push(json!({
                    "init_ms": ms(init), "first_ms": times[0], "warm_ms": times[1..], "rss_kib": rss
                }));
            }
        }
    }
    cold
}

/// What the init of set-pin and submit-port-out spends on its deliberate
/// work, each timed alone in a fresh process by `argon2-timer`, `a.cold`
/// times: Argon2's working block touched (`PinHasher::prepare`) and the US
/// phone-number metadata parsed (`PhoneNumber::prepare`), and the resident
/// memory the metadata adds.
pub fn init_work(a: &Args) -> Value {
    let (mut prepare, mut metadata, mut metadata_kib) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..a.cold.max(3) {
        prepare.push(timer(a, "prepare"));
        metadata.push(timer(a, "metadata"));
        metadata_kib.push(timer(a, "metadata-rss"));
    }
    json!({"argon2_prepare_ms": prepare, "metadata_ms": metadata, "metadata_rss_kib": metadata_kib})
}

fn timer(a: &Args, mode: &str) -> f64 {
    let out = std::process::Command::new(a.bins.join("argon2-timer"))
        .arg(mode)
        .output()
        .expect("run argon2-timer");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!(
                "argon2-timer {mode}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}
