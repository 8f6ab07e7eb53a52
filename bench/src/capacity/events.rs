//! The event-driven functions' scenarios: carrier webhooks through the
//! order's life cycle, status-check's scheduled runs (main table, and the
//! 1k and 10k closed-order tables), the notifier's stream records and
//! scheduled run; and `floor-sdk`'s raw calls for each function.

use super::Recorder;
use crate::alerts::Contacts;
use crate::closed::DUE;
use crate::notify::{batch, Hooks};
use crate::setup::{env_for, spawn, Setup};
use crate::{Args, FUNCTIONS};

pub fn webhooks(a: &Args, env: &[(String, String)], rec: &mut Recorder, s: &mut Setup) {
    let (ctx, orders) = (&mut s.ctx, &s.orders);
    let mut f = spawn(a, "carrier-webhook", env);
    let (ev, first_id) = ctx.webhook(&orders[2], "foc_confirmed", None);
    rec.record(&mut f, "pending → foc_confirmed", ev, 200);
    let steps = [
        (
            2,
            "foc_confirmed",
            "foc_confirmed → foc_confirmed (new FOC date)",
        ),
        (2, "completed", "foc_confirmed → completed (numbers leave)"),
        (3, "completed", "pending → completed"),
        (4, "cancelled", "pending → cancelled (numbers freed)"),
        (5, "rejected", "pending → rejected (numbers freed)"),
        (2, "completed", "completed → completed (unchanged)"),
    ];
    for (order, kind, label) in steps {
        let (ev, _) = ctx.webhook(&orders[order], kind, None);
        rec.record(&mut f, label, ev, 200);
    }
    let (ev, _) = ctx.webhook(&orders[2], "foc_confirmed", Some(&first_id));
    rec.record(&mut f, "duplicate webhook-id", ev, 200);
    f.stop();
}

pub fn status_check(a: &Args, env: &[(String, String)], rec: &mut Recorder, s: &mut Setup) {
    let mut f = spawn(a, "status-check", env);
    let label = "scheduled run, main table (nothing due)";
    rec.record(&mut f, label, s.ctx.scheduled(), 200);
    f.stop();
    let proxy = rec.proxy.url.clone();
    for (n, closed) in &s.closed {
        let mut f = spawn(a, "status-check", &env_for(a, &proxy, closed.table()));
        let label = format!("scheduled run, {n} closed orders + {DUE} due");
        rec.record(&mut f, &label, s.ctx.scheduled(), 200);
        f.stop();
    }
}

pub fn notifier(
    a: &Args,
    env: &[(String, String)],
    rec: &mut Recorder,
    s: &mut Setup,
    hooks: &Hooks,
    contacts: &Contacts,
) {
    let mut f = spawn(a, "notifier", env);
    let one = batch(&hooks.tenants[..1]).0;
    let label = "stream record, tenant with an endpoint (one delivery)";
    rec.record(&mut f, label, one, 200);
    if a.ses_url.is_some() {
        if let Some(tenant) = contacts.tenants.first() {
            let email = batch(std::slice::from_ref(tenant)).0;
            let label = "stream record, tenant with a confirmed alert contact (one email)";
            rec.record(&mut f, label, email, 200);
        }
    }
    let none = batch(std::slice::from_ref(&hooks.no_endpoint_tenant)).0;
    let label = "stream record, tenant without an endpoint";
    rec.record(&mut f, label, none, 200);
    let hundred = batch(&hooks.tenants).0;
    let label = "stream batch of 100 records, each tenant with an endpoint";
    rec.record(&mut f, label, hundred, 200);
    let label = "scheduled run (nothing due)";
    rec.record(&mut f, label, s.ctx.scheduled(), 200);
    f.stop();
}

pub fn floor(a: &Args, env: &[(String, String)], rec: &mut Recorder, s: &mut Setup) {
    let mut floor = spawn(a, "floor-sdk", env);
    for function in FUNCTIONS {
        let op = s.ctx.floor_op(function);
        rec.record(&mut floor, &format!("raw floor for {function}"), op, 200);
    }
    floor.stop();
}
