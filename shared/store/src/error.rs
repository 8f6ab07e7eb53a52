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
