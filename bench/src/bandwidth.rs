//! Bandwidth's door (contract §15): its validation beside portguard's own
//! right-PIN `POST /v1/port-outs` in one submit-port-out process, one for
//! one, warm; then cold totals with TLS (init + the first answer), a
//! process started for a validation beside one started for a POST, in
//! turn.

use crate::requests::{api_event, check, Ctx};
use crate::runtime::Function;
use crate::{ms, Args, ACCOUNT, PIN};
use serde_json::{json, Value};

/// `bandwidth:portguard-dev-bandwidth-NOT-A-SECRET` (scripts/lib.sh).
const BASIC: &str = "Basic YmFuZHdpZHRoOnBvcnRndWFyZC1kZXYtYmFuZHdpZHRoLU5PVC1BLVNFQ1JFVA==";

/// A validation request for one fresh number of the bench tenant.
pub fn validation(ctx: &mut Ctx) -> Value {
    let number = ctx.number();
    let body = format!(
        "<PortOutValidationRequest><PON>PON-BENCH</PON><Pin>{PIN}</Pin>\
         <AccountNumber>{ACCOUNT}</AccountNumber><TelephoneNumbers>\
         <TelephoneNumber>{}</TelephoneNumber></TelephoneNumbers></PortOutValidationRequest>",
        &number[2..]
    );
    let mut ev = api_event(
        "POST",
        "/v1/integrations/bandwidth/port-out-validation",
        None,
        &Value::Null,
        &[("authorization", BASIC.to_owned())],
    );
    ev["headers"]["content-type"] = json!("application/xml");
    ev["body"] = json!(body);
    ev
}

fn portable(failures: &mut Vec<String>, what: &str, out: &Value) {
    let body = out["body"].as_str().unwrap_or("");
    if !body.contains("<Portable>true</Portable>") && failures.len() < 20 {
        failures.push(format!("{what}: expected Portable true, got {out}"));
    }
}

/// Warm pairs on `env`, then `a.cold` cold starts on `tls_env`.
pub fn run(
    a: &Args,
    env: &[(String, String)],
    tls_env: &[(String, String)],
    ctx: &mut Ctx,
    failures: &mut Vec<String>,
) -> Value {
    let pairs = (a.warm / 2).max(5);
    eprintln!(
        "[bench] bandwidth: {pairs} validations beside as many right-PIN POSTs, then cold with TLS"
    );
    let mut f = Function::spawn(
        "submit-port-out",
        &a.bins.join("submit-port-out"),
        env,
        &a.out.join("bandwidth.log"),
    );
    f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..5 {
        f.invoke(&ctx.port_out(PIN, None)).expect("warm-up");
        f.invoke(&validation(ctx)).expect("warm-up");
    }
    let (mut post, mut bw) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        let (d, out) = f
            .invoke(&ctx.port_out(PIN, None))
            .unwrap_or_else(|e| panic!("{e}"));
        check(
            failures,
            "POST /v1/port-outs beside bandwidth",
            &out.body,
            201,
        );
        post.push(ms(d));
        let (d, out) = f.invoke(&validation(ctx)).unwrap_or_else(|e| panic!("{e}"));
        portable(failures, "bandwidth warm", &out.body);
        bw.push(ms(d));
    }
    f.stop();
    let (cold, post_cold) = cold_starts(a, tls_env, ctx, failures);
    json!({"post_ms": post, "validation_ms": bw, "cold_tls": cold, "post_cold_tls": post_cold})
}

/// `a.cold` rounds (after one unmeasured) of two cold starts with TLS: one
/// answering a validation first, one a right-PIN POST; each then answers
/// the same request once more (warm).
fn cold_starts(
    a: &Args,
    tls_env: &[(String, String)],
    ctx: &mut Ctx,
    failures: &mut Vec<String>,
) -> (Vec<Value>, Vec<Value>) {
    let (mut cold, mut post_cold) = (Vec::new(), Vec::new());
    for round in 0..=a.cold {
        for door in ["bandwidth", "post"] {
            let mut f = Function::spawn(
                "submit-port-out",
                &a.bins.join("submit-port-out"),
                tls_env,
                &a.out.join("bandwidth-tls.log"),
            );
            let init = f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
            let mut times = Vec::new();
            for _ in 0..2 {
                let req = match door {
                    "bandwidth" => validation(ctx),
                    _ => ctx.port_out(PIN, None),
                };
                let (d, out) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
                match door {
                    "bandwidth" => portable(failures, "bandwidth cold-tls", &out.body),
                    _ => check(failures, "POST cold-tls beside bandwidth", &out.body, 201),
                }
                times.push(ms(d));
            }
            f.stop();
            // The first round warms the page cache and DynamoDB Local.
            let sample = json!({"init_ms": ms(init), "first_ms": times[0], "warm_ms": times[1]});
            match (round, door) {
                (0, _) => {}
                (_, "bandwidth") => cold.push(sample),
                _ => post_cold.push(sample),
            }
        }
    }
    (cold, post_cold)
}
