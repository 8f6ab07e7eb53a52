use super::*;
use proptest::prelude::*;

fn new(s: &str) -> Result<(), PinError> {
    Pin::parse_new(Some(s)).map(|_| ())
}

#[test]
fn blank_is_required() {
    assert_eq!(Pin::parse_new(None), Err(PinError::Required));
    for s in ["", " ", "   ", "\t\n", "\u{3000}"] {
        assert_eq!(new(s), Err(PinError::Required), "{s:?}");
    }
}

#[test]
fn length_is_six_to_ten() {
    assert_eq!(new("48151"), Err(PinError::InvalidFormat));
    assert_eq!(new("481516"), Ok(()));
    assert_eq!(new("4815162342"), Ok(()));
    assert_eq!(new("48151623420"), Err(PinError::InvalidFormat));
}

#[test]
fn only_ascii_digits_and_nothing_trimmed() {
    for s in [
        "48151a",
        "4815-1623",
        "+4815162",
        "-4815162",
        " 481516",
        "481516 ",
        "4815 16",
        "48.1516",
        "٤٨١٥١٦٢",
        "４８１５１６",
        "481516\n",
        "४८१५१६",
        "0x4815",
    ] {
        assert_eq!(new(s), Err(PinError::InvalidFormat), "{s:?}");
        assert_eq!(
            Pin::parse_presented(s),
            Err(PinError::InvalidFormat),
            "{s:?}"
        );
    }
}

fn weak(s: &str) -> Option<&'static str> {
    match new(s) {
        Err(PinError::Weak(reason)) => Some(reason.as_str()),
        Ok(()) => None,
        Err(e) => panic!("{s:?}: {e:?}"),
    }
}

#[test]
fn weak_pins() {
    for s in ["000000", "999999999", "5555555555"] {
        assert_eq!(weak(s), Some("repeated"), "{s:?}");
    }
    for s in [
        "123456",
        "7890123",
        "987654",
        "3210987",
        "8901234567",
        "0987654321",
        "567890",
    ] {
        assert_eq!(weak(s), Some("sequence"), "{s:?}");
    }
    for s in [
        "121212",
        "123123",
        "12341234",
        "4545454545",
        "1234512345",
        "1231231",
        "90909090",
        "007007",
    ] {
        assert_eq!(weak(s), Some("pattern"), "{s:?}");
    }
    for s in [
        "48151623",
        "135790",
        "112233",
        "123457",
        "0123456780",
        "1234512",
        "12312",
        "123412",
        "1212121213",
    ] {
        if s.len() >= MIN_LEN {
            assert_eq!(weak(s), None, "{s:?}");
        }
    }
}

#[test]
fn weak_messages_never_hold_digits() {
    for reason in [
        WeakReason::Repeated,
        WeakReason::Sequence,
        WeakReason::Pattern,
        WeakReason::Known,
    ] {
        let message = PinError::Weak(reason).to_string();
        assert!(!message.bytes().any(|b| b.is_ascii_digit()), "{message}");
    }
}

#[test]
fn known_digits() {
    let known = KnownDigits::new("ACC-1001-77", ["+12065550100", "(425) 555-0199"]);
    let check = |s: &str| Pin::parse_presented(s).unwrap().check_known(&known);
    // 1001 77 -> "100177": the account's digits, other characters dropped.
    assert_eq!(check("100177"), Err(PinError::Weak(WeakReason::Known)));
    for s in ["2065550100", "5550100", "065550", "4255550199", "555019"] {
        assert_eq!(check(s), Err(PinError::Weak(WeakReason::Known)), "{s:?}");
    }
    // The country code is not part of the national number, and digits
    // of two sources are never joined.
    for s in ["1206555", "01994255", "77206555", "48151623"] {
        assert_eq!(check(s), Ok(()), "{s:?}");
    }
    assert!(!format!("{known:?}").contains("555"));
}

/// The reference: every run of consecutive digits of every source.
fn naive_known(pin: &str, account: &str, numbers: &[String]) -> bool {
    let digits = |s: &str| -> Vec<u8> { s.bytes().filter(u8::is_ascii_digit).collect() };
    let mut sources = vec![digits(account)];
    for n in numbers {
        let d = digits(n);
        sources.push(d[d.len().saturating_sub(10)..].to_vec());
    }
    sources
        .iter()
        .any(|src| src.windows(pin.len()).any(|w| w == pin.as_bytes()))
}
#[test]
fn presented_pin_skips_weak_rule() {
    assert!(Pin::parse_presented("123456").is_ok());
}

#[test]
fn debug_never_shows_digits() {
    let pin = Pin::parse_new(Some("48151623")).unwrap();
    assert!(!format!("{pin:?}").contains("4815"));
}

proptest! {
    #[test]
    fn any_six_to_ten_digits_parse_unless_weak(s in "[0-9]{6,10}") {
        match new(&s) {
            Ok(()) => prop_assert!(weak_reason(s.as_bytes()).is_none()),
            Err(e) => prop_assert_eq!(e, PinError::Weak(weak_reason(s.as_bytes()).unwrap())),
        }
    }

    #[test]
    fn known_refuses_exactly_the_pins_that_occur(
        pin in "[0-9]{6,10}",
        account in "[A-Za-z0-9._-]{0,64}",
        numbers in prop::collection::vec("\\+1[2-9][0-9]{9}", 0..6),
    ) {
        let known = KnownDigits::new(&account, numbers.iter().map(String::as_str));
        let refused = Pin::parse_presented(&pin).unwrap().check_known(&known).is_err();
        prop_assert_eq!(refused, naive_known(&pin, &account, &numbers));
    }

    #[test]
    fn any_run_of_a_source_is_known(
        numbers in prop::collection::vec("\\+1[2-9][0-9]{9}", 1..6),
        account in "[A-Za-z0-9._-]{0,64}",
        which in any::<prop::sample::Index>(),
        start in 0usize..5,
        len in 6usize..=10,
    ) {
        // Any 6–10 consecutive national digits of any number is refused.
        let number = which.get(&numbers);
        let national = &number[2..];
        let len = len.min(10 - start);
        prop_assume!(len >= MIN_LEN);
        let pin = &national[start..start + len];
        let known = KnownDigits::new(&account, numbers.iter().map(String::as_str));
        prop_assert_eq!(
            Pin::parse_presented(pin).unwrap().check_known(&known),
            Err(PinError::Weak(WeakReason::Known))
        );
    }

    #[test]
    fn block_repeats_are_patterns(block in "[0-9]{2,5}", len in 6usize..=10) {
        let pin: String = block.chars().cycle().take(len).collect();
        prop_assume!(2 * block.len() <= len);
        match new(&pin) {
            Err(PinError::Weak(_)) => {}
            other => prop_assert!(false, "{:?} accepted: {:?}", pin, other),
        }
    }

    #[test]
    fn a_non_digit_anywhere_fails(prefix in "[0-9]{0,5}", c in "[^0-9]", suffix in "[0-9]{0,5}") {
        let s = format!("{prefix}{c}{suffix}");
        prop_assert!(Pin::parse_presented(&s).is_err());
    }

    #[test]
    fn runs_are_weak(start in 0u8..10, len in 6usize..=10, step in prop::sample::select(vec![0u8, 1, 9])) {
        let s: String = (0..len)
            .map(|i| char::from(b'0' + ((start as usize + step as usize * i) % 10) as u8))
            .collect();
        let reason = if step == 0 { WeakReason::Repeated } else { WeakReason::Sequence };
        prop_assert_eq!(new(&s), Err(PinError::Weak(reason)));
    }

    #[test]
    fn never_panics(s in any::<String>()) {
        let _ = Pin::parse_new(Some(&s));
        let _ = Pin::parse_presented(&s);
    }
}
