//! Times the deliberate work of a request, and of an init, in a release
//! build with the functions' own code:
//!
//! - `argon2-timer hash|verify N` prints N durations of the functions'
//!   `PinHasher` (19 MiB, t=2, p=1, peppered) in milliseconds, one a line.
//!   The driver calls it from inside its warm loops so the samples see the
//!   same machine load as the invocations they are subtracted from.
//! - `argon2-timer prepare` prints how long `PinHasher::prepare` (the first
//!   touch of Argon2's working block, done at init) takes in a fresh process;
//!   `argon2-timer metadata` the same for `PhoneNumber::prepare` (parsing the
//!   US metadata and compiling its patterns, done at init). The cold phase
//!   calls both once per round, to say what the init of set-pin and
//!   submit-port-out spends on them.
//! - `argon2-timer metadata-rss` prints what `PhoneNumber::prepare` adds to
//!   a fresh process's resident memory (KiB): the metadata the functions
//!   hold for the life of the process.

use portguard_secrets::PinHasher;
use portguard_validation::{PhoneNumber, Pin};
use std::time::Instant;

fn ms(t: Instant) -> String {
    format!("{:.4}", t.elapsed().as_secs_f64() * 1000.0)
}

/// This process's resident memory (`VmRSS`), KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "hash".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    if mode == "metadata-rss" {
        let before = rss_kib();
        PhoneNumber::prepare();
        println!("{}", rss_kib().saturating_sub(before));
        return;
    }
    if mode == "metadata" {
        let t = Instant::now();
        PhoneNumber::prepare();
        println!("{}", ms(t));
        return;
    }
    let pepper = std::env::var("PIN_PEPPER").expect("PIN_PEPPER");
    let hasher = PinHasher::from_secret(&pepper, "PIN_PEPPER").expect("valid pepper");
    if mode == "prepare" {
        let t = Instant::now();
        hasher.prepare();
        println!("{}", ms(t));
        return;
    }
    let pin = Pin::parse_presented("48151623").expect("valid PIN");
    let stored = hasher.hash(&pin);
    for _ in 0..n {
        let t = Instant::now();
        match mode.as_str() {
            "verify" => assert!(hasher.verify(&pin, &stored)),
            _ => {
                std::hint::black_box(hasher.hash(&pin));
            }
        }
        println!("{}", ms(t));
    }
}
