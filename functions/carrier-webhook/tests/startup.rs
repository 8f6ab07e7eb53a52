//! A bad configuration fails at start-up, naming the variable (contract §9).

use portguard_fixtures::startup::{but, refuses};

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
    // Every whsec_ secret decodes to 24 to 64 bytes: 16 and 72 do not.
    refuses(
        BIN,
        &but(
            secrets,
            Some(r#"{"carrier-a": "whsec_AAAAAAAAAAAAAAAAAAAAAA=="}"#),
        ),
        secrets,
    );
    let long: &'static str =
        Box::leak(format!(r#"{{"carrier-a": "whsec_{}"}}"#, "A".repeat(96)).into_boxed_str());
    refuses(BIN, &but(secrets, Some(long)), secrets);
}
