//! submit-port-out's scenarios, every door: carriers' `POST /v1/port-outs`
//! (accepted, refused, locked, with a transfer PIN, idempotent), the
//! tenant's reject, Bandwidth's validation and Telnyx's `pending` events.

use super::set_pin::Made;
use super::Recorder;
use crate::requests::{api_event, port_out};
use crate::setup::{prot_numbers, spawn, Setup};
use crate::{bandwidth, telnyx, Args, ACCOUNT, PIN, PROT_ACCOUNT, TENANT, WRONG_PIN};
use serde_json::json;

pub fn run(a: &Args, env: &[(String, String)], rec: &mut Recorder, s: &mut Setup, made: &Made) {
    let ctx = &mut s.ctx;
    let mut f = spawn(a, "submit-port-out", env);
    rec.record(&mut f, "accepted port-out", ctx.port_out(PIN, None), 201);
    let label = "rejected port-out (wrong PIN: PIN_MISMATCH)";
    rec.record(&mut f, label, ctx.port_out(WRONG_PIN, None), 422);
    let label = "accepted port-out after a failed attempt (resets the count)";
    rec.record(&mut f, label, ctx.port_out(PIN, None), 201);
    let key = format!("key-{}", ulid::Ulid::new().to_string().to_lowercase());
    let label = "accepted port-out with Idempotency-Key";
    rec.record(&mut f, label, ctx.port_out(PIN, Some(key)), 201);
    let locked = port_out(ACCOUNT, PIN, &made.locked_number, None);
    let label = "locked number (PORT_OUT_LOCKED, PIN not looked at)";
    rec.record(&mut f, label, locked, 422);
    let locked_all = port_out(PROT_ACCOUNT, PIN, &prot_numbers()[0], None);
    let label = "locked account (tenant lock: PORT_OUT_LOCKED)";
    rec.record(&mut f, label, locked_all, 422);
    let with_tp = port_out(ACCOUNT, &made.transfer_pin, &made.tp_number, None);
    let label = "accepted port-out with a transfer PIN (consumed)";
    rec.record(&mut f, label, with_tp, 201);
    let reject = api_event(
        "POST",
        &format!("/v1/port-outs/{}/reject", s.orders[6]),
        Some(("admin", TENANT)),
        &json!({"reason": "not requested"}),
        &[],
    );
    let label = "POST /v1/port-outs/{id}/reject (the tenant rejects)";
    rec.record(&mut f, label, reject, 200);
    let label = "Bandwidth validation (portable)";
    rec.record(&mut f, label, bandwidth::validation(ctx), 200);
    if a.telnyx_api.is_some() {
        let label = "Telnyx pending, right PIN (accepted, no call)";
        rec.record(&mut f, label, telnyx::pending(&ctx.number(), PIN), 200);
        let label = "Telnyx pending, wrong PIN (PIN_MISMATCH; then the call to Telnyx)";
        rec.record(
            &mut f,
            label,
            telnyx::pending(&ctx.number(), WRONG_PIN),
            200,
        );
    }
    f.stop();
}
