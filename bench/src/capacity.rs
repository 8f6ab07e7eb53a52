//! Phase 3, capacity and round trips: every binary again with DynamoDB behind
//! the recording proxy (`ReturnConsumedCapacity: INDEXES`); per scenario each
//! round trip and its consumed capacity, and status-check over the tables of
//! closed orders.

use crate::requests::{api_event, status_of};
use crate::runtime::Function;
use crate::setup::{env_for, spawn, Setup, DUE};
use crate::{proxy, Args, ACCOUNT, CARRIER, FUNCTIONS, PIN, TENANT, WRONG_PIN};
use serde_json::{json, Value};

/// One entry per scenario: function, label, status, response, calls.
pub fn run(
    a: &Args,
    table: &str,
    suffix: &str,
    s: &mut Setup,
    failures: &mut Vec<String>,
) -> Vec<Value> {
    eprintln!("[bench] capacity: every scenario through the recording proxy");
    let Setup {
        ctx,
        orders: order_for,
        closed,
        ..
    } = s;
    let upstream = a
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = proxy::Proxy::start(&upstream);
    let penv = env_for(&proxy.url, table);
    let mut capacity = Vec::new();
    let mut run = |f: &mut Function, label: &str, req: Value, expect: i64| {
        proxy.take();
        let (_, out) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
        let calls = proxy.take();
        let status = if f.name.starts_with("floor") {
            if out.ok {
                200
            } else {
                500
            }
        } else {
            status_of(&out.body)
        };
        if status != expect {
            failures.push(format!(
                "capacity {label}: expected {expect}, got {}",
                out.body
            ));
        }
        capacity.push(
            json!({"function": f.name, "scenario": label, "status": status,
                             "response": out.body, "calls": calls}),
        );
    };
    let mut f = spawn(a, "set-pin", &penv);
    run(
        &mut f,
        "PUT /v1/pin (set or change the PIN)",
        ctx.set_pin(),
        200,
    );
    run(&mut f, "GET /v1/pin", ctx.get_pin(), 200);
    // SPEC 11: lock one number; the port-out below asks for it.
    let locked_number = ctx.number();
    run(
        &mut f,
        "PATCH /v1/numbers/{n} (lock a number)",
        api_event(
            "PATCH",
            &format!("/v1/numbers/{locked_number}"),
            Some(("admin", TENANT)),
            &json!({"lock": true}),
            &[],
        ),
        200,
    );
    f.stop();
    let mut f = spawn(a, "submit-port-out", &penv);
    run(&mut f, "accepted port-out", ctx.port_out(PIN, None), 201);
    run(
        &mut f,
        "rejected port-out (wrong PIN: PIN_MISMATCH)",
        ctx.port_out(WRONG_PIN, None),
        422,
    );
    run(
        &mut f,
        "accepted port-out after a failed attempt (resets the count)",
        ctx.port_out(PIN, None),
        201,
    );
    run(
        &mut f,
        "accepted port-out with Idempotency-Key",
        ctx.port_out(PIN, Some(format!("key-{suffix}"))),
        201,
    );
    run(
        &mut f,
        "locked number (PORT_OUT_LOCKED, PIN not looked at)",
        api_event(
            "POST",
            "/v1/port-outs",
            Some(("carrier", CARRIER)),
            &json!({"accountNumber": ACCOUNT, "pin": PIN, "phoneNumbers": [locked_number],
                    "pon": "PON-BENCH", "authorizedName": "Bench Runner"}),
            &[],
        ),
        422,
    );
    f.stop();
    let mut f = spawn(a, "carrier-webhook", &penv);
    let (ev, first_id) = ctx.webhook(&order_for[2], "foc_confirmed", None);
    run(&mut f, "pending → foc_confirmed", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[2], "foc_confirmed", None);
    run(
        &mut f,
        "foc_confirmed → foc_confirmed (new FOC date)",
        ev,
        200,
    );
    let (ev, _) = ctx.webhook(&order_for[2], "completed", None);
    run(&mut f, "foc_confirmed → completed (numbers leave)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[3], "completed", None);
    run(&mut f, "pending → completed", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[4], "cancelled", None);
    run(&mut f, "pending → cancelled (numbers freed)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[5], "rejected", None);
    run(&mut f, "pending → rejected (numbers freed)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[2], "completed", None);
    run(&mut f, "completed → completed (unchanged)", ev, 200);
    let (ev, _) = ctx.webhook(&order_for[2], "foc_confirmed", Some(&first_id));
    run(&mut f, "duplicate webhook-id", ev, 200);
    f.stop();
    let mut f = spawn(a, "status-check", &penv);
    run(
        &mut f,
        "scheduled run, main table (nothing due)",
        ctx.scheduled(),
        200,
    );
    f.stop();
    for (n, s) in closed.iter() {
        let mut f = spawn(a, "status-check", &env_for(&proxy.url, s.table()));
        run(
            &mut f,
            &format!("scheduled run, {n} closed orders + {DUE} due"),
            ctx.scheduled(),
            200,
        );
        f.stop();
    }
    let mut floor = spawn(a, "floor-sdk", &penv);
    for function in FUNCTIONS {
        let op = ctx.floor_op(function);
        run(&mut floor, &format!("raw floor for {function}"), op, 200);
    }
    floor.stop();
    capacity
}
