//! A bad configuration fails at start-up, naming the variable (contract §9).

use portguard_fixtures::startup::{but, good, refuses};
use portguard_fixtures::{BANDWIDTH_CREDENTIALS, TELNYX_API_KEY, TELNYX_PUBLIC_KEY};

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

/// `good()` and `extra`, each of `extra` replacing a variable of the same name.
fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env: Vec<_> = good()
        .into_iter()
        .filter(|(k, _)| extra.iter().all(|(e, _)| e != k))
        .collect();
    env.extend_from_slice(extra);
    env
}

/// Bandwidth's door (contract §9, §15): credentials that break the rules,
/// or a carrier id that is not one, stop the cold start.
#[test]
fn a_bad_bandwidth_configuration_fails_at_start_up() {
    let creds = "BANDWIDTH_CREDENTIALS";
    refuses(BIN, &with(&[(creds, "not json")]), creds);
    refuses(BIN, &with(&[(creds, r#"{"username":"bandwidth"}"#)]), creds);
    refuses(
        BIN,
        &with(&[(creds, r#"{"username":"bandwidth","password":"short"}"#)]),
        creds,
    );
    let carrier = "BANDWIDTH_CARRIER_ID";
    refuses(
        BIN,
        &with(&[
            (creds, BANDWIDTH_CREDENTIALS),
            (carrier, "not a carrier id"),
        ]),
        carrier,
    );
}

/// Telnyx's door (contract §9, §16): a public key that is not base64 of 32
/// bytes, an API base URL that is not one (or plain http off loopback), a
/// carrier id that is not one, or a public key without an API key stop the
/// cold start, naming the variable.
#[test]
fn a_bad_telnyx_configuration_fails_at_start_up() {
    let key = "TELNYX_PUBLIC_KEY";
    let api_key = ("TELNYX_API_KEY", TELNYX_API_KEY);
    // Not base64; base64 of 16 bytes; of 33 bytes.
    for bad in [
        "not base64!",
        "AAECAwQFBgcICQoLDA0ODw==",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
    ] {
        refuses(BIN, &with(&[(key, bad), api_key]), key);
    }
    let good_key = (key, TELNYX_PUBLIC_KEY);
    let url = "TELNYX_API_BASE_URL";
    for bad in [
        "not a url",
        "ftp://api.telnyx.com/v2",
        "http://api.telnyx.com/v2",
    ] {
        refuses(BIN, &with(&[good_key, api_key, (url, bad)]), url);
    }
    let carrier = "TELNYX_CARRIER_ID";
    for bad in ["not a carrier id", "", "telnyx/../x"] {
        refuses(BIN, &with(&[good_key, api_key, (carrier, bad)]), carrier);
    }
    refuses(BIN, &with(&[good_key]), "TELNYX_API_KEY");
}
