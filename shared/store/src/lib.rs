//! The single DynamoDB table behind portguard (see docs/table-design.md).
//!
//! Each module owns one kind of item: its keys, its attribute mapping and the
//! conditional writes that keep the rules true under concurrency. Decisions
//! (may this order move, what does a failure do to the lock) come from
//! `portguard-rules`; this crate only applies them atomically.

pub mod accounts;
mod attr;
pub mod audit;
pub mod audit_once;
pub mod clock;
pub mod contacts;
mod deliveries;
mod error;
pub mod idempotency;
pub mod locked_attempts;
pub mod notify;
pub mod notify_batch;
pub mod numbers;
mod order;
pub mod orders;
pub mod page;
pub mod protection;
pub mod schema;
pub mod tenants;
pub mod transfer_pins;
mod tx;
pub mod upstream;
pub mod webhooks;

pub use audit::{Actor, ActorKind, AuditEvent, AuditType};
pub use error::StoreError;
pub use orders::{NewOrder, Order, Source};
pub use page::{Page, PageKey};
pub use tenants::{Tenant, TenantRef};
pub use tx::{conflict_backoff, retry_on_conflict, ConflictRounds, Written};

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion};
use aws_sdk_dynamodb::Client;
use std::time::Duration;

/// A handle on the table. Cheap to clone; build it once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

/// The SDK's HTTPS client on rustls with ring: the SDK's default would
/// link aws-lc as well, a larger crypto library (package size, issue 6).
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Store {
        Store {
            client,
            table: table.into(),
        }
    }

    /// A client from the standard SDK environment (`AWS_ENDPOINT_URL_DYNAMODB`
    /// points it at DynamoDB Local). Timeouts are short and retries few: a
    /// request that cannot reach DynamoDB should answer 503 within the API
    /// Gateway budget rather than hang until the Lambda timeout.
    pub async fn connect(table: impl Into<String>) -> Store {
        Store::connect_with(
            table,
            Duration::from_millis(2_000),
            Duration::from_millis(5_000),
        )
        .await
    }

    /// [`Store::connect`] for a function's cold start: the client, with its
    /// connection already open ([`Store::open_connection`] under `pk_prefix`).
    pub async fn connect_at_init(table: impl Into<String>, pk_prefix: &str) -> Store {
        let store = Store::connect(table).await;
        store.open_connection(pk_prefix).await;
        store
    }

    /// The same with other time limits: tools and tests on a busy machine
    /// (table creation is a control-plane call and slower) use longer ones.
    pub async fn connect_with(
        table: impl Into<String>,
        attempt_timeout: Duration,
        operation_timeout: Duration,
    ) -> Store {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_millis(1_000))
                    .operation_attempt_timeout(attempt_timeout)
                    .operation_timeout(operation_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .load()
            .await;
        Store::new(Client::new(&config), table)
    }

    /// Opens the pooled HTTPS connection to DynamoDB at init, so that the
    /// first request does not pay for the TCP and TLS handshakes: one
    /// eventually consistent GetItem of an item that never exists, under a
    /// partition prefix `pk_prefix` the function may read (its IAM policy
    /// limits the leading keys). Best effort: a failure or a slow answer
    /// (bounded at 1 s) is logged and the cold start goes on, so it can never
    /// fail one; the first request then connects as it would have.
    pub async fn open_connection(&self, pk_prefix: &str) {
        let key = attr::Item::from([
            ("PK".to_owned(), attr::s(format!("{pk_prefix}#warm-up"))),
            ("SK".to_owned(), attr::s("WARM-UP")),
        ]);
        let get = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .projection_expression("PK")
            .send();
        warm_up(async { get.await.map(|_| ()) }).await;
    }

    /// [`Store::open_connection`] for a function whose requests issue a
    /// Query of `GSI2` and a GetItem together (`PUT /v1/pin`): both, of
    /// items that never exist under `pk_prefix`, at once, so that two
    /// connections are open and the first request's pair finds both.
    pub async fn open_two_connections(&self, pk_prefix: &str) {
        let partition = format!("{pk_prefix}#warm-up");
        tokio::join!(
            self.open_connection(pk_prefix),
            self.warm_up_query(schema::GSI2, "GSI2PK", &partition)
        );
    }

    /// [`Store::open_connection`] for the schedule: its run's own reads,
    /// once, both at once as every run makes them ([`Store::stale_orders`]
    /// of `pending` and of `foc_confirmed` orders older than 1970, so
    /// none): the first run finds two connections open and that read's
    /// whole path (the cutoff's formatting, the page and its capacity) used
    /// once. With one connection at init, the first run's second read
    /// opened the other and measured slower (`make bench`).
    pub async fn open_connections_to_open_orders(&self) {
        use portguard_rules::OrderStatus::{FocConfirmed, Pending};
        let read = |status| async move { self.stale_orders(status, 0, 1, None).await.map(|_| ()) };
        tokio::join!(warm_up(read(Pending)), warm_up(read(FocConfirmed)));
    }

    /// A Query of `index` for a partition that never exists, at init.
    async fn warm_up_query(&self, index: &str, partition_key: &str, partition: &str) {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{partition_key} = :pk"))
            .expression_attribute_values(":pk", attr::s(partition))
            .limit(1)
            .send();
        warm_up(async { query.await.map(|_| ()) }).await;
    }

    /// One item by key, strongly consistent: every read that decides a write
    /// must see the latest committed state.
    pub(crate) async fn get_consistent(
        &self,
        key: attr::Item,
    ) -> Result<Option<attr::Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
    }

    /// One UpdateItem applied only when `condition` holds: `true` applied,
    /// `false` the condition failed (nothing written).
    pub(crate) async fn update_if(
        &self,
        key: attr::Item,
        update: attr::Update,
        condition: &str,
    ) -> Result<bool, StoreError> {
        error::applied(self.conditional_update(key, update, condition).send().await)
    }

    /// An UpdateItem of `key` under `condition`, ready to send.
    pub(crate) fn conditional_update(
        &self,
        key: attr::Item,
        update: attr::Update,
        condition: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update.expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
    }

    /// [`Store::get_consistent`], parsed into the item's type.
    pub(crate) async fn get_as<T>(
        &self,
        key: attr::Item,
        parse: fn(&attr::Item) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.get_consistent(key)
            .await?
            .as_ref()
            .map(parse)
            .transpose()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Awaits an init-time request that opens the connection. Best effort: a
/// failure or a slow answer (bounded at 1 s) is logged and the cold start
/// goes on, so it can never fail one.
async fn warm_up<E>(request: impl std::future::Future<Output = Result<(), E>>) {
    let started = std::time::Instant::now();
    let outcome = match tokio::time::timeout(Duration::from_secs(1), request).await {
        Ok(Ok(())) => "open",
        Ok(Err(_)) => "error",
        Err(_) => "timeout",
    };
    tracing::debug!(
        outcome,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "connection to DynamoDB opened at init"
    );
}
