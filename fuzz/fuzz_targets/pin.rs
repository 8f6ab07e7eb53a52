//! PIN parsing (contract §3 and 4.1 rule 5): never panics; accepts exactly 6 to
//! 10 ASCII digits; a settable PIN is never weak; `Debug` never shows it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portguard_validation::{Pin, PinError};

fn weak(d: &[u8]) -> bool {
    let steps: Vec<u8> = d.windows(2).map(|w| (10 + w[1] - w[0]) % 10).collect();
    let run = steps.iter().all(|&s| s == 0) || steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == 9);
    // A block of 2 to 5 digits, whole at least twice, repeated to fill the PIN.
    let pattern = (2..=5).any(|b| 2 * b <= d.len() && (b..d.len()).all(|i| d[i] == d[i - b]));
    run || pattern
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let shape = (6..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    match Pin::parse_presented(s) {
        Ok(pin) => {
            assert!(shape, "accepted a malformed PIN");
            assert_eq!(pin.expose(), s, "nothing is trimmed");
            assert!(!format!("{pin:?}").contains(s), "Debug shows the PIN");
        }
        Err(e) => {
            assert!(!shape, "refused a well-formed PIN");
            assert_eq!(e, PinError::InvalidFormat);
        }
    }
    match Pin::parse_new(Some(s)) {
        Ok(pin) => {
            assert!(shape);
            assert!(!weak(pin.expose().as_bytes()), "a weak PIN was accepted");
        }
        Err(PinError::Required) => assert!(s.chars().all(char::is_whitespace)),
        Err(PinError::InvalidFormat) => assert!(!shape),
        Err(PinError::Weak(_)) => assert!(shape && weak(s.as_bytes())),
    }
});
