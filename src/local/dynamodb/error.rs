//! The errors of the DynamoDB and DynamoDB Streams APIs, one variant per AWS error shape,
//! so the wire layer can name them exactly as SDKs expect (`__type`) and users can act on
//! the message.

use super::attribute_value::Item;

/// One entry of `TransactionCanceledException.CancellationReasons`.
#[derive(Debug, Clone, PartialEq)]
pub struct CancellationReason {
    /// `None`, `ConditionalCheckFailed`, `ValidationError`, …
    pub code: String,
    pub message: Option<String>,
    pub item: Option<Item>,
}

impl CancellationReason {
    pub fn none() -> CancellationReason {
        CancellationReason {
            code: "None".into(),
            message: None,
            item: None,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DynamoError {
    #[error("{0}")]
    Validation(String),
    #[error("The conditional request failed")]
    ConditionalCheckFailed { item: Option<Item> },
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        .reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", "))]
    TransactionCanceled { reasons: Vec<CancellationReason> },
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    TrimmedDataAccess(String),
    #[error("{0}")]
    Internal(String),
}

impl DynamoError {
    pub fn validation(message: impl Into<String>) -> DynamoError {
        DynamoError::Validation(message.into())
    }

    pub fn table_not_found(table: &str) -> DynamoError {
        DynamoError::ResourceNotFound(format!(
            "Requested resource not found: Table: {table} not found"
        ))
    }

    /// The error shape name, as in the AWS service model.
    pub fn shape(&self) -> &'static str {
        match self {
            DynamoError::Validation(_) => "ValidationException",
            DynamoError::ConditionalCheckFailed { .. } => "ConditionalCheckFailedException",
            DynamoError::ResourceNotFound(_) => "ResourceNotFoundException",
            DynamoError::ResourceInUse(_) => "ResourceInUseException",
            DynamoError::TransactionCanceled { .. } => "TransactionCanceledException",
            DynamoError::IdempotentParameterMismatch(_) => "IdempotentParameterMismatchException",
            DynamoError::ExpiredIterator(_) => "ExpiredIteratorException",
            DynamoError::TrimmedDataAccess(_) => "TrimmedDataAccessException",
            DynamoError::Internal(_) => "InternalServerError",
        }
    }
}

impl From<crate::local::storage::StorageError> for DynamoError {
    fn from(err: crate::local::storage::StorageError) -> DynamoError {
        DynamoError::Internal(err.to_string())
    }
}

impl From<rusqlite::Error> for DynamoError {
    fn from(err: rusqlite::Error) -> DynamoError {
        DynamoError::Internal(format!("storage: {err}"))
    }
}

impl From<super::number::NumberError> for DynamoError {
    fn from(err: super::number::NumberError) -> DynamoError {
        DynamoError::Validation(err.to_string())
    }
}
