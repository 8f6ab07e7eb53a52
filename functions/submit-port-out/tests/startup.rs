//! A bad configuration fails at start-up, naming the variable (contract §9).

#[path = "../../../tests/startup/refuses.rs"]
mod refuses;
use refuses::{but, refuses};

const BIN: &str = env!("CARGO_BIN_EXE_submit-port-out");

#[test]
fn a_bad_configuration_fails_at_start_up() {
    refuses(BIN, &but("TABLE_NAME", None), "TABLE_NAME");
    refuses(BIN, &but("PIN_PEPPER", None), "PIN_PEPPER");
    refuses(BIN, &but("PIN_PEPPER", Some("too short")), "PIN_PEPPER");
    // v1 retired with nothing to key idempotency fingerprints: refused,
    // never silently re-keyed by another pepper.
    refuses(
        BIN,
        &but(
            "PIN_PEPPER",
            Some(r#"{"current":"v2","peppers":{"v2":"0123456789abcdef0123456789abcdef-v2"}}"#),
        ),
        "PIN_PEPPER",
    );
    let attempts = "PIN_MAX_FAILED_ATTEMPTS";
    refuses(BIN, &but(attempts, Some("many")), attempts);
    refuses(
        BIN,
        &but("PIN_LOCKOUT_SECONDS", Some("-1")),
        "PIN_LOCKOUT_SECONDS",
    );
}
