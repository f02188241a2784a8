//! The blueprint's JSON Schema, for editors (yaml-language-server completes and checks
//! blueprints with it) and for tools that generate blueprints. Limits come from
//! [`limits`], the same constants the decoder enforces.

use serde_json::{Value, json};

use super::model::{LogLevel, StreamView, limits::*};

/// Where the committed copy lives, relative to the repository root.
pub const COMMITTED_PATH: &str = "blueprints/outbox.schema.json";

fn int(min: u32, max: u32, default: u32, description: &str) -> Value {
    json!({ "type": "integer", "minimum": min, "maximum": max, "default": default, "description": description })
}

fn boolean(default: bool, description: &str) -> Value {
    json!({ "type": "boolean", "default": default, "description": description })
}

fn choice(values: &[&str], default: &str, description: &str) -> Value {
    json!({ "enum": values, "default": default, "description": description })
}

/// An object of `properties`. Every property it does not require also takes `null`: a
/// key with nothing after it means "the default", as `validate` reads it.
fn object(description: &str, mut properties: Value, required: &[&str]) -> Value {
    let listed = properties
        .as_object_mut()
        .expect("properties are an object");
    for (key, property) in listed.iter_mut() {
        if !required.contains(&key.as_str()) {
            allow_null(property);
        }
    }
    let mut schema = json!({
        "type": "object",
        "description": description,
        "additionalProperties": false,
        "properties": properties,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn allow_null(property: &mut Value) {
    if let Some(alternatives) = property.get_mut("oneOf").and_then(Value::as_array_mut) {
        alternatives.push(json!({ "type": "null" }));
    } else if let Some(values) = property.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    } else if let Some(kinds) = property.get_mut("type").and_then(Value::as_array_mut) {
        kinds.push(json!("null"));
    } else if let Some(kind) = property.get("type").and_then(Value::as_str) {
        property["type"] = json!([kind, "null"]);
    }
}

const NAME_PATTERN: &str = "^[A-Za-z0-9_-]+$";

fn name(default: &str, description: &str) -> Value {
    json!({ "type": "string", "pattern": NAME_PATTERN, "default": default, "description": description })
}

fn pattern(description: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            { "type": "object" },
            { "type": "string", "description": "the pattern as a JSON object in a string" }
        ]
    })
}

fn key() -> Value {
    object(
        "A key attribute",
        json!({
            "name": { "type": "string", "minLength": 1, "maxLength": 255 },
            "type": choice(&["S", "N", "B"], "S", "String, Number or Binary"),
        }),
        &["name"],
    )
}

fn table() -> Value {
    let views: Vec<&str> = StreamView::ALL.iter().map(|(n, _)| *n).collect();
    object(
        "The DynamoDB table whose stream is the outbox",
        json!({
            "name": name("orders", "Table name after the stack prefix"),
            "partition_key": key(),
            "sort_key": key(),
            "billing": choice(&["on_demand", "provisioned"], "on_demand", "Billing mode"),
            "read_capacity": int(1, 40_000, 5, "Read capacity units (provisioned billing)"),
            "write_capacity": int(1, 40_000, 5, "Write capacity units (provisioned billing)"),
            "stream_view": choice(&views, "NEW_AND_OLD_IMAGES", "What each stream record carries"),
            "point_in_time_recovery": boolean(true, "Continuous backups"),
            "deletion_protection": boolean(false, "Refuse DeleteTable"),
            "retain_on_delete": boolean(true, "Keep the table when the stack is deleted or the table replaced"),
            "encryption": choice(&["aws_owned", "aws_managed", "customer_managed"], "aws_managed", "Encryption at rest"),
            "kms_key_arn": { "type": "string", "pattern": "^arn:", "description": "KMS key for customer_managed encryption" },
            "ttl_attribute": { "type": "string", "minLength": 1, "maxLength": 255, "description": "Attribute holding each item's expiry (epoch seconds)" },
        }),
        &[],
    )
}

fn pipe() -> Value {
    let levels: Vec<&str> = LogLevel::ALL.iter().map(|(n, _)| *n).collect();
    object(
        "The EventBridge Pipe from the stream to the bus",
        json!({
            "name": name("outbox", "Pipe name after the stack prefix"),
            "starting_position": choice(&["TRIM_HORIZON", "LATEST"], "TRIM_HORIZON", "Where a new pipe starts reading"),
            "batch_size": int(1, BUS_TARGET_BATCH_MAX, DEFAULT_BATCH_SIZE, "Records per batch (an event bus takes at most 10)"),
            "batching_window_seconds": int(0, BATCHING_WINDOW_MAX, 0, "How long to wait to fill a batch"),
            "max_retries": int(0, PIPE_RETRIES_MAX, DEFAULT_PIPE_RETRIES, "Retries before a batch goes to the DLQ"),
            "max_record_age_seconds": int(RECORD_AGE_MIN, RECORD_AGE_MAX, DEFAULT_RECORD_AGE, "Age after which a failing record goes to the DLQ"),
            "bisect_on_error": boolean(true, "Split a failing batch to isolate the bad record"),
            "parallelization": int(1, PARALLELIZATION_MAX, 1, "Concurrent batches per shard"),
            "filters": { "type": "array", "maxItems": PIPE_FILTERS_MAX, "items": pattern("A Pipes filter pattern over the stream record"), "description": "Records matching none are dropped" },
            "detail_type": { "type": "string", "minLength": 1, "maxLength": DETAIL_TYPE_MAX, "default": "$.eventName", "description": "Literal detail-type, or a $. path into the record" },
            "source": { "type": "string", "minLength": 1, "maxLength": SOURCE_MAX, "description": "Literal source, or a $. path (default outboxctl.<name>)" },
            "input_template": { "type": "string", "maxLength": PIPE_INPUT_TEMPLATE_MAX, "description": "Reshape each record: <$.path> placeholders" },
            "dlq_retention_seconds": int(RETENTION_MIN, RETENTION_MAX, DLQ_RETENTION, "How long the pipe's DLQ keeps messages"),
            "log_level": choice(&levels, "ERROR", "Pipe execution logs"),
            "log_retention_days": { "enum": LOG_RETENTION_DAYS, "default": DEFAULT_LOG_RETENTION_DAYS, "description": "Days to keep pipe logs" },
            "desired_state": choice(&["RUNNING", "STOPPED"], "RUNNING", "Whether the pipe runs"),
        }),
        &[],
    )
}

fn bus() -> Value {
    object(
        "The custom event bus",
        json!({
            "name": name("events", "Bus name after the stack prefix"),
            "archive": {
                "oneOf": [
                    { "type": "boolean", "const": false },
                    object("Keep events for replay", json!({
                        "retention_days": { "type": "integer", "minimum": 0, "default": 7, "description": "0 keeps events forever" },
                        "pattern": pattern("Archive only matching events"),
                    }), &[]),
                ]
            },
        }),
        &[],
    )
}

fn queue() -> Value {
    json!({
        "oneOf": [
            { "type": "null" },
            object("A consumer queue; it always gets its own DLQ", json!({
                "visibility_timeout_seconds": int(0, VISIBILITY_TIMEOUT_MAX, DEFAULT_VISIBILITY_TIMEOUT, "Seconds a received message stays hidden"),
                "retention_seconds": int(RETENTION_MIN, RETENTION_MAX, DEFAULT_RETENTION, "Seconds a message is kept"),
                "max_receive_count": int(1, MAX_RECEIVE_COUNT_MAX, DEFAULT_MAX_RECEIVE_COUNT, "Receives before the message moves to the DLQ"),
                "dlq_retention_seconds": int(RETENTION_MIN, RETENTION_MAX, DLQ_RETENTION, "Seconds the DLQ keeps messages (must exceed retention_seconds)"),
            }), &[]),
        ]
    })
}

fn rule() -> Value {
    object(
        "A rule routing matching events to queues; failed deliveries go to the rule's DLQ",
        json!({
            "description": { "type": "string", "maxLength": 512 },
            "pattern": pattern("EventBridge event pattern"),
            "targets": {
                "oneOf": [
                    {
                        "type": "array",
                        "items": { "type": "string", "pattern": NAME_PATTERN },
                        "minItems": 1,
                        "maxItems": TARGETS_PER_RULE_MAX,
                    },
                    { "type": "string", "pattern": NAME_PATTERN },
                ],
                "description": "Queues declared under `queues` (at most 4 with tail on); one queue may be written without the brackets"
            },
            "retry_attempts": int(0, RULE_RETRIES_MAX, DEFAULT_RULE_RETRIES, "Delivery retries per target"),
            "max_event_age_seconds": int(EVENT_AGE_MIN, EVENT_AGE_MAX, DEFAULT_EVENT_AGE, "How long to keep retrying"),
            "input_transformer": object("Reshape the event for the targets", json!({
                "input_paths": { "type": "object", "additionalProperties": { "type": "string" } },
                "input_template": { "type": "string", "minLength": 1, "maxLength": RULE_INPUT_TEMPLATE_MAX },
            }), &["input_template"]),
            "enabled": boolean(true, "Disabled rules deliver nothing"),
        }),
        &["pattern", "targets"],
    )
}

fn api() -> Value {
    json!({
        "oneOf": [
            { "type": "boolean" },
            object("POST /<path> writes an order into the table, no compute", json!({
                "path": name("orders", "Resource path segment"),
                "auth": choice(&["iam", "none"], "iam", "iam: callers sign with SigV4"),
                "stage": { "type": "string", "pattern": "^[A-Za-z0-9_]+$", "default": "v1" },
                "id_prefix": { "type": "string", "default": "ORDER#", "description": "Prefix of the generated partition key" },
                "fields": { "type": "object", "additionalProperties": { "enum": ["S", "N"] }, "description": "Body fields copied into the item" },
            }), &[]),
        ]
    })
}

/// The whole schema.
pub fn schema() -> Value {
    let mut root = object(
        "An outboxctl blueprint: the whole transactional-outbox stack in one file",
        json!({
            "name": {
                "type": "string",
                "pattern": "^[A-Za-z][-A-Za-z0-9]*$",
                "maxLength": STACK_NAME_MAX,
                "description": "Stack name, prefix of every resource name"
            },
            "region": { "type": "string", "pattern": "^[a-z]+(-[a-z]+)+-[0-9]+$" },
            "tags": { "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"], "maxLength": 256, "description": "A number or boolean is written as its text" } },
            "table": table(),
            "pipe": pipe(),
            "bus": bus(),
            "queues": { "type": "object", "propertyNames": { "pattern": NAME_PATTERN }, "additionalProperties": queue() },
            "rules": { "type": "object", "propertyNames": { "pattern": NAME_PATTERN }, "additionalProperties": rule() },
            "api": api(),
            "tail": boolean(true, "Render the tail queue that `outboxctl tail` reads"),
        }),
        &["name"],
    );
    let map = root.as_object_mut().expect("the root schema is an object");
    let mut with_header = serde_json::Map::new();
    with_header.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    with_header.insert("title".into(), json!("outboxctl blueprint"));
    with_header.append(map);
    Value::Object(with_header)
}

/// The schema as committed and printed: pretty JSON with a final newline.
pub fn to_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON value always serializes");
    text.push('\n');
    text
}
