//! An alert contact's address (contract §17), the one free input of
//! `POST /v1/alert-contacts`: any string is a valid bare address or a
//! refusal — never a panic — and what is accepted is short, ASCII, one
//! `@`, no space, control character or angle bracket (no display name, no
//! header injection into a message), and parses back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portguard_validation::{EmailAddress, MAX_EMAIL_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(address) = EmailAddress::parse(input) else {
        return;
    };
    let s = address.as_str();
    assert!(s.len() <= MAX_EMAIL_LEN);
    assert!(s.is_ascii());
    assert!(!s.chars().any(|c| c.is_ascii_whitespace() || c.is_ascii_control()));
    assert!(!s.contains('<') && !s.contains('>'));
    let (local, domain) = s.rsplit_once('@').expect("an @");
    assert!(!local.is_empty() && domain.contains('.'));
    assert_eq!(EmailAddress::parse(s).as_ref(), Ok(&address));
    assert_eq!(address.key(), address.key().to_ascii_lowercase());
});
