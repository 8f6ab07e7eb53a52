//! The table: the same keys and indexes as `infra/template.yaml`.

use crate::{Store, StoreError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

pub const GSI1: &str = "GSI1";
pub const GSI2: &str = "GSI2";
pub const OPEN_ORDERS: &str = "OpenOrders";
/// Sparse: pending webhook deliveries by the time they are due (contract §14).
pub const DUE_DELIVERIES: &str = "DueDeliveries";
pub const TTL_ATTRIBUTE: &str = "expiresAt";

const INDEXES: [(&str, &str, &str); 4] = [
    (GSI1, "GSI1PK", "GSI1SK"),
    (GSI2, "GSI2PK", "GSI2SK"),
    (OPEN_ORDERS, "OPENPK", "OPENSK"),
    (DUE_DELIVERIES, "DUEPK", "DUESK"),
];

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("complete key schema")
}

fn string_attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("complete attribute definition")
}

impl Store {
    /// Creates the table with its indexes, its stream (new images, for the
    /// notifier) and TTL. Returns `false` when it already existed (which is fine).
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("PK", KeyType::Hash))
            .key_schema(key("SK", KeyType::Range))
            .attribute_definitions(string_attr("PK"))
            .attribute_definitions(string_attr("SK"))
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .expect("complete stream specification"),
            );
        for (index, pk, sk) in INDEXES {
            req = req
                .attribute_definitions(string_attr(pk))
                .attribute_definitions(string_attr(sk))
                .global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(index)
                        .key_schema(key(pk, KeyType::Hash))
                        .key_schema(key(sk, KeyType::Range))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .expect("complete index"),
                );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                return Ok(false)
            }
            Err(e) => return Err(StoreError::from_sdk(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .expect("complete TTL specification"),
            )
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(true)
    }
}
