//! The development values exist once in Rust (`fixtures`); these tests keep
//! the shell copy (scripts/lib.sh, scripts/dev.sh) equal to it and catch a
//! Rust copy of a secret creeping back in.

use crate::fixtures::{
    numbers, ACCOUNT, BANDWIDTH_BASIC, BANDWIDTH_CREDENTIALS, ENDPOINT_SECRET_KEY, NUMBERS, PEPPER,
    SECRET_A, SECRET_B, TELNYX_API_KEY, TELNYX_PRIVATE_KEY, TELNYX_PUBLIC_KEY, TENANT,
    WEBHOOK_SECRETS,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The single-quoted value of `export NAME='…'` in a shell script.
fn exported(script: &str, name: &str) -> String {
    let prefix = format!("export {name}='");
    let line = script
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}…'` line"));
    line[prefix.len()..]
        .strip_suffix('\'')
        .unwrap_or_else(|| panic!("unterminated: {line}"))
        .to_owned()
}

#[test]
fn lib_sh_exports_the_fixture_pepper_and_secrets() {
    let lib = read("scripts/lib.sh");
    assert_eq!(exported(&lib, "PIN_PEPPER"), PEPPER);
    assert_eq!(exported(&lib, "CARRIER_WEBHOOK_SECRETS"), WEBHOOK_SECRETS);
    assert_eq!(exported(&lib, "ENDPOINT_SECRET_KEY"), ENDPOINT_SECRET_KEY);
    assert_eq!(
        exported(&lib, "BANDWIDTH_CREDENTIALS"),
        BANDWIDTH_CREDENTIALS
    );
    // The header is the credentials', written out.
    let creds: Value = serde_json::from_str(BANDWIDTH_CREDENTIALS).unwrap();
    let pair = format!(
        "{}:{}",
        creds["username"].as_str().unwrap(),
        creds["password"].as_str().unwrap()
    );
    assert_eq!(BANDWIDTH_BASIC, format!("Basic {}", B64.encode(pair)));
}

#[test]
fn lib_sh_exports_the_fixture_telnyx_keys() {
    let lib = read("scripts/lib.sh");
    assert_eq!(exported(&lib, "TELNYX_PUBLIC_KEY"), TELNYX_PUBLIC_KEY);
    assert_eq!(exported(&lib, "TELNYX_PRIVATE_KEY"), TELNYX_PRIVATE_KEY);
    assert_eq!(exported(&lib, "TELNYX_API_KEY"), TELNYX_API_KEY);
    // Never Telnyx's real API from a development machine: a loopback
    // stand-in (make dev starts one and exports its own port over this).
    let base = exported(&lib, "TELNYX_API_BASE_URL");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    // The public key is the private key's, derived as portguard-fixtures says.
    let seed = Sha256::digest("portguard-dev-telnyx-NOT-A-SECRET");
    assert_eq!(TELNYX_PRIVATE_KEY, B64.encode(seed));
    assert_eq!(
        telnyx_stand_in::public_key(TELNYX_PRIVATE_KEY).unwrap(),
        TELNYX_PUBLIC_KEY
    );
}

#[test]
fn webhook_secrets_are_the_per_carrier_secrets_derived_as_documented() {
    let parsed: Value = serde_json::from_str(WEBHOOK_SECRETS).unwrap();
    assert_eq!(
        parsed,
        json!({"carrier-a": SECRET_A, "carrier-b": SECRET_B})
    );
    // scripts/lib.sh: whsec_ + base64 of sha256("portguard-dev-webhook-<carrier>").
    for (carrier, secret) in [("carrier-a", SECRET_A), ("carrier-b", SECRET_B)] {
        let key = Sha256::digest(format!("portguard-dev-webhook-{carrier}"));
        assert_eq!(secret, format!("whsec_{}", B64.encode(key)), "{carrier}");
    }
    assert_eq!(PEPPER.len(), 50);
}

#[test]
fn make_dev_provisions_the_fixture_tenant_and_numbers() {
    // dev.sh provisions through lib.sh's seed_demo_tenants (the local API's
    // dev sign-in offers the same tenants).
    let dev = read("scripts/dev.sh") + &read("scripts/lib.sh");
    assert!(dev.contains("seed_demo_tenants"));
    assert!(dev.contains(&format!(
        "tenant put --tenant-id {TENANT} --account-number {ACCOUNT} --country US"
    )));
    let first: [&str; 3] = numbers();
    assert!(dev.contains(&format!(
        "numbers add --tenant-id {TENANT} {}",
        first.join(" ")
    )));
    assert_eq!(first, NUMBERS[..3]);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !matches!(
                name.to_str(),
                Some("target" | ".local" | ".git" | "corpus" | "artifacts")
            ) {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_rust_file_but_fixtures_spells_out_a_dev_secret() {
    let key = |s: &'static str| s.trim_start_matches("whsec_");
    let mut files = Vec::new();
    for dir in ["bench", "cli", "functions", "fuzz", "shared", "tests"] {
        rust_files(&repo().join(dir), &mut files);
    }
    assert!(files.len() > 20, "found the sources: {files:?}");
    let copies: Vec<_> = files
        .iter()
        .filter(|p| {
            !p.ends_with("shared/fixtures/src/lib.rs")
                && !p.ends_with("tests/src/fixtures_drift.rs")
        })
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            [
                PEPPER,
                key(SECRET_A),
                key(SECRET_B),
                TELNYX_PRIVATE_KEY,
                TELNYX_API_KEY,
            ]
            .iter()
            .any(|v| text.contains(v))
        })
        .collect();
    assert!(
        copies.is_empty(),
        "use the portguard-fixtures crate instead: {copies:?}"
    );
}
