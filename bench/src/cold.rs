//! Phase 1, cold starts: every binary, round-robin, spawn → first Runtime API
//! poll (init) and the first invocation, with the process's peak RSS.

use crate::notify::{batch, Hooks};
use crate::requests::{check, expected, Ctx};
use crate::runtime::Function;
use crate::{ms, Args};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The binaries started cold, in the order of each round: label, binary.
/// `floor-sdk-connect` opens its connection during init, as the functions do.
pub const BINS: [(&str, &str); 8] = [
    ("floor-hello", "floor-hello"),
    ("floor-sdk", "floor-sdk"),
    ("floor-sdk-connect", "floor-sdk"),
    ("set-pin", "set-pin"),
    ("submit-port-out", "submit-port-out"),
    ("carrier-webhook", "carrier-webhook"),
    ("status-check", "status-check"),
    ("notifier", "notifier"),
];

/// The environment of `label`: the floor twin is told to connect at init.
pub fn env_of(label: &str, env: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    if label == "floor-sdk-connect" {
        env.push(("FLOOR_CONNECT_AT_INIT".into(), "1".into()));
    }
    env
}

/// `a.cold` measured rounds after one unmeasured round; samples per binary.
pub fn run(
    a: &Args,
    env: &[(String, String)],
    ctx: &mut Ctx,
    hooks: &Hooks,
    failures: &mut Vec<String>,
) -> HashMap<&'static str, Vec<Value>> {
    eprintln!("[bench] cold starts: {} rounds", a.cold);
    let mut cold: HashMap<&str, Vec<Value>> = HashMap::new();
    // One unmeasured start of each first: page cache, DynamoDB Local's JIT.
    for round in 0..=a.cold {
        for (b, bin) in BINS {
            let mut f = Function::spawn(
                b,
                &a.bins.join(bin),
                &env_of(b, env),
                &a.out.join(format!("{b}.log")),
            );
            let init = f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
            // The notifier's first request: one delivery to a live endpoint.
            let req = match b {
                "notifier" => batch(&hooks.tenants[..1]).0,
                "floor-sdk-connect" => ctx.request("floor-sdk"),
                _ => ctx.request(b),
            };
            let (first, out) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
            let rss = f.peak_rss_kib();
            f.stop();
            if b.starts_with("floor") {
                if !out.ok {
                    failures.push(format!("{b} cold: {}", out.body));
                }
            } else {
                check(failures, &format!("{b} cold"), &out.body, expected(b));
            }
            if round > 0 {
                cold.entry(b)
                    .or_default()
                    .push(json!({"init_ms": ms(init), "first_ms": ms(first), "rss_kib": rss}));
            }
        }
    }
    cold
}
