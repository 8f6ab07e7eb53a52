//! Times the deliberate Argon2 work of a request, in a release build with
//! the functions' own `PinHasher` (19 MiB, t=2, p=1, peppered):
//! `argon2-timer hash|verify N` prints N durations in milliseconds, one a
//! line. The driver calls it from inside its warm loops so the samples see
//! the same machine load as the invocations they are subtracted from.

use portguard_secrets::PinHasher;
use portguard_validation::Pin;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "hash".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let pepper = std::env::var("PIN_PEPPER").expect("PIN_PEPPER");
    let hasher = PinHasher::from_secret(&pepper, "PIN_PEPPER").expect("valid pepper");
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
        println!("{:.4}", t.elapsed().as_secs_f64() * 1000.0);
    }
}
