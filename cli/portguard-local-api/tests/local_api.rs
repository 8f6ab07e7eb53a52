//! The local API against a stub of `cargo lambda watch` on loopback: the stub
//! echoes the event it was handed, so these tests see what a function would.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use portguard_local_api::auth::{dev_claims, Authorizer, Subject, DEV_AUDIENCE, DEV_ISSUER};
use portguard_local_api::routes::{routes, Auth};
use portguard_local_api::server::{self, Config};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

const KEY: &[u8] = b"test-key-0123456789abcdef0123456789abcdef";

fn authorizer(key: &[u8]) -> Authorizer {
    Authorizer::new(key.to_vec(), DEV_ISSUER, vec![DEV_AUDIENCE.into()])
}

/// A stand-in for the functions: answers every invocation with 200 and a
/// body of {"function": name, "event": the event}.
async fn stub_watch() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let path = req.uri().path().to_string();
                        let function = path
                            .strip_prefix("/2015-03-31/functions/")
                            .and_then(|p| p.strip_suffix("/invocations"))
                            .unwrap_or("?")
                            .to_string();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let event: Value = serde_json::from_slice(&body).unwrap();
                        let out = json!({
                            "statusCode": 200,
                            "headers": {"content-type": "application/json", "x-stub": "yes"},
                            "body": json!({"function": function, "event": event}).to_string(),
                            "isBase64Encoded": false
                        });
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                            out.to_string(),
                        ))))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

async fn start() -> SocketAddr {
    start_with(stub_watch().await, Duration::from_secs(10)).await
}

/// A stand-in for watch itself while a function is not running yet: every
/// invocation gets `status` and `body` after `delay`.
async fn stub_watch_answering(status: u16, body: &'static str, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |_req: Request<hyper::body::Incoming>| async move {
                        tokio::time::sleep(delay).await;
                        let res = Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from_static(body.as_bytes())))
                            .unwrap();
                        Ok::<_, std::convert::Infallible>(res)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// A loopback address nothing listens on (bound, then released).
async fn nothing_listening() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

async fn start_with(watch: SocketAddr, timeout: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config {
        routes: routes(),
        authorizer: authorizer(KEY),
        watch,
        timeout,
        console_dir: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../console").into()),
        dev_sign_in: true,
    };
    tokio::spawn(server::serve(listener, config));
    addr
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("X-Mixed-Case", "Kept");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or("").to_string())))
        .unwrap();
    let res = tx.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
    Answer {
        status,
        headers,
        body,
    }
}

fn token(key: &[u8], claims: &Value) -> String {
    authorizer(key).sign(claims).unwrap()
}

fn admin(t: &str) -> Value {
    dev_claims(&Subject::Tenant(t.into()), portguard_local_api::auth::now())
}

fn carrier(c: &str) -> Value {
    dev_claims(
        &Subject::Carrier(c.into()),
        portguard_local_api::auth::now(),
    )
}

/// A concrete path for a template path: `{x}` becomes `x-1`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                Some(name) => format!("{name}-1"),
                None => s.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_template_route_reaches_its_function() {
    let addr = start().await;
    for route in routes() {
        let method = if route.method == "ANY" {
            "PUT"
        } else {
            route.method
        };
        let claims = match route.auth {
            Auth::Scopes(s) if s.contains(&"portguard/admin") => admin("t-100"),
            _ => carrier("carrier-a"),
        };
        let t = token(KEY, &claims);
        let path = concrete(route.path);
        let a = send(addr, method, &path, Some(&t), Some("{}")).await;
        assert_eq!(a.status, 200, "{method} {path}: {}", a.body);
        assert_eq!(a.headers["x-stub"], "yes");
        assert_eq!(a.body["function"], route.function, "{method} {path}");
        let ev = &a.body["event"];
        assert_eq!(ev["version"], "2.0");
        assert_eq!(ev["routeKey"], format!("{} {}", route.method, route.path));
        assert_eq!(ev["rawPath"], path);
        assert_eq!(ev["requestContext"]["http"]["method"], method);
        if path.contains("-1") {
            let (name, value) = ev["pathParameters"]
                .as_object()
                .unwrap()
                .iter()
                .next()
                .unwrap();
            assert_eq!(
                format!("{{{name}}}"),
                route.path.rsplit('/').find(|s| s.starts_with('{')).unwrap()
            );
            assert_eq!(value, &json!(format!("{}-1", name)));
        }
        if route.auth == Auth::None {
            assert!(ev["requestContext"].get("authorizer").is_none(), "{path}");
        }
    }
}

#[tokio::test]
async fn claims_scopes_headers_query_and_source_ip_reach_the_function() {
    let addr = start().await;
    let t = token(KEY, &admin("t-100"));
    let a = send(
        addr,
        "GET",
        "/v1/port-outs?status=pending&limit=5&x=%2B1",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(a.status, 200);
    let ev = &a.body["event"];
    let jwt = &ev["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["claims"]["tenant_id"], "t-100");
    assert_eq!(jwt["claims"]["sub"], "dev-admin-t-100");
    assert_eq!(jwt["claims"]["iss"], DEV_ISSUER);
    // API Gateway hands every claim over as a string.
    assert!(jwt["claims"]["exp"].is_string());
    assert_eq!(jwt["scopes"], json!(["portguard/admin"]));
    assert_eq!(ev["rawQueryString"], "status=pending&limit=5&x=%2B1");
    assert_eq!(
        ev["queryStringParameters"],
        json!({"status": "pending", "limit": "5", "x": "+1"})
    );
    assert_eq!(ev["headers"]["x-mixed-case"], "Kept");
    assert!(ev["headers"]["authorization"]
        .as_str()
        .unwrap()
        .starts_with("Bearer "));
    assert_eq!(ev["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(ev["body"], Value::Null);
    assert_eq!(ev["isBase64Encoded"], false);

    let c = token(KEY, &carrier("carrier-a"));
    let body = r#"{"accountNumber":"ACC-1001","pin":"48151623"}"#;
    let a = send(addr, "POST", "/v1/port-outs", Some(&c), Some(body)).await;
    let ev = &a.body["event"];
    assert_eq!(ev["body"], body);
    assert_eq!(
        ev["requestContext"]["authorizer"]["jwt"]["claims"]["carrier_id"],
        "carrier-a"
    );
    assert_eq!(
        ev["requestContext"]["authorizer"]["jwt"]["scopes"],
        json!(["portguard/carrier"])
    );
}

#[tokio::test]
async fn bad_tokens_are_401_unauthorized() {
    let addr = start().await;
    let now = portguard_local_api::auth::now();
    let mut expired = admin("t-100");
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let mut wrong_aud = admin("t-100");
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = admin("t-100");
    wrong_iss["iss"] = json!("https://evil.example");
    let mut not_yet = admin("t-100");
    not_yet["nbf"] = json!(now + 3600);
    let cases = [
        ("missing", None),
        ("expired", Some(token(KEY, &expired))),
        (
            "wrongly signed",
            Some(token(
                b"another-key-0123456789abcdef0123456789",
                &admin("t-100"),
            )),
        ),
        ("wrong audience", Some(token(KEY, &wrong_aud))),
        ("wrong issuer", Some(token(KEY, &wrong_iss))),
        ("not yet valid", Some(token(KEY, &not_yet))),
        ("garbage", Some("not.a.jwt".to_string())),
    ];
    for (what, t) in cases {
        for path in ["/v1/pin", "/v1/audit-events", "/v1/port-outs/po_1/reject"] {
            let method = if path.ends_with("reject") {
                "POST"
            } else {
                "GET"
            };
            let a = send(addr, method, path, t.as_deref(), None).await;
            assert_eq!(a.status, 401, "{what} token on {path}");
            assert_eq!(a.body, json!({"message": "Unauthorized"}), "{what}");
        }
    }
}

#[tokio::test]
async fn a_token_without_the_routes_scope_is_403_forbidden() {
    let addr = start().await;
    let c = token(KEY, &carrier("carrier-a"));
    let t = token(KEY, &admin("t-100"));
    let mut none = admin("t-100");
    none.as_object_mut().unwrap().remove("scope");
    let none = token(KEY, &none);
    for (t, method, path) in [
        (&c, "GET", "/v1/pin"),
        (&c, "GET", "/v1/audit-events"),
        (&c, "POST", "/v1/port-outs/po_1/reject"),
        (&t, "POST", "/v1/port-outs"),
        (&none, "GET", "/v1/port-outs"),
    ] {
        let a = send(addr, method, path, Some(t), None).await;
        assert_eq!(a.status, 403, "{method} {path}");
        assert_eq!(a.body, json!({"message": "Forbidden"}));
    }
    // Both scopes pass the shared routes.
    assert_eq!(
        send(addr, "GET", "/v1/port-outs/po_1", Some(&c), None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(addr, "GET", "/v1/port-outs/po_1", Some(&t), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_404_before_any_token_check() {
    let addr = start().await;
    for (method, path) in [
        ("GET", "/v1/nothing"),
        ("DELETE", "/v1/port-outs"),
        ("GET", "/v1/port-outs/po_1/reject"),
        ("GET", "/v1/carrier-events/carrier-a"),
        ("POST", "/"),
    ] {
        let a = send(addr, method, path, None, None).await;
        assert_eq!(a.status, 404, "{method} {path}");
        assert_eq!(a.body, json!({"message": "Not Found"}));
    }
}

#[tokio::test]
async fn dev_sign_in_mints_a_token_the_authorizer_accepts() {
    let addr = start().await;
    let a = send(
        addr,
        "POST",
        "/_dev/token",
        None,
        Some(r#"{"tenantId":"t-200"}"#),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.headers["cache-control"], "no-store");
    let t = a.body["token"].as_str().unwrap().to_string();
    let got = send(addr, "GET", "/v1/pin", Some(&t), None).await;
    assert_eq!(
        got.body["event"]["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"],
        "t-200"
    );
    for bad in [
        r#"{}"#,
        r#"{"tenantId":"a b"}"#,
        r#"{"tenantId":"t","carrierId":"c"}"#,
    ] {
        assert_eq!(
            send(addr, "POST", "/_dev/token", None, Some(bad))
                .await
                .status,
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn console_files_are_served_and_nothing_outside() {
    let addr = start().await;
    let a = send(addr, "GET", "/", None, None).await;
    assert_eq!(a.status, 200);
    assert!(a.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(a.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    for p in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/.hidden",
        "/nope.js",
    ] {
        assert_eq!(send(addr, "GET", p, None, None).await.status, 404, "{p}");
    }
}

/// The console's first page loads everything in console/ (HTML, CSS, the JS
/// modules, config.json): all of it stays under 150 KB, uncompressed.
#[test]
fn the_console_is_under_150_kb_and_loads_nothing_from_elsewhere() {
    fn walk(dir: &std::path::Path, total: &mut u64, files: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, total, files);
            } else {
                *total += p.metadata().unwrap().len();
                files.push(p);
            }
        }
    }
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../console"));
    let (mut total, mut files) = (0, Vec::new());
    walk(dir, &mut total, &mut files);
    assert!(total < 150 * 1024, "console/ is {total} bytes");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for bad in [
            "src=\"http",
            "href=\"http",
            "from 'http",
            "@import url(http",
        ] {
            assert!(
                !text.contains(bad),
                "{} loads from elsewhere: {bad}",
                f.display()
            );
        }
    }
}

#[test]
fn help_says_development_only_and_loopback_is_enforced() {
    let bin = env!("CARGO_BIN_EXE_portguard-local-api");
    let out = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("DEVELOPMENT TOOL, never deployed"), "{help}");
    let out = std::process::Command::new(bin)
        .args(["--listen", "0.0.0.0:0", "--key-file", "/nonexistent"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"));
}

/// The project's answer while a function is still starting under watch.
fn assert_still_starting(a: &Answer, function: &str, why: &str) {
    assert_eq!(a.status, 503, "{why}: {}", a.body);
    assert_eq!(a.headers["retry-after"], "5", "{why}");
    assert_eq!(a.headers["content-type"], "application/json", "{why}");
    assert_eq!(
        a.body,
        json!({"error": {
            "code": "UNAVAILABLE",
            "message": format!("{function} is still starting under cargo lambda watch; retry in a few seconds")
        }}),
        "{why}"
    );
}

#[tokio::test]
async fn a_function_still_starting_is_503_unavailable_with_retry_after() {
    let t = token(KEY, &admin("t-100"));
    let cases = [
        (
            "watch not answering within the limit",
            stub_watch_answering(200, "{}", Duration::from_secs(30)).await,
        ),
        ("watch not listening yet", nothing_listening().await),
        (
            "watch's own 5xx while compiling",
            stub_watch_answering(500, "function is compiling", Duration::ZERO).await,
        ),
        (
            "watch's own JSON 5xx",
            stub_watch_answering(503, r#"{"message":"Service Unavailable"}"#, Duration::ZERO).await,
        ),
    ];
    for (why, watch) in cases {
        let addr = start_with(watch, Duration::from_millis(300)).await;
        let a = send(addr, "GET", "/v1/pin", Some(&t), None).await;
        assert_still_starting(&a, "set-pin", why);
    }
}

#[tokio::test]
async fn a_function_that_ran_and_failed_is_still_api_gateways_500() {
    let watch = stub_watch_answering(
        500,
        r#"{"errorType":"Panic","errorMessage":"boom"}"#,
        Duration::ZERO,
    )
    .await;
    let addr = start_with(watch, Duration::from_secs(10)).await;
    let t = token(KEY, &admin("t-100"));
    let a = send(addr, "GET", "/v1/pin", Some(&t), None).await;
    assert_eq!(a.status, 500, "{}", a.body);
    assert_eq!(a.body, json!({"message": "Internal Server Error"}));
    assert!(a.headers.get("retry-after").is_none());
}
