//! The whole outbox flow through the SDKs, shaped like templates/food-ordering.json: a
//! table with a stream, one pipe (filter on the key prefix, detail-type from
//! `$.eventName`), a bus with consumer rules and the tail tap, and queues. Item writes
//! must reach exactly the queues whose rules match: INSERT, MODIFY and REMOVE alike, and
//! nothing for records the pipe filter drops.

use std::time::Duration;

use aws_sdk_eventbridge::types::{InputTransformer, Target};
use aws_sdk_pipes::types::{
    PipeSourceParameters, PipeTargetEventBridgeEventBusParameters, PipeTargetParameters,
};
use serde_json::Value;

use crate::local_events::events_client;
use crate::local_pipes::{ROLE, pipes_client, stream_parameters, table_and_bus};
use crate::local_sqs::{create_queue, drain, queue_arn, sqs_client};
use crate::local_support::{TestEngine, item, s};

const SOURCE: &str = "com.example.food-ordering";
const TAIL_TEMPLATE: &str = r#"{"rule": "<aws.events.rule-name>", "ingested": "<aws.events.event.ingestion-time>", "event": <aws.events.event.json>}"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON message body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_writes_reach_exactly_the_matching_queues() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let (dynamodb, events, sqs, pipes) = (
        engine.dynamodb(),
        events_client(&endpoint),
        sqs_client(&endpoint),
        pipes_client(&endpoint),
    );
    let (stream, bus) = table_and_bus(&dynamodb, &events, "NEW_AND_OLD_IMAGES", "food").await;
    let restaurant = create_queue(&sqs, "notify-restaurant", &[]).await;
    let tracking = create_queue(&sqs, "order-tracking", &[]).await;
    let tail = create_queue(&sqs, "tail", &[]).await;
    let pipe_dlq = create_queue(&sqs, "pipe-dlq", &[]).await;
    let routes = [
        (
            "new_orders",
            r#"{"source": ["com.example.food-ordering"], "detail-type": ["INSERT"], "detail": {"dynamodb": {"NewImage": {"status": {"S": ["PLACED"]}}}}}"#,
            &restaurant,
        ),
        (
            "order_changes",
            r#"{"source": ["com.example.food-ordering"], "detail-type": ["INSERT", "MODIFY", "REMOVE"]}"#,
            &tracking,
        ),
        ("tail-all", r#"{"source": [{"prefix": ""}]}"#, &tail),
    ];
    for (rule, pattern, queue) in routes {
        events
            .put_rule()
            .event_bus_name("food")
            .name(rule)
            .event_pattern(pattern)
            .send()
            .await
            .unwrap();
        let mut target = Target::builder()
            .id("consumer")
            .arn(queue_arn(&sqs, queue).await);
        if rule == "tail-all" {
            target = target.input_transformer(
                InputTransformer::builder()
                    .input_template(TAIL_TEMPLATE)
                    .build()
                    .unwrap(),
            );
        }
        events
            .put_targets()
            .event_bus_name("food")
            .rule(rule)
            .targets(target.build().unwrap())
            .send()
            .await
            .unwrap();
    }
    pipes
        .create_pipe()
        .name("food-outbox")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(
                    10,
                    10,
                    Some(&queue_arn(&sqs, &pipe_dlq).await),
                ))
                .filter_criteria(
                    aws_sdk_pipes::types::FilterCriteria::builder()
                        .filters(
                            aws_sdk_pipes::types::Filter::builder()
                                .pattern(r#"{"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "ORDER#"}]}}}}"#)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .target_parameters(
            PipeTargetParameters::builder()
                .event_bridge_event_bus_parameters(
                    PipeTargetEventBridgeEventBusParameters::builder()
                        .detail_type("$.eventName")
                        .source(SOURCE)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let put = |pk: &str, status: &str| {
        dynamodb
            .put_item()
            .table_name("orders")
            .set_item(Some(item(&[("pk", s(pk)), ("status", s(status))])))
            .send()
    };
    put("ORDER#1", "PLACED").await.unwrap();
    put("CUSTOMER#7", "ACTIVE").await.unwrap();
    put("ORDER#1", "PAID").await.unwrap();
    dynamodb
        .delete_item()
        .table_name("orders")
        .key("pk", s("ORDER#1"))
        .send()
        .await
        .unwrap();

    let at_restaurant = drain(&sqs, &restaurant, 1, Duration::from_secs(15)).await;
    let placed = json(&at_restaurant[0]);
    assert_eq!(placed["source"], SOURCE);
    assert_eq!(placed["detail-type"], "INSERT");
    assert_eq!(
        placed["detail"]["dynamodb"]["NewImage"]["status"]["S"],
        "PLACED"
    );
    assert_eq!(placed["detail"]["eventSourceARN"], stream.as_str());

    let tracked = drain(&sqs, &tracking, 3, Duration::from_secs(15)).await;
    let kinds: Vec<String> = tracked
        .iter()
        .map(|b| json(b)["detail-type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, vec!["INSERT", "MODIFY", "REMOVE"]);
    let removed = json(&tracked[2]);
    assert_eq!(
        removed["detail"]["dynamodb"]["OldImage"]["status"]["S"],
        "PAID"
    );

    let tapped = drain(&sqs, &tail, 3, Duration::from_secs(15)).await;
    assert_eq!(tapped.len(), 3);
    for body in &tapped {
        let tap = json(body);
        assert_eq!(tap["rule"], "tail-all");
        assert!(
            tap["event"]["detail"]["dynamodb"]["Keys"]["pk"]["S"]
                .as_str()
                .unwrap()
                .starts_with("ORDER#")
        );
    }
    // Nothing else anywhere: the CUSTOMER record was filtered out by the pipe, and only
    // the first write was a new placed order.
    for queue in [&restaurant, &tracking, &tail, &pipe_dlq] {
        assert!(
            drain(&sqs, queue, 1, Duration::from_millis(300))
                .await
                .is_empty(),
            "{queue} has more messages than expected"
        );
    }
}
