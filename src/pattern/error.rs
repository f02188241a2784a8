//! The one error type for invalid event patterns. EventBridge answers an invalid pattern
//! with `InvalidEventPatternException` and `Event pattern is not valid. Reason: <cause>`,
//! usually followed by the position its JSON reader had reached:
//! `\n at [Source: (String)"<pattern>"; line: 1, column: 18]`. Users grep for that text,
//! so the causes follow AWS's wording and the position follows AWS's reader (see
//! docs/patterns.md).

use thiserror::Error;

use super::pattern_json::line_column;

/// EventBridge shows at most this many characters of the pattern in the position.
const MAX_SOURCE_CHARS: usize = 500;

/// An event pattern that EventBridge would reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Event pattern is not valid. Reason: {cause}{position}")]
pub struct PatternError {
    cause: String,
    /// Empty, or "\n at [Source: …; line: L, column: C]".
    position: String,
}

impl PatternError {
    /// An error EventBridge reports without a position.
    pub(crate) fn new(cause: impl Into<String>) -> PatternError {
        PatternError {
            cause: cause.into(),
            position: String::new(),
        }
    }

    /// An error at byte `offset` of the pattern text `source`.
    pub(crate) fn at(cause: impl Into<String>, source: &str, offset: usize) -> PatternError {
        let (line, column) = line_column(source, offset);
        let total = source.chars().count();
        let shown: String = source.chars().take(MAX_SOURCE_CHARS).collect();
        let truncated = if total > MAX_SOURCE_CHARS {
            format!("[truncated {} chars]", total - MAX_SOURCE_CHARS)
        } else {
            String::new()
        };
        PatternError {
            cause: cause.into(),
            position: format!(
                "\n at [Source: (String)\"{shown}\"{truncated}; line: {line}, column: {column}]"
            ),
        }
    }

    /// Everything after "Reason: ", as AWS words it (cause and position).
    pub fn reason(&self) -> String {
        format!("{}{}", self.cause, self.position)
    }

    /// The cause alone, without the position.
    pub fn cause(&self) -> &str {
        &self.cause
    }

    /// The AWS error code this maps to.
    pub fn code(&self) -> &'static str {
        "InvalidEventPatternException"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_rendered_like_eventbridge() {
        let source = r#"{"detail-type":[],"source":["example.source"]}"#;
        let err = PatternError::at("Empty arrays are not allowed", source, 17);
        assert_eq!(
            err.to_string(),
            format!(
                "Event pattern is not valid. Reason: Empty arrays are not allowed\n at [Source: (String)\"{source}\"; line: 1, column: 18]"
            )
        );
        assert_eq!(err.cause(), "Empty arrays are not allowed");
    }

    #[test]
    fn long_sources_are_truncated() {
        let source = format!(r#"{{"a": ["{}"]}}"#, "x".repeat(600));
        let err = PatternError::at("x", &source, 1);
        assert!(
            err.reason()
                .contains("[truncated 111 chars]; line: 1, column: 2]")
        );
    }
}
