//! A loopback proxy in front of DynamoDB Local that asks for
//! `ReturnConsumedCapacity: INDEXES` on every data-plane call and records
//! each round trip: operation, HTTP status, consumed capacity. Used only in
//! the capacity phase (never while timing), so it costs no latency there.
//!
//! Adding a field changes the body the SDK signed; DynamoDB Local does not
//! check signatures, which is what makes this proxy possible at all.

use crate::http::{read_message, Message};
use serde::Serialize;
use serde_json::Value;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub operation: String,
    pub status: u16,
    /// `ConsumedCapacity` as DynamoDB Local returned it (an object, or a
    /// list for transactions and batches), `null` when it returned none.
    pub consumed: Value,
    /// For transactions: the actions in the request.
    pub actions: usize,
    /// When the proxy had the whole request, and when it had the whole
    /// answer: milliseconds since the proxy started. Calls whose spans
    /// overlap were issued together (one sequential step).
    pub start_ms: f64,
    pub end_ms: f64,
}

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

/// What every connection's thread shares: where to, what was recorded,
/// and the clock's origin.
#[derive(Clone)]
struct Shared {
    upstream: String,
    calls: Arc<Mutex<Vec<Call>>>,
    epoch: Instant,
}

const CAPACITY_OPS: [&str; 10] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

fn pass(client: TcpStream, shared: Shared) {
    let since = |t: Instant| t.duration_since(shared.epoch).as_secs_f64() * 1000.0;
    let _ = client.set_nodelay(true);
    let Ok(mut out) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(client);
    let Ok(up) = TcpStream::connect(&shared.upstream) else {
        return;
    };
    let _ = up.set_nodelay(true);
    let Ok(mut up_out) = up.try_clone() else {
        return;
    };
    let mut up_reader = BufReader::new(up);
    while let Ok(Some(mut req)) = read_message(&mut reader) {
        let start = Instant::now();
        let operation = req
            .header("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_owned();
        let mut actions = 0;
        if CAPACITY_OPS.contains(&operation.as_str()) {
            if let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&req.body) {
                body.insert("ReturnConsumedCapacity".into(), "INDEXES".into());
                actions = body
                    .get("TransactItems")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                req.body = serde_json::to_vec(&body).expect("json");
            }
        }
        if req.write_to(&mut up_out).is_err() {
            return;
        }
        let resp: Message = match read_message(&mut up_reader) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let end = Instant::now();
        let status = resp
            .start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let consumed = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| v.get("ConsumedCapacity").cloned())
            .unwrap_or(Value::Null);
        if !operation.is_empty() {
            shared.calls.lock().expect("calls").push(Call {
                operation,
                status,
                consumed,
                actions,
                start_ms: since(start),
                end_ms: since(end),
            });
        }
        if resp.write_to(&mut out).is_err() {
            return;
        }
    }
}

impl Proxy {
    /// `upstream` is `host:port` of DynamoDB Local.
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            upstream: upstream.to_owned(),
            calls: calls.clone(),
            epoch: Instant::now(),
        };
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                thread::spawn(move || pass(stream, shared));
            }
        });
        Proxy { url, calls }
    }

    /// The calls recorded since the last `take`.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("calls"))
    }
}
