//! `results.json`: every raw sample of the run, for `bench/report.py`.

use crate::warm::Warm;
use crate::Args;
use portguard_store::clock;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

/// The 1-, 5- and 15-minute load averages, as one string.
pub fn loadavg() -> Value {
    std::fs::read_to_string("/proc/loadavg").map_or(Value::Null, |s| {
        json!(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
    })
}

/// What the run measured, phase by phase.
pub struct Run {
    pub started: Instant,
    pub load_before: Value,
    pub load_after_timing: Value,
    pub cold: HashMap<&'static str, Vec<Value>>,
    pub tls_cold: HashMap<&'static str, Vec<Value>>,
    /// Argon2's block and the US metadata prepared alone, as at init.
    pub init_work: Value,
    pub warm: Warm,
    /// Bandwidth's validation beside a right-PIN POST, and its cold total.
    pub bandwidth: Value,
    /// Telnyx's `pending` events beside a right-PIN POST and a plain call.
    pub telnyx: Value,
    /// One alert email beside one webhook, in the notifier.
    pub alerts: Value,
    pub capacity: Vec<Value>,
    pub notifier: Value,
    pub failures: Vec<String>,
}

/// Writes `<out>/results.json` and says so, with any unexpected answers.
pub fn write(a: &Args, r: Run) {
    let Run {
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
    } = r;
    let results = json!({
        "started": clock::format(clock::now() - started.elapsed().as_secs() as i64),
        "seconds": started.elapsed().as_secs_f64(),
        "host": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "cpu": std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())),
            "load_before": load_before, "load_after_timing": load_after_timing,
        },
        "params": {"cold": a.cold, "warm": a.warm, "argon2_memory_kib": portguard_secrets::ARGON2_MEMORY_KIB},
        "cold": cold,
        "tls_cold": tls_cold,
        "init_work": init_work,
        "warm": warm.functions,
        "hello_warm": {"samples_ms": warm.hello_samples, "rss_kib": warm.hello_rss},
        "argon2": {"hash_ms": warm.argon2_hash, "verify_ms": warm.argon2_verify},
        "malloc_arena_max_1": warm.arena1,
        "bandwidth": bandwidth,
        "telnyx": telnyx,
        "alerts": alerts,
        "capacity": capacity,
        "notifier": notifier,
        "failures": failures,
    });
    let path = a.out.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&results).expect("json"))
        .expect("write results");
    eprintln!(
        "[bench] wrote {} in {:.0} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        eprintln!("[bench] unexpected answers:\n  {}", failures.join("\n  "));
    }
}
