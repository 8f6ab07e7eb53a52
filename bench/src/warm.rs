//! Phase 3, warm: each function beside a `floor-sdk` process doing the same
//! DynamoDB calls, invocations interleaved one for one; Argon2 hash/verify
//! timed by `argon2-timer` in the same loop; peak RSS of every process at the
//! end. Then the single-arena diagnosis and the bare `floor-hello` loop.

use crate::requests::{check, expected, Ctx};
use crate::setup::spawn;
use crate::{ms, Args, FUNCTIONS};
use serde_json::{json, Value};

/// Everything the warm phase measured, as `results.json` names it.
pub struct Warm {
    /// Per function: its samples, its floor's, RSS, init, logged Argon2 times.
    pub functions: serde_json::Map<String, Value>,
    pub argon2_hash: Vec<f64>,
    pub argon2_verify: Vec<f64>,
    /// set-pin and submit-port-out under `MALLOC_ARENA_MAX=1`.
    pub arena1: serde_json::Map<String, Value>,
    pub hello_samples: Vec<f64>,
    pub hello_rss: u64,
}

pub fn run(a: &Args, env: &[(String, String)], ctx: &mut Ctx, failures: &mut Vec<String>) -> Warm {
    eprintln!(
        "[bench] warm: {} invocations per function, interleaved with its raw-DynamoDB floor",
        a.warm
    );
    let mut warm = serde_json::Map::new();
    let mut argon2 = Argon2Samples::default();
    for function in FUNCTIONS {
        let entry = beside_floor(a, env, ctx, function, &mut argon2, failures);
        warm.insert(function.into(), entry);
    }
    let arena1 = single_arena(a, env, ctx, failures);
    let (hello_samples, hello_rss) = hello(a, env);
    Warm {
        functions: warm,
        argon2_hash: argon2.hash,
        argon2_verify: argon2.verify,
        arena1,
        hello_samples,
        hello_rss,
    }
}

/// `argon2-timer`'s samples, taken in the warm loops.
#[derive(Default)]
struct Argon2Samples {
    hash: Vec<f64>,
    verify: Vec<f64>,
}

/// `function` and `floor-sdk` doing its raw calls, one for one, `a.warm`
/// each; every 20th round an Argon2 timing; RSS and the logged Argon2
/// times at the end.
fn beside_floor(
    a: &Args,
    env: &[(String, String)],
    ctx: &mut Ctx,
    function: &str,
    argon2: &mut Argon2Samples,
    failures: &mut Vec<String>,
) -> Value {
    let mut f = spawn(a, function, env);
    let mut floor = spawn(a, "floor-sdk", env);
    for _ in 0..10 {
        let r = ctx.request(function);
        f.invoke(&r).expect("warm-up");
        let r = ctx.floor_op(function);
        floor.invoke(&r).expect("warm-up");
    }
    let (mut fs, mut ls) = (Vec::with_capacity(a.warm), Vec::with_capacity(a.warm));
    for i in 0..a.warm {
        let r = ctx.request(function);
        let (d, out) = f.invoke(&r).unwrap_or_else(|e| panic!("{e}"));
        let what = format!("{function} warm");
        check(failures, &what, &out.body, expected(function));
        fs.push(ms(d));
        let r = ctx.floor_op(function);
        let (d, out) = floor.invoke(&r).unwrap_or_else(|e| panic!("{e}"));
        if !out.ok {
            failures.push(format!("floor-sdk {function}: {}", out.body));
        }
        ls.push(ms(d));
        if i % 20 == 0 {
            match function {
                "set-pin" => argon2.hash.push(argon2_time(a, "hash")),
                "submit-port-out" => argon2.verify.push(argon2_time(a, "verify")),
                _ => {}
            }
        }
    }
    eprintln!(
        "[bench]   {function}: p50 {:.2} ms (floor {:.2} ms)",
        percentile(&fs, 0.5),
        percentile(&ls, 0.5)
    );
    let mut entry = json!({
        "samples_ms": fs, "floor_samples_ms": ls,
        "rss_kib": f.peak_rss_kib(), "floor_rss_kib": floor.peak_rss_kib(),
        "init_ms": ms(f.init.unwrap_or_default()),
    });
    f.stop();
    floor.stop();
    // The Argon2 time each warm invocation logged (`argon2_ms`), in order.
    let logged = logged_argon2_ms(&a.out.join(format!("{function}.log")));
    if logged.len() >= a.warm {
        entry["argon2_samples_ms"] = json!(logged[logged.len() - a.warm..]);
    }
    entry
}

/// Diagnosis for the memory target: the same warm loop with glibc limited
/// to one malloc arena (Argon2's 19 MiB block then stays in one place
/// instead of one copy per blocking thread's arena).
fn single_arena(
    a: &Args,
    env: &[(String, String)],
    ctx: &mut Ctx,
    failures: &mut Vec<String>,
) -> serde_json::Map<String, Value> {
    let mut arena1 = serde_json::Map::new();
    for function in ["set-pin", "submit-port-out"] {
        let mut env1 = env.to_vec();
        env1.push(("MALLOC_ARENA_MAX".into(), "1".into()));
        let mut f = spawn(a, function, &env1);
        let mut samples = Vec::new();
        for _ in 0..(a.warm / 5).max(20) {
            let r = ctx.request(function);
            let (d, out) = f.invoke(&r).unwrap_or_else(|e| panic!("{e}"));
            let what = format!("{function} MALLOC_ARENA_MAX=1");
            check(failures, &what, &out.body, expected(function));
            samples.push(ms(d));
        }
        arena1.insert(
            function.into(),
            json!({"rss_kib": f.peak_rss_kib(), "samples_ms": samples}),
        );
        f.stop();
    }
    arena1
}

/// The bare runtime's round trip, `a.warm` times: the harness's overhead.
fn hello(a: &Args, env: &[(String, String)]) -> (Vec<f64>, u64) {
    let mut hello = spawn(a, "floor-hello", env);
    let mut hs = Vec::new();
    for _ in 0..a.warm {
        let (d, _) = hello.invoke(&json!({"hello": "world"})).expect("hello");
        hs.push(ms(d));
    }
    let rss = hello.peak_rss_kib();
    hello.stop();
    (hs, rss)
}

/// Every `argon2_ms` field in a function's JSON log, in order.
fn logged_argon2_ms(log: &std::path::Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            v.get("argon2_ms")
                .or_else(|| v.pointer("/fields/argon2_ms"))
                .and_then(Value::as_f64)
        })
        .collect()
}
/// One warm Argon2 `hash` or `verify`, timed by the release `argon2-timer`.
fn argon2_time(a: &Args, mode: &str) -> f64 {
    let out = std::process::Command::new(a.bins.join("argon2-timer"))
        .args([mode, "3"])
        .output()
        .expect("run argon2-timer");
    // The last of three: the first pays page faults on a fresh 19 MiB block,
    // which a warm function (reusing its allocator's memory) does not.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("argon2-timer: {}", String::from_utf8_lossy(&out.stderr)))
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() as f64 - 1.0) * p).round() as usize]
}
