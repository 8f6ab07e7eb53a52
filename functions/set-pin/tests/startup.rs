//! A bad configuration fails at start-up, naming the variable (contract §9).

use portguard_fixtures::startup::{but, refuses};

const BIN: &str = env!("CARGO_BIN_EXE_set-pin");

#[test]
fn a_bad_configuration_fails_at_start_up() {
    refuses(BIN, &but("TABLE_NAME", None), "TABLE_NAME");
    refuses(BIN, &but("PIN_PEPPER", None), "PIN_PEPPER");
    refuses(BIN, &but("PIN_PEPPER", Some("too short")), "PIN_PEPPER");
    // The master key of endpoint secrets (contract §14).
    portguard_fixtures::startup::refuses_bad_endpoint_key(BIN);
    for bad in ["-1", "2592001", "1.5", "a day"] {
        refuses(
            BIN,
            &but("PROTECTION_DISABLE_DELAY_SECONDS", Some(bad)),
            "PROTECTION_DISABLE_DELAY_SECONDS",
        );
    }
    for bad in ["0", "604801", "-5", "a week"] {
        refuses(
            BIN,
            &but("TRANSFER_PIN_TTL_SECONDS", Some(bad)),
            "TRANSFER_PIN_TTL_SECONDS",
        );
    }
}

#[test]
fn a_bad_loopback_switch_fails_at_start_up() {
    refuses(
        BIN,
        &but("NOTIFY_ALLOW_LOOPBACK_HTTP", Some("maybe")),
        "NOTIFY_ALLOW_LOOPBACK_HTTP",
    );
}
