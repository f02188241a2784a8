//! Consumer queues, each with its own dead-letter queue, and the queue policies that let
//! EventBridge deliver to a queue only on behalf of the rules that target it.

use serde_json::json;

use super::intrinsic::{
    allow_events_from_rules, dead_letter_queue, get_att, queue_policy, reference, tag_list,
    transient, with_tags,
};
use super::rules::rule_arn;
use super::template::Template;
use crate::blueprint::{Blueprint, logical, output};

pub fn render(bp: &Blueprint, t: &mut Template) {
    for queue in &bp.queues {
        let queue_id = logical::queue(queue);
        let dlq_id = logical::queue_dlq(queue);
        // The DLQ accepts redrives from its own queue only. Its ARN is built, not read:
        // the queue depends on the DLQ, so reading the queue's ARN here would be a cycle.
        let source_arn = format!(
            "arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{}",
            bp.queue_name(queue)
        );
        let redrive_allow = json!({ "RedriveAllowPolicy": {
            "redrivePermission": "byQueue",
            "sourceQueueArns": [{ "Fn::Sub": source_arn }],
        } });
        t.resource(
            &dlq_id,
            dead_letter_queue(
                bp,
                bp.queue_dlq_name(queue),
                queue.dlq_retention_seconds,
                redrive_allow,
            ),
        );
        let properties = json!({
            "QueueName": bp.queue_name(queue),
            "VisibilityTimeout": queue.visibility_timeout_seconds,
            "MessageRetentionPeriod": queue.retention_seconds,
            "SqsManagedSseEnabled": true,
            "RedrivePolicy": { "deadLetterTargetArn": get_att(&dlq_id, "Arn"), "maxReceiveCount": queue.max_receive_count },
        });
        t.resource(
            &queue_id,
            transient("AWS::SQS::Queue", with_tags(properties, tag_list(bp))),
        );
        let statements: Vec<_> = bp
            .rules
            .iter()
            .filter(|rule| rule.targets.iter().any(|target| target.value == queue.name))
            .map(|rule| {
                let rule_id = logical::rule(rule);
                allow_events_from_rules(
                    &format!("From{rule_id}"),
                    &queue_id,
                    vec![rule_arn(bp, &bp.rule_name(rule))],
                )
            })
            .collect();
        if !statements.is_empty() {
            t.resource(
                logical::queue_policy(queue),
                queue_policy(&queue_id, statements),
            );
        }
        t.output(
            output::queue_url(queue),
            &format!("Queue of consumer {}", queue.name),
            reference(&queue_id),
        );
        t.output(
            output::queue_arn(queue),
            &format!("ARN of the queue of consumer {}", queue.name),
            get_att(&queue_id, "Arn"),
        );
        t.output(
            output::queue_dlq_url(queue),
            &format!("Messages consumer {} failed to process", queue.name),
            reference(&dlq_id),
        );
    }
}
