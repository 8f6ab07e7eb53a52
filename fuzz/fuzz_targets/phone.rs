//! US phone numbers (contract §4.1 rule 3): never panics; an accepted number is
//! E.164 `+1` and ten digits, and parsing its E.164 form gives it back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portguard_validation::PhoneNumber;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = PhoneNumber::parse(s) {
        let e164 = n.as_str();
        assert!(e164.len() == 12 && e164.starts_with("+1"), "{e164}");
        assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            PhoneNumber::parse(e164).expect("E.164 reparses").as_str(),
            e164
        );
        // Only digits, spaces, dots, dashes, parentheses and a leading +.
        assert!(s
            .trim_start()
            .trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit() || " .-()".contains(c)));
    }
});
