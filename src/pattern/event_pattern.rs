//! One parsed, validated event pattern, as EventBridge's PutRule and TestEventPattern see it.

use serde_json::Value;

use super::error::PatternError;
use super::matcher::Matcher;
use super::operator::Operator;
use super::parse::{self, Branch};
use super::pattern_json;

/// PutRule and TestEventPattern take patterns of at most this many characters. A rule's
/// default quota is 2048, which an account can have raised to this.
pub const MAX_PATTERN_CHARS: usize = 4096;

/// The ValidationException PutRule and TestEventPattern answer for pattern text longer
/// than [`MAX_PATTERN_CHARS`] (before any check of its content).
pub fn check_pattern_length(text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars <= MAX_PATTERN_CHARS {
        return Ok(());
    }
    Err(format!(
        "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to {MAX_PATTERN_CHARS} (it has {chars})"
    ))
}

/// A valid event pattern; [`EventPattern::matches`] answers like TestEventPattern.
#[derive(Debug, Clone)]
pub struct EventPattern {
    branches: Vec<Branch>,
    compiled: Matcher<()>,
}

impl EventPattern {
    /// Parse pattern text, rejecting what EventBridge rejects with its reason.
    pub fn parse(json: &str) -> Result<EventPattern, PatternError> {
        let root = pattern_json::parse(json)
            .map_err(|e| PatternError::new(format!("Unrecognized JSON: {e}")))?;
        Ok(EventPattern::compile(parse::parse_pattern(json, &root)?))
    }

    /// A pattern given as a JSON value (from a blueprint); error positions refer to its
    /// compact JSON text, as CloudFormation would send it.
    pub fn from_value(value: &Value) -> Result<EventPattern, PatternError> {
        EventPattern::parse(&value.to_string())
    }

    /// The pattern of a rule or archive that has none: every event matches. (EventBridge
    /// refuses `{}` as a pattern, so this cannot be written as pattern text.)
    pub fn match_all() -> EventPattern {
        EventPattern::compile(vec![Vec::new()])
    }

    fn compile(branches: Vec<Branch>) -> EventPattern {
        let mut pattern = EventPattern {
            branches,
            compiled: Matcher::new(),
        };
        let mut compiled = Matcher::new();
        compiled.add((), &pattern);
        pattern.compiled = compiled;
        pattern
    }

    /// Whether the event matches, as TestEventPattern would answer.
    pub fn matches(&self, event: &Value) -> bool {
        self.compiled.any_match(event)
    }

    pub(crate) fn branches(&self) -> &[Branch] {
        &self.branches
    }

    pub(crate) fn operators(&self) -> impl Iterator<Item = &Operator> {
        self.branches
            .iter()
            .flatten()
            .flat_map(|field| field.operators.iter())
    }
}
