//! `GET /v1/audit-events`: the tenant's audit trail, newest first.

use crate::routes::Admin;
use crate::App;
use lambda_http::http::Method;
use lambda_http::Request;
use portguard_api::{json, ApiError, Response};
use serde_json::json;

impl App {
    pub(crate) async fn list_audit(
        &self,
        req: &Request,
        admin: &Admin<'_>,
    ) -> Result<Response, ApiError> {
        if req.method() != Method::GET {
            return Err(ApiError::method_not_allowed("GET"));
        }
        let (caller, tenant_id) = (admin.caller, admin.tenant_id);
        let params = self.paging.params(req, caller, "audit")?;
        let page = self
            .store
            .list_audit(tenant_id, params.limit, params.start)
            .await?;
        let next = self.paging.token(caller, "audit", page.next);
        Ok(json(200, &json!({"items": page.items, "nextToken": next})))
    }
}
