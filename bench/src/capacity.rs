//! Phase 4, capacity and round trips: every binary again with DynamoDB behind
//! the recording proxy (`ReturnConsumedCapacity: INDEXES`); per scenario each
//! round trip and its consumed capacity, and status-check over the tables of
//! closed orders.

use crate::notify::{batch, Hooks};
use crate::requests::{api_event, port_out, status_of};
use crate::runtime::Function;
use crate::setup::{env_for, prot_numbers, spawn, Setup, DUE};
use crate::{proxy, Args, ACCOUNT, FUNCTIONS, PIN, PROT_ACCOUNT, PROT_TENANT, TENANT, WRONG_PIN};
use serde_json::{json, Value};

/// One entry per scenario: function, label, status, response, calls.
pub fn run(
    a: &Args,
    table: &str,
    suffix: &str,
    s: &mut Setup,
    hooks: &Hooks,
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
    let mut run = |f: &mut Function, label: &str, req: Value, expect: i64| -> Value {
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
                             "response": out.body.clone(), "calls": calls}),
        );
        out.body
    };
    let admin = |method: &str, path: &str, body: Value| {
        api_event(method, path, Some(("admin", TENANT)), &body, &[])
    };
    let body_of = |answer: &Value| -> Value {
        serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
    };
    let mut f = spawn(a, "set-pin", &penv);
    run(
        &mut f,
        "PUT /v1/pin (set or change the PIN)",
        ctx.set_pin(),
        200,
    );
    run(&mut f, "GET /v1/pin", ctx.get_pin(), 200);
    // contract §11: lock one number; the port-out below asks for it.
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
    // contract §11: the protection settings and the numbers.
    run(
        &mut f,
        "GET /v1/port-out-protection",
        admin("GET", "/v1/port-out-protection", Value::Null),
        200,
    );
    run(
        &mut f,
        "PATCH /v1/port-out-protection (tenant lock on)",
        api_event(
            "PATCH",
            "/v1/port-out-protection",
            Some(("admin", PROT_TENANT)),
            &json!({"lock": true}),
            &[],
        ),
        200,
    );
    run(
        &mut f,
        "GET /v1/numbers (a page of 50)",
        admin("GET", "/v1/numbers?limit=50", Value::Null),
        200,
    );
    run(
        &mut f,
        "GET /v1/numbers/{n} (one number and its lock)",
        admin("GET", &format!("/v1/numbers/{locked_number}"), Value::Null),
        200,
    );
    // contract §12: a transfer PIN for one number (the port-out below uses it),
    // the list, and one revoked.
    let tp_number = ctx.number();
    let issued = run(
        &mut f,
        "POST /v1/transfer-pins (one number)",
        admin(
            "POST",
            "/v1/transfer-pins",
            json!({"phoneNumbers": [tp_number]}),
        ),
        201,
    );
    let transfer_pin = body_of(&issued)["pin"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    run(
        &mut f,
        "GET /v1/transfer-pins",
        admin("GET", "/v1/transfer-pins", Value::Null),
        200,
    );
    let spare = ctx.number();
    let other = run(
        &mut f,
        "POST /v1/transfer-pins (for the revoke below)",
        admin(
            "POST",
            "/v1/transfer-pins",
            json!({"phoneNumbers": [spare]}),
        ),
        201,
    );
    let other_id = body_of(&other)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    run(
        &mut f,
        "DELETE /v1/transfer-pins/{id} (revoke)",
        admin(
            "DELETE",
            &format!("/v1/transfer-pins/{other_id}"),
            Value::Null,
        ),
        200,
    );
    // contract §14: the tenant's endpoint.
    let hook = format!("{}/hook/{TENANT}", hooks.url.trim_end_matches('/'));
    run(
        &mut f,
        "PUT /v1/notification-endpoint (create)",
        admin("PUT", "/v1/notification-endpoint", json!({"url": hook})),
        200,
    );
    run(
        &mut f,
        "GET /v1/notification-endpoint",
        admin("GET", "/v1/notification-endpoint", Value::Null),
        200,
    );
    run(
        &mut f,
        "DELETE /v1/notification-endpoint",
        admin("DELETE", "/v1/notification-endpoint", Value::Null),
        204,
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
        port_out(ACCOUNT, PIN, &locked_number, None),
        422,
    );
    run(
        &mut f,
        "locked account (tenant lock: PORT_OUT_LOCKED)",
        port_out(PROT_ACCOUNT, PIN, &prot_numbers()[0], None),
        422,
    );
    run(
        &mut f,
        "accepted port-out with a transfer PIN (consumed)",
        port_out(ACCOUNT, &transfer_pin, &tp_number, None),
        201,
    );
    run(
        &mut f,
        "POST /v1/port-outs/{id}/reject (the tenant rejects)",
        admin(
            "POST",
            &format!("/v1/port-outs/{}/reject", order_for[6]),
            json!({"reason": "not requested"}),
        ),
        200,
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
    let mut f = spawn(a, "notifier", &penv);
    run(
        &mut f,
        "stream record, tenant with an endpoint (one delivery)",
        batch(&hooks.tenants[..1]).0,
        200,
    );
    run(
        &mut f,
        "stream record, tenant without an endpoint",
        batch(std::slice::from_ref(&hooks.no_endpoint_tenant)).0,
        200,
    );
    run(&mut f, "scheduled run (nothing due)", ctx.scheduled(), 200);
    f.stop();
    let mut floor = spawn(a, "floor-sdk", &penv);
    for function in FUNCTIONS {
        let op = ctx.floor_op(function);
        run(&mut floor, &format!("raw floor for {function}"), op, 200);
    }
    floor.stop();
    capacity
}
