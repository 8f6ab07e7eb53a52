//! A bad configuration fails at start-up, naming the variable (SPEC 9).

#[path = "../../../tests/startup/refuses.rs"]
mod refuses;
use refuses::{but, refuses};

const BIN: &str = env!("CARGO_BIN_EXE_carrier-webhook");

#[test]
fn a_bad_configuration_fails_at_start_up() {
    refuses(BIN, &but("TABLE_NAME", None), "TABLE_NAME");
    let secrets = "CARRIER_WEBHOOK_SECRETS";
    refuses(BIN, &but(secrets, None), secrets);
    refuses(
        BIN,
        &but(secrets, Some(r#"{"carrier-a": "no-prefix"}"#)),
        secrets,
    );
}
