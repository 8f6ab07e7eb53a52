//! What an audit item says in words: the subject and the lines of an
//! alert. Only portguard's own words and values it validated (numbers,
//! ids, codes, addresses) go in; nothing here can hold a PIN, a hash or a
//! secret, because the audit item has no field that could.

use portguard_rules::port_out::Refusal;
use portguard_store::{clock, ActorKind, AuditEvent, AuditType};

fn numbers(n: usize) -> String {
    match n {
        1 => "1 number".into(),
        n => format!("{n} numbers"),
    }
}

fn count(event: &AuditEvent) -> usize {
    event.phone_numbers.as_ref().map_or(0, Vec::len)
}

fn status_words(status: Option<&str>) -> &'static str {
    match status {
        Some("pending") => "pending",
        Some("foc_confirmed") => "confirmed for a port date",
        Some("completed") => "completed",
        Some("cancelled") => "cancelled",
        Some("rejected") => "rejected",
        Some("expired") => "expired",
        _ => "changed",
    }
}

/// A lock with numbers is theirs; without, the whole account's.
fn setting_words(setting: Option<&str>, numbers: usize) -> &'static str {
    match setting {
        Some("lock") if numbers > 0 => "number lock",
        Some("lock") => "lock of the whole account",
        Some("transferPinRequired") => "transfer PIN required",
        _ => "protection",
    }
}

/// The refusal's sentence for a code of the decision's catalogue.
pub(crate) fn refusal_sentence(code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    Refusal::ALL
        .into_iter()
        .find(|r| r.code() == code)
        .map(Refusal::message)
}

/// The subject: what happened, readable without opening the message.
pub fn subject(event: &AuditEvent) -> String {
    let n = count(event);
    let what = match event.kind {
        AuditType::PinSet => "Port-out PIN set".to_owned(),
        AuditType::PinChanged => "Port-out PIN changed".to_owned(),
        AuditType::PinLocked => "Port-outs locked after repeated wrong PINs".to_owned(),
        AuditType::PortOutRequested => format!("Port-out request accepted for {}", numbers(n)),
        AuditType::PortOutRejected => match event.code.as_deref() {
            Some("PIN_MISMATCH") => format!(
                "Port-out request with a wrong PIN refused for {}",
                numbers(n)
            ),
            Some("PORT_OUT_LOCKED") => format!(
                "Port-out request for locked numbers refused ({})",
                numbers(n)
            ),
            _ => format!("Port-out request refused for {}", numbers(n)),
        },
        AuditType::PortOutStatusChanged => format!(
            "Port-out {} for {}",
            status_words(event.status.as_deref()),
            numbers(n)
        ),
        AuditType::ProtectionEnabled => {
            format!(
                "Port-out protection turned on: {}",
                setting_words(event.setting.as_deref(), n)
            )
        }
        AuditType::ProtectionDisableRequested => format!(
            "Turning off port-out protection requested: {}",
            setting_words(event.setting.as_deref(), n)
        ),
        AuditType::TransferPinCreated => format!("Transfer PIN created for {}", numbers(n)),
        AuditType::TransferPinRevoked => "Transfer PIN revoked".to_owned(),
        AuditType::NotificationEndpointChanged => "Notification endpoint changed".to_owned(),
        AuditType::AlertContactAdded => format!(
            "Alert contact added: {}",
            event.email.as_deref().unwrap_or("an address")
        ),
        AuditType::AlertContactConfirmed => format!(
            "Alert contact confirmed: {}",
            event.email.as_deref().unwrap_or("an address")
        ),
        AuditType::AlertContactRemoved => format!(
            "Alert contact removed: {}",
            event.email.as_deref().unwrap_or("an address")
        ),
    };
    format!("portguard: {what}")
}

/// Who did it, in words.
pub(crate) fn actor(event: &AuditEvent) -> String {
    let id = event.actor.id.as_deref();
    let who = match (event.actor.kind, id) {
        (ActorKind::TenantAdmin, Some(id)) => format!("your admin {id}"),
        (ActorKind::TenantAdmin, None) => "one of your admins".to_owned(),
        (ActorKind::Carrier, Some(id)) => format!("carrier {id}"),
        (ActorKind::Carrier, None) => "a carrier".to_owned(),
        (ActorKind::Scheduler, _) => "portguard's schedule".to_owned(),
    };
    match event.source_ip.as_deref() {
        Some(ip) => format!("{who}, from {ip}"),
        None => who,
    }
}

/// The facts of the item, as (label, value) lines, in a fixed order.
pub(crate) fn facts(event: &AuditEvent) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        ("When", format!("{} (UTC)", clock::format(event.time))),
        ("By", actor(event)),
    ];
    if let Some(numbers) = event.phone_numbers.as_ref().filter(|n| !n.is_empty()) {
        let numbers: Vec<&str> = numbers.iter().map(|n| n.as_str()).collect();
        lines.push(("Numbers", numbers.join(", ")));
    }
    if let Some(id) = &event.port_out_id {
        lines.push(("Order", id.to_string()));
    }
    if let Some(status) = &event.status {
        lines.push(("Status", status.clone()));
    }
    if let Some(code) = &event.code {
        let sentence = refusal_sentence(Some(code))
            .map(|s| format!("{code}: {s}"))
            .unwrap_or_else(|| code.clone());
        lines.push(("Reason", sentence));
    }
    if let Some(setting) = &event.setting {
        lines.push((
            "Setting",
            setting_words(Some(setting), count(event)).to_owned(),
        ));
    }
    if let Some(until) = event.until {
        lines.push(("Until", format!("{} (UTC)", clock::format(until))));
    }
    if let Some(id) = &event.transfer_pin_id {
        lines.push(("Transfer PIN", id.to_string()));
    }
    if let Some(email) = &event.email {
        lines.push(("Contact", email.clone()));
    }
    lines.push(("Event", format!("{} ({})", event.id, event.kind.as_str())));
    lines
}

/// The console page that shows this kind of item.
pub(crate) fn console_page(kind: AuditType) -> &'static str {
    match kind {
        AuditType::PortOutRequested
        | AuditType::PortOutRejected
        | AuditType::PortOutStatusChanged => "#/orders",
        AuditType::AlertContactAdded
        | AuditType::AlertContactConfirmed
        | AuditType::AlertContactRemoved => "#/alert-contacts",
        _ => "#/audit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portguard_store::Actor;
    use portguard_validation::{PhoneNumber, TenantId};

    fn numbers(list: &[&str]) -> Vec<PhoneNumber> {
        PhoneNumber::parse_list(list).unwrap()
    }

    fn event(kind: AuditType) -> AuditEvent {
        AuditEvent::new(
            &TenantId::parse("t1").unwrap(),
            1_800_000_000,
            kind,
            Actor {
                kind: ActorKind::Carrier,
                id: Some("acme".into()),
            },
        )
    }

    #[test]
    fn subjects_say_what_happened_in_words() {
        let e = event(AuditType::PortOutRequested)
            .phone_numbers(&numbers(&["+12065550100", "+12065550101"]));
        assert_eq!(
            subject(&e),
            "portguard: Port-out request accepted for 2 numbers"
        );
        let e = event(AuditType::PortOutRejected)
            .phone_numbers(&numbers(&["+12065550100"]))
            .code("PIN_MISMATCH");
        assert_eq!(
            subject(&e),
            "portguard: Port-out request with a wrong PIN refused for 1 number"
        );
        let e = event(AuditType::PortOutStatusChanged)
            .status("completed")
            .phone_numbers(&numbers(&["+12065550100"]));
        assert_eq!(subject(&e), "portguard: Port-out completed for 1 number");
        let e = event(AuditType::AlertContactAdded).email("x@example.com");
        assert_eq!(subject(&e), "portguard: Alert contact added: x@example.com");
    }

    #[test]
    fn every_type_has_a_subject_in_words_not_its_raw_type() {
        for kind in AuditType::ALL {
            let s = subject(&event(kind));
            assert!(!s.contains(kind.as_str()), "{s}");
            assert!(s.len() > "portguard: ".len() + 5, "{s}");
        }
    }

    #[test]
    fn facts_name_the_refusal_in_words() {
        let e = event(AuditType::PortOutRejected).code("PIN_MISMATCH");
        let reason = facts(&e)
            .into_iter()
            .find(|(k, _)| *k == "Reason")
            .unwrap()
            .1;
        assert!(
            reason.starts_with("PIN_MISMATCH: the PIN does not match"),
            "{reason}"
        );
    }
}
