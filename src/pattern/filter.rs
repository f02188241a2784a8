//! EventBridge Pipes filter criteria. A pipe's `FilterCriteria.Filters` holds at most 5
//! patterns of at most 4096 characters each, ORed; records matching none are dropped. The
//! pattern language is EventBridge's, but the Pipes column of AWS's comparison-operator
//! table marks `wildcard` and the `anything-but` forms with `prefix`, `suffix`,
//! `equals-ignore-case` or `wildcard` as not supported, so those are refused here by name.
//! DynamoDB stream records carry typed values (`{"S": "x"}`), so filters must name the type
//! key: `{"dynamodb": {"NewImage": {"status": {"S": ["Created"]}}}}`.

use thiserror::Error;

use super::error::PatternError;
use super::event_pattern::EventPattern;
use super::operator::{AnythingBut, Operator};

/// At most this many filters per pipe.
pub const MAX_FILTERS: usize = 5;
/// At most this many characters per filter pattern.
pub const MAX_FILTER_CHARS: usize = 4096;

/// Why a pipe filter is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error(
        "the filter pattern is {chars} characters long; EventBridge Pipes allows at most {MAX_FILTER_CHARS} per filter (shorten it or split it into several filters)"
    )]
    TooLong { chars: usize },
    #[error(
        "the pipe has {count} filters; EventBridge Pipes allows at most {MAX_FILTERS} (they are ORed: merge some with `$or` or a list of values)"
    )]
    TooMany { count: usize },
    #[error(
        "EventBridge Pipes filters do not support the `{operator}` operator (it works in event bus rules only); filter on the bus rule instead or use a supported operator"
    )]
    UnsupportedOperator { operator: &'static str },
}

/// Parse one pipe filter pattern with Pipes' length limit and operator subset.
pub fn parse_pipe_filter(json: &str) -> Result<EventPattern, FilterError> {
    let chars = json.chars().count();
    if chars > MAX_FILTER_CHARS {
        return Err(FilterError::TooLong { chars });
    }
    let pattern = EventPattern::parse(json)?;
    if let Some(operator) = pattern.operators().find_map(unsupported_in_pipes) {
        return Err(FilterError::UnsupportedOperator { operator });
    }
    Ok(pattern)
}

/// Parse all of a pipe's filters (at most [`MAX_FILTERS`]).
pub fn parse_pipe_filters<S: AsRef<str>>(filters: &[S]) -> Result<Vec<EventPattern>, FilterError> {
    if filters.len() > MAX_FILTERS {
        return Err(FilterError::TooMany {
            count: filters.len(),
        });
    }
    filters
        .iter()
        .map(|f| parse_pipe_filter(f.as_ref()))
        .collect()
}

/// Whether a record passes a pipe's filters (any one matching; no filters passes all).
pub fn passes(filters: &[EventPattern], record: &serde_json::Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.matches(record))
}

fn unsupported_in_pipes(operator: &Operator) -> Option<&'static str> {
    match operator {
        Operator::Wildcard(_) => Some("wildcard"),
        Operator::AnythingBut(AnythingBut::Prefixes(_)) => Some("anything-but/prefix"),
        Operator::AnythingBut(AnythingBut::Suffixes(_)) => Some("anything-but/suffix"),
        Operator::AnythingBut(AnythingBut::IgnoreCase(_)) => {
            Some("anything-but/equals-ignore-case")
        }
        Operator::AnythingBut(AnythingBut::Wildcards(_)) => Some("anything-but/wildcard"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(status: &str) -> serde_json::Value {
        json!({"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
               "dynamodb": {"ApproximateCreationDateTime": 1700000000,
                            "Keys": {"pk": {"S": "ORDER#1"}},
                            "NewImage": {"pk": {"S": "ORDER#1"}, "status": {"S": status},
                                         "total": {"N": "12.5"}}}})
    }

    #[test]
    fn typed_attribute_filters_match_dynamodb_records() {
        let filter =
            parse_pipe_filter(r#"{"dynamodb": {"NewImage": {"status": {"S": ["Created"]}}}}"#)
                .unwrap();
        assert!(filter.matches(&record("Created")));
        assert!(!filter.matches(&record("Shipped")));
    }

    #[test]
    fn leaving_out_the_type_key_never_matches() {
        let filter =
            parse_pipe_filter(r#"{"dynamodb": {"NewImage": {"status": ["Created"]}}}"#).unwrap();
        assert!(!filter.matches(&record("Created")));
    }

    #[test]
    fn numeric_does_not_match_n_attributes_but_matches_real_numbers() {
        let on_n = parse_pipe_filter(
            r#"{"dynamodb": {"NewImage": {"total": {"N": [{"numeric": [">", 0]}]}}}}"#,
        )
        .unwrap();
        assert!(!on_n.matches(&record("Created")));
        let on_time = parse_pipe_filter(
            r#"{"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}}"#,
        )
        .unwrap();
        assert!(on_time.matches(&record("Created")));
    }

    #[test]
    fn pipes_unsupported_operators_are_named() {
        let cases = [
            (r#"{"a": [{"wildcard": "x*"}]}"#, "wildcard"),
            (
                r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#,
                "anything-but/prefix",
            ),
            (
                r#"{"a": [{"anything-but": {"suffix": "x"}}]}"#,
                "anything-but/suffix",
            ),
            (
                r#"{"a": [{"anything-but": {"equals-ignore-case": "x"}}]}"#,
                "anything-but/equals-ignore-case",
            ),
            (
                r#"{"a": [{"anything-but": {"wildcard": "x*"}}]}"#,
                "anything-but/wildcard",
            ),
        ];
        for (json, operator) in cases {
            let err = parse_pipe_filter(json).unwrap_err();
            assert_eq!(err, FilterError::UnsupportedOperator { operator }, "{json}");
            assert!(err.to_string().contains(&format!("`{operator}`")));
        }
    }

    #[test]
    fn pipes_supported_operators_pass() {
        for json in [
            r#"{"a": [{"prefix": "x"}]}"#,
            r#"{"a": [{"prefix": {"equals-ignore-case": "x"}}]}"#,
            r#"{"a": [{"suffix": "x"}]}"#,
            r#"{"a": [{"equals-ignore-case": "x"}]}"#,
            r#"{"a": [{"anything-but": ["x", "y"]}]}"#,
            r#"{"a": [{"numeric": [">", 1, "<=", 5]}]}"#,
            r#"{"a": [{"exists": false}]}"#,
            r#"{"a": [{"cidr": "10.0.0.0/8"}]}"#,
            r#"{"$or": [{"a": ["x"]}, {"b": ["y"]}]}"#,
        ] {
            assert!(parse_pipe_filter(json).is_ok(), "{json}");
        }
    }

    #[test]
    fn length_limit_is_4096_characters() {
        let padding = "x".repeat(MAX_FILTER_CHARS);
        let long = format!(r#"{{"a": ["{padding}"]}}"#);
        assert_eq!(
            parse_pipe_filter(&long).unwrap_err(),
            FilterError::TooLong { chars: long.len() }
        );
        let exact = format!(r#"{{"a": ["{}"]}}"#, "x".repeat(MAX_FILTER_CHARS - 11));
        assert_eq!(exact.chars().count(), MAX_FILTER_CHARS);
        assert!(parse_pipe_filter(&exact).is_ok());
    }

    #[test]
    fn at_most_five_filters() {
        let one = r#"{"eventName": ["INSERT"]}"#;
        assert_eq!(parse_pipe_filters(&[one; 5]).unwrap().len(), 5);
        assert_eq!(
            parse_pipe_filters(&[one; 6]).unwrap_err(),
            FilterError::TooMany { count: 6 }
        );
    }

    #[test]
    fn filters_are_ored_and_none_passes_everything() {
        let filters = parse_pipe_filters(&[
            r#"{"eventName": ["MODIFY"]}"#,
            r#"{"dynamodb": {"NewImage": {"status": {"S": ["Created"]}}}}"#,
        ])
        .unwrap();
        assert!(passes(&filters, &record("Created")));
        assert!(!passes(&filters, &record("Shipped")));
        assert!(passes(&[], &record("Shipped")));
    }

    #[test]
    fn invalid_patterns_keep_the_aws_message() {
        let err = parse_pipe_filter(r#"{"a": []}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Event pattern is not valid. Reason: Empty arrays are not allowed\n at [Source: (String)\"{\"a\": []}\"; line: 1, column: 9]"
        );
    }
}
