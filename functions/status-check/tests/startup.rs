//! A bad configuration fails at start-up, naming the variable (contract §9).

use portguard_fixtures::startup::{but, refuses};

const BIN: &str = env!("CARGO_BIN_EXE_status-check");

#[test]
fn a_bad_configuration_fails_at_start_up() {
    refuses(BIN, &but("TABLE_NAME", None), "TABLE_NAME");
    refuses(
        BIN,
        &but("PENDING_EXPIRY_HOURS", Some("0")),
        "PENDING_EXPIRY_HOURS",
    );
    refuses(BIN, &but("FOC_GRACE_HOURS", Some("x")), "FOC_GRACE_HOURS");
}
