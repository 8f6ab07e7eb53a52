//! Phase 2, the cold first request with TLS: DynamoDB Local behind stunnel
//! with a certificate authority made for the run, trusted the standard way
//! (`SSL_CERT_FILE`: the system's roots and the run's CA, which the SDK's
//! rustls client loads as native roots). Every binary, round-robin, `--cold`
//! times: init, the first request (its TCP and TLS handshakes, unless init
//! opened the connection), then `WARM_SAME` more of the same request in the
//! same process, whose p50 the first request is compared with.

use crate::cold::{env_of, BINS};
use crate::notify::{batch, Hooks};
use crate::requests::{check, expected, Ctx};
use crate::runtime::Function;
use crate::{ms, Args, TENANT};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Warm invocations after the first, per cold start.
const WARM_SAME: usize = 5;

fn request(ctx: &mut Ctx, hooks: &Hooks, label: &str) -> Value {
    match label {
        "floor-sdk" | "floor-sdk-connect" => json!({"op": "get", "tenant": TENANT}),
        // One delivery to a live endpoint: the first also opens that HTTPS
        // connection, which no init can do (the endpoint is in the record).
        "notifier" => batch(&hooks.tenants[..1]).0,
        other => ctx.request(other),
    }
}

pub fn run(
    a: &Args,
    env: &[(String, String)],
    ctx: &mut Ctx,
    hooks: &Hooks,
    failures: &mut Vec<String>,
) -> HashMap<&'static str, Vec<Value>> {
    eprintln!("[bench] cold starts with TLS: {} rounds", a.cold);
    let mut out: HashMap<&str, Vec<Value>> = HashMap::new();
    for round in 0..=a.cold {
        // floor-hello has no DynamoDB connection to make.
        for (label, bin) in BINS.into_iter().skip(1) {
            let mut f = Function::spawn(
                label,
                &a.bins.join(bin),
                &env_of(label, env),
                &a.out.join(format!("{label}-tls.log")),
            );
            let init = f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
            let mut times = Vec::new();
            for _ in 0..=WARM_SAME {
                let req = request(ctx, hooks, label);
                let (d, o) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
                if label.starts_with("floor") {
                    if !o.ok {
                        failures.push(format!("{label} tls: {}", o.body));
                    }
                } else {
                    check(failures, &format!("{label} tls"), &o.body, expected(label));
                }
                times.push(ms(d));
            }
            let rss = f.peak_rss_kib();
            f.stop();
            if round > 0 {
                out.entry(label).or_default().push(json!({
                    "init_ms": ms(init), "first_ms": times[0], "warm_ms": times[1..], "rss_kib": rss
                }));
            }
        }
    }
    out
}
