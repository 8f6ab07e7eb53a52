//! Re-signs the carrier-webhook fixture for `cargo lambda invoke`.
//!
//! A Standard Webhooks signature is only accepted within 300 s of its
//! `webhook-timestamp`, so the committed `events/carrier-webhook.json` is
//! always stale. This prints the same event with a fresh `webhook-id`,
//! `webhook-timestamp` and `webhook-signature`, signed with the carrier's
//! secret from `CARRIER_WEBHOOK_SECRETS` (the public development secrets of
//! `scripts/lib.sh` when unset):
//!
//! ```sh
//! cargo run -q -p carrier-webhook --example sign -- \
//!     --port-out-id po_01JF... --type port_out.completed > /tmp/webhook.json
//! cargo lambda invoke carrier-webhook --data-file /tmp/webhook.json
//! ```
//!
//! Options (all optional): `--fixture PATH` (default the committed fixture),
//! `--port-out-id ID`, `--type TYPE`, `--foc-date YYYY-MM-DD` (default for
//! `port_out.foc_confirmed`: a week from today), `--body JSON`
//! (replaces the whole body). The carrier is the last segment of `rawPath`.

use serde_json::Value;
use standardwebhooks::Webhook;
use std::time::{SystemTime, UNIX_EPOCH};

// The development secrets of `scripts/lib.sh` (public, protect nothing).
use portguard_fixtures::WEBHOOK_SECRETS as DEV_SECRETS;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/carrier-webhook.json"
    )
    .to_owned();
    let (mut port_out_id, mut kind, mut foc_date, mut body_override) = (None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--fixture" => fixture = value()?,
            "--port-out-id" => port_out_id = Some(value()?),
            "--type" => kind = Some(value()?),
            "--foc-date" => foc_date = Some(value()?),
            "--body" => body_override = Some(value()?),
            other => {
                return Err(format!(
                    "unknown option {other}; see the comment at the top of examples/sign.rs"
                )
                .into())
            }
        }
    }

    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&fixture)?)?;
    let body = match body_override {
        Some(body) => body,
        None => {
            let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("{}"))?;
            if let Some(id) = port_out_id {
                body["portOutId"] = id.into();
            }
            if let Some(kind) = kind {
                body["type"] = kind.into();
            }
            match foc_date {
                Some(date) => body["focDate"] = date.into(),
                // A FOC date must not be before the order's creation, so the
                // default is computed, never written down: a week from today.
                None if body["type"] == "port_out.foc_confirmed" => {
                    body["focDate"] = week_from_today().into()
                }
                None => {
                    if let Some(map) = body.as_object_mut() {
                        map.remove("focDate");
                    }
                }
            }
            serde_json::to_string(&body)?
        }
    };
    let path = event["rawPath"].as_str().unwrap_or_default().to_owned();
    let carrier = path.rsplit('/').next().unwrap_or_default().to_owned();

    let secrets = std::env::var("CARRIER_WEBHOOK_SECRETS").unwrap_or_else(|_| DEV_SECRETS.into());
    let secrets: Value = serde_json::from_str(&secrets)?;
    let secret = match &secrets[&carrier] {
        Value::String(s) => s.clone(),
        // While rotating, a carrier signs with its newest secret: the last.
        Value::Array(list) => list
            .last()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => return Err(format!("no secret for carrier {carrier:?}").into()),
    };

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let timestamp = now.as_secs() as i64;
    let webhook_id = format!("msg_{}", ulid::Ulid::new());
    let signature = Webhook::new(&secret)?.sign(&webhook_id, timestamp, body.as_bytes())?;

    let headers = &mut event["headers"];
    headers["webhook-id"] = webhook_id.into();
    headers["webhook-timestamp"] = timestamp.to_string().into();
    headers["webhook-signature"] = signature.into();
    headers["content-length"] = body.len().to_string().into();
    event["body"] = body.into();
    event["isBase64Encoded"] = false.into();
    event["requestContext"]["timeEpoch"] = (now.as_millis() as i64).into();
    event["requestContext"]["requestId"] = format!("sign-{}", ulid::Ulid::new()).into();
    println!("{}", serde_json::to_string_pretty(&event)?);
    Ok(())
}

/// `YYYY-MM-DD` seven days from now, UTC.
fn week_from_today() -> String {
    let day = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    day.date().to_string()
}
