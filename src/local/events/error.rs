//! EventBridge errors, named as the EventBridge model names its error shapes.

use crate::local::storage::StorageError;
use crate::pattern::PatternError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EventsError {
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceAlreadyExists(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidEventPattern(#[from] PatternError),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    ConcurrentModification(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Internal(String),
}

impl From<rusqlite::Error> for EventsError {
    fn from(err: rusqlite::Error) -> EventsError {
        EventsError::Storage(StorageError::from(err))
    }
}

impl EventsError {
    pub fn shape(&self) -> &'static str {
        match self {
            EventsError::ResourceNotFound(_) => "ResourceNotFoundException",
            EventsError::ResourceAlreadyExists(_) => "ResourceAlreadyExistsException",
            EventsError::Validation(_) => "ValidationException",
            EventsError::InvalidEventPattern(_) => "InvalidEventPatternException",
            EventsError::LimitExceeded(_) => "LimitExceededException",
            EventsError::ConcurrentModification(_) => "ConcurrentModificationException",
            EventsError::Storage(_) | EventsError::Internal(_) => "InternalException",
        }
    }

    pub fn is_client_error(&self) -> bool {
        !matches!(self, EventsError::Storage(_) | EventsError::Internal(_))
    }

    pub fn bus_not_found(name: &str) -> EventsError {
        EventsError::ResourceNotFound(format!("Event bus {name} does not exist."))
    }

    pub fn rule_not_found(rule: &str, bus: &str) -> EventsError {
        EventsError::ResourceNotFound(format!("Rule {rule} does not exist on EventBus {bus}."))
    }
}
