//! Phase 1, cold starts: every binary, round-robin, spawn → first Runtime API
//! poll (init) and the first invocation, with the process's peak RSS.

use crate::requests::{check, expected, Ctx};
use crate::runtime::Function;
use crate::{ms, Args};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The binaries started cold, in the order of each round.
const BINS: [&str; 6] = [
    "floor-hello",
    "floor-sdk",
    "set-pin",
    "submit-port-out",
    "carrier-webhook",
    "status-check",
];

/// `a.cold` measured rounds after one unmeasured round; samples per binary.
pub fn run(
    a: &Args,
    env: &[(String, String)],
    ctx: &mut Ctx,
    failures: &mut Vec<String>,
) -> HashMap<&'static str, Vec<Value>> {
    eprintln!("[bench] cold starts: {} rounds", a.cold);
    let mut cold: HashMap<&str, Vec<Value>> = HashMap::new();
    // One unmeasured start of each first: page cache, DynamoDB Local's JIT.
    for round in 0..=a.cold {
        for b in BINS {
            let mut f = Function::spawn(b, &a.bins.join(b), env, &a.out.join(format!("{b}.log")));
            let init = f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
            let req = ctx.request(b);
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
