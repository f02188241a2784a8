//! EventBridge Pipes errors, named as the Pipes model names its error shapes.

use crate::local::storage::StorageError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PipesError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Internal(String),
}

impl From<rusqlite::Error> for PipesError {
    fn from(err: rusqlite::Error) -> PipesError {
        PipesError::Storage(StorageError::from(err))
    }
}

impl PipesError {
    pub fn shape(&self) -> &'static str {
        match self {
            PipesError::NotFound(_) => "NotFoundException",
            PipesError::Conflict(_) => "ConflictException",
            PipesError::Validation(_) => "ValidationException",
            PipesError::Storage(_) | PipesError::Internal(_) => "InternalException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            PipesError::NotFound(_) => 404,
            PipesError::Conflict(_) => 409,
            PipesError::Validation(_) => 400,
            PipesError::Storage(_) | PipesError::Internal(_) => 500,
        }
    }

    pub fn pipe_not_found(name: &str) -> PipesError {
        PipesError::NotFound(format!("Pipe {name} does not exist."))
    }
}
