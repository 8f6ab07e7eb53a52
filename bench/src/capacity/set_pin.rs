//! set-pin's scenarios: the PIN, the numbers and their locks, port-out
//! protection, transfer PINs, the notification endpoint, alert contacts
//! and the audit trail.

use super::{body_of, Recorder};
use crate::notify::Hooks;
use crate::requests::{api_event, Ctx};
use crate::setup::spawn;
use crate::{Args, PROT_TENANT, TENANT};
use serde_json::{json, Value};

/// What the port-out scenarios use of what set-pin made.
pub struct Made {
    /// A number of the bench tenant, locked.
    pub locked_number: String,
    /// A number with a transfer PIN, and the PIN.
    pub tp_number: String,
    pub transfer_pin: String,
}

fn admin(method: &str, path: &str, body: Value) -> Value {
    api_event(method, path, Some(("admin", TENANT)), &body, &[])
}

pub fn run(
    a: &Args,
    env: &[(String, String)],
    rec: &mut Recorder,
    ctx: &mut Ctx,
    hooks: &Hooks,
) -> Made {
    let mut f = spawn(a, "set-pin", env);
    // A process's first PUT /v1/pin also looks up the tenant's account;
    // the next ones (what the target is about) do not.
    let first = "PUT /v1/pin, a process's first (finds the tenant's account)";
    rec.record(&mut f, first, ctx.set_pin(), 200);
    rec.record(
        &mut f,
        "PUT /v1/pin (set or change the PIN)",
        ctx.set_pin(),
        200,
    );
    rec.record(&mut f, "GET /v1/pin", ctx.get_pin(), 200);
    // contract §11: lock one number; a port-out scenario asks for it.
    let locked_number = ctx.number();
    let lock = admin(
        "PATCH",
        &format!("/v1/numbers/{locked_number}"),
        json!({"lock": true}),
    );
    rec.record(&mut f, "PATCH /v1/numbers/{n} (lock a number)", lock, 200);
    // contract §11: the protection settings and the numbers.
    let protection = admin("GET", "/v1/port-out-protection", Value::Null);
    rec.record(&mut f, "GET /v1/port-out-protection", protection, 200);
    // As with PUT /v1/pin, a process's first PATCH for a tenant looks up
    // its account; the lock is turned on by the next one.
    let protect = |lock: bool| {
        api_event(
            "PATCH",
            "/v1/port-out-protection",
            Some(("admin", PROT_TENANT)),
            &json!({ "lock": lock }),
            &[],
        )
    };
    let label =
        "PATCH /v1/port-out-protection, a process's first for the tenant (lock off, as it is)";
    rec.record(&mut f, label, protect(false), 200);
    let label = "PATCH /v1/port-out-protection (tenant lock on)";
    rec.record(&mut f, label, protect(true), 200);
    let page = admin("GET", "/v1/numbers?limit=50", Value::Null);
    rec.record(&mut f, "GET /v1/numbers (a page of 50)", page, 200);
    let one = admin("GET", &format!("/v1/numbers/{locked_number}"), Value::Null);
    let label = "GET /v1/numbers/{n} (one number and its lock)";
    rec.record(&mut f, label, one, 200);
    let (tp_number, transfer_pin) = transfer_pins(rec, &mut f, ctx);
    endpoint_and_contacts(rec, &mut f, hooks);
    f.stop();
    Made {
        locked_number,
        tp_number,
        transfer_pin,
    }
}

/// contract §12: a transfer PIN for one number (a port-out scenario uses
/// it), the list, and one revoked. The number and its PIN.
fn transfer_pins(
    rec: &mut Recorder,
    f: &mut crate::runtime::Function,
    ctx: &mut Ctx,
) -> (String, String) {
    let tp_number = ctx.number();
    let create = |n: &str| admin("POST", "/v1/transfer-pins", json!({"phoneNumbers": [n]}));
    let issued = rec.record(
        f,
        "POST /v1/transfer-pins (one number)",
        create(&tp_number),
        201,
    );
    let transfer_pin = body_of(&issued)["pin"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let list = admin("GET", "/v1/transfer-pins", Value::Null);
    rec.record(f, "GET /v1/transfer-pins", list, 200);
    let spare = ctx.number();
    let label = "POST /v1/transfer-pins (for the revoke below)";
    let other = rec.record(f, label, create(&spare), 201);
    let other_id = body_of(&other)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let revoke = admin(
        "DELETE",
        &format!("/v1/transfer-pins/{other_id}"),
        Value::Null,
    );
    rec.record(f, "DELETE /v1/transfer-pins/{id} (revoke)", revoke, 200);
    (tp_number, transfer_pin)
}

/// contract §14 and §17: the tenant's endpoint, its alert contacts and its
/// audit trail.
fn endpoint_and_contacts(rec: &mut Recorder, f: &mut crate::runtime::Function, hooks: &Hooks) {
    let hook = format!("{}/hook/{TENANT}", hooks.url.trim_end_matches('/'));
    let put = admin("PUT", "/v1/notification-endpoint", json!({"url": hook}));
    rec.record(f, "PUT /v1/notification-endpoint (create)", put, 200);
    let get = admin("GET", "/v1/notification-endpoint", Value::Null);
    rec.record(f, "GET /v1/notification-endpoint", get, 200);
    let delete = admin("DELETE", "/v1/notification-endpoint", Value::Null);
    rec.record(f, "DELETE /v1/notification-endpoint", delete, 204);
    let email = format!(
        "bench-admin-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let add = admin("POST", "/v1/alert-contacts", json!({"email": email}));
    let label = "POST /v1/alert-contacts (add; the code email sent)";
    rec.record(f, label, add, 201);
    let list = admin("GET", "/v1/alert-contacts", Value::Null);
    rec.record(f, "GET /v1/alert-contacts", list, 200);
    let audit = admin("GET", "/v1/audit-events?limit=50", Value::Null);
    rec.record(f, "GET /v1/audit-events (a page of 50)", audit, 200);
}
