//! Queue attributes: which ones can be set, their defaults and the ranges SQS enforces, and
//! the parsed `RedrivePolicy`. Queue policies (`Policy`) are recorded, not enforced.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::SqsError;

pub const DEFAULT_VISIBILITY_TIMEOUT: i64 = 30;
pub const DEFAULT_RETENTION_SECONDS: i64 = 345_600;
pub const DEFAULT_MAXIMUM_MESSAGE_SIZE: i64 = 1_048_576;
pub const MAX_VISIBILITY_TIMEOUT: i64 = 43_200;
pub const MAX_WAIT_SECONDS: i64 = 20;
pub const MAX_DELAY_SECONDS: i64 = 900;
pub const MAX_RECEIVE_COUNT: i64 = 1000;

/// Attributes a caller may set, with `(min, max)` for the numeric ones.
const SETTABLE: &[(&str, Option<(i64, i64)>)] = &[
    ("DelaySeconds", Some((0, MAX_DELAY_SECONDS))),
    ("MaximumMessageSize", Some((1024, 1_048_576))),
    ("MessageRetentionPeriod", Some((60, 1_209_600))),
    ("ReceiveMessageWaitTimeSeconds", Some((0, MAX_WAIT_SECONDS))),
    ("VisibilityTimeout", Some((0, MAX_VISIBILITY_TIMEOUT))),
    ("Policy", None),
    ("RedrivePolicy", None),
    ("RedriveAllowPolicy", None),
    ("KmsMasterKeyId", None),
    ("KmsDataKeyReusePeriodSeconds", Some((60, 86_400))),
    ("SqsManagedSseEnabled", None),
    ("FifoQueue", None),
    ("ContentBasedDeduplication", None),
    ("DeduplicationScope", None),
    ("FifoThroughputLimit", None),
];

/// Attributes SQS computes; GetQueueAttributes answers them, SetQueueAttributes refuses them.
pub const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

/// The defaults every new standard queue has.
pub fn defaults() -> BTreeMap<String, String> {
    [
        ("DelaySeconds", "0".to_string()),
        (
            "MaximumMessageSize",
            DEFAULT_MAXIMUM_MESSAGE_SIZE.to_string(),
        ),
        (
            "MessageRetentionPeriod",
            DEFAULT_RETENTION_SECONDS.to_string(),
        ),
        ("ReceiveMessageWaitTimeSeconds", "0".to_string()),
        ("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT.to_string()),
        ("SqsManagedSseEnabled", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Check attributes given to CreateQueue or SetQueueAttributes as SQS does.
pub fn validate(attributes: &BTreeMap<String, String>) -> Result<(), SqsError> {
    for (name, value) in attributes {
        let Some((_, range)) = SETTABLE.iter().find(|(known, _)| known == name) else {
            return Err(SqsError::InvalidAttributeName(format!(
                "Unknown Attribute {name}."
            )));
        };
        if let Some((min, max)) = range {
            let ok = value
                .parse::<i64>()
                .is_ok_and(|n| (*min..=*max).contains(&n));
            if !ok {
                return Err(SqsError::InvalidAttributeValue(format!(
                    "Invalid value for the parameter {name}. Reason: must be an integer from {min} to {max}."
                )));
            }
        }
        match name.as_str() {
            "RedrivePolicy" if !value.is_empty() => {
                RedrivePolicy::parse(value)?;
            }
            "FifoQueue" if value == "true" => {
                return Err(SqsError::UnsupportedOperation(
                    "the local engine serves standard queues only; FIFO queues are not supported (see docs/local-engine.md)".into(),
                ));
            }
            "Policy" | "RedriveAllowPolicy"
                if !value.is_empty() && serde_json::from_str::<Value>(value).is_err() =>
            {
                return Err(SqsError::InvalidAttributeValue(format!(
                    "Invalid value for the parameter {name}. Reason: the value is not valid JSON."
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A queue's `RedrivePolicy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: i64,
}

impl RedrivePolicy {
    pub fn parse(text: &str) -> Result<RedrivePolicy, SqsError> {
        let invalid = |reason: &str| {
            SqsError::InvalidAttributeValue(format!(
                "Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}"
            ))
        };
        let value: Value = serde_json::from_str(text)
            .map_err(|_| invalid("Redrive policy is not a valid JSON map."))?;
        let arn = value
            .get("deadLetterTargetArn")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
            })?;
        // SQS accepts the count as a number or a numeric string.
        let count = match value.get("maxReceiveCount") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            invalid("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
        })?;
        if !(1..=MAX_RECEIVE_COUNT).contains(&count) {
            return Err(invalid(
                "Invalid value for maxReceiveCount: must be an integer from 1 to 1000.",
            ));
        }
        Ok(RedrivePolicy {
            dead_letter_target_arn: arn.to_string(),
            max_receive_count: count,
        })
    }
}

/// A numeric attribute, falling back to `default` when unset or unreadable.
pub fn number(attributes: &BTreeMap<String, String>, name: &str, default: i64) -> i64 {
    attributes
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> BTreeMap<String, String> {
        [(name.to_string(), value.to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn ranges_are_enforced_with_sqs_messages() {
        assert!(validate(&one("VisibilityTimeout", "43200")).is_ok());
        let err = validate(&one("VisibilityTimeout", "43201")).unwrap_err();
        assert!(err.to_string().contains("VisibilityTimeout"));
        assert!(matches!(
            validate(&one("MessageRetentionPeriod", "59")),
            Err(SqsError::InvalidAttributeValue(_))
        ));
        assert!(matches!(
            validate(&one("Colour", "1")),
            Err(SqsError::InvalidAttributeName(_))
        ));
    }

    #[test]
    fn redrive_policy_takes_a_number_or_a_string() {
        let policy =
            RedrivePolicy::parse(r#"{"deadLetterTargetArn":"arn:q","maxReceiveCount":"3"}"#)
                .unwrap();
        assert_eq!(policy.max_receive_count, 3);
        assert!(
            RedrivePolicy::parse(r#"{"deadLetterTargetArn":"arn:q","maxReceiveCount":0}"#).is_err()
        );
        assert!(RedrivePolicy::parse(r#"{"maxReceiveCount":1}"#).is_err());
    }
}
