//! `GET /v1/audit-events`: the tenant's audit trail, newest first.

use crate::App;
use lambda_http::Request;
use portguard_api::{json, ApiError, Caller, Response};
use serde_json::json;

impl App {
    pub(crate) async fn list_audit(
        &self,
        req: &Request,
        caller: &Caller,
    ) -> Result<Response, ApiError> {
        let Caller::Admin { tenant_id, .. } = caller else {
            return Err(ApiError::forbidden());
        };
        let params = self.paging.params(req, caller, "audit")?;
        let page = self
            .store
            .list_audit(tenant_id.as_str(), params.limit, params.start)
            .await?;
        let next = self.paging.token(caller, "audit", page.next);
        Ok(json(200, &json!({"items": page.items, "nextToken": next})))
    }
}
