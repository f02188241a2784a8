//! EventBridge through aws-sdk-eventbridge against an in-process engine: buses, rules and
//! targets, pattern validation with AWS's messages, PutEvents limits and per-entry errors,
//! delivery to SQS targets through InputTransformer, disabled rules, and a refused queue
//! (fault injection through the admin endpoint) reaching the rule's DLQ with the
//! documented attributes.

use std::time::Duration;

use aws_sdk_eventbridge::types::{
    DeadLetterConfig, InputTransformer, PutEventsRequestEntry, RetryPolicy, RuleState, Target,
};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::local_sqs::{create_queue, drain, queue_arn, sqs_client};
use crate::local_support::TestEngine;

pub fn events_client(endpoint: &str) -> aws_sdk_eventbridge::Client {
    use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

/// Send one request to the engine's admin endpoint; returns the status line and body.
pub async fn admin(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

pub fn entry(bus: &str, source: &str, detail_type: &str, detail: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(source)
        .detail_type(detail_type)
        .detail(detail)
        .build()
}

/// A rule on `bus` with one SQS target and the given pattern.
async fn rule_to_queue(
    client: &aws_sdk_eventbridge::Client,
    bus: &str,
    rule: &str,
    pattern: &str,
    target: Target,
) {
    client
        .put_rule()
        .event_bus_name(bus)
        .name(rule)
        .event_pattern(pattern)
        .send()
        .await
        .expect("put rule");
    let put = client
        .put_targets()
        .event_bus_name(bus)
        .rule(rule)
        .targets(target)
        .send()
        .await
        .expect("put targets");
    assert_eq!(put.failed_entry_count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_queues_whose_rules_match() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let (events, sqs) = (events_client(&endpoint), sqs_client(&endpoint));
    let bus_arn = events
        .create_event_bus()
        .name("orders")
        .send()
        .await
        .unwrap()
        .event_bus_arn
        .unwrap();
    assert!(bus_arn.ends_with(":event-bus/orders"));
    let billing = create_queue(&sqs, "billing", &[]).await;
    let shipping = create_queue(&sqs, "shipping", &[]).await;
    let audit = create_queue(&sqs, "audit", &[]).await;
    let transformer = InputTransformer::builder()
        .input_paths_map("id", "$.detail.id")
        .input_paths_map("total", "$.detail.total")
        .input_template(r#"{"order": "<id>", "amount": <total>, "rule": "<aws.events.rule-name>"}"#)
        .build()
        .unwrap();
    rule_to_queue(
        &events,
        "orders",
        "paid",
        r#"{"detail-type": ["OrderPaid"]}"#,
        Target::builder()
            .id("billing")
            .arn(queue_arn(&sqs, &billing).await)
            .input_transformer(transformer)
            .build()
            .unwrap(),
    )
    .await;
    rule_to_queue(
        &events,
        "orders",
        "big",
        r#"{"detail": {"total": [{"numeric": [">", 100]}]}}"#,
        Target::builder()
            .id("shipping")
            .arn(queue_arn(&sqs, &shipping).await)
            .build()
            .unwrap(),
    )
    .await;
    rule_to_queue(
        &events,
        "orders",
        "everything",
        r#"{"source": ["shop"]}"#,
        Target::builder()
            .id("audit")
            .arn(queue_arn(&sqs, &audit).await)
            .build()
            .unwrap(),
    )
    .await;
    events
        .disable_rule()
        .event_bus_name("orders")
        .name("everything")
        .send()
        .await
        .unwrap();
    let described = events
        .describe_rule()
        .event_bus_name("orders")
        .name("everything")
        .send()
        .await
        .unwrap();
    assert_eq!(described.state, Some(RuleState::Disabled));

    let put = events
        .put_events()
        .entries(entry(
            "orders",
            "shop",
            "OrderPaid",
            r#"{"id": "o-1", "total": 12.5}"#,
        ))
        .entries(entry(
            "orders",
            "shop",
            "OrderPlaced",
            r#"{"id": "o-2", "total": 500}"#,
        ))
        .entries(entry("orders", "shop", "OrderPlaced", "not json"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count, 1);
    let results = put.entries.unwrap();
    assert_eq!(results[2].error_code.as_deref(), Some("MalformedDetail"));

    let billed = drain(&sqs, &billing, 1, Duration::from_secs(10)).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&billed[0]).unwrap(),
        serde_json::json!({"order": "o-1", "amount": 12.5, "rule": "paid"})
    );
    let shipped = drain(&sqs, &shipping, 1, Duration::from_secs(10)).await;
    let event: serde_json::Value = serde_json::from_str(&shipped[0]).unwrap();
    assert_eq!(event["detail"]["id"], "o-2");
    assert_eq!(event["detail-type"], "OrderPlaced");
    assert_eq!(event["account"], "000000000000");
    // Nothing more anywhere: o-1 is not big, and the audit rule is disabled.
    assert!(
        drain(&sqs, &shipping, 1, Duration::from_millis(500))
            .await
            .is_empty()
    );
    assert!(
        drain(&sqs, &audit, 1, Duration::from_millis(500))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_patterns_and_requests_fail_as_on_aws() {
    let engine = TestEngine::start().await;
    let events = events_client(&engine.handle.endpoint_url());
    let err = events
        .put_rule()
        .name("bad")
        .event_pattern(r#"{"source": []}"#)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_event_pattern_exception(), "{err:?}");
    assert!(
        err.meta()
            .message()
            .unwrap()
            .starts_with("Event pattern is not valid. Reason: "),
        "{err:?}"
    );
    // Longer than PutRule's 4096 characters: refused before its content is read.
    let long = format!(r#"{{"source": ["{}"]}}"#, "s".repeat(4096));
    let err = events
        .put_rule()
        .name("long")
        .event_pattern(&long)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.meta().code(), Some("ValidationException"), "{err:?}");
    let no_rule = events
        .remove_targets()
        .rule("nope")
        .ids("t")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(no_rule.is_resource_not_found_exception(), "{no_rule:?}");
    let missing = events
        .describe_rule()
        .name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_resource_not_found_exception());
    let too_many: Vec<_> = (0..11)
        .map(|i| entry("default", "shop", "X", &format!(r#"{{"i": {i}}}"#)))
        .collect();
    let err = events
        .put_events()
        .set_entries(Some(too_many))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ValidationException")
    );
    let matched = events
        .test_event_pattern()
        .event_pattern(r#"{"detail": {"n": [{"numeric": [">=", 300]}]}}"#)
        .event(r#"{"id": "1", "account": "1", "source": "s", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "detail-type": "d", "detail": {"n": 300.0}}"#)
        .send()
        .await
        .unwrap();
    assert!(matched.result);
    let bad_event = events
        .test_event_pattern()
        .event_pattern(r#"{"source": ["shop"]}"#)
        .event(r#"{"id": "1"}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad_event.into_service_error().meta().message(),
        Some("Parameter Event is not valid.")
    );
    let five_targets: Vec<Target> = (0..6)
        .map(|i| {
            Target::builder()
                .id(format!("t{i}"))
                .arn("arn:aws:sqs:us-east-1:000000000000:q")
                .build()
                .unwrap()
        })
        .collect();
    events
        .put_rule()
        .name("many")
        .event_pattern(r#"{"source": ["shop"]}"#)
        .send()
        .await
        .unwrap();
    let err = events
        .put_targets()
        .rule("many")
        .set_targets(Some(five_targets))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_limit_exceeded_exception());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_queue_delivery_reaches_the_rule_dlq_with_the_documented_attributes() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let (events, sqs) = (events_client(&endpoint), sqs_client(&endpoint));
    let target = create_queue(&sqs, "consumer", &[]).await;
    let dlq = create_queue(&sqs, "rule-dlq", &[]).await;
    let target_arn = queue_arn(&sqs, &target).await;
    rule_to_queue(
        &events,
        "default",
        "all",
        r#"{"source": ["shop"]}"#,
        Target::builder()
            .id("consumer")
            .arn(&target_arn)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(1)
                    .maximum_event_age_in_seconds(60)
                    .build(),
            )
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(queue_arn(&sqs, &dlq).await)
                    .build(),
            )
            .build()
            .unwrap(),
    )
    .await;
    let response = admin(
        engine.handle.addr(),
        "POST",
        "/_outboxctl/faults",
        r#"{"target": "queue:consumer", "action": "refuse", "seconds": 30}"#,
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    events
        .put_events()
        .entries(entry("default", "shop", "OrderPaid", r#"{"id": "o-9"}"#))
        .send()
        .await
        .unwrap();
    let dead = sqs
        .receive_message()
        .queue_url(&dlq)
        .wait_time_seconds(20)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .expect("a message in the rule DLQ");
    let attributes = dead[0].message_attributes.as_ref().unwrap();
    let text = |name: &str| attributes[name].string_value.clone().unwrap();
    assert_eq!(
        text("RULE_ARN"),
        "arn:aws:events:us-east-1:000000000000:rule/all"
    );
    assert_eq!(text("TARGET_ARN"), target_arn);
    assert_eq!(
        text("EXHAUSTED_RETRY_CONDITION"),
        "MaximumRetryAttemptsExhausted"
    );
    assert_eq!(text("RETRY_ATTEMPTS"), "1");
    assert!(!text("ERROR_CODE").is_empty() && text("ERROR_MESSAGE").contains("refuses"));
    let event: serde_json::Value = serde_json::from_str(dead[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(event["detail"]["id"], "o-9");
    // Once the fault is cleared, deliveries flow again.
    let cleared = admin(engine.handle.addr(), "DELETE", "/_outboxctl/faults", "").await;
    assert!(cleared.starts_with("HTTP/1.1 200"), "{cleared}");
    events
        .put_events()
        .entries(entry("default", "shop", "OrderPaid", r#"{"id": "o-10"}"#))
        .send()
        .await
        .unwrap();
    let delivered = drain(&sqs, &target, 1, Duration::from_secs(10)).await;
    assert!(delivered[0].contains("o-10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_eventbridge() {
    let engine = TestEngine::start().await;
    crate::local_sqs::run_boto3_script("events_basics.py", engine.handle.endpoint_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_older_than_maximum_event_age_goes_to_the_dlq() {
    use std::sync::Arc;

    use outboxctl::local::clock::ManualClock;

    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let engine = TestEngine::with_clock(clock.clone()).await;
    let endpoint = engine.handle.endpoint_url();
    let (events, sqs) = (events_client(&endpoint), sqs_client(&endpoint));
    let target = create_queue(&sqs, "slow", &[]).await;
    let dlq = create_queue(&sqs, "slow-dlq", &[]).await;
    rule_to_queue(
        &events,
        "default",
        "all",
        r#"{"source": ["shop"]}"#,
        Target::builder()
            .id("slow")
            .arn(queue_arn(&sqs, &target).await)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(185)
                    .maximum_event_age_in_seconds(60)
                    .build(),
            )
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(queue_arn(&sqs, &dlq).await)
                    .build(),
            )
            .build()
            .unwrap(),
    )
    .await;
    let refused = admin(
        engine.handle.addr(),
        "POST",
        "/_outboxctl/faults",
        r#"{"target": "queue:slow", "seconds": 3600}"#,
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 200"), "{refused}");
    events
        .put_events()
        .entries(entry("default", "shop", "OrderPaid", r#"{"id": "o-1"}"#))
        .send()
        .await
        .unwrap();
    // The first attempt fails at once; nothing is in the DLQ while the event is young.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        drain(&sqs, &dlq, 1, Duration::from_millis(200))
            .await
            .is_empty()
    );
    clock.advance_ms(61_000);
    let dead = sqs
        .receive_message()
        .queue_url(&dlq)
        .wait_time_seconds(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .expect("the aged event in the DLQ");
    let attributes = dead[0].message_attributes.as_ref().unwrap();
    assert_eq!(
        attributes["EXHAUSTED_RETRY_CONDITION"]
            .string_value
            .as_deref(),
        Some("MaximumEventAgeExhausted")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_keep_matching_events_for_their_retention() {
    use std::sync::Arc;

    use outboxctl::local::clock::ManualClock;

    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let engine = TestEngine::with_clock(clock.clone()).await;
    let events = events_client(&engine.handle.endpoint_url());
    let bus = events
        .create_event_bus()
        .name("kept")
        .send()
        .await
        .unwrap()
        .event_bus_arn
        .unwrap();
    events
        .create_archive()
        .archive_name("paid")
        .event_source_arn(&bus)
        .event_pattern(r#"{"detail-type": ["OrderPaid"]}"#)
        .retention_days(1)
        .send()
        .await
        .unwrap();
    events
        .put_events()
        .entries(entry("kept", "shop", "OrderPaid", r#"{"id": 1}"#))
        .entries(entry("kept", "shop", "OrderPlaced", r#"{"id": 2}"#))
        .send()
        .await
        .unwrap();
    let archive = events
        .describe_archive()
        .archive_name("paid")
        .send()
        .await
        .unwrap();
    assert_eq!(
        archive.event_count, 1,
        "only the matching event is archived"
    );
    clock.advance_ms(2 * 24 * 60 * 60 * 1000);
    let removed = engine
        .handle
        .state()
        .events
        .expire_archived()
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let archive = events
        .describe_archive()
        .archive_name("paid")
        .send()
        .await
        .unwrap();
    assert_eq!(archive.event_count, 0);
    events
        .update_archive()
        .archive_name("paid")
        .retention_days(7)
        .send()
        .await
        .unwrap();
    let listed = events
        .list_archives()
        .event_source_arn(&bus)
        .send()
        .await
        .unwrap()
        .archives
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].retention_days, Some(7));
    assert_eq!(listed[0].archive_name.as_deref(), Some("paid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sources_and_long_detail_types_fail_their_entries() {
    let engine = TestEngine::start().await;
    let events = events_client(&engine.handle.endpoint_url());
    let put = events
        .put_events()
        .entries(entry("default", "shop", "OrderPaid", "{}"))
        .entries(entry("default", "aws.s3", "OrderPaid", "{}"))
        .entries(entry("default", "shop", &"d".repeat(129), "{}"))
        .entries(entry("default", "shop", &"d".repeat(128), "{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count, 2);
    let results = put.entries();
    assert!(results[0].event_id.is_some());
    assert_eq!(
        results[1].error_code.as_deref(),
        Some("NotAuthorizedForSourceException")
    );
    assert_eq!(
        results[1].error_message.as_deref(),
        Some("Not authorized for the source.")
    );
    assert_eq!(results[2].error_code.as_deref(), Some("InvalidArgument"));
    assert!(
        results[2]
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("DetailType")),
        "{:?}",
        results[2]
    );
    assert!(results[3].event_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_may_hold_a_mebibyte_and_time_counts_only_when_given() {
    let engine = TestEngine::start().await;
    let events = events_client(&engine.handle.endpoint_url());
    // Source and DetailType are 1 byte each; the detail brings the entry 6 bytes short of
    // 1 MiB, so only the 14 bytes of a given Time take it over.
    let padding = 1_048_570 - 2 - r#"{"p":""}"#.len();
    let detail = format!(r#"{{"p":"{}"}}"#, "x".repeat(padding));
    let untimed = entry("default", "s", "t", &detail);
    let put = events
        .put_events()
        .entries(untimed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count, 0);
    let timed = PutEventsRequestEntry::builder()
        .set_event_bus_name(untimed.event_bus_name.clone())
        .set_source(untimed.source.clone())
        .set_detail_type(untimed.detail_type.clone())
        .set_detail(untimed.detail.clone())
        .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(
            1_800_000_000,
        ))
        .build();
    let err = events
        .put_events()
        .entries(timed)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.meta().code(), Some("ValidationException"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_by_limit_with_tokens_the_engine_issued() {
    let engine = TestEngine::start().await;
    let events = events_client(&engine.handle.endpoint_url());
    for bus in ["bus-a", "bus-b"] {
        events.create_event_bus().name(bus).send().await.unwrap();
    }
    for rule in ["r1", "r2", "r3"] {
        events
            .put_rule()
            .name(rule)
            .event_pattern(r#"{"source": ["shop"]}"#)
            .send()
            .await
            .unwrap();
    }
    let targets: Vec<Target> = ["t1", "t2", "t3"]
        .iter()
        .map(|id| {
            Target::builder()
                .id(*id)
                .arn("arn:aws:sqs:us-east-1:000000000000:q")
                .build()
                .unwrap()
        })
        .collect();
    events
        .put_targets()
        .rule("r1")
        .set_targets(Some(targets))
        .send()
        .await
        .unwrap();

    let mut rules = Vec::new();
    let mut token = None;
    loop {
        let page = events
            .list_rules()
            .limit(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.rules().len() <= 2);
        rules.extend(page.rules().iter().map(|r| r.name.clone().unwrap()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(rules, ["r1", "r2", "r3"]);

    let first = events
        .list_targets_by_rule()
        .rule("r1")
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.targets().len(), 2);
    // The token names the last target returned, so a removal in between skips nothing.
    events
        .remove_targets()
        .rule("r1")
        .ids("t1")
        .send()
        .await
        .unwrap();
    let rest = events
        .list_targets_by_rule()
        .rule("r1")
        .limit(2)
        .set_next_token(first.next_token)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = rest.targets().iter().map(|t| t.id()).collect();
    assert_eq!(ids, ["t3"]);
    assert!(rest.next_token.is_none());

    let buses = events.list_event_buses().limit(1).send().await.unwrap();
    assert_eq!(buses.event_buses().len(), 1);
    let more = events
        .list_event_buses()
        .limit(100)
        .set_next_token(buses.next_token)
        .send()
        .await
        .unwrap();
    assert_eq!(more.event_buses().len(), 2);
    assert!(more.next_token.is_none());

    let forged = events
        .list_rules()
        .next_token("r1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(forged.meta().code(), Some("ValidationException"));
    assert_eq!(
        forged.meta().message(),
        Some("Parameter NextToken is not valid.")
    );
    let too_many = events
        .list_archives()
        .limit(101)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(too_many.meta().code(), Some("ValidationException"));
}
