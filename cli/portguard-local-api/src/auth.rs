//! Bearer JWTs checked as API Gateway's JWT authorizer checks them
//! (signature, `iss`, `aud` or `client_id`, `exp`, `nbf`, then the route's
//! scopes from the `scope` claim), and the development tokens that
//! `portguard-admin dev-token` and `POST /_dev/token` mint.
//!
//! Development keys only: HS256 with a random key from a file under `.local/`.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The issuer and audience of development tokens. Fixed, public values: they
/// name the local stack and are trusted nowhere else.
pub const DEV_ISSUER: &str = "https://portguard.local/dev";
pub const DEV_AUDIENCE: &str = "portguard-local";
/// Lifetime of a development token.
pub const DEV_TOKEN_SECONDS: i64 = 12 * 3600;
/// Where `make dev` keeps the signing key, relative to the repository root.
pub const DEV_KEY_FILE: &str = ".local/dev-jwt.key";

/// The authorizer's configuration: one key, one issuer, accepted audiences.
#[derive(Clone)]
pub struct Authorizer {
    key: Vec<u8>,
    pub issuer: String,
    pub audiences: Vec<String>,
}

/// Why a request was refused; API Gateway answers 401 or 403.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one that fails signature, iss, aud, exp or nbf: 401.
    Unauthorized(String),
    /// A valid token without any of the route's scopes: 403.
    Forbidden,
}

/// The verified identity, as API Gateway hands it to the function.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Every claim, as a string (API Gateway stringifies non-string claims).
    pub claims: Map<String, Value>,
    /// The `scope` claim split on spaces (`scp` when there is no `scope`).
    pub scopes: Vec<String>,
}

impl Authorizer {
    pub fn new(key: Vec<u8>, issuer: impl Into<String>, audiences: Vec<String>) -> Self {
        Authorizer {
            key,
            issuer: issuer.into(),
            audiences,
        }
    }

    /// The development authorizer: the key from `path`, [`DEV_ISSUER`], [`DEV_AUDIENCE`].
    pub fn dev_from_file(path: &Path) -> Result<Self, String> {
        Ok(Self::new(
            read_key(path)?,
            DEV_ISSUER,
            vec![DEV_AUDIENCE.into()],
        ))
    }

    /// Checks an `Authorization` header value against `scopes` (any one of
    /// them suffices; an empty list asks only for a valid token).
    pub fn check(&self, header: Option<&str>, scopes: &[&str]) -> Result<Identity, Refusal> {
        let raw = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Refusal::Unauthorized("no Authorization header".into()))?;
        // API Gateway takes the header as the token, with or without "Bearer ".
        let token = match raw.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => raw,
        };
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        // `aud` or `client_id` must name an audience: checked below, by hand.
        v.validate_aud = false;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "iss"]);
        v.leeway = 0;
        let data = decode::<Map<String, Value>>(token, &DecodingKey::from_secret(&self.key), &v)
            .map_err(|e| Refusal::Unauthorized(format!("token refused: {e}")))?;
        let claims = data.claims;
        if !self.audience_ok(&claims) {
            return Err(Refusal::Unauthorized("token refused: audience".into()));
        }
        let scope_claim = claims.get("scope").or_else(|| claims.get("scp"));
        let granted: Vec<String> = match scope_claim {
            Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        if !scopes.is_empty() && !scopes.iter().any(|s| granted.iter().any(|g| g == s)) {
            return Err(Refusal::Forbidden);
        }
        let claims = claims
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => Value::String(s),
                    other => Value::String(stringify(&other)),
                };
                (k, v)
            })
            .collect();
        Ok(Identity {
            claims,
            scopes: granted,
        })
    }

    fn audience_ok(&self, claims: &Map<String, Value>) -> bool {
        let named = |v: Option<&Value>| -> Vec<String> {
            match v {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut names = named(claims.get("aud"));
        names.extend(named(claims.get("client_id")));
        names.iter().any(|n| self.audiences.contains(n))
    }

    /// Signs `claims` with this authorizer's key (HS256).
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(&self.key),
        )
        .map_err(|e| format!("cannot sign: {e}"))
    }
}

/// API Gateway's rendering of a non-string claim: numbers and booleans as
/// they are, arrays as `[a b]`.
fn stringify(v: &Value) -> String {
    match v {
        Value::Array(a) => {
            let parts: Vec<String> = a
                .iter()
                .map(|x| x.as_str().map(String::from).unwrap_or_else(|| stringify(x)))
                .collect();
            format!("[{}]", parts.join(" "))
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads a signing key: the file's bytes, surrounding white space dropped; at
/// least 32 bytes.
pub fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    let raw = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the development signing key {}: {e} (make dev creates it)",
            path.display()
        )
    })?;
    let key = raw.trim_ascii().to_vec();
    if key.len() < 32 {
        return Err(format!("{} holds fewer than 32 bytes", path.display()));
    }
    Ok(key)
}

/// Who a development token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A tenant admin: claim `tenant_id`, scope `portguard/admin`.
    Tenant(String),
    /// A gaining carrier: claim `carrier_id`, scope `portguard/carrier`.
    Carrier(String),
}

/// The claims of a development token issued at `now` (Unix seconds).
pub fn dev_claims(subject: &Subject, now: i64) -> Value {
    let (field, id, scope, sub) = match subject {
        Subject::Tenant(t) => (
            "tenant_id",
            t,
            crate::routes::ADMIN,
            format!("dev-admin-{t}"),
        ),
        Subject::Carrier(c) => ("carrier_id", c, crate::routes::CARRIER, c.clone()),
    };
    let mut claims = json!({
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": sub,
        "scope": scope,
        "iat": now,
        "exp": now + DEV_TOKEN_SECONDS,
        "jti": ulid::Ulid::new().to_string(),
    });
    claims[field] = json!(id);
    claims
}

/// A tenant or carrier id a development token may carry: 1 to 64 of
/// `A-Z a-z 0-9 - _ .`.
pub fn valid_subject_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authz() -> Authorizer {
        Authorizer::new(vec![7; 32], DEV_ISSUER, vec![DEV_AUDIENCE.into()])
    }

    #[test]
    fn dev_token_passes_its_scope_only() {
        let a = authz();
        let t = a
            .sign(&dev_claims(&Subject::Tenant("t-100".into()), now()))
            .unwrap();
        let id = a
            .check(Some(&format!("Bearer {t}")), &["portguard/admin"])
            .unwrap();
        assert_eq!(id.claims["tenant_id"], "t-100");
        assert_eq!(id.scopes, vec!["portguard/admin"]);
        // exp is a number in the token, a string in the event
        assert!(id.claims["exp"].is_string());
        assert_eq!(
            a.check(Some(&t), &["portguard/carrier"]),
            Err(Refusal::Forbidden)
        );
    }

    #[test]
    fn client_id_counts_as_audience() {
        let a = authz();
        let mut c = dev_claims(&Subject::Carrier("carrier-a".into()), now());
        c.as_object_mut().unwrap().remove("aud");
        assert!(a.check(Some(&a.sign(&c).unwrap()), &[]).is_err());
        c["client_id"] = json!(DEV_AUDIENCE);
        assert!(a.check(Some(&a.sign(&c).unwrap()), &[]).is_ok());
    }

    #[test]
    fn subject_ids() {
        assert!(valid_subject_id("t-100"));
        assert!(!valid_subject_id(""));
        assert!(!valid_subject_id("t 100"));
        assert!(!valid_subject_id(&"a".repeat(65)));
    }
}
