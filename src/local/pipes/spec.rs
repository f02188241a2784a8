//! A pipe's definition as CreatePipe takes it and DescribePipe returns it, the checks
//! AWS makes on it (for a DynamoDB stream source and an event-bus target, the pair this
//! engine runs), and UpdatePipe's merge rule: top-level members given replace, and each
//! service-specific parameter object given replaces the old one as a whole.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::PipesError;
use crate::flow::PipeProgram;
use crate::pattern::template::{JsonPath, PipeContext};

pub const MAX_NAME_CHARS: usize = 64;
/// An event-bus target takes at most 10 records a batch (PutEvents' entry limit).
pub const MAX_BUS_BATCH: i64 = 10;
pub const MAX_BATCHING_WINDOW_SECONDS: i64 = 300;
pub const MAX_RETRY_ATTEMPTS: i64 = 10_000;
pub const MAX_RECORD_AGE_SECONDS: i64 = 604_800;
/// A pipe carries at most 50 tags; keys have 1-128 characters, values at most 256.
pub const MAX_TAGS: usize = 50;
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;
/// Without `DetailType`, events arrive with this detail-type (observed on AWS).
pub const DEFAULT_DETAIL_TYPE: &str = "Event from aws:dynamodb";

/// The definition, kept as the JSON members of the request (minus `Name`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipeSpec(pub Map<String, Value>);

/// What the runner needs, checked and compiled.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    pub source_arn: String,
    pub target_bus: String,
    pub starting_position: String,
    pub batch_size: usize,
    pub batching_window_ms: i64,
    /// `None`: retry forever (-1).
    pub max_retry_attempts: Option<i64>,
    /// `None`: no age limit (-1).
    pub max_record_age_ms: Option<i64>,
    pub bisect: bool,
    pub dead_letter_arn: Option<String>,
    pub resources: Vec<String>,
    /// `EventBridgeEventBusParameters.Time`: where in the record the event time is.
    pub time_path: Option<JsonPath>,
    pub program: PipeProgram,
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(*key))?.as_str()
}

fn int_at(value: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(value, |v, key| v.get(*key))?.as_i64()
}

fn invalid(message: impl Into<String>) -> PipesError {
    PipesError::Validation(message.into())
}

fn in_range(value: Option<i64>, name: &str, min: i64, max: i64) -> Result<(), PipesError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(invalid(format!(
            "1 validation error detected: Value '{v}' at '{name}' failed to satisfy constraint: Member must have value between {min} and {max}"
        ))),
        _ => Ok(()),
    }
}

impl PipeSpec {
    pub fn source(&self) -> &str {
        self.0.get("Source").and_then(Value::as_str).unwrap_or("")
    }

    pub fn target(&self) -> &str {
        self.0.get("Target").and_then(Value::as_str).unwrap_or("")
    }

    pub fn desired_running(&self) -> bool {
        self.0.get("DesiredState").and_then(Value::as_str) != Some("STOPPED")
    }

    /// The pipe's tags (`Tags`, a map of strings).
    pub fn tags(&self) -> Map<String, Value> {
        match self.0.get("Tags") {
            Some(Value::Object(tags)) => tags.clone(),
            _ => Map::new(),
        }
    }

    /// Replace the pipe's tags; none leaves no `Tags` member, as AWS describes such a pipe.
    pub fn set_tags(&mut self, tags: Map<String, Value>) {
        if tags.is_empty() {
            self.0.remove("Tags");
        } else {
            self.0.insert("Tags".into(), Value::Object(tags));
        }
    }

    /// Apply an UpdatePipe request (StartingPosition cannot change; it is kept).
    pub fn merged(&self, update: &PipeSpec) -> PipeSpec {
        let mut out = self.0.clone();
        for (key, value) in &update.0 {
            match (key.as_str(), out.get_mut(key), value) {
                (
                    "SourceParameters" | "TargetParameters",
                    Some(Value::Object(old)),
                    Value::Object(new),
                ) => {
                    for (member, replacement) in new {
                        let mut replacement = replacement.clone();
                        if member == "DynamoDBStreamParameters"
                            && let (Some(position), Value::Object(map)) = (
                                old.get(member)
                                    .and_then(|p| p.get("StartingPosition"))
                                    .cloned(),
                                &mut replacement,
                            )
                        {
                            map.insert("StartingPosition".into(), position);
                        }
                        old.insert(member.clone(), replacement);
                    }
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        PipeSpec(out)
    }

    /// Check the definition as CreatePipe does and compile what the runner needs.
    pub fn compile(&self, name: &str, pipe_arn: &str) -> Result<RunnerConfig, PipesError> {
        let spec = Value::Object(self.0.clone());
        if let Some(tags) = spec.get("Tags") {
            check_tags(tags)?;
        }
        if str_at(&spec, &["RoleArn"]).is_none_or(str::is_empty) {
            return Err(invalid(
                "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
            ));
        }
        let source = self.source();
        if !(source.starts_with("arn:aws:dynamodb:") && source.contains("/stream/")) {
            return Err(invalid(format!(
                "the local engine runs pipes whose Source is a DynamoDB stream ARN; `{source}` is not one"
            )));
        }
        let target = self.target();
        if !(target.starts_with("arn:aws:events:") && target.contains(":event-bus/")) {
            return Err(invalid(format!(
                "the local engine runs pipes whose Target is an EventBridge event bus ARN; `{target}` is not one"
            )));
        }
        let ddb = ["SourceParameters", "DynamoDBStreamParameters"];
        let at = |member: &'static str| [ddb[0], ddb[1], member];
        let starting_position = str_at(&spec, &at("StartingPosition")).unwrap_or("");
        if !matches!(starting_position, "TRIM_HORIZON" | "LATEST") {
            return Err(invalid(
                "StartingPosition is required for a DynamoDB stream source and must be TRIM_HORIZON or LATEST",
            ));
        }
        let batch_size = int_at(&spec, &at("BatchSize"));
        in_range(
            batch_size,
            "sourceParameters.dynamoDBStreamParameters.batchSize",
            1,
            MAX_BUS_BATCH,
        )?;
        let window = int_at(&spec, &at("MaximumBatchingWindowInSeconds"));
        in_range(
            window,
            "sourceParameters.dynamoDBStreamParameters.maximumBatchingWindowInSeconds",
            0,
            MAX_BATCHING_WINDOW_SECONDS,
        )?;
        let retries = int_at(&spec, &at("MaximumRetryAttempts"));
        in_range(
            retries,
            "sourceParameters.dynamoDBStreamParameters.maximumRetryAttempts",
            -1,
            MAX_RETRY_ATTEMPTS,
        )?;
        let age = int_at(&spec, &at("MaximumRecordAgeInSeconds"));
        in_range(
            age,
            "sourceParameters.dynamoDBStreamParameters.maximumRecordAgeInSeconds",
            -1,
            MAX_RECORD_AGE_SECONDS,
        )?;
        in_range(
            int_at(&spec, &at("ParallelizationFactor")),
            "sourceParameters.dynamoDBStreamParameters.parallelizationFactor",
            1,
            10,
        )?;
        let bisect = match str_at(&spec, &at("OnPartialBatchItemFailure")) {
            None => false,
            Some("AUTOMATIC_BISECT") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'sourceParameters.dynamoDBStreamParameters.onPartialBatchItemFailure' failed to satisfy constraint: Member must satisfy enum value set: [AUTOMATIC_BISECT]"
                )));
            }
        };
        let dead_letter_arn =
            str_at(&spec, &[ddb[0], ddb[1], "DeadLetterConfig", "Arn"]).map(str::to_string);
        if let Some(arn) = &dead_letter_arn
            && !arn.starts_with("arn:aws:sqs:")
        {
            return Err(invalid(format!(
                "DeadLetterConfig.Arn must be an SQS queue ARN, not `{arn}`"
            )));
        }
        let filters: Vec<String> = spec
            .pointer("/SourceParameters/FilterCriteria/Filters")
            .and_then(Value::as_array)
            .map(|filters| {
                filters
                    .iter()
                    .filter_map(|f| f.get("Pattern").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let bus_parameters = ["TargetParameters", "EventBridgeEventBusParameters"];
        let detail_type = str_at(&spec, &[bus_parameters[0], bus_parameters[1], "DetailType"])
            .unwrap_or(DEFAULT_DETAIL_TYPE);
        let default_source = format!("Pipe {name}");
        let event_source = str_at(&spec, &[bus_parameters[0], bus_parameters[1], "Source"])
            .unwrap_or(&default_source);
        if detail_type.is_empty() || detail_type.len() > 128 {
            return Err(invalid(
                "EventBridgeEventBusParameters.DetailType must be 1 to 128 characters",
            ));
        }
        if event_source.is_empty() || event_source.len() > 256 || event_source.starts_with("aws.") {
            return Err(invalid(
                "EventBridgeEventBusParameters.Source must be 1 to 256 characters and must not start with `aws.`",
            ));
        }
        let resources: Vec<String> = spec
            .pointer("/TargetParameters/EventBridgeEventBusParameters/Resources")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if resources.len() > 10 {
            return Err(invalid(
                "EventBridgeEventBusParameters.Resources takes at most 10 ARNs",
            ));
        }
        let time_path = str_at(&spec, &[bus_parameters[0], bus_parameters[1], "Time"])
            .map(|path| {
                JsonPath::parse(path).map_err(|e| {
                    invalid(format!(
                        "EventBridgeEventBusParameters.Time must be a JSON path: {e}"
                    ))
                })
            })
            .transpose()?;
        let template = str_at(&spec, &["TargetParameters", "InputTemplate"]);
        let context = PipeContext {
            pipe_arn: pipe_arn.to_string(),
            pipe_name: name.to_string(),
            source_arn: source.to_string(),
            enrichment_arn: String::new(),
            target_arn: target.to_string(),
            ingestion_time: String::new(),
        };
        let program = PipeProgram::new(&filters, template, detail_type, event_source, context)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(RunnerConfig {
            source_arn: source.to_string(),
            target_bus: target
                .rsplit(":event-bus/")
                .next()
                .unwrap_or_default()
                .to_string(),
            starting_position: starting_position.to_string(),
            batch_size: batch_size.unwrap_or(MAX_BUS_BATCH) as usize,
            batching_window_ms: window.unwrap_or(0) * 1000,
            max_retry_attempts: retries.filter(|r| *r >= 0),
            max_record_age_ms: age.filter(|a| *a >= 0).map(|a| a * 1000),
            bisect,
            dead_letter_arn,
            resources,
            time_path,
            program,
        })
    }
}

/// Check a `tags` map as CreatePipe and TagResource do.
pub fn check_tags(tags: &Value) -> Result<(), PipesError> {
    let constraint = |what: &str| {
        invalid(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: {what}"
        ))
    };
    let Value::Object(tags) = tags else {
        return Err(constraint("Member must be a map of strings to strings"));
    };
    if tags.len() > MAX_TAGS {
        return Err(constraint(&format!(
            "Member must have at most {MAX_TAGS} entries, found {}",
            tags.len()
        )));
    }
    for (key, value) in tags {
        let Value::String(value) = value else {
            return Err(constraint(&format!(
                "the value of tag `{key}` must be a string"
            )));
        };
        if key.starts_with("aws:") {
            return Err(constraint(&format!(
                "tag key `{key}`: the aws: prefix is reserved for AWS"
            )));
        }
        if !(1..=MAX_TAG_KEY_CHARS).contains(&key.chars().count()) {
            return Err(constraint(&format!(
                "Map keys must have length between 1 and {MAX_TAG_KEY_CHARS}"
            )));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(constraint(&format!(
                "Map value of `{key}` must have length less than or equal to {MAX_TAG_VALUE_CHARS}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> PipeSpec {
        PipeSpec(value.as_object().unwrap().clone())
    }

    fn base() -> Value {
        json!({"RoleArn": "arn:aws:iam::000000000000:role/r",
               "Source": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026",
               "Target": "arn:aws:events:us-east-1:000000000000:event-bus/b",
               "SourceParameters": {"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 5}}})
    }

    #[test]
    fn a_bus_target_takes_at_most_ten_records_a_batch() {
        let mut value = base();
        value["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] = json!(11);
        let err = spec(value).compile("p", "arn").unwrap_err();
        assert!(err.to_string().contains("between 1 and 10"), "{err}");
        let config = spec(base()).compile("p", "arn").unwrap();
        assert_eq!(config.batch_size, 5);
        assert_eq!(config.target_bus, "b");
        assert_eq!(config.max_retry_attempts, None);
    }

    #[test]
    fn updates_replace_parameter_objects_but_keep_the_starting_position() {
        let update =
            spec(json!({"SourceParameters": {"DynamoDBStreamParameters": {"BatchSize": 2}}}));
        let merged = spec(base()).merged(&update);
        assert_eq!(
            merged.0["SourceParameters"]["DynamoDBStreamParameters"],
            json!({"BatchSize": 2, "StartingPosition": "LATEST"})
        );
    }
}
