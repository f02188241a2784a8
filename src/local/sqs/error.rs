//! SQS errors, named as the SQS model names its error shapes, with the query-protocol code
//! SQS sends in `x-amzn-query-error` (what SDKs match typed exceptions on).

use crate::local::storage::StorageError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SqsError {
    #[error("The specified queue does not exist.")]
    QueueDoesNotExist,
    #[error("{0}")]
    QueueAlreadyExists(String),
    #[error("{0}")]
    InvalidAttributeName(String),
    #[error("{0}")]
    InvalidAttributeValue(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    InvalidMessageContents(String),
    #[error("The input receipt handle \"{0}\" is not a valid receipt handle.")]
    ReceiptHandleIsInvalid(String),
    #[error("Message does not exist or is not available for visibility timeout change.")]
    MessageNotInflight,
    #[error("Maximum number of entries per request are 10. You have sent {0}.")]
    TooManyEntriesInBatchRequest(usize),
    #[error("Batch requests cannot be longer than {max} bytes. You have sent {sent} bytes.")]
    BatchRequestTooLong { sent: usize, max: usize },
    /// Names the batch's entry type (`SendMessageBatchRequestEntry`, …).
    #[error("There should be at least one {0} in the request.")]
    EmptyBatchRequest(&'static str),
    #[error("Id {0} repeated.")]
    BatchEntryIdsNotDistinct(String),
    #[error(
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."
    )]
    InvalidBatchEntryId,
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    UnsupportedOperation(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Internal(String),
}

impl From<rusqlite::Error> for SqsError {
    fn from(err: rusqlite::Error) -> SqsError {
        SqsError::Storage(StorageError::from(err))
    }
}

impl SqsError {
    /// The error shape's name (the JSON `__type` after `#`).
    pub fn shape(&self) -> &'static str {
        match self {
            SqsError::QueueDoesNotExist => "QueueDoesNotExist",
            SqsError::QueueAlreadyExists(_) => "QueueNameExists",
            SqsError::InvalidAttributeName(_) => "InvalidAttributeName",
            SqsError::InvalidAttributeValue(_) => "InvalidAttributeValue",
            SqsError::InvalidParameterValue(_) => "InvalidParameterValue",
            SqsError::MissingParameter(_) => "MissingParameter",
            SqsError::InvalidMessageContents(_) => "InvalidMessageContents",
            SqsError::ReceiptHandleIsInvalid(_) => "ReceiptHandleIsInvalid",
            SqsError::MessageNotInflight => "MessageNotInflight",
            SqsError::TooManyEntriesInBatchRequest(_) => "TooManyEntriesInBatchRequest",
            SqsError::BatchRequestTooLong { .. } => "BatchRequestTooLong",
            SqsError::EmptyBatchRequest(_) => "EmptyBatchRequest",
            SqsError::BatchEntryIdsNotDistinct(_) => "BatchEntryIdsNotDistinct",
            SqsError::InvalidBatchEntryId => "InvalidBatchEntryId",
            SqsError::ResourceNotFound(_) => "ResourceNotFoundException",
            SqsError::UnsupportedOperation(_) => "UnsupportedOperation",
            SqsError::Storage(_) | SqsError::Internal(_) => "InternalError",
        }
    }

    /// The query-protocol error code (`x-amzn-query-error`), which SDKs map to exceptions.
    pub fn query_code(&self) -> &'static str {
        match self {
            SqsError::QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            SqsError::QueueAlreadyExists(_) => "QueueAlreadyExists",
            SqsError::MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            SqsError::TooManyEntriesInBatchRequest(_) => {
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
            }
            SqsError::BatchRequestTooLong { .. } => "AWS.SimpleQueueService.BatchRequestTooLong",
            SqsError::EmptyBatchRequest(_) => "AWS.SimpleQueueService.EmptyBatchRequest",
            SqsError::BatchEntryIdsNotDistinct(_) => {
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
            }
            SqsError::InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            SqsError::UnsupportedOperation(_) => "AWS.SimpleQueueService.UnsupportedOperation",
            other => other.shape(),
        }
    }

    /// True when the caller is at fault (`Sender`), false for the service (`Receiver`).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, SqsError::Storage(_) | SqsError::Internal(_))
    }
}
