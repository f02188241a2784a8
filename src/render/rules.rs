//! Rules on the bus: one per consumer route, each target with a finite retry policy and
//! the rule's dead-letter queue. With `tail` on, every rule also taps a copy of each
//! event it matches into the tail queue, tagged with the rule's name, and a catch-all
//! rule copies every event there too, so a CLI can tell which rules an event matched
//! and which events matched none.

use serde_json::{Value, json};

use super::intrinsic::{
    allow_events_from_rules, dead_letter_queue, get_att, queue_policy, reference, sub, tag_list,
    transient, with_tags,
};
use super::template::Template;
use crate::blueprint::{Blueprint, Rule, limits, logical, output};

/// Target id of the tail tap on every rule.
pub const TAIL_TARGET_ID: &str = "tail";

/// What a tap delivers to the tail queue: the rule's name, when EventBridge took the
/// event in, and the event itself.
pub const TAIL_TAP_TEMPLATE: &str = r#"{"rule": "<aws.events.rule-name>", "ingested": "<aws.events.event.ingestion-time>", "event": <aws.events.event.json>}"#;

/// Matches every event on the bus: every event has a string `source`.
pub const CATCH_ALL_PATTERN: &str = r#"{"source": [{"prefix": ""}]}"#;

pub fn render(bp: &Blueprint, t: &mut Template) {
    for rule in &bp.rules {
        render_rule(bp, rule, t);
    }
    if bp.tail {
        render_tail(bp, t);
    }
}

fn render_rule(bp: &Blueprint, rule: &Rule, t: &mut Template) {
    let rule_id = logical::rule(rule);
    let dlq_id = logical::rule_dlq(rule);
    t.resource(
        &dlq_id,
        dead_letter_queue(bp, bp.rule_dlq_name(rule), limits::DLQ_RETENTION, json!({})),
    );
    t.resource(
        logical::rule_dlq_policy(rule),
        queue_policy(
            &dlq_id,
            vec![allow_events_from_rules(
                &format!("From{rule_id}"),
                &dlq_id,
                vec![rule_arn(bp, &bp.rule_name(rule))],
            )],
        ),
    );
    let mut targets: Vec<Value> = rule
        .targets
        .iter()
        .filter_map(|target| bp.queue(&target.value))
        .map(|queue| {
            let mut target = target(
                &queue.name,
                &logical::queue(queue),
                rule.max_retry_attempts,
                rule.max_event_age_seconds,
                &dlq_id,
            );
            if let Some(transformer) = &rule.input_transformer {
                let mut input = json!({ "InputTemplate": transformer.template.value });
                if !transformer.paths.is_empty() {
                    input["InputPathsMap"] = json!(transformer.paths);
                }
                target["InputTransformer"] = input;
            }
            target
        })
        .collect();
    if bp.tail {
        targets.push(tail_tap(
            rule.max_retry_attempts,
            rule.max_event_age_seconds,
            &dlq_id,
        ));
    }
    let mut properties = json!({
        "Name": bp.rule_name(rule),
        "EventBusName": get_att(logical::BUS, "Name"),
        "EventPattern": rule.pattern.value,
        "State": if rule.enabled { "ENABLED" } else { "DISABLED" },
        "Targets": targets,
    });
    if let Some(description) = &rule.description {
        properties["Description"] = json!(description);
    }
    // Each queue the rule delivers to lets it in before the rule exists: EventBridge does
    // not retry a delivery that a queue policy refuses.
    let mut policies = vec![logical::rule_dlq_policy(rule)];
    policies.extend(
        rule.targets
            .iter()
            .filter_map(|target| bp.queue(&target.value))
            .map(logical::queue_policy),
    );
    if bp.tail {
        policies.push(logical::TAIL_QUEUE_POLICY.to_string());
    }
    t.resource(
        &rule_id,
        json!({ "Type": "AWS::Events::Rule", "DependsOn": policies, "Properties": properties }),
    );
    t.output(
        output::rule_dlq_url(&rule.name),
        &format!("Events rule {} could not deliver", rule.name),
        reference(&dlq_id),
    );
}

/// A rule's ARN, built from its name rather than read from the rule, so that the queue
/// policies naming it can exist before it does.
pub fn rule_arn(bp: &Blueprint, rule_name: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{}/{rule_name}",
        bp.bus_name()
    ))
}

fn target(id: &str, queue_id: &str, retries: u32, max_age: u32, dlq_id: &str) -> Value {
    json!({
        "Id": id,
        "Arn": get_att(queue_id, "Arn"),
        "RetryPolicy": { "MaximumRetryAttempts": retries, "MaximumEventAgeInSeconds": max_age },
        "DeadLetterConfig": { "Arn": get_att(dlq_id, "Arn") },
    })
}

fn tail_tap(retries: u32, max_age: u32, dlq_id: &str) -> Value {
    let mut tap = target(
        TAIL_TARGET_ID,
        logical::TAIL_QUEUE,
        retries,
        max_age,
        dlq_id,
    );
    tap["InputTransformer"] = json!({ "InputTemplate": TAIL_TAP_TEMPLATE });
    tap
}

fn render_tail(bp: &Blueprint, t: &mut Template) {
    // The tail is for watching, not for keeping: a day is enough.
    let tail_retention = 86_400;
    let properties = json!({ "QueueName": bp.tail_queue_name(), "MessageRetentionPeriod": tail_retention, "SqsManagedSseEnabled": true });
    t.resource(
        logical::TAIL_QUEUE,
        transient("AWS::SQS::Queue", with_tags(properties, tag_list(bp))),
    );
    t.resource(
        logical::TAIL_DLQ,
        dead_letter_queue(bp, bp.tail_dlq_name(), limits::DLQ_RETENTION, json!({})),
    );
    let pattern: Value =
        serde_json::from_str(CATCH_ALL_PATTERN).expect("the catch-all pattern is valid JSON");
    t.resource(
        logical::TAIL_RULE,
        json!({
            "Type": "AWS::Events::Rule",
            "DependsOn": [logical::TAIL_QUEUE_POLICY, logical::TAIL_DLQ_POLICY],
            "Properties": {
                "Name": bp.tail_rule_name(),
                "Description": "Copies every event to the tail queue, so `outboxctl tail` sees events no rule matched",
                "EventBusName": get_att(logical::BUS, "Name"),
                "EventPattern": pattern,
                "State": "ENABLED",
                "Targets": [tail_tap(limits::DEFAULT_RULE_RETRIES, limits::DEFAULT_EVENT_AGE, logical::TAIL_DLQ)],
            },
        }),
    );
    let mut rule_arns: Vec<Value> = bp
        .rules
        .iter()
        .map(|rule| rule_arn(bp, &bp.rule_name(rule)))
        .collect();
    rule_arns.push(rule_arn(bp, &bp.tail_rule_name()));
    t.resource(
        logical::TAIL_QUEUE_POLICY,
        queue_policy(
            logical::TAIL_QUEUE,
            vec![allow_events_from_rules(
                "FromRules",
                logical::TAIL_QUEUE,
                rule_arns,
            )],
        ),
    );
    t.resource(
        logical::TAIL_DLQ_POLICY,
        queue_policy(
            logical::TAIL_DLQ,
            vec![allow_events_from_rules(
                "FromTailRule",
                logical::TAIL_DLQ,
                vec![rule_arn(bp, &bp.tail_rule_name())],
            )],
        ),
    );
    t.output(
        output::TAIL_QUEUE_URL,
        "Copies of every event, tagged with the rules that matched it",
        reference(logical::TAIL_QUEUE),
    );
    t.output(
        output::TAIL_DLQ_URL,
        "Tail copies EventBridge could not deliver",
        reference(logical::TAIL_DLQ),
    );
}
