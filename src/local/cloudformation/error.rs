//! The errors of the CloudFormation API, one variant per AWS error code, so the query
//! protocol can name them exactly as SDKs expect and users can act on the message.

use crate::local::storage::StorageError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CfnError {
    /// `ValidationError`: bad input, template format errors, unknown stacks.
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    ChangeSetNotFound(String),
    #[error("{0}")]
    InvalidChangeSetStatus(String),
    #[error("{0}")]
    InsufficientCapabilities(String),
    /// `InvalidAction`: an action this service does not serve.
    #[error("{0}")]
    InvalidAction(String),
    #[error("{0}")]
    Internal(String),
}

impl CfnError {
    pub fn validation(message: impl Into<String>) -> CfnError {
        CfnError::Validation(message.into())
    }

    /// A `Template format error: …` (what AWS answers for structural template problems).
    pub fn template(message: impl std::fmt::Display) -> CfnError {
        CfnError::Validation(format!("Template format error: {message}"))
    }

    pub fn stack_not_found(stack: &str) -> CfnError {
        CfnError::Validation(format!("Stack with id {stack} does not exist"))
    }

    /// The error code, as in the AWS service model.
    pub fn code(&self) -> &'static str {
        match self {
            CfnError::Validation(_) => "ValidationError",
            CfnError::AlreadyExists(_) => "AlreadyExistsException",
            CfnError::ChangeSetNotFound(_) => "ChangeSetNotFound",
            CfnError::InvalidChangeSetStatus(_) => "InvalidChangeSetStatus",
            CfnError::InsufficientCapabilities(_) => "InsufficientCapabilitiesException",
            CfnError::InvalidAction(_) => "InvalidAction",
            CfnError::Internal(_) => "InternalFailure",
        }
    }

    /// Whether the caller (`Sender`) or the service (`Receiver`) is at fault.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, CfnError::Internal(_))
    }
}

impl From<StorageError> for CfnError {
    fn from(err: StorageError) -> CfnError {
        CfnError::Internal(err.to_string())
    }
}
