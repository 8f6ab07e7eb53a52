//! Telnyx's door (contract §16): a signed `pending` port-out event beside
//! portguard's own right-PIN `POST /v1/port-outs` in one submit-port-out
//! process, and beside `floor-post` making one plain HTTPS call to the same
//! Telnyx stand-in (`cli/telnyx-stand-in`, behind stunnel like Telnyx's
//! API): interleaved, warm.
//!
//! The events alternate a wrong PIN (refused `PIN_MISMATCH`: the decision,
//! then the stand-in's `PATCH …/rejected-pending` before the answer) and
//! the right PIN (accepted: no call), so Telnyx's failed attempts never
//! reach the lockout. The target is on the refused event, the one that
//! makes the call.

use crate::requests::{api_event, check, Ctx};
use crate::runtime::Function;
use crate::setup::spawn;
use crate::{ms, Args, PIN, WRONG_PIN};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use ed25519_dalek::{Signer, SigningKey};
use portguard_store::clock;
use serde_json::{json, Value};

/// The development Telnyx keys (portguard-fixtures, as scripts/lib.sh
/// exports them): NOT SECRETS. The private half signs only local events;
/// `API_KEY` is the stand-in's Bearer key.
pub use portguard_fixtures::{
    TELNYX_API_KEY as API_KEY, TELNYX_PRIVATE_KEY as PRIVATE_KEY, TELNYX_PUBLIC_KEY as PUBLIC_KEY,
};
const EVENTS_PATH: &str = "/v1/integrations/telnyx/port-out-events";

/// `telnyx-signature-ed25519` of `body` at `timestamp`, as the stand-in's
/// `sign` makes it: Ed25519 over `"{timestamp}|{body}"`.
fn sign(timestamp: i64, body: &[u8]) -> String {
    let seed: [u8; 32] = B64
        .decode(PRIVATE_KEY)
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    let mut signed = format!("{timestamp}|").into_bytes();
    signed.extend_from_slice(body);
    B64.encode(SigningKey::from_bytes(&seed).sign(&signed).to_bytes())
}

/// A signed `portout.status_changed` event, status `pending`, for one
/// number with `pin` attempted (the body of the stand-in's `event_body`).
pub fn pending(number: &str, pin: &str) -> Value {
    let ulid = ulid::Ulid::new().to_string().to_lowercase();
    let body = json!({
        "data": {"event_type": "portout.status_changed", "id": format!("ev-{ulid}"),
                 "occurred_at": clock::format(clock::now()), "record_type": "event",
                 "payload": {"id": format!("bench-{ulid}"), "status": "pending",
                             "phone_numbers": [number], "attempted_pin": pin,
                             "carrier_name": "Example Wireless", "spid": "073H"}},
        "meta": {"attempt": 1, "delivered_to": "https://api.example.com/v1/integrations/telnyx/port-out-events"}
    })
    .to_string();
    let ts = clock::now();
    let mut ev = api_event(
        "POST",
        EVENTS_PATH,
        None,
        &Value::Null,
        &[
            ("telnyx-signature-ed25519", sign(ts, body.as_bytes())),
            ("telnyx-timestamp", ts.to_string()),
        ],
    );
    ev["body"] = json!(body);
    ev
}

/// `floor-post`'s event: one plain call to the stand-in, as the function
/// makes it (`PATCH {api}/portouts/{id}/rejected-pending`, Bearer key).
fn plain_call(api: &str) -> Value {
    let id = format!("floor-{}", ulid::Ulid::new().to_string().to_lowercase());
    json!({"concurrency": 1, "posts": [{
        "url": format!("{}/portouts/{id}/rejected-pending", api.trim_end_matches('/')),
        "method": "PATCH", "id": id,
        "headers": {"authorization": format!("Bearer {API_KEY}")},
        "body": json!({"reason": "PIN_MISMATCH: the PIN does not match"}).to_string(),
    }]})
}

/// What a Telnyx answer says: `accepted` or `rejected` (and its code).
fn result_of(out: &Value) -> (String, String) {
    let body: Value =
        serde_json::from_str(out["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (
        body["result"].as_str().unwrap_or("").to_owned(),
        body["code"].as_str().unwrap_or("").to_owned(),
    )
}

fn expect(failures: &mut Vec<String>, what: &str, out: &Value, result: &str, code: &str) {
    let (r, c) = result_of(out);
    if (r != result || c != code) && failures.len() < 20 {
        failures.push(format!("{what}: expected {result} {code}, got {out}"));
    }
}

/// Interleaved: a right-PIN POST, a Telnyx `pending` (wrong PIN on even
/// rounds, right PIN on odd ones) and `floor-post`'s one plain call.
pub fn run(a: &Args, env: &[(String, String)], ctx: &mut Ctx, failures: &mut Vec<String>) -> Value {
    let Some(api) = &a.telnyx_api else {
        eprintln!("[bench] telnyx: no --telnyx-api, skipped");
        return Value::Null;
    };
    let rounds = (a.warm / 2).max(10);
    eprintln!(
        "[bench] telnyx: {rounds} pending events beside as many right-PIN POSTs and plain calls"
    );
    let mut f = Function::spawn(
        "submit-port-out",
        &a.bins.join("submit-port-out"),
        env,
        &a.out.join("telnyx.log"),
    );
    f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    let mut floor = spawn(a, "floor-post", env);
    let telnyx = |ctx: &mut Ctx, round: usize| {
        let pin = if round.is_multiple_of(2) {
            WRONG_PIN
        } else {
            PIN
        };
        pending(&ctx.number(), pin)
    };
    for round in 0..6 {
        f.invoke(&ctx.port_out(PIN, None)).expect("warm-up");
        f.invoke(&telnyx(ctx, round)).expect("warm-up");
        floor.invoke(&plain_call(api)).expect("warm-up");
    }
    let (mut post, mut refused, mut accepted, mut plain) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (d, out) = f
            .invoke(&ctx.port_out(PIN, None))
            .unwrap_or_else(|e| panic!("{e}"));
        check(failures, "POST /v1/port-outs beside telnyx", &out.body, 201);
        post.push(ms(d));
        let (d, out) = f
            .invoke(&telnyx(ctx, round))
            .unwrap_or_else(|e| panic!("{e}"));
        if round.is_multiple_of(2) {
            expect(
                failures,
                "telnyx wrong PIN",
                &out.body,
                "rejected",
                "PIN_MISMATCH",
            );
            refused.push(ms(d));
        } else {
            expect(failures, "telnyx right PIN", &out.body, "accepted", "");
            accepted.push(ms(d));
        }
        let (d, out) = floor
            .invoke(&plain_call(api))
            .unwrap_or_else(|e| panic!("{e}"));
        if out.body["failed"] != 0 && failures.len() < 20 {
            failures.push(format!("floor-post to the Telnyx stand-in: {}", out.body));
        }
        plain.push(ms(d));
    }
    f.stop();
    floor.stop();
    json!({"post_ms": post, "refused_ms": refused, "accepted_ms": accepted, "plain_call_ms": plain})
}
