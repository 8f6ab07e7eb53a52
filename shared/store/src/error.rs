use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB is unreachable, timing out or throttling: answer 503.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    /// Anything else unexpected: answer 500.
    #[error("DynamoDB request failed: {0}")]
    Internal(String),
    /// An item did not have the shape this code writes.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

const UNAVAILABLE_CODES: [&str; 6] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// A conditional write's answer: `true` applied, `false` its condition did
/// not hold (nothing written), or the error sorted as [`StoreError::from_sdk`].
pub(crate) fn applied<O, E>(out: Result<O, SdkError<E, HttpResponse>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match out {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(StoreError::from_sdk(e)),
    }
}

pub(crate) fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|se| se.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

impl StoreError {
    /// Sorts an SDK error into unavailable (retry later) or internal.
    pub fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                StoreError::Unavailable(describe(&err))
            }
            SdkError::ResponseError(_) => StoreError::Unavailable(describe(&err)),
            SdkError::ServiceError(se) => {
                let code = se.err().code().unwrap_or_default();
                if UNAVAILABLE_CODES.contains(&code) || se.raw().status().is_server_error() {
                    StoreError::Unavailable(describe(&err))
                } else {
                    StoreError::Internal(describe(&err))
                }
            }
            _ => StoreError::Internal(describe(&err)),
        }
    }
}

fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()
}
