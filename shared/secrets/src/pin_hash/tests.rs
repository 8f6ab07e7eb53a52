use super::*;

const PEPPER: &str = "0123456789abcdef0123456789abcdef-test";

fn pin(s: &str) -> Pin {
    Pin::parse_presented(s).unwrap()
}

#[test]
fn hash_verifies_and_hides_the_pin() {
    let h = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
    let stored = h.hash(&pin("48151623"));
    assert!(stored.hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!stored.hash.contains("48151623"));
    assert!(h.verify(&pin("48151623"), &stored));
    assert!(!h.verify(&pin("48151624"), &stored));
    assert!(!format!("{stored:?}{h:?}").contains("argon2id"));
}

#[test]
fn prepare_allocates_the_working_memory_once_and_hashing_reuses_it() {
    let h = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
    assert!(h.memory.lock().unwrap().is_empty());
    h.prepare();
    let blocks = params().block_count();
    let start = {
        let memory = h.memory.lock().unwrap();
        assert_eq!(memory.len(), blocks);
        memory.as_ptr()
    };
    let stored = h.hash(&pin("48151623"));
    assert!(h.verify(&pin("48151623"), &stored));
    assert_eq!(h.memory.lock().unwrap().as_ptr(), start, "the same block");
}

#[test]
fn hashes_made_by_the_argon2_crate_verify() {
    // The PHC format is Argon2's own: hashes stored before the shared
    // working memory still verify, and a tampered one does not.
    use argon2::password_hash::PasswordHasher;
    let h = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
    let argon2 = Argon2::new_with_secret(
        PEPPER.as_bytes(),
        Algorithm::Argon2id,
        Version::V0x13,
        params(),
    )
    .unwrap();
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = argon2
        .hash_password(b"48151623", &salt)
        .unwrap()
        .to_string();
    let stored = |hash: String| StoredPin {
        hash,
        pepper_version: "v1".into(),
    };
    assert!(h.verify(&pin("48151623"), &stored(hash.clone())));
    assert!(!h.verify(&pin("48151624"), &stored(hash.clone())));
    let costlier = hash.replace("m=19456", "m=65536");
    assert!(!h.verify(&pin("48151623"), &stored(costlier)));
    assert!(!h.verify(
        &pin("48151623"),
        &stored(hash.replace("argon2id", "argon2i"))
    ));
}

#[test]
fn pepper_is_part_of_the_key() {
    let a = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
    let b = PinHasher::from_secret(&PEPPER.replace('0', "9"), "PIN_PEPPER").unwrap();
    let stored = a.hash(&pin("48151623"));
    assert!(!b.verify(&pin("48151623"), &stored));
}

#[test]
fn rotation_keeps_old_hashes_valid() {
    let old = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
    let stored = old.hash(&pin("48151623"));
    let json = format!(
        r#"{{"current":"v2","peppers":{{"v1":"{PEPPER}","v2":"{}"}}}}"#,
        "z".repeat(40)
    );
    let new = PinHasher::from_secret(&json, "PIN_PEPPER").unwrap();
    assert!(new.verify(&pin("48151623"), &stored));
    assert_eq!(new.hash(&pin("48151623")).pepper_version, "v2");
}

#[test]
fn an_unknown_pepper_version_is_not_a_wrong_pin() {
    let h = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
    let mut stored = h.hash(&pin("48151623"));
    assert_eq!(h.check(&pin("48151623"), &stored), Ok(true));
    assert_eq!(h.check(&pin("48151624"), &stored), Ok(false));
    stored.pepper_version = "v9".into();
    assert_eq!(
        h.check(&pin("48151623"), &stored),
        Err(UnknownPepperVersion("v9".into()))
    );
}

#[test]
fn the_idempotency_secret_survives_rotation() {
    let v1 = PinHasher::from_secret(PEPPER, "PIN_PEPPER").unwrap();
    let rotated = format!(
        r#"{{"current":"v2","peppers":{{"v1":"{PEPPER}","v2":"{}"}}}}"#,
        "z".repeat(40)
    );
    let v2 = PinHasher::from_secret(&rotated, "PIN_PEPPER").unwrap();
    assert_eq!(v1.stable_secret(), v2.stable_secret());
    assert_ne!(v1.current_pepper(), v2.current_pepper());
    // Named explicitly: v1 may then be retired.
    let own = format!(
        r#"{{"current":"v2","peppers":{{"v2":"{}"}},"idempotencyKey":"{}"}}"#,
        "z".repeat(40),
        "k".repeat(32)
    );
    let own = PinHasher::from_secret(&own, "PIN_PEPPER").unwrap();
    assert_eq!(own.stable_secret(), "k".repeat(32).as_bytes());
    let named = format!(
        r#"{{"current":"v3","peppers":{{"v2":"{}","v3":"{}"}},"idempotencyPepperVersion":"v2"}}"#,
        "z".repeat(40),
        "y".repeat(40)
    );
    let named = PinHasher::from_secret(&named, "PIN_PEPPER").unwrap();
    assert_eq!(named.stable_secret(), "z".repeat(40).as_bytes());
    // v1 retired with nothing named: refused, never silently re-keyed.
    for bad in [
        format!(
            r#"{{"current":"v2","peppers":{{"v2":"{}"}}}}"#,
            "z".repeat(40)
        ),
        format!(
            r#"{{"current":"v2","peppers":{{"v2":"{}"}},"idempotencyKey":"short"}}"#,
            "z".repeat(40)
        ),
    ] {
        let err = PinHasher::from_secret(&bad, "PIN_PEPPER").unwrap_err();
        assert!(err.to_string().starts_with("PIN_PEPPER:"), "{err}");
        assert!(!err.to_string().contains("zzzz"), "never echo the secret");
    }
}

#[test]
fn short_or_inconsistent_peppers_fail_naming_the_variable() {
    let err = PinHasher::from_secret("short", "PIN_PEPPER").unwrap_err();
    assert!(err.to_string().starts_with("PIN_PEPPER:"));
    assert!(PinHasher::from_secret(r#"{"current":"v3","peppers":{}}"#, "X").is_err());
    assert!(!err.to_string().contains("short"), "never echo the secret");
}
