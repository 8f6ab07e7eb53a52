//! The notifier's floor: plain HTTPS POSTs and nothing else. Its handler
//! POSTs each `{"url", "id", "body"}` of the event, `concurrency` at a time
//! (`"method"` and `"headers"` make it another call: the Telnyx phase's
//! `PATCH` with a Bearer key),
//! with a client built as the notifier's (reqwest on rustls with ring, 5 s
//! limits, no redirects, no proxy), and answers how many were acknowledged
//! with a 2xx. No DynamoDB, no signing, no bookkeeping: the least a
//! delivery can cost.

use futures::StreamExt;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use std::time::Duration;

async fn post(client: &reqwest::Client, p: &Value) -> bool {
    let method = match p["method"].as_str() {
        Some("PATCH") => reqwest::Method::PATCH,
        _ => reqwest::Method::POST,
    };
    let mut req = client.request(method, p["url"].as_str().unwrap_or_default());
    for (k, v) in p["headers"].as_object().into_iter().flatten() {
        req = req.header(k.as_str(), v.as_str().unwrap_or_default());
    }
    let sent = req
        .header("content-type", "application/json")
        .header("webhook-id", p["id"].as_str().unwrap_or_default())
        .body(p["body"].as_str().unwrap_or_default().to_owned())
        .send()
        .await;
    sent.is_ok_and(|r| r.status().is_success())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()?;
    let client = &client;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let posts = event.payload["posts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let concurrency = event.payload["concurrency"].as_u64().unwrap_or(32) as usize;
        let acked: Vec<bool> = futures::stream::iter(posts.iter())
            .map(|p| post(client, p))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let ok = acked.iter().filter(|a| **a).count();
        Ok::<Value, Error>(json!({"acknowledged": ok, "failed": acked.len() - ok}))
    }))
    .await
}
