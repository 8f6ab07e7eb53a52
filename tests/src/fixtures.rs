//! The development configuration and demo data, once for every Rust user.
//!
//! These values are public and fixed on purpose: they protect nothing and make
//! failures reproducible. `scripts/lib.sh` (`export_dev_env`) exports the same
//! pepper and webhook secrets for `make dev` and `make test`; the unit test
//! `fixtures_drift` keeps the two equal.
//!
//! No dependencies: besides this crate, the functions' start-up tests
//! (tests/startup/refuses.rs), the `webhook` fuzz target and carrier-webhook's
//! `sign` example include this file with `#[path]`.

/// `PIN_PEPPER`: 50 bytes.
pub const PEPPER: &str = "portguard-dev-pepper-NOT-A-SECRET-0123456789abcdef";

// Literals through macros, so `WEBHOOK_SECRETS` is built from the same text as
// `SECRET_A` and `SECRET_B` (`concat!` takes literals, not constants).
macro_rules! secret_a {
    () => {
        "whsec_P+qNlujjtcnMcCsFngZBMUcGeJfmY+seaB9YtldVo4Y="
    };
}
macro_rules! secret_b {
    () => {
        "whsec_w0dAXhXr0Ng3axqGuVxw5LbMY4bj/t80VQ9vuaKQOJc="
    };
}

/// carrier-a's webhook secret: `whsec_` + base64 of 32 bytes (the SHA-256 of
/// "portguard-dev-webhook-carrier-a").
pub const SECRET_A: &str = secret_a!();
/// carrier-b's webhook secret, made the same way.
pub const SECRET_B: &str = secret_b!();
/// `CARRIER_WEBHOOK_SECRETS`: carrier id → secret.
pub const WEBHOOK_SECRETS: &str = concat!(
    r#"{"carrier-a":""#,
    secret_a!(),
    r#"","carrier-b":""#,
    secret_b!(),
    r#""}"#
);

/// `BANDWIDTH_CREDENTIALS`: the HTTP Basic credentials Bandwidth presents
/// in development and tests (contract §15).
pub const BANDWIDTH_CREDENTIALS: &str =
    r#"{"username":"bandwidth","password":"portguard-dev-bandwidth-NOT-A-SECRET"}"#;
/// The `Authorization` header of those credentials (base64 of
/// `bandwidth:portguard-dev-bandwidth-NOT-A-SECRET`).
pub const BANDWIDTH_BASIC: &str =
    "Basic YmFuZHdpZHRoOnBvcnRndWFyZC1kZXYtYmFuZHdpZHRoLU5PVC1BLVNFQ1JFVA==";

/// `ENDPOINT_SECRET_KEY` in development and tests: the master key of the
/// notification endpoints' signing secrets (contract §14). NOT A SECRET.
pub const ENDPOINT_SECRET_KEY: &str = "portguard-dev-endpoint-secret-key-NOT-A-SECRET";

/// `TELNYX_PUBLIC_KEY` in development and tests (contract §16): the Ed25519
/// public key of `TELNYX_PRIVATE_KEY`. NOT A SECRET.
pub const TELNYX_PUBLIC_KEY: &str = "5dxAyNzquTRCpd2fWMVeZMQlwgRUTYrehy8+BkyyJUo=";
/// The development stand-in for Telnyx's signing key: base64 of the 32-byte
/// seed, the SHA-256 of "portguard-dev-telnyx-NOT-A-SECRET". NOT A SECRET:
/// public on purpose, it signs only local sample events.
pub const TELNYX_PRIVATE_KEY: &str = "jSVPTiahj7hDawGANO2gmKNkHG8YPNiOL3Ku/dBLhZ4=";
/// `TELNYX_API_KEY` in development and tests: the Bearer key the local
/// stand-in accepts. NOT A SECRET.
pub const TELNYX_API_KEY: &str = "portguard-dev-telnyx-api-key-NOT-A-SECRET";

/// The demo tenant (`make dev` provisions it too, scripts/dev.sh).
pub const TENANT: &str = "t-100";
/// Its account number.
pub const ACCOUNT: &str = "ACC-1001";
/// The PIN the tests set on it.
pub const PIN: &str = "48151623";
/// A well-formed PIN that is not `PIN`.
pub const WRONG_PIN: &str = "90817263";
/// Numbers on its account, `+12065550100` up.
pub const NUMBERS: [&str; 10] = [
    "+12065550100",
    "+12065550101",
    "+12065550102",
    "+12065550103",
    "+12065550104",
    "+12065550105",
    "+12065550106",
    "+12065550107",
    "+12065550108",
    "+12065550109",
];

/// The first `K` of `NUMBERS`, as an array (`const N: [&str; 6] = numbers();`).
pub const fn numbers<const K: usize>() -> [&'static str; K] {
    let mut out = [""; K];
    let mut i = 0;
    while i < K {
        out[i] = NUMBERS[i];
        i += 1;
    }
    out
}
