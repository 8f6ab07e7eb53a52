//! Rendering: minijinja templates compiled into the binary, HTML escaping
//! on for every `.html` template (minijinja's default), so a value written
//! into HTML (an admin's id, an address, a reason) cannot become markup.

use crate::words;
use minijinja::{context, Environment};
use portguard_store::AuditEvent;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// At most this many alerts go to one contact in a rolling hour.
pub const ALERTS_PER_HOUR: u32 = 30;

/// One email: the exact subject and bodies every attempt sends.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Message {
    // The code message carries the confirmation code: never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

const FOOTER: &str = "You receive this because you are an alert contact of a portguard account. Its admins choose which events are emailed on the console's Alert contacts page.";

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("alert.txt", include_str!("templates/alert.txt")),
            ("alert.html", include_str!("templates/alert.html")),
            ("code.txt", include_str!("templates/code.txt")),
            ("code.html", include_str!("templates/code.html")),
            ("types.txt", include_str!("templates/types.txt")),
            ("types.html", include_str!("templates/types.html")),
        ] {
            env.add_template(name, source)
                .expect("our own templates parse");
        }
        env
    })
}

fn render(name: &str, ctx: minijinja::Value) -> String {
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .expect("our own templates render with our own context")
}

/// `console_url` with the page's fragment; none configured → the fragment alone.
fn link(console_url: &str, page: &str) -> String {
    format!("{}/{}", console_url.trim_end_matches('/'), page)
}

/// The alert of one audit item; `left_out` alerts to this contact were
/// not sent since the last one (the hourly limit).
pub fn alert(event: &AuditEvent, left_out: u32, console_url: &str) -> Message {
    let subject = words::subject(event);
    let facts = words::facts(event);
    let ctx = context! {
        subject => subject,
        facts => facts,
        left_out => left_out,
        limit => ALERTS_PER_HOUR,
        link => link(console_url, words::console_page(event.kind)),
        footer => FOOTER,
    };
    Message {
        text: render("alert.txt", ctx.clone()),
        html: render("alert.html", ctx),
        subject,
    }
}

/// The one message that carries a confirmation code (contract §17): the
/// code is in the bodies, never in the subject.
pub fn confirmation_code(code: &str, email: &str, console_url: &str) -> Message {
    let ctx = context! {
        code => code,
        email => email,
        link => link(console_url, "#/alert-contacts"),
    };
    Message {
        subject: "portguard: confirm your alert contact".to_owned(),
        text: render("code.txt", ctx.clone()),
        html: render("code.html", ctx),
    }
}

/// The notice to a contact whose types an admin changed: the contract
/// audits no such change, so the one it concerns hears of it directly
/// (a stolen session cannot quietly narrow what a contact is sent).
pub fn types_changed(
    email: &str,
    types: &[&str],
    by: &str,
    when: &str,
    console_url: &str,
) -> Message {
    let subject = "portguard: the alerts emailed to you were changed".to_owned();
    let ctx = context! {
        subject => subject,
        email => email,
        types => types,
        by => by,
        when => when,
        link => link(console_url, "#/alert-contacts"),
    };
    Message {
        text: render("types.txt", ctx.clone()),
        html: render("types.html", ctx),
        subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portguard_store::{Actor, ActorKind, AuditType};
    use portguard_validation::{PhoneNumber, TenantId};

    fn event() -> AuditEvent {
        AuditEvent::new(
            &TenantId::parse("t1").unwrap(),
            1_800_000_000,
            AuditType::PortOutRejected,
            Actor {
                kind: ActorKind::TenantAdmin,
                id: Some("<script>alert(1)</script>".into()),
            },
        )
        .phone_numbers(&PhoneNumber::parse_list(&["+12065550100"]).unwrap())
        .code("PIN_MISMATCH")
        .email("a&b@example.com")
    }

    #[test]
    fn html_escapes_every_value_and_text_keeps_it() {
        let m = alert(&event(), 0, "https://console.example.com/");
        assert!(!m.html.contains("<script>"), "{}", m.html);
        assert!(
            m.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{}",
            m.html
        );
        assert!(m.html.contains("a&amp;b@example.com"));
        assert!(m.text.contains("your admin <script>alert(1)</script>"));
        assert!(
            m.text.contains("https://console.example.com/#/orders"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("not emailed"));
    }

    #[test]
    fn the_next_alert_says_how_many_were_left_out() {
        let m = alert(&event(), 10, "https://c.example.com");
        assert!(
            m.text
                .contains("10 earlier alerts were not emailed: at most 30"),
            "{}",
            m.text
        );
        assert!(m.html.contains("10 earlier alerts were not emailed"));
        let one = alert(&event(), 1, "https://c.example.com");
        assert!(one.text.contains("1 earlier alert was not emailed"));
    }

    #[test]
    fn a_types_notice_lists_the_new_choice_escaped() {
        let m = types_changed(
            "o@example.com",
            &["pin.set", "port_out.requested"],
            "your admin <b>x</b>",
            "2026-12-05T10:00:00Z",
            "https://c.example.com",
        );
        assert!(
            m.text
                .contains("You now receive: pin.set, port_out.requested"),
            "{}",
            m.text
        );
        assert!(m.html.contains("&lt;b&gt;x"), "{}", m.html);
    }

    #[test]
    fn the_code_is_in_the_bodies_only() {
        let m = confirmation_code("493021", "ops@example.com", "https://c.example.com");
        assert!(!m.subject.contains("493021"));
        assert!(m.text.contains("493021") && m.html.contains("493021"));
        assert!(!format!("{m:?}").contains("493021"));
    }
}
