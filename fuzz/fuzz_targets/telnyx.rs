//! Telnyx's events (contract §16) through `portguard-telnyx`, the crate the
//! function links: any bytes are an event or one `INVALID_EVENT` message —
//! never a panic; a pending port-out passes checks 1–5 or is one reject
//! whose reason is `"<CODE>: <sentence>"` with none of the input in it; and
//! no signature over the bytes verifies under a key that did not make it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portguard_telnyx::{Change, Event, PublicKey};

/// The development public key (portguard-fixtures).
const KEY: &str = "5dxAyNzquTRCpd2fWMVeZMQlwgRUTYrehy8+BkyyJUo=";

fuzz_target!(|data: &[u8]| {
    let key = PublicKey::parse(KEY).expect("the development key");
    // The bytes as a signature header, and split as timestamp|body.
    let now = 1_800_000_000;
    assert!(key.verify(Some(data), Some(b"1800000000"), data, now).is_err());
    if let Some(at) = data.iter().position(|&b| b == b'|') {
        let (ts, rest) = data.split_at(at);
        assert!(key.verify(Some(rest), Some(ts), data, now).is_err());
    }
    let Ok(event) = Event::parse(data) else {
        return;
    };
    assert!(!event.id.is_empty() && event.id.len() <= 255);
    if let Some(id) = &event.port_out_id {
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
    if let Change::FocDateChanged(date) = &event.change {
        assert_eq!(date.len(), 10);
    }
    let Change::Pending(pending) = &event.change else {
        return;
    };
    assert!(!format!("{pending:?}").contains("attempted_pin\":"));
    match pending.check() {
        Ok(checked) => {
            let pin = checked.pin.expose();
            assert!((6..=10).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()));
            assert!(!checked.numbers.is_empty() && checked.numbers.len() <= 50);
        }
        Err(reject) => {
            let reason = reject.reason();
            assert!(reason.starts_with(reject.code) && reason.len() <= 120);
            // A sentence of the crate's own: no PIN given comes back.
            if let Some(text) = std::str::from_utf8(data).ok().and_then(|t| t.split("attempted_pin").nth(1)) {
                let digits: String = text.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
                assert!(digits.len() < 6 || !reason.contains(&digits));
            }
        }
    }
});
