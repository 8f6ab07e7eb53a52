//! Helpers for the notification tests: a loopback webhook receiver that
//! answers as told (2xx, an error status, or never), and a reader of
//! DynamoDB Local's real table stream that hands records over in the shape
//! a Lambda event source mapping does.
#![allow(dead_code)]

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use portguard_store::Store;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    Status(u16),
    /// Accepts the connection, reads the request and never answers.
    Hang,
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// Verifies the Standard Webhooks signature with the `standardwebhooks` crate.
    pub fn verifies_with(&self, secret: &str) -> bool {
        let mut headers = http::HeaderMap::new();
        for (k, v) in &self.headers {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(self.body.as_bytes(), &headers)
            .is_ok()
    }
}

/// A webhook receiver on 127.0.0.1 (plain http: the notifier allows it only
/// with NOTIFY_ALLOW_LOOPBACK_HTTP).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            got: Arc::default(),
            behaviour: Arc::new(Mutex::new(behaviour)),
        };
        let r = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let r = r.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head, body_start) = loop {
                        let n = conn.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 4);
                        }
                    };
                    let headers: HashMap<String, String> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < body_start + len {
                        let n = conn.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[body_start..]).into_owned();
                    r.got.lock().unwrap().push(Received {
                        headers,
                        body,
                        at: Instant::now(),
                    });
                    let behaviour = *r.behaviour.lock().unwrap();
                    match behaviour {
                        Behaviour::Status(code) => {
                            let answer = format!(
                                "HTTP/1.1 {code} X\r\ncontent-length: 21\r\nconnection: close\r\n\r\nsecret-looking-body-!"
                            );
                            let _ = conn.write_all(answer.as_bytes()).await;
                        }
                        Behaviour::Hang => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                    }
                });
            }
        });
        receiver
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.got.lock().unwrap().clear();
    }
}

/// Reads the table's stream from where the previous read stopped.
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    /// DynamoDB Local's address, for the raw `GetRecords`.
    endpoint: String,
    arn: String,
    /// shard id -> next iterator
    iterators: BTreeMap<String, Option<String>>,
}

impl StreamReader {
    /// A reader at the start of the table's stream (TRIM_HORIZON).
    pub async fn new(store: &Store) -> StreamReader {
        let arn = store
            .client()
            .describe_table()
            .table_name(store.table())
            .send()
            .await
            .unwrap()
            .table
            .and_then(|t| t.latest_stream_arn)
            .expect("the table has a stream (create_table enables it)");
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(portguard_store::https_client())
            .endpoint_url(endpoint)
            .load()
            .await;
        StreamReader {
            client: aws_sdk_dynamodbstreams::Client::new(&config),
            endpoint: std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap(),
            arn,
            iterators: BTreeMap::new(),
        }
    }

    /// Every record written since the last call, as Lambda event records.
    pub async fn read(&mut self) -> Vec<Value> {
        let stream = self
            .client
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .unwrap();
        let shards = stream
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default();
        for shard in shards {
            let id = shard.shard_id.unwrap();
            if self.iterators.contains_key(&id) {
                continue;
            }
            let it = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.arn)
                .shard_id(&id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator;
            self.iterators.insert(id, it);
        }
        let mut out = Vec::new();
        for it in self.iterators.values_mut() {
            while let Some(current) = it.clone() {
                let page = raw_get_records(&self.endpoint, &current).await;
                let records = page["Records"].as_array().cloned().unwrap_or_default();
                let empty = records.is_empty();
                out.extend(records.into_iter().map(|r| lambda_record(&self.arn, r)));
                *it = page["NextShardIterator"].as_str().map(str::to_owned);
                if empty {
                    break;
                }
            }
        }
        out
    }

    /// New records, waiting up to 5 s for at least `min`.
    pub async fn read_at_least(&mut self, min: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut out = self.read().await;
        while out.len() < min && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            out.extend(self.read().await);
        }
        out
    }
}

/// A stream record in the shape Lambda hands it to a function: the JSON the
/// stream wrote, images untouched, with the source's ARN and region.
fn lambda_record(arn: &str, mut record: Value) -> Value {
    record["eventSourceARN"] = json!(arn);
    record["awsRegion"] = json!("us-east-1");
    record
}

/// `GetRecords` over plain HTTP. The SDK would parse the images into typed
/// values and write them out again normalised; Lambda hands a function the
/// JSON exactly as the stream wrote it (DynamoDB Local writes an emptied map
/// as `{}`), and that is what the notifier must cope with.
async fn raw_get_records(endpoint: &str, iterator: &str) -> Value {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = json!({ "ShardIterator": iterator }).to_string();
    // DynamoDB Local reads the credential's shape, not its signature.
    let request = format!(
        "POST / HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: DynamoDBStreams_20120810.GetRecords\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=host, Signature=00\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{raw}"
    );
    serde_json::from_str(body).expect("a JSON answer")
}

/// `{"Records": [...]}`.
pub fn batch(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

/// The one-minute schedule's event, at `time` (epoch seconds).
pub fn scheduled(time: i64) -> Value {
    json!({
        "version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.scheduler",
        "account": "123456789012", "time": portguard_store::clock::format(time), "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/notifier"], "detail": {}
    })
}
