//! `limit` and `nextToken` for list routes. A token is the DynamoDB key to
//! continue from, sealed with an HMAC and bound to the caller and the list,
//! so a token this API did not issue to this caller is refused.

use crate::{ApiError, Caller};
use lambda_http::{Request, RequestExt};
use portguard_secrets::TokenSigner;
use portguard_store::PageKey;

pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 100;

#[derive(Debug, Clone)]
pub struct Paging {
    signer: TokenSigner,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    pub limit: i32,
    pub start: Option<PageKey>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    /// caller principal and list name, e.g. `carrier:carrier-a|orders|pending`
    to: String,
    key: PageKey,
}

impl Paging {
    pub fn new(signer: TokenSigner) -> Paging {
        Paging { signer }
    }

    /// Reads `limit` and `nextToken`; `list` names the listing (with its
    /// filters) so a token of one list cannot be used on another.
    pub fn params(
        &self,
        req: &Request,
        caller: &Caller,
        list: &str,
    ) -> Result<ListParams, ApiError> {
        let query = req.query_string_parameters_ref();
        let get = |name: &str| query.and_then(|q| q.first(name));
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<i32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "limit must be an integer from 1 to {MAX_LIMIT}"
                    ))
                })?,
        };
        let start = match get("nextToken") {
            None => None,
            Some(token) => Some(self.open(token, caller, list).ok_or_else(|| {
                ApiError::invalid_request(
                    "nextToken was not issued for this list: start without it",
                )
            })?),
        };
        Ok(ListParams { limit, start })
    }

    pub fn token(&self, caller: &Caller, list: &str, key: Option<PageKey>) -> Option<String> {
        let sealed = Sealed {
            to: format!("{}|{list}", caller.principal()),
            key: key?,
        };
        Some(
            self.signer
                .seal(&serde_json::to_vec(&sealed).expect("serialisable")),
        )
    }

    fn open(&self, token: &str, caller: &Caller, list: &str) -> Option<PageKey> {
        let sealed: Sealed = serde_json::from_slice(&self.signer.open(token)?).ok()?;
        (sealed.to == format!("{}|{list}", caller.principal())).then_some(sealed.key)
    }
}
