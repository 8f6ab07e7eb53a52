//! Development only, never deployed: infra/template.yaml's HTTP API on
//! loopback. Routes as in the template, bearer JWTs checked as API Gateway's
//! JWT authorizer checks them, payload-2.0 events handed to the functions
//! under `cargo lambda watch`, and the tenant admin console at `/`.

pub mod auth;
pub mod event;
pub mod routes;
pub mod server;
