//! What a notification says (contract §14): built from the store's
//! `AuditEvent`, so every field the audit trail shows reaches the tenant,
//! including fields added to it later. Nothing secret can be in it: the
//! audit item has no field that could hold a PIN, a hash or a secret.

use aws_sdk_dynamodb::types::AttributeValue;
use portguard_store::{clock, ActorKind, AuditEvent, AuditType};
use portguard_validation::CarrierId;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// `{"type", "timestamp", "data": {"tenantId", …the audit item…}}`.
pub fn tenant_payload(event: &AuditEvent) -> String {
    let mut data = Map::new();
    data.insert("tenantId".into(), json!(event.tenant_id));
    if let Ok(Value::Object(item)) = serde_json::to_value(event) {
        data.extend(item);
    }
    json!({
        "type": event.kind,
        "timestamp": clock::format(event.time),
        "data": data,
    })
    .to_string()
}

/// The gaining carrier's notice of a status change of its order, unless
/// the carrier caused it itself.
pub fn carrier_payload(event: &AuditEvent, order_carrier: &CarrierId) -> Option<String> {
    if event.kind != AuditType::PortOutStatusChanged {
        return None;
    }
    let closed_by = match event.actor.kind {
        ActorKind::Carrier if event.actor.id.as_deref() == Some(order_carrier.as_str()) => {
            return None
        }
        ActorKind::Carrier => "carrier",
        ActorKind::TenantAdmin => "tenant_admin",
        ActorKind::Scheduler => "scheduler",
    };
    Some(
        json!({
            "type": event.kind,
            "timestamp": clock::format(event.time),
            "data": {
                "portOutId": event.port_out_id,
                "status": event.status,
                "closedBy": closed_by,
            },
        })
        .to_string(),
    )
}

/// A DynamoDB JSON image (`{"S": "…"}`, `{"N": "1"}`, …), as the stream
/// event carries it, as the SDK's attribute map the store's parsers read.
pub fn image_to_item(image: &Value) -> Option<HashMap<String, AttributeValue>> {
    image
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), attr(v)?)))
        .collect()
}

fn attr(v: &Value) -> Option<AttributeValue> {
    let (kind, value) = v.as_object()?.iter().next()?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Some(match kind.as_str() {
        "S" => AttributeValue::S(value.as_str()?.to_owned()),
        "N" => AttributeValue::N(match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        }),
        "BOOL" => AttributeValue::Bool(value.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(value.as_array()?.iter().map(attr).collect::<Option<_>>()?),
        "M" => AttributeValue::M(image_to_item(value)?),
        "SS" => AttributeValue::Ss(strings(value)?),
        "NS" => AttributeValue::Ns(strings(value)?),
        // Binary values: no audit item has any; keep the item parseable.
        "B" | "BS" => AttributeValue::Null(true),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portguard_store::Actor;
    use portguard_validation::OrderId;

    /// One order id for every event of these tests.
    fn order_id() -> OrderId {
        "po_01KBZ8V1ZQ7V2S6JY3M0R9T4XA".parse().unwrap()
    }

    fn status_change(kind: ActorKind, id: Option<&str>) -> AuditEvent {
        AuditEvent::new(
            &"t-1".parse().unwrap(),
            1_795_000_000,
            AuditType::PortOutStatusChanged,
            Actor {
                kind,
                id: id.map(str::to_owned),
            },
        )
        .port_out(&order_id())
        .status("cancelled")
    }

    #[test]
    fn the_tenant_gets_the_audit_item_with_its_tenant() {
        let event = status_change(ActorKind::Scheduler, None);
        let body: Value = serde_json::from_str(&tenant_payload(&event)).unwrap();
        assert_eq!(body["type"], "port_out.status_changed");
        assert_eq!(body["timestamp"], "2026-11-18T11:06:40Z");
        assert_eq!(body["data"]["tenantId"], "t-1");
        let mut item = serde_json::to_value(&event).unwrap();
        item["tenantId"] = json!("t-1");
        assert_eq!(body["data"], item);
    }

    #[test]
    fn a_carrier_hears_only_what_it_did_not_do() {
        let carrier_a = "carrier-a".parse().unwrap();
        let own = status_change(ActorKind::Carrier, Some("carrier-a"));
        assert_eq!(carrier_payload(&own, &carrier_a), None);
        for (kind, id, by) in [
            (ActorKind::Carrier, Some("carrier-b"), "carrier"),
            (ActorKind::TenantAdmin, Some("sub"), "tenant_admin"),
            (ActorKind::Scheduler, None, "scheduler"),
        ] {
            let body = carrier_payload(&status_change(kind, id), &carrier_a).unwrap();
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                body["data"],
                json!({"portOutId": order_id(), "status": "cancelled", "closedBy": by})
            );
        }
        let other = AuditEvent::new(
            &"t-1".parse().unwrap(),
            0,
            AuditType::PinSet,
            Actor {
                kind: ActorKind::TenantAdmin,
                id: None,
            },
        );
        assert_eq!(carrier_payload(&other, &carrier_a), None);
    }

    #[test]
    fn images_convert() {
        let image = json!({"a": {"S": "x"}, "n": {"N": "12"}, "l": {"L": [{"S": "y"}]},
                           "m": {"M": {"b": {"BOOL": true}}}, "z": {"NULL": true}});
        let item = image_to_item(&image).unwrap();
        assert_eq!(item["a"], AttributeValue::S("x".into()));
        assert_eq!(item["n"], AttributeValue::N("12".into()));
        assert_eq!(
            item["l"],
            AttributeValue::L(vec![AttributeValue::S("y".into())])
        );
        assert!(image_to_item(&json!({"a": {"Q": 1}})).is_none());
    }
}
