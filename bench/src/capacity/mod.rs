//! Phase 4, capacity and round trips: every binary again with DynamoDB behind
//! the recording proxy (`ReturnConsumedCapacity: INDEXES`); per scenario each
//! call, when it started and ended (so calls issued together count as one
//! sequential step), and its consumed capacity; status-check over the tables
//! of closed orders.
//!
//! One file per group of scenarios: `set_pin` (the admin API),
//! `port_outs` (every door of submit-port-out), `events` (carrier webhooks,
//! status-check, the notifier and the raw floor).

mod events;
mod port_outs;
mod set_pin;

use crate::alerts::Contacts;
use crate::notify::Hooks;
use crate::proxy::Proxy;
use crate::requests::status_of;
use crate::runtime::Function;
use crate::setup::{env_for, Setup};
use crate::Args;
use serde_json::{json, Value};

/// Runs scenarios against the proxy and keeps one row per scenario.
pub struct Recorder<'f> {
    proxy: Proxy,
    rows: Vec<Value>,
    failures: &'f mut Vec<String>,
}

impl Recorder<'_> {
    /// Invokes `f` with `req`, records every call it made and checks the
    /// answer's status (a floor's: 200 when it succeeded); the answer.
    pub fn record(&mut self, f: &mut Function, label: &str, req: Value, expect: i64) -> Value {
        self.proxy.take();
        let (_, out) = f.invoke(&req).unwrap_or_else(|e| panic!("{e}"));
        let calls = self.proxy.take();
        let status = match (f.name.starts_with("floor"), out.ok) {
            (true, true) => 200,
            (true, false) => 500,
            (false, _) => status_of(&out.body),
        };
        if status != expect {
            self.failures.push(format!(
                "capacity {label}: expected {expect}, got {}",
                out.body
            ));
        }
        self.rows.push(
            json!({"function": f.name, "scenario": label, "status": status,
                              "response": out.body.clone(), "calls": calls}),
        );
        out.body
    }
}

/// The JSON body of an API answer.
pub fn body_of(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

/// One entry per scenario: function, label, status, response, calls.
pub fn run(
    a: &Args,
    table: &str,
    s: &mut Setup,
    hooks: &Hooks,
    contacts: &Contacts,
    failures: &mut Vec<String>,
) -> Vec<Value> {
    eprintln!("[bench] capacity: every scenario through the recording proxy");
    let upstream = a
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(&upstream);
    let env = env_for(a, &proxy.url, table);
    let mut rec = Recorder {
        proxy,
        rows: Vec::new(),
        failures,
    };
    let made = set_pin::run(a, &env, &mut rec, &mut s.ctx, hooks);
    port_outs::run(a, &env, &mut rec, s, &made);
    events::webhooks(a, &env, &mut rec, s);
    events::status_check(a, &env, &mut rec, s);
    events::notifier(a, &env, &mut rec, s, hooks, contacts);
    events::floor(a, &env, &mut rec, s);
    rec.rows
}
