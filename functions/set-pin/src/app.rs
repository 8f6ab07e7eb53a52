//! The function's state, built once per cold start, and its configuration
//! (contract §9). Requests are routed in `routes.rs`.

use lambda_http::Request;
use portguard_api::{ApiError, Paging, Response};
use portguard_email::Mailer;
use portguard_secrets::{CodeHasher, EndpointKeys, PinHasher, TokenSigner};
use portguard_store::Store;

/// Everything a request needs, built once per cold start.
pub struct App {
    pub(crate) store: Store,
    pub(crate) hasher: PinHasher,
    pub(crate) paging: Paging,
    pub(crate) allow_loopback_http: bool,
    /// `PROTECTION_DISABLE_DELAY_SECONDS` (contract §11).
    pub(crate) protection_delay: i64,
    /// `TRANSFER_PIN_TTL_SECONDS` (contract §12).
    pub(crate) transfer_pin_ttl: i64,
    /// Tenant id → account number, remembered across requests (`PUT /v1/pin`).
    pub(crate) accounts: portguard_store::accounts::AccountMemory,
    /// Confirmation codes of alert contacts (contract §17), and their email.
    pub(crate) code_hasher: CodeHasher,
    pub(crate) mailer: Mailer,
    /// Derives the signing secrets of notification endpoints (contract §14).
    pub(crate) endpoint_keys: EndpointKeys,
}

/// Conflicting writes (a failed attempt landing between our read and our
/// write) are retried with a fresh read this many times.
pub(crate) const WRITE_ATTEMPTS: u32 = 16;

impl App {
    /// An app that sends no email ([`App::with_mailer`] adds it).
    pub fn new(store: Store, hasher: PinHasher) -> App {
        let paging = Paging::new(TokenSigner::derive(&hasher, "portguard/next-token/v1"));
        App {
            store,
            accounts: Default::default(),
            code_hasher: CodeHasher::new(&hasher),
            mailer: Mailer::disabled(),
            endpoint_keys: EndpointKeys::process_local(),
            hasher,
            paging,
            allow_loopback_http: false,
            protection_delay: 86_400,
            transfer_pin_ttl: 604_800,
        }
    }

    /// Sends the alert contacts' confirmation codes with `mailer`.
    pub fn with_mailer(mut self, mailer: Mailer) -> App {
        self.mailer = mailer;
        self
    }

    /// The master key of endpoint secrets; without it, a key of this
    /// process (what it issues, no other process can reveal).
    pub fn with_endpoint_keys(mut self, keys: EndpointKeys) -> App {
        self.endpoint_keys = keys;
        self
    }

    /// How long a turn-off of a protection waits (tests use short ones).
    pub fn with_protection_delay(mut self, seconds: i64) -> App {
        self.protection_delay = seconds;
        self
    }

    /// How long a transfer PIN lives (tests use short ones).
    pub fn with_transfer_pin_ttl(mut self, seconds: i64) -> App {
        self.transfer_pin_ttl = seconds;
        self
    }

    /// Reads the configuration of contract §9; fails naming the variable.
    pub async fn from_env() -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let table = portguard_api::config::table_name()?;
        let delay = portguard_api::config::protection_disable_delay()?;
        let ttl = portguard_api::config::transfer_pin_ttl()?;
        let hasher = PinHasher::from_env().await?;
        hasher.prepare();
        portguard_validation::PhoneNumber::prepare();
        let loopback = portguard_api::config::allow_loopback_http()?;
        let (store, mailer, keys) = tokio::join!(
            async {
                let store = Store::connect(table).await;
                store.open_two_connections("TENANT").await;
                store
            },
            Mailer::from_env(),
            EndpointKeys::from_env()
        );
        Ok(App::new(store, hasher)
            .with_mailer(mailer?)
            .with_endpoint_keys(keys?)
            .allow_loopback_http(loopback)
            .with_protection_delay(delay)
            .with_transfer_pin_ttl(ttl))
    }

    /// Never fails: every outcome is an HTTP answer (tests call this).
    pub async fn handle(&self, req: Request) -> Response {
        portguard_api::answer(self.route(&req).await)
    }
}

pub(crate) fn tenant_not_found() -> ApiError {
    ApiError::tenant_not_found()
}
