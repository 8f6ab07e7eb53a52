//! Helpers shared by the hardening tests (hostile, faults, load, fraud,
//! secrets): all four functions over one table, Standard Webhooks signing
//! done independently of the function (hmac + sha2), the error-envelope
//! check, and a whole-table consistency audit.
#![allow(dead_code)]

pub use crate::sign;
use crate::{
    answer, event, event_with, hasher, items_with_prefix, provision, request, Answer, As,
    WEBHOOK_SECRETS,
};
use aws_sdk_dynamodb::types::AttributeValue;
use portguard_rules::LockPolicy;
use portguard_secrets::WebhookSecrets;
use portguard_store::Store;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

// Not every test binary uses every one (as with the dead_code allowance above).
#[allow(unused_imports)]
pub use crate::fixtures::{ACCOUNT, PIN, SECRET_A, SECRET_B, TENANT, WRONG_PIN as WRONG};

/// `count` numbers of one exchange, E.164 (`+1206555{start+i:04}`).
pub fn numbers(area: &str, start: usize, count: usize) -> Vec<String> {
    (start..start + count)
        .map(|i| format!("+1{area}555{i:04}"))
        .collect()
}

/// The four functions over one table.
pub struct Apps {
    pub store: Store,
    pub pin: set_pin::App,
    pub submit: submit_port_out::App,
    pub webhook: carrier_webhook::App,
    pub check: status_check::App,
}

pub fn apps(store: &Store, policy: LockPolicy) -> Arc<Apps> {
    apps_with(
        store,
        submit_port_out::App::new(store.clone(), hasher(), policy).with_bandwidth(bandwidth_door()),
    )
}

/// The four functions, submit-port-out with Telnyx's door too, its calls
/// going to the stand-in at `telnyx_base_url`.
pub fn apps_with_telnyx(store: &Store, policy: LockPolicy, telnyx_base_url: &str) -> Arc<Apps> {
    apps_with(
        store,
        submit_port_out::App::new(store.clone(), hasher(), policy)
            .with_bandwidth(bandwidth_door())
            .with_telnyx(telnyx_door(telnyx_base_url)),
    )
}

fn apps_with(store: &Store, submit: submit_port_out::App) -> Arc<Apps> {
    Arc::new(Apps {
        store: store.clone(),
        pin: set_pin::App::new(store.clone(), hasher()),
        submit,
        webhook: carrier_webhook::App::new(
            store.clone(),
            WebhookSecrets::from_secret(WEBHOOK_SECRETS, "CARRIER_WEBHOOK_SECRETS").unwrap(),
        ),
        check: status_check::App::new(
            store.clone(),
            portguard_rules::expiry::ExpiryPolicy {
                pending_expiry_hours: 168,
                foc_grace_hours: 72,
            },
        ),
    })
}

/// Bandwidth's door as `make dev` configures it (carrier id `bandwidth`).
pub fn bandwidth_door() -> submit_port_out::Bandwidth {
    submit_port_out::Bandwidth {
        credentials: portguard_secrets::BasicCredentials::from_secret(
            crate::BANDWIDTH_CREDENTIALS,
            "BANDWIDTH_CREDENTIALS",
        )
        .unwrap(),
        carrier: portguard_validation::CarrierId::parse(BANDWIDTH).unwrap(),
        deadline: submit_port_out::BANDWIDTH_DEADLINE,
    }
}

/// Telnyx's door as `make dev` configures it (carrier id `telnyx`), its
/// API at `base_url` (a stand-in).
pub fn telnyx_door(base_url: &str) -> submit_port_out::Telnyx {
    use crate::fixtures::{TELNYX_API_KEY, TELNYX_PUBLIC_KEY};
    submit_port_out::Telnyx {
        key: portguard_telnyx::PublicKey::parse(TELNYX_PUBLIC_KEY).unwrap(),
        api: portguard_telnyx::TelnyxApi::new(base_url, TELNYX_API_KEY).unwrap(),
        carrier: portguard_validation::CarrierId::parse(TELNYX).unwrap(),
    }
}

/// The carrier id Telnyx's port-outs count, order and audit as.
pub const TELNYX: &str = "telnyx";
pub const TX_EVENTS: &str = "/v1/integrations/telnyx/port-out-events";

/// A stand-in for Telnyx's API on a free loopback port.
pub async fn telnyx_stand_in() -> telnyx_stand_in::StandIn {
    telnyx_stand_in::StandIn::start(
        "127.0.0.1:0".parse().unwrap(),
        crate::fixtures::TELNYX_API_KEY,
    )
    .await
    .unwrap()
}

/// A POST to Telnyx's route with the given signature headers (`None`: no
/// header).
pub fn tx_event_with(body: &str, timestamp: Option<&str>, signature: Option<&str>) -> Value {
    let mut headers = Vec::new();
    headers.extend(timestamp.map(|t| ("telnyx-timestamp", t)));
    headers.extend(signature.map(|s| ("telnyx-signature-ed25519", s)));
    event_with("POST", TX_EVENTS, "", As::Nobody, Some(body), &headers)
}

/// A POST to Telnyx's route signed now with the development key.
pub fn tx_signed(body: &str) -> Value {
    let now = portguard_store::clock::now();
    let sig =
        telnyx_stand_in::sign(crate::fixtures::TELNYX_PRIVATE_KEY, now, body.as_bytes()).unwrap();
    tx_event_with(body, Some(&now.to_string()), Some(&sig))
}

/// A `portout.status_changed` body; `pin` `None` sends no `attempted_pin`.
pub fn tx_status(
    event_id: &str,
    port_out_id: &str,
    status: &str,
    nums: &[String],
    pin: Option<&str>,
) -> String {
    telnyx_stand_in::event_body(
        event_id,
        "portout.status_changed",
        port_out_id,
        Some(status),
        nums,
        pin,
        None,
    )
}

/// The carrier id Bandwidth's requests count, order and audit as.
pub const BANDWIDTH: &str = "bandwidth";
pub const BW_VALIDATION: &str = "/v1/integrations/bandwidth/port-out-validation";
pub const BW_NOTIFICATIONS: &str = "/v1/integrations/bandwidth/notifications";

/// `<TelephoneNumber>` elements of `nums`, as 10 national digits.
pub fn bw_numbers(nums: &[String]) -> String {
    nums.iter()
        .map(|n| {
            format!(
                "<TelephoneNumber>{}</TelephoneNumber>",
                n.trim_start_matches("+1")
            )
        })
        .collect()
}

/// A port-out validation request as Bandwidth sends it; numbers as 10
/// national digits (an E.164 `+1…` given is cut to them).
pub fn bw_request(account: &str, pin: &str, pon: &str, nums: &[String]) -> String {
    let numbers = bw_numbers(nums);
    format!(
        "<PortOutValidationRequest><PON>{pon}</PON><Pin>{pin}</Pin>\
         <AccountNumber>{account}</AccountNumber><ZipCode>98101</ZipCode>\
         <SubscriberName>Example Corp</SubscriberName>\
         <TelephoneNumbers>{numbers}</TelephoneNumbers></PortOutValidationRequest>"
    )
}

/// A POST of `body` to a Bandwidth route with `authorization` (none: no
/// header).
pub fn bw_event(path: &str, body: &str, authorization: Option<&str>) -> Value {
    let mut headers = vec![("content-type", "application/xml")];
    headers.extend(authorization.map(|a| ("authorization", a)));
    event_with("POST", path, "", As::Nobody, Some(body), &headers)
}

/// What Bandwidth reads in a validation answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub portable: bool,
    pub pon: Option<String>,
    /// `Code` of the one `Error`.
    pub code: Option<u16>,
    pub description: Option<String>,
}

impl Verdict {
    /// The verdict of an XML answer; `None` for any other.
    pub fn read(a: &Answer) -> Option<Verdict> {
        (a.headers.get("content-type").map(String::as_str) == Some("application/xml"))
            .then(|| Verdict::of(a))
    }

    /// Read from the XML independently of the function's own types.
    pub fn of(a: &Answer) -> Verdict {
        assert_eq!(a.status, 200, "{}", a.raw);
        assert_eq!(a.headers["content-type"], "application/xml", "{}", a.raw);
        let between = |open: &str, close: &str| {
            let start = a.raw.find(open)? + open.len();
            let end = a.raw[start..].find(close)? + start;
            Some(a.raw[start..end].to_owned())
        };
        assert!(!a.raw.contains("AcceptableValues"), "{}", a.raw);
        assert!(a.raw.matches("<Error>").count() <= 1, "{}", a.raw);
        Verdict {
            portable: between("<Portable>", "</Portable>").expect("Portable") == "true",
            pon: between("<PON>", "</PON>"),
            code: between("<Code>", "</Code>").map(|c| c.parse().expect("a numeric code")),
            description: between("<Description>", "</Description>"),
        }
    }
}

/// Sends a validation request with the right credentials.
pub async fn bw_validate(apps: &Apps, body: &str) -> Verdict {
    let a = send_submit(
        apps,
        &bw_event(BW_VALIDATION, body, Some(crate::BANDWIDTH_BASIC)),
    )
    .await;
    let v = Verdict::of(&a);
    assert_eq!(v.portable, v.code.is_none(), "{}", a.raw);
    v
}

pub const EASY: LockPolicy = LockPolicy {
    max_failed_attempts: 5,
    lockout_seconds: 3600,
};

/// A tenant with a PIN and `nums` on its account.
pub async fn tenant_with_pin(
    apps: &Apps,
    tenant: &'static str,
    account: &str,
    pin: &str,
    nums: &[String],
) {
    let refs: Vec<&str> = nums.iter().map(String::as_str).collect();
    provision(&apps.store, tenant, account, "US", &refs).await;
    let a = put_pin(apps, tenant, pin).await;
    assert_eq!(a.status, 200, "{}", a.raw);
}

pub async fn put_pin(apps: &Apps, tenant: &'static str, pin: &str) -> Answer {
    let body = json!({ "pin": pin }).to_string();
    send_pin(
        apps,
        &event("PUT", "/v1/pin", As::Admin(tenant), Some(&body)),
    )
    .await
}

pub async fn send_pin(apps: &Apps, ev: &Value) -> Answer {
    answer(apps.pin.handle(request(ev)).await)
}

pub async fn send_submit(apps: &Apps, ev: &Value) -> Answer {
    answer(apps.submit.handle(request(ev)).await)
}

pub async fn send_webhook(apps: &Apps, ev: &Value) -> Answer {
    answer(apps.webhook.handle(request(ev)).await)
}

pub fn port_out_body(account: &str, pin: &str, nums: &[String]) -> Value {
    json!({
        "accountNumber": account,
        "pin": pin,
        "phoneNumbers": nums,
        "pon": "PON-7781",
        "authorizedName": "Jane Doe",
        "requestedFocDate": crate::date_in(7)
    })
}

pub fn post_event(carrier: &'static str, body: &Value, key: Option<&str>) -> Value {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    event_with(
        "POST",
        "/v1/port-outs",
        "",
        As::Carrier(carrier),
        Some(&body.to_string()),
        &headers,
    )
}

pub async fn post(apps: &Apps, carrier: &'static str, body: &Value) -> Answer {
    send_submit(apps, &post_event(carrier, body, None)).await
}

pub fn secret_of(carrier: &str) -> &'static str {
    if carrier == "carrier-b" {
        SECRET_B
    } else {
        SECRET_A
    }
}

/// A webhook to `/v1/carrier-events/{path_carrier}` signed with `secret`.
pub fn webhook_event(path_carrier: &str, secret: &str, id: &str, ts: i64, body: &str) -> Value {
    let ts_s = ts.to_string();
    let sig = sign(secret, id, ts, body);
    event_with(
        "POST",
        &format!("/v1/carrier-events/{path_carrier}"),
        "",
        As::Nobody,
        Some(body),
        &[
            ("webhook-id", id),
            ("webhook-timestamp", &ts_s),
            ("webhook-signature", &sig),
        ],
    )
}

/// A webhook from `carrier`, correctly signed now, with a fresh id.
pub fn signed(carrier: &str, body: &Value) -> Value {
    webhook_event(
        carrier,
        secret_of(carrier),
        &format!("msg_{}", ulid::Ulid::new()),
        portguard_store::clock::now(),
        &body.to_string(),
    )
}

/// Every error is the contract §2 envelope, never a 5xx other than 503.
pub fn assert_envelope(a: &Answer, what: &str) {
    if a.status == 204 {
        return;
    }
    if a.status < 400 {
        // Bandwidth's door (contract §15): its XML answer, or an empty
        // acknowledgement of a notification.
        if a.headers.get("content-type").map(String::as_str) == Some("application/xml")
            || (a.status == 200 && a.raw.is_empty())
        {
            return;
        }
        assert!(
            a.body.is_object(),
            "{what}: success is a JSON object: {}",
            a.raw
        );
        return;
    }
    let err = &a.body["error"];
    assert!(
        err["code"].as_str().is_some_and(
            |c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        ),
        "{what}: error.code: {}",
        a.raw
    );
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: error.message: {}",
        a.raw
    );
    assert_eq!(
        a.body.as_object().map(|o| o.len()),
        Some(1),
        "{what}: only `error` at the top: {}",
        a.raw
    );
}

fn s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The whole-table audit: every reservation belongs to an open order of the
/// number's tenant that lists it; every open order holds all its numbers;
/// closed orders hold none and are out of the OpenOrders index; completed
/// orders' numbers left the inventory. Returns (open, closed) order counts.
pub async fn audit_consistency(store: &Store) -> (usize, usize) {
    let orders: BTreeMap<String, HashMap<String, AttributeValue>> =
        items_with_prefix(store, "ORDER#")
            .await
            .into_iter()
            .map(|o| (s(&o, "id").unwrap().to_owned(), o))
            .collect();
    let number_items = items_with_prefix(store, "NUMBER#").await;
    let mut reserved_by: HashMap<String, String> = HashMap::new();
    let mut owner: HashMap<String, String> = HashMap::new();
    for n in &number_items {
        let e164 = s(n, "PK").unwrap().trim_start_matches("NUMBER#").to_owned();
        owner.insert(e164.clone(), s(n, "tenantId").unwrap().to_owned());
        if let Some(id) = s(n, "openPortOutId") {
            let order = orders
                .get(id)
                .unwrap_or_else(|| panic!("orphan reservation: {e164} held by missing {id}"));
            let status = s(order, "status").unwrap();
            assert!(
                status == "pending" || status == "foc_confirmed",
                "{e164} held by {id}, which is {status}"
            );
            assert_eq!(s(order, "tenantId"), s(n, "tenantId"), "{e164}: tenant");
            reserved_by.insert(e164, id.to_owned());
        }
    }
    let (mut open, mut closed) = (0, 0);
    for (id, order) in &orders {
        let status = s(order, "status").unwrap();
        let phones: Vec<String> = order["phoneNumbers"]
            .as_l()
            .unwrap()
            .iter()
            .map(|v| v.as_s().unwrap().clone())
            .collect();
        assert!(!phones.is_empty(), "{id} has no numbers");
        match status {
            "pending" | "foc_confirmed" => {
                open += 1;
                assert!(order.contains_key("OPENPK"), "{id} open but not indexed");
                for p in &phones {
                    assert_eq!(
                        reserved_by.get(p),
                        Some(id),
                        "open order {id} does not hold {p}"
                    );
                    assert_eq!(owner.get(p).map(String::as_str), s(order, "tenantId"));
                }
            }
            "completed" => {
                closed += 1;
                assert!(!order.contains_key("OPENPK"), "{id} closed but indexed");
                for p in &phones {
                    assert!(!owner.contains_key(p), "{p} of completed {id} still owned");
                }
            }
            _ => {
                closed += 1;
                assert!(!order.contains_key("OPENPK"), "{id} closed but indexed");
                for p in &phones {
                    assert_ne!(reserved_by.get(p), Some(id), "closed {id} holds {p}");
                }
            }
        }
    }
    (open, closed)
}
