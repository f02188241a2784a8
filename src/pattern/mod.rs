//! EventBridge event patterns, EventBridge Pipes filters and input templates, exact to AWS.
//!
//! Rules, pipe filters, `validate`, `tail`/`verify` predictions and the local engine all
//! need to answer "does this event match?" exactly as AWS would, so this module is the one
//! implementation: [`EventPattern`] parses and validates one pattern with AWS's reasons,
//! [`Matcher`] compiles many patterns into one automaton whose cost per event does not grow
//! with the number of rules, [`filter`] applies Pipes' limits and operator subset, and
//! [`template`] renders Pipes input templates and EventBridge input transformers.

mod cidr;
mod error;
mod event_pattern;
pub mod filter;
mod flat_event;
mod json_walk;
mod leaf;
mod matcher;
mod number;
mod operator;
mod parse;
mod path_tree;
mod pattern_json;
mod str_table;
mod structural;
pub mod template;
mod test_event;
mod value_index;
mod value_walk;
mod wildcard;

pub use error::PatternError;
pub use event_pattern::{EventPattern, MAX_PATTERN_CHARS, check_pattern_length};
pub use json_walk::EventJsonError;
pub use matcher::Matcher;
pub use test_event::{REQUIRED_EVENT_FIELDS, TestEventError, validate_test_event};

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod matching_tests;
#[cfg(test)]
mod test_rng;
