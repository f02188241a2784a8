//! The EventBridge Pipe from the table's stream to the bus, its execution role (trusted
//! by this pipe only), its dead-letter queue and its log group.

use serde_json::{Value, json};

use super::intrinsic::{
    dead_letter_queue, get_att, policy_document, reference, sub, tag_list, transient, with_tags,
};
use super::template::Template;
use crate::blueprint::{Blueprint, Encryption, LogLevel, logical, output};

pub fn render(bp: &Blueprint, t: &mut Template) {
    let pipe = &bp.pipe;
    t.resource(
        logical::PIPE_DLQ,
        dead_letter_queue(
            bp,
            bp.pipe_dlq_name(),
            pipe.dlq_retention_seconds,
            json!({}),
        ),
    );
    let logging = pipe.log_level != LogLevel::Off;
    if logging {
        let properties = json!({ "LogGroupName": bp.pipe_log_group_name(), "RetentionInDays": pipe.log_retention_days });
        t.resource(
            logical::PIPE_LOG_GROUP,
            transient("AWS::Logs::LogGroup", with_tags(properties, tag_list(bp))),
        );
    }
    t.resource(logical::PIPE_ROLE, role(bp, logging));

    let mut stream = json!({
        "StartingPosition": pipe.starting_position.as_str(),
        "BatchSize": pipe.batch_size,
        "MaximumBatchingWindowInSeconds": pipe.batching_window_seconds,
        "MaximumRetryAttempts": pipe.max_retries,
        "MaximumRecordAgeInSeconds": pipe.max_record_age_seconds,
        "ParallelizationFactor": pipe.parallelization,
        "DeadLetterConfig": { "Arn": get_att(logical::PIPE_DLQ, "Arn") },
    });
    if pipe.bisect_on_error {
        stream["OnPartialBatchItemFailure"] = json!("AUTOMATIC_BISECT");
    }
    let mut source_parameters = json!({ "DynamoDBStreamParameters": stream });
    if !pipe.filters.is_empty() {
        let filters: Vec<Value> = pipe
            .filters
            .iter()
            .map(|f| json!({ "Pattern": f.value.to_string() }))
            .collect();
        source_parameters["FilterCriteria"] = json!({ "Filters": filters });
    }
    let mut target_parameters = json!({
        "EventBridgeEventBusParameters": { "DetailType": pipe.detail_type.value, "Source": pipe.source.value }
    });
    if let Some(template) = &pipe.input_template {
        target_parameters["InputTemplate"] = json!(template.value);
    }
    let mut properties = json!({
        "Name": bp.pipe_name(),
        "Description": format!("Outbox: changes of {} to the {} bus", bp.table_name(), bp.bus_name()),
        "DesiredState": if pipe.running { "RUNNING" } else { "STOPPED" },
        "RoleArn": get_att(logical::PIPE_ROLE, "Arn"),
        "Source": get_att(logical::TABLE, "StreamArn"),
        "SourceParameters": source_parameters,
        "Target": get_att(logical::BUS, "Arn"),
        "TargetParameters": target_parameters,
    });
    if logging {
        properties["LogConfiguration"] = json!({
            "Level": pipe.log_level.as_str(),
            "CloudwatchLogsLogDestination": { "LogGroupArn": get_att(logical::PIPE_LOG_GROUP, "Arn") },
        });
    }
    if !bp.tags.is_empty() {
        properties["Tags"] = json!(bp.tags);
    }
    // The rules exist before the pipe puts the first record on the bus: an event that
    // arrives before them matches nothing and is gone.
    let mut rules: Vec<String> = bp.rules.iter().map(logical::rule).collect();
    if bp.tail {
        rules.push(logical::TAIL_RULE.to_string());
    }
    let mut pipe = json!({ "Type": "AWS::Pipes::Pipe", "Properties": properties });
    if !rules.is_empty() {
        pipe["DependsOn"] = json!(rules);
    }
    t.resource(logical::PIPE, pipe);
    t.output(
        output::PIPE_NAME,
        "Pipe carrying stream records to the bus",
        reference(logical::PIPE),
    );
    t.output(
        output::PIPE_ARN,
        "ARN of the pipe",
        get_att(logical::PIPE, "Arn"),
    );
    t.output(
        output::PIPE_DLQ_URL,
        "Stream batches the pipe could not deliver",
        reference(logical::PIPE_DLQ),
    );
}

/// The pipe's execution role. Its permissions sit in the role's inline policy, not a
/// separate policy resource: Pipes checks DLQ access while the pipe is created.
fn role(bp: &Blueprint, logging: bool) -> Value {
    let pipe_arn = format!(
        "arn:${{AWS::Partition}}:pipes:${{AWS::Region}}:${{AWS::AccountId}}:pipe/{}",
        bp.pipe_name()
    );
    let trust = policy_document(vec![json!({
        "Effect": "Allow",
        "Principal": { "Service": "pipes.amazonaws.com" },
        "Action": "sts:AssumeRole",
        "Condition": { "StringEquals": {
            "aws:SourceAccount": reference("AWS::AccountId"),
            "aws:SourceArn": sub(&pipe_arn),
        } }
    })]);
    let mut statements = vec![
        json!({
            "Sid": "ReadTableStream",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
            "Resource": get_att(logical::TABLE, "StreamArn"),
        }),
        json!({ "Sid": "PutEventsOnBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": get_att(logical::BUS, "Arn") }),
        json!({ "Sid": "SendToDeadLetterQueue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att(logical::PIPE_DLQ, "Arn") }),
    ];
    if logging {
        statements.push(json!({
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(logical::PIPE_LOG_GROUP, "Arn"),
        }));
    }
    if let Encryption::CustomerManaged { kms_key_arn } = &bp.table.encryption {
        statements.push(json!({ "Sid": "DecryptStream", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn }));
    }
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": with_tags(json!({
            "Description": format!("Execution role of pipe {}", bp.pipe_name()),
            "AssumeRolePolicyDocument": trust,
            "Policies": [{ "PolicyName": "outbox-pipe", "PolicyDocument": policy_document(statements) }],
        }), tag_list(bp)),
    })
}
