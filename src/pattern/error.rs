//! The one error type for invalid event patterns. EventBridge answers an invalid pattern
//! with `InvalidEventPatternException` and "Event pattern is not valid. Reason: …"; users
//! grep for that text, so the reason strings follow AWS's wording (see docs/patterns.md).

use thiserror::Error;

/// An event pattern that EventBridge would reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Event pattern is not valid. Reason: {reason}")]
pub struct PatternError {
    reason: String,
}

impl PatternError {
    pub(crate) fn new(reason: impl Into<String>) -> PatternError {
        PatternError {
            reason: reason.into(),
        }
    }

    /// The part after "Reason: ", as AWS words it.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The AWS error code this maps to.
    pub fn code(&self) -> &'static str {
        "InvalidEventPatternException"
    }
}
