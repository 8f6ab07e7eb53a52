//! A stand-in for Telnyx on loopback (development and tests only, never
//! deployed): its port-out API's `PATCH /v2/portouts/{id}/rejected-pending`,
//! which it records and can be told to fail, and a sender of signed
//! port-out events (`send`), signed as Telnyx signs them (contract §16).
//!
//! Control routes, for `make dev` and scripts: `GET /_calls` (the recorded
//! calls, JSON), `PUT /_fail` with `{"status": 503}` (answer that from now
//! on; `{"status": null}` recovers), `DELETE /_calls`.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use ed25519_dalek::{Signer, SigningKey};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

const MAX_BODY: usize = 64 * 1024;

/// One call to the API, as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// `portouts/{id}/rejected-pending`'s id.
    pub port_out_id: Option<String>,
    /// `reason` of the JSON body.
    pub reason: Option<String>,
    pub authorized: bool,
    /// What the stand-in answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    fail_with: Option<u16>,
}

/// A running stand-in; stops when dropped.
pub struct StandIn {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Listens on `addr` (port 0: any free port); `api_key` is the Bearer
    /// key it accepts (others answer `401`, recorded as unauthorised).
    pub async fn start(addr: SocketAddr, api_key: &str) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let key = Arc::new(api_key.to_owned());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, key) = (shared.clone(), key.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (state, key) = (state.clone(), key.clone());
                        async move { Ok::<_, hyper::Error>(handle(req, &state, &key).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(StandIn { addr, state, task })
    }

    /// `TELNYX_API_BASE_URL` for this stand-in.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("not poisoned").calls.clone()
    }

    /// The authorised rejects that were answered `2xx`: `(port-out id, reason)`.
    pub fn rejects(&self) -> Vec<(String, String)> {
        self.calls()
            .into_iter()
            .filter(|c| c.authorized && (200..300).contains(&c.status))
            .filter_map(|c| Some((c.port_out_id?, c.reason?)))
            .collect()
    }

    /// Answer `status` to every API call from now on (`None`: recover).
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().expect("not poisoned").fail_with = status;
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

async fn handle(req: Request<Incoming>, state: &Mutex<State>, key: &str) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {key}"));
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return reply(413, json!({"errors": [{"title": "too large"}]})),
    };
    match (&method, path.as_str()) {
        (&Method::GET, "/_calls") => {
            let calls = state.lock().expect("not poisoned").calls.clone();
            return reply(200, json!(calls));
        }
        (&Method::DELETE, "/_calls") => {
            state.lock().expect("not poisoned").calls.clear();
            return reply(200, json!({}));
        }
        (&Method::PUT, "/_fail") => {
            let status = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["status"].as_u64())
                .and_then(|s| u16::try_from(s).ok());
            state.lock().expect("not poisoned").fail_with = status;
            return reply(200, json!({ "status": status }));
        }
        _ => {}
    }
    let port_out_id = path
        .strip_prefix("/v2/portouts/")
        .and_then(|rest| rest.strip_suffix("/rejected-pending"))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(str::to_owned);
    let reason = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["reason"].as_str().map(str::to_owned));
    let mut state = state.lock().expect("not poisoned");
    let status = match (&port_out_id, method == Method::PATCH, authorized) {
        (None, _, _) | (_, false, _) => 404,
        (Some(_), true, false) => 401,
        (Some(_), true, true) => state.fail_with.unwrap_or(200),
    };
    state.calls.push(Call {
        method: method.to_string(),
        path,
        port_out_id: port_out_id.clone(),
        reason: reason.clone(),
        authorized,
        status,
    });
    let body = match status {
        200 => json!({"data": {"id": port_out_id, "record_type": "portout",
                               "status": "rejected-pending", "reason": reason}}),
        _ => json!({"errors": [{"code": status.to_string(), "title": "stand-in failure"}]}),
    };
    reply(status, body)
}

/// A port-out event body as Telnyx sends it (contract §16). `pin` `None`
/// leaves `attempted_pin` out.
pub fn event_body(
    event_id: &str,
    event_type: &str,
    port_out_id: &str,
    status: Option<&str>,
    numbers: &[String],
    pin: Option<&str>,
    foc_date: Option<&str>,
) -> String {
    let mut payload = json!({
        "id": port_out_id,
        "phone_numbers": numbers,
        "carrier_name": "Example Wireless",
        "spid": "073H",
    });
    if let Some(status) = status {
        payload["status"] = json!(status);
    }
    if let Some(pin) = pin {
        payload["attempted_pin"] = json!(pin);
    }
    if let Some(foc) = foc_date {
        payload["foc_date"] = json!(foc);
    }
    json!({
        "data": {"event_type": event_type, "id": event_id, "occurred_at": "2026-12-05T10:00:00Z",
                 "record_type": "event", "payload": payload},
        "meta": {"attempt": 1, "delivered_to": "http://127.0.0.1/v1/integrations/telnyx/port-out-events"}
    })
    .to_string()
}

/// `telnyx-signature-ed25519` of `body` at `timestamp`, with the private
/// key's 32-byte seed in base64.
pub fn sign(private_key: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let seed: [u8; 32] = B64
        .decode(private_key)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or("the private key must be base64 of 32 bytes")?;
    let mut signed = format!("{timestamp}|").into_bytes();
    signed.extend_from_slice(body);
    Ok(B64.encode(SigningKey::from_bytes(&seed).sign(&signed).to_bytes()))
}

/// The public key (base64) of a private key's seed.
pub fn public_key(private_key: &str) -> Result<String, String> {
    let seed: [u8; 32] = B64
        .decode(private_key)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or("the private key must be base64 of 32 bytes")?;
    Ok(B64.encode(SigningKey::from_bytes(&seed).verifying_key().to_bytes()))
}

/// POSTs a signed event to `url` (plain HTTP on loopback): status and body.
pub async fn send_event(
    url: &str,
    private_key: &str,
    timestamp: i64,
    body: String,
) -> Result<(u16, String), String> {
    let uri: hyper::Uri = url.parse().map_err(|_| format!("not a URL: {url}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// (the local API) is supported".into());
    }
    let host = uri.host().ok_or("no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let signature = sign(private_key, timestamp, body.as_bytes())?;
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = Request::post(uri.path())
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json")
        .header("telnyx-timestamp", timestamp.to_string())
        .header("telnyx-signature-ed25519", signature)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// A new event id, as Telnyx's are unique.
pub fn new_event_id() -> String {
    format!("ev-{}", ulid::Ulid::new())
}
