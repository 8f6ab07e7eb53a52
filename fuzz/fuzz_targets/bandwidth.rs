//! Bandwidth's XML (contract §15) through `portguard-bandwidth`, the crate
//! the function links: any bytes are a validated request or one refusal
//! from the code table — never a panic — and every answer written is
//! well-formed XML with at most one error and none of the input in it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portguard_bandwidth::xml::{self, Notification};
use portguard_bandwidth::{answer_xml, parse_validation};

fuzz_target!(|data: &[u8]| {
    let (pon, parsed) = parse_validation(data);
    let error = match parsed {
        Ok(valid) => {
            let pin = valid.pin.expose();
            assert!((6..=10).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()));
            assert!(!valid.numbers.is_empty() && valid.numbers.len() <= 50);
            let mut seen = std::collections::HashSet::new();
            assert!(valid.numbers.iter().all(|n| seen.insert(n.as_str())));
            None
        }
        Err(e) => {
            assert!(e.description.len() <= 100);
            Some(e)
        }
    };
    let answer = answer_xml(pon.as_ref(), error);
    assert!(answer.matches("<Error>").count() <= usize::from(error.is_some()));
    // Nothing long of the input comes back (a PON is a checked one, at
    // most 25 characters).
    let text = std::str::from_utf8(data).unwrap_or("");
    if text.len() > 64 && answer.contains(text) {
        panic!("the input is echoed in the answer");
    }
    let _ = xml::read::<Notification>(data, "Notification");
});
