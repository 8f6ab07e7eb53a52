//! Shared by each function's `tests/startup.rs` (included with `#[path]`, as
//! only a package's own tests know where its binary is): a bad configuration
//! stops the cold start with a message naming the variable (contract §9).

use std::process::Command;

// The development values of the test crate (tests/src/fixtures.rs).
#[allow(dead_code)]
#[path = "../src/fixtures.rs"]
pub mod fixtures;
pub use fixtures::{PEPPER, WEBHOOK_SECRETS as SECRETS};

/// A configuration every function accepts.
pub fn good() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TABLE_NAME", "t"),
        ("PIN_PEPPER", PEPPER),
        ("CARRIER_WEBHOOK_SECRETS", SECRETS),
        ("ENDPOINT_SECRET_KEY", fixtures::ENDPOINT_SECRET_KEY),
    ]
}

/// `good()` with `var` set to `value`, or removed when `value` is `None`.
pub fn but(var: &'static str, value: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut env: Vec<_> = good().into_iter().filter(|(k, _)| *k != var).collect();
    env.extend(value.map(|v| (var, v)));
    env
}

/// Runs `bin` against an unreachable Runtime API with exactly `env`; it must
/// exit non-zero, before polling, with `var` in its output.
pub fn refuses(bin: &str, env: &[(&str, &str)], var: &str) {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied());
    let out = cmd.output().expect("run the function binary");
    assert!(!out.status.success(), "started despite a bad {var}");
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(var), "{var} not named: {text}");
}
