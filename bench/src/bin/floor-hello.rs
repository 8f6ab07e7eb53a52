//! Floor 1: the bare `lambda_runtime` loop, echoing its event. Everything a
//! Rust function pays before its own code: process start, Tokio, the Runtime
//! API client.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
