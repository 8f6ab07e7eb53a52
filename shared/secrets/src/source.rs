//! Where a secret comes from: `NAME` directly (development) or the secret
//! named by `..._ARN`, read from Secrets Manager through the AWS Parameters
//! and Secrets Lambda Extension.
//!
//! The extension (a layer, see infra/template.yaml) serves plain HTTP on
//! localhost, authenticates with the function's session token and caches.
//! Going through it instead of `aws-sdk-secretsmanager` keeps a second SDK
//! client, and its TLS handshake at cold start, out of every function
//! (package size and init, issue 6).

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("set {direct} (development) or {arn} (Secrets Manager)")]
    Missing {
        direct: &'static str,
        arn: &'static str,
    },
}

/// The extension's port unless `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` says.
const DEFAULT_PORT: u16 = 2773;
/// The extension may still be starting when the function's init asks (its
/// documentation says to retry): this many tries, this far apart.
const TRIES: u32 = 20;
const PAUSE: Duration = Duration::from_millis(50);
/// A generous bound for one local request, which the extension answers from
/// its cache or one Secrets Manager call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the secret from `direct`, else fetches the secret named by `arn`.
/// Returns the variable it came from, for error messages.
pub async fn load_secret(
    direct: &'static str,
    arn: &'static str,
) -> Result<(String, &'static str), SecretError> {
    if let Ok(value) = std::env::var(direct) {
        return Ok((value, direct));
    }
    let Ok(secret_id) = std::env::var(arn) else {
        return Err(SecretError::Missing { direct, arn });
    };
    let invalid = |reason: String| SecretError::Invalid { var: arn, reason };
    let port = match std::env::var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| invalid("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT is not a port".into()))?,
        Err(_) => DEFAULT_PORT,
    };
    let token = std::env::var("AWS_SESSION_TOKEN").map_err(|_| {
        invalid("no AWS_SESSION_TOKEN to authenticate to the secrets extension".into())
    })?;
    let mut last = String::new();
    for _ in 0..TRIES {
        match tokio::time::timeout(REQUEST_TIMEOUT, get(port, &secret_id, &token)).await {
            Ok(Ok((200, body))) => return secret_string(&body).map(|v| (v, arn)).map_err(invalid),
            // Not ready yet, or Secrets Manager throttling: try again.
            Ok(Ok((status @ (400 | 429 | 500..), _))) => last = format!("HTTP {status}"),
            // Not found, forbidden: retrying will not help. The body is not
            // shown: it is the extension's, and could echo the request.
            Ok(Ok((status, _))) => {
                return Err(invalid(format!(
                    "the secrets extension answered HTTP {status}"
                )))
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "timed out".into(),
        }
        tokio::time::sleep(PAUSE).await;
    }
    Err(invalid(format!(
        "cannot read the secret through the secrets extension on port {port}: {last}"
    )))
}

/// One HTTP/1.0 GET on localhost: status and body.
async fn get(port: u16, secret_id: &str, token: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "GET /secretsmanager/get?secretId={} HTTP/1.0\r\nHost: localhost\r\n\
         X-Aws-Parameters-Secrets-Token: {token}\r\nConnection: close\r\n\r\n",
        percent_encode(secret_id)
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let malformed = || std::io::Error::other("malformed HTTP response");
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(malformed)?;
    let status = std::str::from_utf8(&response[..head_end])
        .ok()
        .and_then(|head| head.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(malformed)?;
    Ok((status, response.split_off(head_end + 4)))
}

/// `SecretString` of a GetSecretValue answer.
fn secret_string(body: &[u8]) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "SecretString")]
        secret_string: Option<String>,
    }
    serde_json::from_slice::<Answer>(body)
        .map_err(|_| "the secrets extension's answer is not GetSecretValue JSON".to_owned())?
        .secret_string
        .ok_or_else(|| "the secret has no string value".to_owned())
}

/// Query-string encoding of everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_encoded_for_the_query() {
        assert_eq!(
            percent_encode("arn:aws:secretsmanager:us-east-1:1:secret:a/b-x"),
            "arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A1%3Asecret%3Aa%2Fb-x"
        );
    }

    #[test]
    fn the_secret_string_or_a_reason_without_it() {
        assert_eq!(
            secret_string(br#"{"ARN":"a","SecretString":"s3cr3t","VersionId":"v"}"#),
            Ok("s3cr3t".into())
        );
        assert!(secret_string(br#"{"SecretBinary":"AAAA"}"#).is_err());
        assert!(secret_string(b"not json").is_err());
    }
}
