//! The tenant's inventory of phone numbers. A number item is keyed by the
//! number itself, so it can belong to one tenant only; `openPortOutId` marks
//! it reserved by an open order.

use crate::attr::{key, s, Item, Reader};
use crate::clock::Timestamp;
use crate::{Store, StoreError};
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use portguard_validation::{OrderId, PhoneNumber, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    AlreadyOwned,
    OwnedByOther,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRecord {
    pub number: PhoneNumber,
    pub tenant_id: TenantId,
    pub added_at: Timestamp,
    pub open_port_out_id: Option<OrderId>,
    /// The number's own port-out lock (contract §11): `lockOn`, `lockOffAt`.
    pub lock: portguard_rules::Setting,
    /// When the lock was last changed (`lockUpdatedAt`).
    pub lock_updated_at: Option<i64>,
}

impl NumberRecord {
    pub(crate) fn from_item(item: &crate::attr::Item) -> Result<NumberRecord, StoreError> {
        let r = Reader::new(item, "number");
        Ok(NumberRecord {
            number: r.parsed("number", |v| PhoneNumber::from_stored(v).ok())?,
            tenant_id: r.tenant("tenantId")?,
            added_at: r.time("addedAt")?,
            open_port_out_id: r.opt_parsed("openPortOutId", OrderId::parse)?,
            lock: crate::protection::setting(&r, "lockOn", "lockOffAt")?,
            lock_updated_at: r.opt_n("lockUpdatedAt")?,
        })
    }
}

pub(crate) fn number_key(e164: &PhoneNumber) -> Item {
    key(format!("NUMBER#{e164}"), "NUMBER")
}

impl Store {
    /// The items of `numbers` that exist, read consistently (100 keys per
    /// batch, DynamoDB's limit).
    pub async fn number_records(
        &self,
        numbers: &[PhoneNumber],
    ) -> Result<Vec<NumberRecord>, StoreError> {
        let mut records = Vec::with_capacity(numbers.len());
        for chunk in numbers.chunks(100) {
            let keys = chunk.iter().map(number_key).collect();
            for item in self.batch_get_consistent(keys).await? {
                records.push(NumberRecord::from_item(&item)?);
            }
        }
        Ok(records)
    }

    /// Adds a number to a tenant; a number of another tenant is refused.
    pub async fn add_number(
        &self,
        tenant_id: &TenantId,
        e164: &PhoneNumber,
        now: Timestamp,
    ) -> Result<AddOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(number_key(e164)))
            .update_expression(
                "SET tenantId = :t, #number = :n, addedAt = if_not_exists(addedAt, :now), \
                 GSI2PK = :gpk, GSI2SK = :gsk",
            )
            .condition_expression("attribute_not_exists(PK) OR tenantId = :t")
            .expression_attribute_names("#number", "number")
            .expression_attribute_values(":t", s(tenant_id))
            .expression_attribute_values(":n", s(e164))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":gpk", s(format!("TENANT#{tenant_id}")))
            .expression_attribute_values(":gsk", s(format!("NUMBER#{e164}")))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) if out.attributes().is_some_and(|a| !a.is_empty()) => {
                Ok(AddOutcome::AlreadyOwned)
            }
            Ok(_) => Ok(AddOutcome::Added),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(AddOutcome::OwnedByOther)
            }
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// The tenant a number belongs to, if any.
    pub async fn number_owner(&self, e164: &PhoneNumber) -> Result<Option<TenantId>, StoreError> {
        match self.get_consistent(number_key(e164)).await? {
            Some(item) => Reader::new(&item, "number").tenant("tenantId").map(Some),
            None => Ok(None),
        }
    }

    /// Every number of a tenant, in E.164 order: [`Store::numbers_page`]
    /// until the last page.
    pub async fn list_numbers(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<NumberRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self.numbers_page(tenant_id, 1_000, start).await?;
            out.extend(page.items);
            start = page.next;
            if start.is_none() {
                return Ok(out);
            }
        }
    }
}
