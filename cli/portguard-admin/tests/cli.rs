//! The CLI as an operator runs it, against DynamoDB Local (`make test`).

use std::process::{Command, Output};

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

struct Cli {
    table: String,
}

impl Cli {
    fn new() -> Cli {
        assert!(
            std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
            "run with `make test`: AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local"
        );
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

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_portguard-admin"))
            .args(args)
            .env("TABLE_NAME", &self.table)
            .output()
            .expect("run portguard-admin")
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
    let out = Command::new(env!("CARGO_BIN_EXE_portguard-admin"))
        .args([
            "carrier",
            "set-endpoint",
            "--carrier-id",
            "carrier-b",
            "--url",
            "http://127.0.0.1:9900/hook",
        ])
        .env("TABLE_NAME", &cli.table)
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
