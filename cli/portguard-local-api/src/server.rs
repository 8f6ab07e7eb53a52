//! The HTTP server: API Gateway's routes and authorizer in front of the
//! functions' invoke endpoints, the console's static files at `/`, and the
//! development sign-in at `POST /_dev/token`.

use crate::auth::{self, Authorizer, Refusal, Subject};
use crate::event::{self, Incoming, Reply};
use crate::routes::{self, Auth, Route};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// API Gateway's payload limit for HTTP APIs (10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;

pub struct Config {
    pub routes: Vec<Route>,
    pub authorizer: Authorizer,
    /// `cargo lambda watch`'s invoke address, e.g. `127.0.0.1:9000`.
    pub watch: SocketAddr,
    /// API Gateway's integration timeout is 30 s.
    pub timeout: Duration,
    /// The console's static files; `None` serves none.
    pub console_dir: Option<PathBuf>,
    /// Serve `POST /_dev/token` (to loopback clients only).
    pub dev_sign_in: bool,
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    let config = Arc::new(config);
    loop {
        let (stream, peer) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let config = config.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&config, req, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn respond(r: Reply) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(r.status);
    for (k, v) in &r.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"bad response"))))
}

async fn handle(config: &Config, req: Request<Body>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let reply = route(config, req, peer).await;
    respond(reply)
}

async fn route(config: &Config, req: Request<Body>, peer: SocketAddr) -> Reply {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let is_api = path.starts_with("/v1/") || path == "/v1";

    if path == "/_dev/token" && config.dev_sign_in {
        return dev_token(config, req, peer).await;
    }
    let Some(matched) = routes::find(&config.routes, &method, &path) else {
        if !is_api && (method == "GET" || method == "HEAD") {
            if let Some(dir) = &config.console_dir {
                return static_file(dir, &path, method == "HEAD").await;
            }
        }
        return event::gateway(404, "Not Found");
    };
    let identity = match matched.route.auth {
        Auth::None => None,
        Auth::Scopes(scopes) => {
            let header = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match config.authorizer.check(header, scopes) {
                Ok(id) => Some(id),
                Err(Refusal::Unauthorized(why)) => {
                    eprintln!("[local-api] {method} {path}: 401 ({why})");
                    return event::gateway(401, "Unauthorized");
                }
                Err(Refusal::Forbidden) => {
                    eprintln!("[local-api] {method} {path}: 403 (no scope of {scopes:?})");
                    return event::gateway(403, "Forbidden");
                }
            }
        }
    };
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return event::gateway(413, "Request Entity Too Large"),
    };
    let incoming = Incoming {
        method: &method,
        path: &path,
        query: &query,
        headers,
        body: &body,
        peer,
        host: &host,
    };
    let ev = event::build(&incoming, &matched, identity.as_ref());
    let function = matched.route.function;
    match tokio::time::timeout(config.timeout, invoke(config.watch, function, &ev)).await {
        Ok(Ok(output)) => {
            let r = event::reply(&output);
            eprintln!("[local-api] {method} {path} -> {function}: {}", r.status);
            r
        }
        Ok(Err(InvokeError::Starting(e))) => {
            eprintln!("[local-api] {method} {path} -> {function}: 503, still starting ({e})");
            event::still_starting(function)
        }
        Ok(Err(InvokeError::Failed(e))) => {
            eprintln!("[local-api] {method} {path} -> {function}: {e}");
            event::internal_error()
        }
        Err(_) => {
            eprintln!(
                "[local-api] {method} {path} -> {function}: 503, no answer within {:?} (still compiling or starting?)",
                config.timeout
            );
            event::still_starting(function)
        }
    }
}

/// Why an invocation under `cargo lambda watch` gave no function's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// Watch is not there yet (connection refused) or answered with a 5xx of
    /// its own while it compiles or starts the function: retry shortly.
    Starting(String),
    /// The function ran and failed, or answered something that is not JSON:
    /// API Gateway's 500.
    Failed(String),
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Starting(e) | InvokeError::Failed(e) => f.write_str(e),
        }
    }
}

/// POSTs the event to `cargo lambda watch`'s invoke endpoint.
pub async fn invoke(
    watch: SocketAddr,
    function: &str,
    event: &Value,
) -> Result<Value, InvokeError> {
    let stream = TcpStream::connect(watch).await.map_err(|e| {
        InvokeError::Starting(format!(
            "cannot reach cargo lambda watch on {watch}: {e} (is `make dev` running?)"
        ))
    })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| InvokeError::Starting(format!("handshake with {watch}: {e}")))?;
    tokio::spawn(conn);
    let req = Request::post(format!("/2015-03-31/functions/{function}/invocations"))
        .header(http::header::HOST, watch.to_string())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(event.to_string())))
        .map_err(|e| InvokeError::Failed(e.to_string()))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| InvokeError::Starting(format!("invoke {function}: {e}")))?;
    let status = res.status();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| InvokeError::Starting(format!("invoke {function}: {e}")))?
        .to_bytes();
    classify(function, status, &bytes)
}

/// Watch's answer: the function's output, the function's own failure, or
/// watch's 5xx while the function is not running yet.
fn classify(function: &str, status: http::StatusCode, bytes: &[u8]) -> Result<Value, InvokeError> {
    let snippet = || String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        let e = format!("invoke {function}: HTTP {status}, not JSON: {}", snippet());
        return Err(if status.is_server_error() {
            InvokeError::Starting(e)
        } else {
            InvokeError::Failed(e)
        });
    };
    if status.is_success() || value.get("statusCode").is_some() {
        return Ok(value);
    }
    // A function that ran and failed reports errorType / errorMessage (the
    // Runtime API's error shape); anything else of watch's 5xx is watch itself.
    let function_failed = value.get("errorType").is_some() || value.get("errorMessage").is_some();
    let e = format!("invoke {function}: HTTP {status}: {value}");
    if status.is_server_error() && !function_failed {
        Err(InvokeError::Starting(e))
    } else {
        Err(InvokeError::Failed(e))
    }
}

/// `POST /_dev/token {"tenantId": "t-100"}` or `{"carrierId": "carrier-a"}`:
/// a development token, for loopback clients only. It asks for a JSON
/// content type, so a page of another origin cannot send it without a CORS
/// preflight (which this server never grants), and for a loopback `Host`, so
/// DNS rebinding cannot reach it either.
async fn dev_token(config: &Config, req: Request<Body>, peer: SocketAddr) -> Reply {
    let host_ok = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|h| {
            let name = h.rsplit_once(':').map_or(h, |(n, _)| n);
            matches!(name, "127.0.0.1" | "localhost" | "[::1]")
        })
        .unwrap_or(false);
    if !peer.ip().is_loopback() || !host_ok {
        return event::gateway(403, "Forbidden");
    }
    if req.method() != http::Method::POST {
        return event::gateway(405, "Method Not Allowed");
    }
    let json_ct = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_ct {
        return event::gateway(415, "Unsupported Media Type");
    }
    let Ok(body) = Limited::new(req.into_body(), 4096).collect().await else {
        return event::gateway(413, "Request Entity Too Large");
    };
    let v: Value = serde_json::from_slice(&body.to_bytes()).unwrap_or(Value::Null);
    let str_of = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let subject = match (str_of("tenantId"), str_of("carrierId")) {
        (Some(t), None) if auth::valid_subject_id(&t) => Subject::Tenant(t),
        (None, Some(c)) if auth::valid_subject_id(&c) => Subject::Carrier(c),
        _ => {
            return event::gateway(
                400,
                "send {\"tenantId\": \"t-100\"} or {\"carrierId\": \"carrier-a\"}",
            )
        }
    };
    let claims = auth::dev_claims(&subject, auth::now());
    match config.authorizer.sign(&claims) {
        Ok(token) => Reply {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: json!({"token": token, "expiresAt": claims["exp"], "claims": claims})
                .to_string()
                .into_bytes(),
        },
        Err(e) => {
            eprintln!("[local-api] /_dev/token: {e}");
            event::internal_error()
        }
    }
}

/// A file of the console. `/` is `index.html`; a path that leaves the
/// directory, names a hidden file, or does not exist is a 404.
async fn static_file(dir: &Path, path: &str, head: bool) -> Reply {
    let rel = event::decode_component(path.trim_start_matches('/'));
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel
    };
    let rel = Path::new(&rel);
    let safe = rel.components().all(|c| match c {
        Component::Normal(s) => !s.to_string_lossy().starts_with('.'),
        _ => false,
    });
    let not_found = || Reply {
        status: 404,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        body: b"not found\n".to_vec(),
    };
    if !safe {
        return not_found();
    }
    let full = dir.join(rel);
    let Ok(bytes) = tokio::fs::read(&full).await else {
        return not_found();
    };
    let ext = full.extension().and_then(|e| e.to_str()).unwrap_or("");
    let ct = match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Reply {
        status: 200,
        headers: vec![
            ("content-type".into(), ct.into()),
            ("cache-control".into(), "no-cache".into()),
            ("x-content-type-options".into(), "nosniff".into()),
            (
                "content-security-policy".into(),
                "default-src 'self'; connect-src 'self' https: http://127.0.0.1:* http://localhost:*; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'".into(),
            ),
        ],
        body: if head { Vec::new() } else { bytes },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn starting(r: Result<Value, InvokeError>) -> bool {
        matches!(r, Err(InvokeError::Starting(_)))
    }

    #[test]
    fn watchs_own_5xx_is_still_starting() {
        let f = "set-pin";
        assert!(starting(classify(f, StatusCode::SERVICE_UNAVAILABLE, b"")));
        assert!(starting(classify(
            f,
            StatusCode::INTERNAL_SERVER_ERROR,
            b"compiling..."
        )));
        assert!(starting(classify(
            f,
            StatusCode::BAD_GATEWAY,
            br#"{"message":"function not ready"}"#
        )));
    }

    #[test]
    fn a_functions_answer_and_its_failure_are_not_still_starting() {
        let f = "set-pin";
        let out = classify(f, StatusCode::OK, br#"{"statusCode":200,"body":"{}"}"#).unwrap();
        assert_eq!(out["statusCode"], 200);
        // The function's own 503 travels as its answer.
        assert!(classify(f, StatusCode::OK, br#"{"statusCode":503}"#).is_ok());
        // A Runtime API error: the function ran and failed (API Gateway's 500).
        assert!(matches!(
            classify(
                f,
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"errorType":"Panic","errorMessage":"boom"}"#
            ),
            Err(InvokeError::Failed(_))
        ));
        assert!(matches!(
            classify(f, StatusCode::OK, b"not json"),
            Err(InvokeError::Failed(_))
        ));
        assert!(matches!(
            classify(f, StatusCode::BAD_REQUEST, br#"{"message":"bad"}"#),
            Err(InvokeError::Failed(_))
        ));
    }
}
