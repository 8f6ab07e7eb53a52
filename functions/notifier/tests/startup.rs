//! A bad configuration fails at start-up, naming the variable (contract §9).

use portguard_fixtures::startup::{but, refuses};

const BIN: &str = env!("CARGO_BIN_EXE_notifier");

#[test]
fn a_bad_configuration_fails_at_start_up() {
    refuses(BIN, &but("TABLE_NAME", None), "TABLE_NAME");
    refuses(
        BIN,
        &but("NOTIFY_ALLOW_LOOPBACK_HTTP", Some("yes please")),
        "NOTIFY_ALLOW_LOOPBACK_HTTP",
    );
    // The master key of endpoint secrets (contract §14).
    portguard_fixtures::startup::refuses_bad_endpoint_key(BIN);
}
