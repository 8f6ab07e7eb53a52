//! Floor 2 (the SDK floor): floor 1 plus `aws_config::load` and a DynamoDB
//! client built at init, configured like `portguard_store::Store::connect`
//! (the same HTTPS client, the same time limits and retries).
//!
//! Its handler makes, directly through the SDK, the same DynamoDB calls a
//! function makes for one request (same items, same conditions, no Argon2,
//! no validation, no HTTP event parsing), so the driver can put each
//! function's warm latency beside the floor for that work:
//!
//! | `op` | calls |
//! |---|---|
//! | `noop` | none |
//! | `get` | GetItem tenant pointer |
//! | `set-pin` | with `account`: GetItem tenant record (the stored hash) and Query GSI2 (the tenant's numbers) together; TransactWriteItems (Update tenant record, Update pointer, Put audit). Without it, GetItem tenant pointer first |
//! | `port-out` | BatchGetItem tenant record (by account) and the number, strongly consistent; TransactWriteItems (Update record: `lastOrderAt` and `stateVersion`, Put order, Update number, Put audit) |
//! | `webhook` | GetItem order; TransactWriteItems (Update order, Put audit, Put dedupe) |
//! | `status-check` | Query OpenOrders `OPEN#pending` and Query OpenOrders `OPEN#foc_confirmed` together |
//! | `send-email` | SES v2 SendEmail (`from`, `to`), its client built on first use |
//! | `slot` | UpdateItem of an alert contact's window (conditional, ALL_OLD), as the notifier takes a slot |
//!
//! With `FLOOR_CONNECT_AT_INIT=1` it is the twin that opens its connection
//! during init, as the functions do (`Store::open_connection`: one GetItem of
//! an item that never exists, at most 1 s, its outcome ignored).

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion};
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

type Item = HashMap<String, Av>;

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

fn key(pk: impl Into<String>, sk: &str) -> Item {
    HashMap::from([("PK".into(), s(pk)), ("SK".into(), s(sk))])
}

fn arg<'a>(event: &'a Value, name: &str) -> &'a str {
    event[name].as_str().unwrap_or_default()
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formattable")
}

fn audit(tenant: &str, kind: &str, actor: &str, table: &str) -> TransactWriteItem {
    let mut item = key(
        format!("TENANT#{tenant}"),
        &format!("AUDIT#{}", ulid::Ulid::new()),
    );
    for (k, v) in [
        ("id", format!("ae_{}", ulid::Ulid::new())),
        ("time", now()),
        ("type", kind.to_owned()),
        ("actorKind", "carrier".to_owned()),
        ("actorId", actor.to_owned()),
        ("sourceIp", "203.0.113.7".to_owned()),
    ] {
        item.insert(k.into(), s(v));
    }
    put(item, None, table)
}

fn put(item: Item, condition: Option<&str>, table: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_owned))
                .build()
                .expect("complete put"),
        )
        .build()
}

async fn get(client: &Client, table: &str, key: Item) -> Result<Option<Item>, Error> {
    Ok(client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await?
        .item)
}

/// `set-pin`: with the tenant's `account` in the event (a warm set-pin
/// remembers it), the record and the numbers read together, then the
/// transaction: 2 sequential round trips. Without it, the pointer first.
async fn set_pin(client: &Client, table: &str, event: &Value) -> Result<(), Error> {
    let tenant = arg(event, "tenant");
    let account = match arg(event, "account") {
        "" => {
            let pointer = get(client, table, key(format!("TENANT#{tenant}"), "TENANT")).await?;
            pointer
                .as_ref()
                .and_then(|p| p.get("accountNumber"))
                .and_then(|a| a.as_s().ok())
                .ok_or("no tenant pointer")?
                .clone()
        }
        known => known.to_owned(),
    };
    // PIN_UNCHANGED needs the stored hash, the `known` rule the numbers.
    let record = get(client, table, key(format!("ACCOUNT#{account}"), "ACCOUNT"));
    let numbers = client
        .query()
        .table_name(table)
        .index_name("GSI2")
        .key_condition_expression("GSI2PK = :pk AND begins_with(GSI2SK, :prefix)")
        .expression_attribute_values(":pk", s(format!("TENANT#{tenant}")))
        .expression_attribute_values(":prefix", s("NUMBER#"))
        .send();
    let (record, numbers) = futures::join!(record, numbers);
    record?;
    numbers?;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(format!("ACCOUNT#{account}"), "ACCOUNT")))
        .update_expression("SET pinHash = :h, pinPepperVersion = :v, pinUpdatedAt = :u, failedAttempts = :zero, stateVersion = stateVersion + :one REMOVE lockedUntil")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":h", s(arg(event, "hash")))
        .expression_attribute_values(":v", s("v1"))
        .expression_attribute_values(":u", s(now()))
        .expression_attribute_values(":zero", Av::N("0".into()))
        .expression_attribute_values(":one", Av::N("1".into()))
        .build()?;
    let mark = Update::builder()
        .table_name(table)
        .set_key(Some(key(format!("TENANT#{tenant}"), "TENANT")))
        .update_expression("SET pinSet = :true")
        .condition_expression("accountNumber = :a")
        .expression_attribute_values(":true", Av::Bool(true))
        .expression_attribute_values(":a", s(account))
        .build()?;
    client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(update).build())
        .transact_items(TransactWriteItem::builder().update(mark).build())
        .transact_items(audit(tenant, "pin.changed", "admin", table))
        .send()
        .await?;
    Ok(())
}

/// `port-out`: the tenant record, then the order's transaction.
async fn port_out(client: &Client, table: &str, event: &Value) -> Result<(), Error> {
    let (tenant, account) = (arg(event, "tenant"), arg(event, "account"));
    let (number, carrier) = (arg(event, "number"), arg(event, "carrier"));
    let keys = KeysAndAttributes::builder()
        .keys(key(format!("ACCOUNT#{account}"), "ACCOUNT"))
        .keys(key(format!("NUMBER#{number}"), "NUMBER"))
        .consistent_read(true)
        .build()?;
    client
        .batch_get_item()
        .request_items(table, keys)
        .send()
        .await?;
    let id = format!("po_{}", ulid::Ulid::new());
    let created = now();
    let mut order = key(format!("ORDER#{id}"), "ORDER");
    for (k, v) in [
        ("GSI1PK", format!("CARRIER#{carrier}")),
        ("GSI1SK", format!("ORDER#{id}")),
        ("GSI2PK", format!("TENANT#{tenant}")),
        ("GSI2SK", format!("ORDER#{id}")),
        ("OPENPK", "OPEN#pending".to_owned()),
        ("OPENSK", format!("{created}#{id}")),
        ("id", id.clone()),
        ("status", "pending".into()),
        ("tenantId", tenant.into()),
        ("carrierId", carrier.into()),
        ("accountNumber", account.into()),
        ("pon", "PON-BENCH".into()),
        ("createdAt", created.clone()),
        ("updatedAt", created.clone()),
    ] {
        order.insert(k.into(), s(v));
    }
    order.insert("phoneNumbers".into(), Av::L(vec![s(number)]));
    order.insert("version".into(), Av::N("0".into()));
    // The function's guard: the record's version moves, so a decision
    // taken on the state read meanwhile is taken again.
    let guard = Update::builder()
        .table_name(table)
        .set_key(Some(key(format!("ACCOUNT#{account}"), "ACCOUNT")))
        .update_expression("SET lastOrderAt = :at, stateVersion = stateVersion + :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(
            ":at",
            Av::N(time::OffsetDateTime::now_utc().unix_timestamp().to_string()),
        )
        .expression_attribute_values(":one", Av::N("1".into()))
        .build()?;
    let reserve = Update::builder()
        .table_name(table)
        .set_key(Some(key(format!("NUMBER#{number}"), "NUMBER")))
        .update_expression("SET openPortOutId = :id")
        .condition_expression("tenantId = :t AND attribute_not_exists(openPortOutId)")
        .expression_attribute_values(":id", s(&id))
        .expression_attribute_values(":t", s(tenant))
        .build()?;
    client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(guard).build())
        .transact_items(put(order, Some("attribute_not_exists(PK)"), table))
        .transact_items(TransactWriteItem::builder().update(reserve).build())
        .transact_items(audit(tenant, "port_out.requested", carrier, table))
        .send()
        .await?;
    Ok(())
}

/// `webhook`: the order, then its transaction with the dedupe record.
async fn webhook(client: &Client, table: &str, event: &Value) -> Result<(), Error> {
    let (tenant, carrier) = (arg(event, "tenant"), arg(event, "carrier"));
    let (order_id, webhook_id) = (arg(event, "order"), arg(event, "webhookId"));
    get(client, table, key(format!("ORDER#{order_id}"), "ORDER")).await?;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(format!("ORDER#{order_id}"), "ORDER")))
        .update_expression("SET focDate = :f, updatedAt = :u, version = version + :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":f", s(arg(event, "focDate")))
        .expression_attribute_values(":u", s(now()))
        .expression_attribute_values(":one", Av::N("1".into()))
        .build()?;
    let mut dedupe = key(format!("WEBHOOK#{carrier}#{webhook_id}"), "WEBHOOK");
    dedupe.insert("result".into(), s("applied"));
    dedupe.insert("expiresAt".into(), Av::N("4102444800".into()));
    client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(update).build())
        .transact_items(audit(tenant, "port_out.status_changed", carrier, table))
        .transact_items(put(dedupe, Some("attribute_not_exists(PK)"), table))
        .send()
        .await?;
    Ok(())
}

/// `status-check`: one Query per open status, both at once (as the
/// function reads the first page of each).
async fn status_check(client: &Client, table: &str, event: &Value) -> Result<(), Error> {
    let query = |status: &str, cutoff: &str| {
        client
            .query()
            .table_name(table)
            .index_name("OpenOrders")
            .key_condition_expression("OPENPK = :pk AND OPENSK < :cutoff")
            .expression_attribute_values(":pk", s(status))
            .expression_attribute_values(":cutoff", s(cutoff))
            .limit(100)
            .send()
    };
    let (pending, foc) = futures::join!(
        query("OPEN#pending", arg(event, "pendingCutoff")),
        query("OPEN#foc_confirmed", arg(event, "focCutoff")),
    );
    pending?;
    foc?;
    Ok(())
}

/// `slot`: an alert contact's hourly slot taken, as the notifier takes it
/// before an email: one conditional UpdateItem of the contact's window,
/// ALL_OLD (`key`: the item's partition key, created on the first call).
async fn slot(client: &Client, table: &str, event: &Value) -> Result<(), Error> {
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key(arg(event, "key").to_owned(), "ALERTCONTACT#slot")))
        .update_expression(
            "SET windowCount = if_not_exists(windowCount, :zero) + :one REMOVE leftOut",
        )
        .condition_expression("attribute_not_exists(windowCount) OR windowCount < :max")
        .expression_attribute_values(":zero", Av::N("0".into()))
        .expression_attribute_values(":one", Av::N("1".into()))
        .expression_attribute_values(":max", Av::N("1000000".into()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await?;
    Ok(())
}

/// The SES client, built on the first `send-email` (from the same
/// configuration as the DynamoDB client): the other ops' floors, and the
/// RSS floor, carry none of it.
static SES: std::sync::OnceLock<aws_sdk_sesv2::Client> = std::sync::OnceLock::new();
static CONFIG: std::sync::OnceLock<aws_config::SdkConfig> = std::sync::OnceLock::new();

/// `send-email`: one SendEmail through the SDK, a text and an HTML part as
/// an alert has (`to`, `from`).
async fn send_email(event: &Value) -> Result<(), Error> {
    use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
    let ses = SES.get_or_init(|| aws_sdk_sesv2::Client::new(CONFIG.get().expect("configured")));
    let content = |data: &str| Content::builder().data(data).charset("UTF-8").build();
    let email = Message::builder()
        .subject(content("portguard: port_out.rejected")?)
        .body(
            Body::builder()
                .text(content("A port-out was rejected.")?)
                .html(content("<p>A port-out was rejected.</p>")?)
                .build(),
        )
        .build();
    ses.send_email()
        .from_email_address(arg(event, "from"))
        .destination(
            Destination::builder()
                .to_addresses(arg(event, "to"))
                .build(),
        )
        .content(EmailContent::builder().simple(email).build())
        .send()
        .await?;
    Ok(())
}

async fn handle(client: &Client, table: &str, event: Value) -> Result<Value, Error> {
    let op = arg(&event, "op");
    match op {
        "noop" => {}
        "get" => {
            let tenant = arg(&event, "tenant");
            get(client, table, key(format!("TENANT#{tenant}"), "TENANT")).await?;
        }
        "set-pin" => set_pin(client, table, &event).await?,
        "port-out" => port_out(client, table, &event).await?,
        "webhook" => webhook(client, table, &event).await?,
        "status-check" => status_check(client, table, &event).await?,
        "send-email" => send_email(&event).await?,
        "slot" => slot(client, table, &event).await?,
        other => return Err(format!("unknown op {other:?}").into()),
    }
    Ok(json!({"op": op}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let table = std::env::var("TABLE_NAME")?;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(portguard_store::https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1_000))
                .operation_attempt_timeout(Duration::from_millis(2_000))
                .operation_timeout(Duration::from_millis(5_000))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await;
    let client = Client::new(&config);
    let _ = CONFIG.set(config);
    if std::env::var("FLOOR_CONNECT_AT_INIT").as_deref() == Ok("1") {
        let get = client
            .get_item()
            .table_name(&table)
            .set_key(Some(key("TENANT#warm-up", "WARM-UP")))
            .projection_expression("PK")
            .send();
        let _ = tokio::time::timeout(Duration::from_secs(1), get).await;
    }
    let (client, table) = (&client, table.as_str());
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(client, table, event.payload).await
    }))
    .await
}
