//! Rule targets as PutTargets takes them and ListTargetsByRule returns them, and the
//! checks EventBridge makes on them (ids, retry policy ranges, input forms, templates).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::EventsError;
use crate::pattern::template::{InputTransformer, JsonPath};

pub const MAX_TARGETS_PER_RULE: usize = 5;
pub const MAX_TARGET_ID_CHARS: usize = 64;
pub const MAX_RETRY_ATTEMPTS: i64 = 185;
pub const DEFAULT_MAX_EVENT_AGE_SECONDS: i64 = 86_400;
pub const MIN_EVENT_AGE_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_event_age_in_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformerSpec {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub input_paths_map: BTreeMap<String, String>,
    pub input_template: String,
}

/// One target of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub id: String,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_transformer: Option<InputTransformerSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// Other target parameters (SqsParameters, …), kept and echoed back.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Target {
    /// Check the target as PutTargets does.
    pub fn validate(&self) -> Result<(), EventsError> {
        if !super::is_simple_name(&self.id, MAX_TARGET_ID_CHARS) {
            return Err(EventsError::Validation(format!(
                "1 validation error detected: Value '{}' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64",
                self.id
            )));
        }
        if self.arn.is_empty() {
            return Err(EventsError::Validation(format!(
                "Parameter Arn of target {} is not valid.",
                self.id
            )));
        }
        let forms = [
            self.input.is_some(),
            self.input_path.is_some(),
            self.input_transformer.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() > 1 {
            return Err(EventsError::Validation(format!(
                "Target {} has more than one of Input, InputPath and InputTransformer; use only one.",
                self.id
            )));
        }
        if let Some(input) = &self.input
            && serde_json::from_str::<Value>(input).is_err()
        {
            return Err(EventsError::Validation(format!(
                "Input for target {} is not valid JSON text.",
                self.id
            )));
        }
        if let Some(path) = &self.input_path {
            JsonPath::parse(path).map_err(|e| {
                EventsError::Validation(format!("InputPath for target {} is invalid: {e}", self.id))
            })?;
        }
        self.transformer()?;
        if let Some(policy) = &self.retry_policy {
            if let Some(attempts) = policy.maximum_retry_attempts
                && !(0..=MAX_RETRY_ATTEMPTS).contains(&attempts)
            {
                return Err(EventsError::Validation(format!(
                    "1 validation error detected: Value '{attempts}' at 'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between 0 and {MAX_RETRY_ATTEMPTS}"
                )));
            }
            if let Some(age) = policy.maximum_event_age_in_seconds
                && !(MIN_EVENT_AGE_SECONDS..=DEFAULT_MAX_EVENT_AGE_SECONDS).contains(&age)
            {
                return Err(EventsError::Validation(format!(
                    "1 validation error detected: Value '{age}' at 'targets.1.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between {MIN_EVENT_AGE_SECONDS} and {DEFAULT_MAX_EVENT_AGE_SECONDS}"
                )));
            }
        }
        Ok(())
    }

    /// The compiled InputTransformer, if the target has one.
    pub fn transformer(&self) -> Result<Option<InputTransformer>, EventsError> {
        self.input_transformer
            .as_ref()
            .map(|spec| {
                InputTransformer::new(&spec.input_paths_map, &spec.input_template).map_err(|e| {
                    EventsError::Validation(format!(
                        "InputTransformer of target {} is invalid: {e}",
                        self.id
                    ))
                })
            })
            .transpose()
    }

    pub fn max_retry_attempts(&self) -> i64 {
        self.retry_policy
            .as_ref()
            .and_then(|p| p.maximum_retry_attempts)
            .unwrap_or(MAX_RETRY_ATTEMPTS)
    }

    pub fn max_event_age_ms(&self) -> i64 {
        self.retry_policy
            .as_ref()
            .and_then(|p| p.maximum_event_age_in_seconds)
            .unwrap_or(DEFAULT_MAX_EVENT_AGE_SECONDS)
            * 1000
    }

    pub fn dead_letter_arn(&self) -> Option<&str> {
        self.dead_letter_config
            .as_ref()
            .and_then(|d| d.arn.as_deref())
    }
}
