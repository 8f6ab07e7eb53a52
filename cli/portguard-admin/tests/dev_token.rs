//! `portguard-admin dev-token`: tokens the local API accepts, no table needed.

use portguard_local_api::auth::{Authorizer, Refusal};
use std::process::Command;

fn dev_token(args: &[&str], key: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portguard-admin"))
        .arg("dev-token")
        .args(args)
        .arg("--key-file")
        .arg(key)
        .env_remove("TABLE_NAME")
        .output()
        .unwrap()
}

#[test]
fn dev_tokens_pass_the_local_authorizer_with_their_scope_only() {
    let key = std::env::temp_dir().join(format!("pg-dev-key-{}", std::process::id()));
    std::fs::write(&key, "0123456789abcdef0123456789abcdef0123456789abcdef\n").unwrap();
    let authz = Authorizer::dev_from_file(&key).unwrap();

    let out = dev_token(&["--tenant-id", "t-100"], &key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8(out.stdout).unwrap();
    let id = authz.check(Some(t.trim()), &["portguard/admin"]).unwrap();
    assert_eq!(id.claims["tenant_id"], "t-100");
    let exp: i64 = id.claims["exp"].as_str().unwrap().parse().unwrap();
    let iat: i64 = id.claims["iat"].as_str().unwrap().parse().unwrap();
    assert_eq!(exp - iat, 12 * 3600);
    assert_eq!(
        authz.check(Some(t.trim()), &["portguard/carrier"]),
        Err(Refusal::Forbidden)
    );

    let out = dev_token(&["--carrier-id", "carrier-a"], &key);
    let t = String::from_utf8(out.stdout).unwrap();
    let id = authz.check(Some(t.trim()), &["portguard/carrier"]).unwrap();
    assert_eq!(id.claims["carrier_id"], "carrier-a");

    // exactly one subject; a clear error without the key
    assert!(!dev_token(&[], &key).status.success());
    assert!(!dev_token(&["--tenant-id", "t", "--carrier-id", "c"], &key)
        .status
        .success());
    assert!(!dev_token(&["--tenant-id", "bad id"], &key).status.success());
    let missing = dev_token(
        &["--tenant-id", "t-100"],
        std::path::Path::new("/nonexistent/key"),
    );
    assert!(String::from_utf8_lossy(&missing.stderr).contains("make dev creates it"));
    std::fs::remove_file(&key).unwrap();
}
