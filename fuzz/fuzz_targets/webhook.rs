//! Webhook verification (contract §5): arbitrary headers and bodies never panic
//! and never verify; a signature made with the carrier's secret over the
//! fuzzed id and body verifies, and no single-byte change of the body, the
//! id or the signature does; another carrier's secret never verifies.
#![no_main]
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use portguard_fuzz::webhooks::WebhookSecrets;
use std::sync::OnceLock;

// The development secrets (portguard-fixtures: no dependencies).
use portguard_fixtures as fixtures;
use portguard_fixtures::WEBHOOK_SECRETS as SECRETS;

fn secrets() -> &'static WebhookSecrets {
    static S: OnceLock<WebhookSecrets> = OnceLock::new();
    S.get_or_init(|| WebhookSecrets::from_secret(SECRETS, "CARRIER_WEBHOOK_SECRETS").unwrap())
}

fn sign(id: &str, ts: i64, body: &[u8]) -> String {
    let key_a = fixtures::SECRET_A.trim_start_matches("whsec_");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&B64.decode(key_a).unwrap()).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

fn headers(id: &[u8], ts: &[u8], sig: &[u8]) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    h.insert("webhook-id", HeaderValue::from_bytes(id).ok()?);
    h.insert("webhook-timestamp", HeaderValue::from_bytes(ts).ok()?);
    h.insert("webhook-signature", HeaderValue::from_bytes(sig).ok()?);
    Some(h)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fuzz_target!(|data: &[u8]| {
    // data = id \0 timestamp \0 signature \0 body
    let mut parts = data.splitn(4, |&b| b == 0);
    let (id, ts, sig, body) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    // Arbitrary headers: no panic, and a forgery that verifies would be a
    // broken HMAC.
    if let Some(h) = headers(id, ts, sig) {
        for carrier in ["carrier-a", "carrier-b", "carrier-c", ""] {
            assert!(
                secrets().verify(carrier, body, &h).is_err(),
                "forged webhook verified"
            );
        }
    }
    // A genuine signature over the fuzzed id and body.
    let Ok(id) = std::str::from_utf8(id) else {
        return;
    };
    // Header values are read as visible ASCII (`to_str`), so genuine ids are.
    if id.is_empty() || id.contains('.') || !id.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return;
    }
    // standardwebhooks refuses a body that is not UTF-8 even when genuinely
    // signed (so such a body is 401, not 400; bodies are JSON anyway).
    if std::str::from_utf8(body).is_err() {
        return;
    }
    let t = now();
    let good = sign(id, t, body);
    let h = headers(id.as_bytes(), t.to_string().as_bytes(), good.as_bytes()).unwrap();
    assert!(
        secrets().verify("carrier-a", body, &h).is_ok(),
        "genuine webhook refused"
    );
    assert!(
        secrets().verify("carrier-b", body, &h).is_err(),
        "another carrier's secret verified"
    );
    let old = headers(
        id.as_bytes(),
        (t - 301).to_string().as_bytes(),
        sign(id, t - 301, body).as_bytes(),
    )
    .unwrap();
    assert!(
        secrets().verify("carrier-a", body, &old).is_err(),
        "stale webhook verified"
    );
    if !body.is_empty() {
        let mut other = body.to_vec();
        let i = (ts.len() * 31 + sig.len()) % other.len();
        other[i] ^= 0x01;
        assert!(
            secrets().verify("carrier-a", &other, &h).is_err(),
            "changed body verified"
        );
    }
    let mut bad_sig = good.clone().into_bytes();
    let i = 3 + sig.len() % 40;
    bad_sig[i] = if bad_sig[i] == b'A' { b'B' } else { b'A' };
    let h2 = headers(id.as_bytes(), t.to_string().as_bytes(), &bad_sig).unwrap();
    assert!(
        secrets().verify("carrier-a", body, &h2).is_err(),
        "changed signature verified"
    );
});
