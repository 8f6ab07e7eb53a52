//! Set-up before any measurement: the table, the bench tenant with its PIN
//! and numbers, a few open orders, the two closed-order tables, and how a
//! function process is started against them.

use crate::closed::closed_table;
use crate::requests::Ctx;
use crate::runtime::Function;
use crate::telnyx;
use crate::{
    Args, ACCOUNT, CARRIER, FLOOR_PIN_ACCOUNT, FLOOR_PIN_TENANT, PIN, PIN_TENANT, PROT_ACCOUNT,
    PROT_TENANT, TENANT,
};
use futures::{stream, StreamExt};
use portguard_secrets::PinHasher;
use portguard_store::{
    clock, clock::Timestamp, Actor, ActorKind, AuditEvent, AuditType, NewOrder, Order, Source,
    Store,
};
use portguard_validation::{PhoneNumber, Pin, TenantId};
use serde_json::Value;

/// What the phases share after set-up.
pub struct Setup {
    pub ctx: Ctx,
    /// Seven open orders: [0] for the warm webhooks, [1] for the floor's,
    /// [2..6] for the capacity scenarios' webhooks, [6] for the tenant's reject.
    pub orders: Vec<String>,
    /// Status-check tables of 1k and 10k closed orders (and `DUE` due ones).
    pub closed: Vec<(usize, Store)>,
    /// The functions' environment against the main table.
    pub env: Vec<(String, String)>,
}

pub async fn run(a: &Args, table: &str) -> Setup {
    let pepper = std::env::var("PIN_PEPPER").expect("PIN_PEPPER");
    let secrets: Value = serde_json::from_str(
        &std::env::var("CARRIER_WEBHOOK_SECRETS").expect("CARRIER_WEBHOOK_SECRETS"),
    )
    .expect("json");
    let hasher = PinHasher::from_secret(&pepper, "PIN_PEPPER").expect("pepper");

    eprintln!("[bench] setup: table {table}, tenant, numbers, orders, 1k/10k closed-order tables");
    let store = Store::connect(table).await;
    store.create_table().await.expect("create table");
    // Port-outs: a cold start each (plain), 1 + 5 each with TLS, the warm
    // phase (function and floor, and the arena diagnosis), Bandwidth's
    // (warm pairs; four per round of its cold starts), Telnyx's (a POST and
    // an event per round), capacity.
    let pool = numbers(a.cold * 14 + a.warm * 5 + 400);
    let pin_hash = provision(&store, &hasher, TENANT, ACCOUNT, &pool).await;
    // The tenant whose PIN set-pin changes, and the one whose port-out
    // protection the capacity phase turns on (its own numbers).
    provision(&store, &hasher, PIN_TENANT, "ACC-BENCH-PIN", &[]).await;
    provision(&store, &hasher, FLOOR_PIN_TENANT, FLOOR_PIN_ACCOUNT, &[]).await;
    provision(&store, &hasher, PROT_TENANT, PROT_ACCOUNT, &prot_numbers()).await;
    let mut ctx = Ctx {
        numbers: pool,
        next_number: 0,
        webhook: standardwebhooks::Webhook::new(
            secrets[CARRIER].as_str().expect("carrier-a secret"),
        )
        .expect("secret"),
        pin_hash,
        warm_order: String::new(),
        floor_order: String::new(),
        seq: 0,
        pin_changes: 0,
    };
    let mut orders = Vec::new();
    for _ in 0..7 {
        let n = ctx.number();
        orders.push(create_order(&store, &n).await);
    }
    ctx.warm_order = orders[0].clone();
    ctx.floor_order = orders[1].clone();
    let closed: Vec<(usize, Store)> = vec![
        (1_000, closed_table(&format!("{table}-1k"), 1_000).await),
        (10_000, closed_table(&format!("{table}-10k"), 10_000).await),
    ];
    Setup {
        ctx,
        orders,
        closed,
        env: env_for(a, &a.endpoint, table),
    }
}

/// The functions' environment against `endpoint` and `table`: the
/// development configuration (scripts/lib.sh) with every integration on, as
/// a stack that connects Bandwidth, Telnyx and alert emails runs: Telnyx's
/// API is the stand-in and SES the local one, both behind TLS.
pub fn env_for(a: &Args, endpoint: &str, table: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EC2_METADATA_DISABLED",
        "PIN_PEPPER",
        "CARRIER_WEBHOOK_SECRETS",
        "BANDWIDTH_CREDENTIALS",
        "ENDPOINT_SECRET_KEY",
        "LOG_LEVEL",
        "PENDING_EXPIRY_HOURS",
        "FOC_GRACE_HOURS",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
    .collect();
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.into()));
    env.push(("TABLE_NAME".into(), table.into()));
    // Notification endpoints on the loopback receiver (https://localhost).
    env.push(("NOTIFY_ALLOW_LOOPBACK_HTTP".into(), "true".into()));
    if let Ok(bundle) = std::env::var("BENCH_CA_BUNDLE") {
        env.push(("SSL_CERT_FILE".into(), bundle));
    }
    if let Some(api) = &a.telnyx_api {
        env.push(("TELNYX_PUBLIC_KEY".into(), telnyx::PUBLIC_KEY.into()));
        env.push(("TELNYX_API_KEY".into(), telnyx::API_KEY.into()));
        env.push(("TELNYX_API_BASE_URL".into(), api.clone()));
    }
    if let Some(ses) = &a.ses_url {
        env.push(("AWS_ENDPOINT_URL_SESV2".into(), ses.clone()));
        env.push((
            "ALERT_FROM_ADDRESS".into(),
            "alerts@portguard.localhost".into(),
        ));
        env.push((
            "CONSOLE_URL".into(),
            "https://console.portguard.localhost/".into(),
        ));
    }
    env
}

/// `PROT_TENANT`'s numbers (another exchange than the pool's).
pub fn prot_numbers() -> Vec<String> {
    (0..4).map(|i| format!("+1206555{:04}", 100 + i)).collect()
}

pub fn spawn(a: &Args, name: &str, env: &[(String, String)]) -> Function {
    let mut f = Function::spawn(
        name,
        &a.bins.join(name),
        env,
        &a.out.join(format!("{name}.log")),
    );
    f.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    f
}

fn numbers(count: usize) -> Vec<String> {
    (0..)
        .map(|i: usize| format!("+1206{:03}{:04}", 200 + i / 10_000, i % 10_000))
        .filter(|n| PhoneNumber::parse(n).is_ok())
        .take(count)
        .collect()
}

async fn provision(
    store: &Store,
    hasher: &PinHasher,
    tenant_id: &str,
    account: &str,
    numbers: &[String],
) -> String {
    let now = Timestamp::now();
    let tenant_id: TenantId = tenant_id.parse().expect("tenant id");
    store
        .put_tenant(&tenant_id, account, "US", Some("Bench tenant"), now)
        .await
        .expect("store")
        .expect("account");
    let added: Vec<_> = stream::iter(numbers)
        .map(|n| {
            let tenant_id = &tenant_id;
            async move {
                let number: PhoneNumber = n.parse().expect("number");
                store.add_number(tenant_id, &number, now).await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(added.iter().all(Result::is_ok), "numbers added");
    let tenant = store
        .get_tenant_ref(&tenant_id)
        .await
        .expect("store")
        .expect("tenant");
    let stored = hasher.hash(&Pin::parse_presented(PIN).expect("pin"));
    let actor = Actor {
        kind: ActorKind::TenantAdmin,
        id: Some("bench".into()),
    };
    let audit = AuditEvent::new(&tenant_id, clock::now(), AuditType::PinSet, actor);
    store
        .set_pin(&tenant, &stored.hash, &stored.pepper_version, now, &audit)
        .await
        .expect("set pin");
    stored.hash
}

async fn create_order(store: &Store, number: &str) -> String {
    let tenant = store
        .get_tenant(&TENANT.parse().expect("tenant id"))
        .await
        .expect("store")
        .expect("tenant");
    let order = Order::new(NewOrder {
        tenant_id: &tenant.tenant_id,
        carrier_id: &CARRIER.parse().expect("carrier id"),
        account_number: ACCOUNT,
        phone_numbers: vec![number.parse().expect("number")],
        pon: Some("PON-BENCH"),
        source: Source::Api,
        external_id: None,
        authorized_name: None,
        requested_foc_date: None,
        now: Timestamp::now(),
    });
    let actor = Actor {
        kind: ActorKind::Carrier,
        id: Some(CARRIER.into()),
    };
    let audit = AuditEvent::new(
        &tenant.tenant_id,
        clock::now(),
        AuditType::PortOutRequested,
        actor,
    )
    .port_out(&order.id);
    let out = store
        .create_order(&order, &tenant, None, &audit, None)
        .await
        .expect("create order");
    assert_eq!(out, portguard_store::orders::CreateOutcome::Created);
    order.id.to_string()
}
