use super::*;
use portguard_validation::{PhoneNumber, TransferPinId};

#[test]
fn debug_never_prints_the_pin_hash() {
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    let tenant = Tenant {
        tenant_id: TenantId::parse("t-100").unwrap(),
        account_number: "ACC-1001".into(),
        country: "US".into(),
        name: None,
        created_at: Timestamp::parse("2026-12-01T00:00:00Z").unwrap(),
        pin: Some(StoredPin {
            hash: hash.into(),
            pepper_version: "v7".into(),
        }),
        pin_updated_at: None,
        locks: CarrierLocks::default(),
        protection: Default::default(),
        last_order_at: None,
        transfer_pins: vec![crate::transfer_pins::TransferPinEntry {
            id: TransferPinId::parse("tp_01JF0000000000000000000000").unwrap(),
            stored: StoredPin {
                hash: hash.into(),
                pepper_version: "v7".into(),
            },
            numbers: vec![PhoneNumber::from_stored("+12065550100").unwrap()],
            expires_at: 0,
        }],
        state_version: 3,
    };
    for shown in [format!("{tenant:?}"), format!("{tenant:#?}")] {
        assert!(
            !shown.contains("argon2id") && !shown.contains("aGFzaGhh"),
            "{shown}"
        );
        assert!(
            shown.contains("<redacted>") && shown.contains("t-100"),
            "{shown}"
        );
    }
    let blank = Tenant {
        pin: None,
        ..tenant
    };
    assert!(format!("{blank:?}").contains("pin: None"));
}
