//! CloudFormation intrinsic functions and the policy shapes every family uses.

use serde_json::{Value, json};

use crate::blueprint::Blueprint;

pub fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

pub fn get_att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

pub fn sub(template: &str) -> Value {
    json!({ "Fn::Sub": template })
}

/// Tags as the list most resource types take, sorted by key.
pub fn tag_list(bp: &Blueprint) -> Option<Value> {
    (!bp.tags.is_empty()).then(|| {
        Value::Array(
            bp.tags
                .iter()
                .map(|(k, v)| json!({ "Key": k, "Value": v }))
                .collect(),
        )
    })
}

/// Insert `Tags` into a resource's properties when the blueprint has any.
pub fn with_tags(mut properties: Value, tags: Option<Value>) -> Value {
    if let (Some(tags), Some(map)) = (tags, properties.as_object_mut()) {
        map.insert("Tags".into(), tags);
    }
    properties
}

pub fn policy_document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Allow EventBridge to send to a queue, only on behalf of the given rules.
pub fn allow_events_from_rules(sid: &str, queue_id: &str, rule_arns: Vec<Value>) -> Value {
    let source = if rule_arns.len() == 1 {
        rule_arns.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(rule_arns)
    };
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": { "Service": "events.amazonaws.com" },
        "Action": "sqs:SendMessage",
        "Resource": get_att(queue_id, "Arn"),
        "Condition": { "ArnEquals": { "aws:SourceArn": source } }
    })
}

pub fn queue_policy(queue_id: &str, statements: Vec<Value>) -> Value {
    json!({
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [reference(queue_id)],
            "PolicyDocument": policy_document(statements)
        }
    })
}

/// A queue that only holds failures: encrypted, longest retention.
pub fn dead_letter_queue(
    bp: &Blueprint,
    name: String,
    retention_seconds: u32,
    extra: Value,
) -> Value {
    let mut properties = json!({
        "QueueName": name,
        "MessageRetentionPeriod": retention_seconds,
        "SqsManagedSseEnabled": true,
    });
    if let (Some(map), Value::Object(extra)) = (properties.as_object_mut(), extra) {
        map.extend(extra);
    }
    transient("AWS::SQS::Queue", with_tags(properties, tag_list(bp)))
}

/// A resource whose data is transient (queues, logs): deleted with the stack, said
/// explicitly. Retaining a queue would block re-creating the stack under its name.
pub fn transient(kind: &str, properties: Value) -> Value {
    json!({ "Type": kind, "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete", "Properties": properties })
}
