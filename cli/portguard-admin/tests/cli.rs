//! The CLI as an operator runs it, against DynamoDB Local (`make test`).

use std::process::{Command, Output};

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

struct Cli {
    table: String,
}

/// The master key of endpoint secrets the CLI runs with here.
const TEST_ENDPOINT_KEY: &str = "cli-test-endpoint-secret-key-0123456789abcdef";

impl Cli {
    /// A fresh table with tenant t-100 (US, ACC-1001) in it.
    fn with_us_tenant() -> Cli {
        let cli = Cli::new();
        cli.ok(&["create-table"]);
        cli.ok(&[
            "tenant",
            "put",
            "--tenant-id",
            "t-100",
            "--account-number",
            "ACC-1001",
            "--country",
            "US",
        ]);
        cli
    }

    fn new() -> Cli {
        // As portguard_tests::needs_dynamodb_local: skip, in one line.
        if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
            assert!(
                std::env::var_os("PORTGUARD_REQUIRE_DYNAMODB_LOCAL").is_none(),
                "AWS_ENDPOINT_URL_DYNAMODB is not set, and PORTGUARD_REQUIRE_DYNAMODB_LOCAL forbids skipping"
            );
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "skipped the CLI's tests: they need DynamoDB Local and AWS_ENDPOINT_URL_DYNAMODB is not set (`make test` starts one)");
            std::process::exit(0);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Cli {
            table: format!(
                "pg-cli-{nanos}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
        }
    }

    /// The CLI on this table, with the test's master key of endpoint secrets.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portguard-admin"));
        command
            .args(args)
            .env("TABLE_NAME", &self.table)
            .env("ENDPOINT_SECRET_KEY", TEST_ENDPOINT_KEY);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run portguard-admin")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        err
    }
}

#[test]
fn provisioning_round_trip() {
    let cli = Cli::new();
    assert!(cli.ok(&["create-table"]).contains("created"));
    assert!(cli.ok(&["create-table"]).contains("already exists"));
    cli.ok(&[
        "tenant",
        "put",
        "--tenant-id",
        "t-100",
        "--account-number",
        "ACC-1001",
        "--country",
        "US",
        "--name",
        "Acme",
    ]);
    let out = cli.ok(&[
        "numbers",
        "add",
        "--tenant-id",
        "t-100",
        "(206) 555-0100",
        "+12065550101",
    ]);
    assert!(out.contains("+12065550100 added"), "{out}");
    let out = cli.ok(&["numbers", "add", "--tenant-id", "t-100", "206.555.0100"]);
    assert!(out.contains("already on the account"), "{out}");
    let list = cli.ok(&["numbers", "list", "--tenant-id", "t-100"]);
    assert_eq!(list, "+12065550100\n+12065550101\n");

    let shown: serde_json::Value =
        serde_json::from_str(&cli.ok(&["tenant", "show", "--tenant-id", "t-100"])).unwrap();
    assert_eq!(shown["accountNumber"], "ACC-1001");
    assert_eq!(shown["pinSet"], false);
    assert_eq!(shown["locked"], false);
    assert!(shown.get("pinHash").is_none());
    let off = serde_json::json!({"enabled": false, "disableAt": null});
    assert_eq!(shown["portOutLock"], off);
    assert_eq!(shown["transferPinRequired"], off);
    assert_eq!(shown["protectionUpdatedAt"], serde_json::Value::Null);
}

/// `tenant show` and `numbers list` show the port-out locks in force.
#[test]
fn tenant_show_and_numbers_list_show_protection() {
    use portguard_store::protection::{Protection, Setting};
    use portguard_store::{clock, Actor, ActorKind, AuditEvent, AuditType, Store};
    let cli = Cli::with_us_tenant();
    cli.ok(&[
        "numbers",
        "add",
        "--tenant-id",
        "t-100",
        "+12065550100",
        "+12065550101",
    ]);
    let now = clock::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::connect(&cli.table).await;
        let tenant = store
            .get_tenant(&"t-100".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let next = Protection {
            lock: Setting {
                on: true,
                off_at: Some(now + 3600),
            },
            transfer_pin_required: Setting {
                on: true,
                off_at: None,
            },
            updated_at: Some(now),
        };
        store.write_protection(&tenant, &next, &[]).await.unwrap();
        let (_, number) = store
            .admin_number(&"t-100".parse().unwrap(), &"+12065550101".parse().unwrap())
            .await
            .unwrap();
        let actor = Actor {
            kind: ActorKind::TenantAdmin,
            id: None,
        };
        let audit = AuditEvent::new(
            &"t-100".parse().unwrap(),
            now,
            AuditType::ProtectionEnabled,
            actor,
        );
        let on = Setting {
            on: true,
            off_at: None,
        };
        store
            .write_number_lock(&number.unwrap(), on, now, &audit)
            .await
            .unwrap();
    });
    let shown: serde_json::Value =
        serde_json::from_str(&cli.ok(&["tenant", "show", "--tenant-id", "t-100"])).unwrap();
    assert_eq!(
        shown["portOutLock"],
        serde_json::json!({"enabled": true, "disableAt": clock::format(now + 3600)})
    );
    assert_eq!(
        shown["transferPinRequired"],
        serde_json::json!({"enabled": true, "disableAt": null})
    );
    assert_eq!(shown["protectionUpdatedAt"], clock::format(now));
    let list = cli.ok(&["numbers", "list", "--tenant-id", "t-100"]);
    assert_eq!(list, "+12065550100\n+12065550101\tlocked\n");
}

/// `tenant show` lists the active transfer PINs (id, numbers, expiry),
/// never a PIN or its hash.
#[test]
fn tenant_show_lists_active_transfer_pins() {
    use portguard_store::transfer_pins::TransferPin;
    use portguard_store::{clock, Actor, ActorKind, AuditEvent, AuditType, Store};
    let cli = Cli::with_us_tenant();
    cli.ok(&["numbers", "add", "--tenant-id", "t-100", "+12065550100"]);
    let shown: serde_json::Value =
        serde_json::from_str(&cli.ok(&["tenant", "show", "--tenant-id", "t-100"])).unwrap();
    assert_eq!(shown["transferPins"], serde_json::json!([]));

    // Issue one live and one already expired, as set-pin would.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let live = rt.block_on(async {
        let store = Store::connect(&cli.table).await;
        let now = clock::now();
        let mut live = None;
        for ttl in [3600, -1] {
            let tenant = store
                .get_tenant(&"t-100".parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            let tp = TransferPin::new(
                &"t-100".parse().unwrap(),
                vec!["+12065550100".parse().unwrap()],
                now,
                ttl,
            );
            let stored = portguard_secrets::StoredPin {
                hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$ZGlnZXN0".into(),
                pepper_version: "v1".into(),
            };
            let actor = Actor {
                kind: ActorKind::TenantAdmin,
                id: None,
            };
            let audit = AuditEvent::new(
                &"t-100".parse().unwrap(),
                now,
                AuditType::TransferPinCreated,
                actor,
            );
            store
                .create_transfer_pin(&tenant, &tp, &stored, now, &audit)
                .await
                .unwrap();
            live.get_or_insert(tp);
        }
        live.unwrap()
    });
    let out = cli.ok(&["tenant", "show", "--tenant-id", "t-100"]);
    assert!(
        !out.contains("argon2") && !out.contains("ZGlnZXN0"),
        "{out}"
    );
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        shown["transferPins"],
        serde_json::json!([{
            "id": live.id,
            "phoneNumbers": ["+12065550100"],
            "expiresAt": portguard_store::clock::format(live.expires_at),
        }])
    );
}

#[test]
fn refusals_change_nothing() {
    let cli = Cli::new();
    cli.ok(&["create-table"]);
    cli.ok(&[
        "tenant",
        "put",
        "--tenant-id",
        "t-1",
        "--account-number",
        "A-1",
        "--country",
        "US",
    ]);
    cli.ok(&[
        "tenant",
        "put",
        "--tenant-id",
        "t-2",
        "--account-number",
        "A-2",
        "--country",
        "GB",
    ]);
    cli.ok(&["numbers", "add", "--tenant-id", "t-1", "+12065550100"]);

    let err = cli.fails(&["numbers", "add", "--tenant-id", "t-2", "+12065550100"]);
    assert!(err.contains("another tenant"), "{err}");
    // A foreign number anywhere in the list refuses all of it.
    let err = cli.fails(&[
        "numbers",
        "add",
        "--tenant-id",
        "t-2",
        "+12065550198",
        "+12065550100",
    ]);
    assert!(err.contains("nothing was added"), "{err}");
    let err = cli.fails(&[
        "numbers",
        "add",
        "--tenant-id",
        "t-2",
        "+12065550199",
        "555-0100",
    ]);
    assert!(err.contains("not a valid US phone number"), "{err}");
    assert_eq!(
        cli.ok(&["numbers", "list", "--tenant-id", "t-2"]),
        "",
        "nothing added"
    );

    let err = cli.fails(&[
        "tenant",
        "put",
        "--tenant-id",
        "t-2",
        "--account-number",
        "A-1",
        "--country",
        "GB",
    ]);
    assert!(err.contains("another tenant"), "{err}");
    let err = cli.fails(&[
        "tenant",
        "put",
        "--tenant-id",
        "t-3",
        "--account-number",
        "A 3",
        "--country",
        "US",
    ]);
    assert!(err.contains("account number"), "{err}");
    let err = cli.fails(&[
        "tenant",
        "put",
        "--tenant-id",
        "t-3",
        "--account-number",
        "A-3",
        "--country",
        "usa",
    ]);
    assert!(err.contains("country"), "{err}");
    let err = cli.fails(&["tenant", "show", "--tenant-id", "t-9"]);
    assert!(err.contains("not found"), "{err}");
    let err = cli.fails(&["numbers", "add", "--tenant-id", "t-9", "+12065550150"]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn no_table_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_portguard-admin"))
        .args(["create-table"])
        .env_remove("TABLE_NAME")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TABLE_NAME"));
}

#[test]
fn help_explains_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_portguard-admin"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for word in [
        "create-table",
        "tenant",
        "numbers",
        "TABLE_NAME",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ] {
        assert!(help.contains(word), "{word} in help");
    }
}

#[test]
fn carrier_endpoints_show_the_secret_once() {
    let cli = Cli::new();
    cli.ok(&["create-table"]);
    let set = |url: &str, extra: &[&str]| {
        let mut args = vec![
            "carrier",
            "set-endpoint",
            "--carrier-id",
            "carrier-a",
            "--url",
            url,
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let args = set("https://carrier-a.example/hooks", &[]);
    let out = cli.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let secret = out
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("the secret, once")
        .to_owned();
    let shown = cli.ok(&["carrier", "show", "--carrier-id", "carrier-a"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["url"], "https://carrier-a.example/hooks");
    assert_eq!(shown["lastDeliveryAt"], serde_json::Value::Null);
    assert!(!shown.to_string().contains(&secret));
    assert!(!shown.to_string().contains("whsec_"));
    // The same URL: unchanged, no secret. A new URL keeps the secret.
    let args = set("https://carrier-a.example/hooks", &[]);
    assert!(!cli
        .ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .contains("whsec_"));
    let args = set("https://carrier-a.example/v2", &[]);
    assert!(!cli
        .ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .contains("whsec_"));
    let args = set("https://carrier-a.example/v2", &["--rotate-secret"]);
    let rotated = cli.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(rotated.contains("whsec_") && !rotated.contains(&secret));
    // The URL rules of section 14; loopback only with the switch.
    for url in [
        "http://carrier-a.example/",
        "https://10.0.0.1/",
        "https://localhost/",
    ] {
        let args = set(url, &[]);
        cli.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let out = cli
        .command(&[
            "carrier",
            "set-endpoint",
            "--carrier-id",
            "carrier-b",
            "--url",
            "http://127.0.0.1:9900/hook",
        ])
        .env("NOTIFY_ALLOW_LOOPBACK_HTTP", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cli.fails(&["carrier", "show", "--carrier-id", "carrier-c"]);
}

/// The table holds only the secret's stored form; the notifier, with the
/// same master key, derives the secret the CLI showed. Without the key the
/// command refuses in one line and writes nothing.
#[test]
fn a_carrier_secret_is_derived_not_stored() {
    let cli = Cli::new();
    cli.ok(&["create-table"]);
    let out = cli.ok(&[
        "carrier",
        "set-endpoint",
        "--carrier-id",
        "carrier-a",
        "--url",
        "https://carrier-a.example/hooks",
    ]);
    let secret = out
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("the secret, once")
        .to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let target = portguard_store::notify::Target::Carrier("carrier-a".parse().unwrap());
    let stored = rt.block_on(async {
        portguard_store::Store::connect(&cli.table)
            .await
            .get_endpoint(&target)
            .await
            .unwrap()
            .unwrap()
    });
    assert!(stored.secret.starts_with("derived:v1:"));
    assert!(!stored.secret.contains(&secret[6..]));
    let keys = portguard_secrets::EndpointKeys::new(TEST_ENDPOINT_KEY.as_bytes()).unwrap();
    assert_eq!(
        keys.reveal(&target.to_string(), &stored.secret).unwrap(),
        secret
    );

    let out = cli
        .command(&[
            "carrier",
            "set-endpoint",
            "--carrier-id",
            "carrier-b",
            "--url",
            "https://carrier-b.example/hooks",
        ])
        .env_remove("ENDPOINT_SECRET_KEY")
        .env_remove("ENDPOINT_SECRET_KEY_ARN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("ENDPOINT_SECRET_KEY"),
        "{err}"
    );
    cli.fails(&["carrier", "show", "--carrier-id", "carrier-b"]);
}
