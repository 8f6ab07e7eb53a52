//! `load_secret` against a stand-in for the AWS Parameters and Secrets Lambda
//! Extension on a loopback port, speaking its documented protocol: `GET
//! /secretsmanager/get?secretId=…` with `X-Aws-Parameters-Secrets-Token`,
//! answering GetSecretValue JSON. One test: the environment is per process.

use portguard_secrets::load_secret;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:portguard/pepper-AbC";
const SECRET: &str = "the-pepper-0123456789abcdef0123456789";

/// Serves one scripted answer (status, body) per connection, in order, and
/// records each request's head.
async fn extension(script: Vec<(u16, String)>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, body) in script {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                conn.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            log.lock().unwrap().push(String::from_utf8(head).unwrap());
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    (port, seen)
}

fn ok_body() -> String {
    format!(
        r#"{{"ARN":"{ARN}","Name":"portguard/pepper","SecretString":"{SECRET}","VersionId":"v1"}}"#
    )
}

#[tokio::test(flavor = "current_thread")]
async fn reads_through_the_extension_retrying_only_what_can_pass() {
    std::env::remove_var("X_SECRET");
    std::env::set_var("X_SECRET_ARN", ARN);
    std::env::set_var("AWS_SESSION_TOKEN", "session-token");

    // Not ready yet (the extension answers 400 during its init), then ready.
    let (port, seen) = extension(vec![(400, "not ready".into()), (200, ok_body())]).await;
    std::env::set_var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string());
    let (value, var) = load_secret("X_SECRET", "X_SECRET_ARN").await.unwrap();
    assert_eq!((value.as_str(), var), (SECRET, "X_SECRET_ARN"));
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let request = &requests[1];
    assert!(request.starts_with(
        "GET /secretsmanager/get?secretId=arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Aportguard%2Fpepper-AbC "
    ), "{request}");
    assert!(
        request.contains("X-Aws-Parameters-Secrets-Token: session-token\r\n"),
        "{request}"
    );

    // Forbidden: no retry, and the error names the variable, not the answer.
    let (port, seen) = extension(vec![(403, format!("denied {SECRET}"))]).await;
    std::env::set_var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string());
    let err = load_secret("X_SECRET", "X_SECRET_ARN")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("X_SECRET_ARN: "), "{err}");
    assert!(err.contains("403") && !err.contains(SECRET), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);

    // A binary secret is not a pepper.
    let (port, _) = extension(vec![(200, r#"{"SecretBinary":"AAAA"}"#.into())]).await;
    std::env::set_var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string());
    let err = load_secret("X_SECRET", "X_SECRET_ARN").await.unwrap_err();
    assert!(err.to_string().contains("no string value"), "{err}");

    // Nothing listening: a bounded number of tries, then a clear error.
    let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    std::env::set_var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string());
    let started = std::time::Instant::now();
    let err = load_secret("X_SECRET", "X_SECRET_ARN").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot read the secret through the secrets extension"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // The direct variable wins, without any request.
    std::env::set_var("X_SECRET", "direct");
    assert_eq!(
        load_secret("X_SECRET", "X_SECRET_ARN").await.unwrap(),
        ("direct".into(), "X_SECRET")
    );
}
