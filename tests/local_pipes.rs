//! EventBridge Pipes through aws-sdk-pipes against an in-process engine: the lifecycle and
//! its states, validation, StopPipe/StartPipe losing nothing, and a poison record reaching
//! the pipe's DLQ after its retries while the rest of its batch gets through.

use std::time::{Duration, Instant};

use aws_sdk_pipes::types::{
    DeadLetterConfig, DynamoDbStreamStartPosition, OnPartialBatchItemFailureStreams,
    PipeSourceDynamoDbStreamParameters, PipeSourceParameters, PipeState,
    PipeTargetEventBridgeEventBusParameters, PipeTargetParameters, RequestedPipeState,
};

use crate::local_events::events_client;
use crate::local_sqs::{create_queue, drain, queue_arn, sqs_client};
use crate::local_support::{TestEngine, create_table, item, n, s};

pub fn pipes_client(endpoint: &str) -> aws_sdk_pipes::Client {
    use aws_sdk_pipes::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_pipes::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_pipes::Client::from_conf(config)
}

/// Table `orders` with a stream of `view` and the bus `bus`: (stream ARN, bus ARN).
pub async fn table_and_bus(
    dynamodb: &aws_sdk_dynamodb::Client,
    events: &aws_sdk_eventbridge::Client,
    view: &str,
    bus: &str,
) -> (String, String) {
    create_table(dynamodb, "orders", false, Some(view)).await;
    let table = dynamodb
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    let stream = table.table.unwrap().latest_stream_arn.unwrap();
    let created = events.create_event_bus().name(bus).send().await.unwrap();
    (stream, created.event_bus_arn.unwrap())
}

pub const ROLE: &str = "arn:aws:iam::000000000000:role/pipe-role";

/// Stream parameters with finite retries, as outboxctl renders them.
pub fn stream_parameters(
    batch: i32,
    retries: i32,
    dlq: Option<&str>,
) -> PipeSourceDynamoDbStreamParameters {
    let mut builder = PipeSourceDynamoDbStreamParameters::builder()
        .starting_position(DynamoDbStreamStartPosition::TrimHorizon)
        .batch_size(batch)
        .maximum_batching_window_in_seconds(0)
        .maximum_retry_attempts(retries)
        .maximum_record_age_in_seconds(3600)
        .on_partial_batch_item_failure(OnPartialBatchItemFailureStreams::AutomaticBisect);
    if let Some(dlq) = dlq {
        builder = builder.dead_letter_config(DeadLetterConfig::builder().arn(dlq).build());
    }
    builder.build().unwrap()
}

/// Table `orders` with a stream, bus `orders` with a catch-all rule into queue `all`:
/// returns (stream ARN, bus ARN, queue URL).
pub async fn outbox(engine: &TestEngine) -> (String, String, String) {
    let endpoint = engine.handle.endpoint_url();
    let (dynamodb, events, sqs) = (
        engine.dynamodb(),
        events_client(&endpoint),
        sqs_client(&endpoint),
    );
    let (stream, bus) = table_and_bus(&dynamodb, &events, "NEW_AND_OLD_IMAGES", "orders").await;
    let queue = create_queue(&sqs, "all", &[]).await;
    events
        .put_rule()
        .event_bus_name("orders")
        .name("all")
        .event_pattern(r#"{"source": [{"prefix": ""}]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .event_bus_name("orders")
        .rule("all")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("all")
                .arn(queue_arn(&sqs, &queue).await)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (stream, bus, queue)
}

async fn wait_for_state(client: &aws_sdk_pipes::Client, name: &str, state: PipeState) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let current = client
            .describe_pipe()
            .name(name)
            .send()
            .await
            .unwrap()
            .current_state;
        if current.as_ref() == Some(&state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pipe {name} stuck in {current:?}, expected {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn put_order(dynamodb: &aws_sdk_dynamodb::Client, id: &str, total: &str) {
    dynamodb
        .put_item()
        .table_name("orders")
        .set_item(Some(item(&[("pk", s(id)), ("total", n(total))])))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_states_and_validation() {
    let engine = TestEngine::start().await;
    let client = pipes_client(&engine.handle.endpoint_url());
    let (stream, bus, _) = outbox(&engine).await;
    let bad = client
        .create_pipe()
        .name("p")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(11, 1, None))
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad.is_validation_exception(), "{bad:?}");
    let created = client
        .create_pipe()
        .name("p")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(10, 1, None))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.current_state, Some(PipeState::Creating));
    assert_eq!(
        created.arn.as_deref(),
        Some("arn:aws:pipes:us-east-1:000000000000:pipe/p")
    );
    wait_for_state(&client, "p", PipeState::Running).await;
    let again = client
        .start_pipe()
        .name("p")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_conflict_exception(), "{again:?}");
    let stopping = client.stop_pipe().name("p").send().await.unwrap();
    assert_eq!(stopping.current_state, Some(PipeState::Stopping));
    assert_eq!(stopping.desired_state, Some(RequestedPipeState::Stopped));
    wait_for_state(&client, "p", PipeState::Stopped).await;
    let updated = client
        .update_pipe()
        .name("p")
        .role_arn(ROLE)
        .description("reshaped")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.current_state, Some(PipeState::Updating));
    let described = client.describe_pipe().name("p").send().await.unwrap();
    assert_eq!(described.description.as_deref(), Some("reshaped"));
    assert_eq!(described.current_state, Some(PipeState::Stopped));
    assert_eq!(
        described
            .source_parameters
            .unwrap()
            .dynamo_db_stream_parameters
            .unwrap()
            .starting_position,
        DynamoDbStreamStartPosition::TrimHorizon
    );
    let listed = client
        .list_pipes()
        .name_prefix("p")
        .send()
        .await
        .unwrap()
        .pipes
        .unwrap();
    assert_eq!(listed.len(), 1);
    client.delete_pipe().name("p").send().await.unwrap();
    let gone = client
        .describe_pipe()
        .name("p")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_not_found_exception(), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_start_lose_nothing() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let (client, dynamodb, sqs) = (
        pipes_client(&endpoint),
        engine.dynamodb(),
        sqs_client(&endpoint),
    );
    let (stream, bus, queue) = outbox(&engine).await;
    client
        .create_pipe()
        .name("p")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(10, 3, None))
                .build(),
        )
        .target_parameters(
            PipeTargetParameters::builder()
                .input_template(
                    r#"{"id": "<$.dynamodb.Keys.pk.S>", "total": <$.dynamodb.NewImage.total.N>}"#,
                )
                .event_bridge_event_bus_parameters(
                    PipeTargetEventBridgeEventBusParameters::builder()
                        .detail_type("OrderChanged")
                        .source("shop.orders")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_for_state(&client, "p", PipeState::Running).await;
    put_order(&dynamodb, "o-1", "1").await;
    assert_eq!(
        drain(&sqs, &queue, 1, Duration::from_secs(10)).await.len(),
        1
    );
    client.stop_pipe().name("p").send().await.unwrap();
    wait_for_state(&client, "p", PipeState::Stopped).await;
    for i in 2..=6 {
        put_order(&dynamodb, &format!("o-{i}"), &i.to_string()).await;
    }
    assert!(
        drain(&sqs, &queue, 1, Duration::from_millis(700))
            .await
            .is_empty(),
        "a stopped pipe delivers nothing"
    );
    client.start_pipe().name("p").send().await.unwrap();
    let bodies = drain(&sqs, &queue, 5, Duration::from_secs(15)).await;
    let ids: Vec<String> = bodies
        .iter()
        .map(|b| {
            let event: serde_json::Value = serde_json::from_str(b).unwrap();
            assert_eq!(event["detail-type"], "OrderChanged");
            assert_eq!(event["source"], "shop.orders");
            event["detail"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec!["o-2", "o-3", "o-4", "o-5", "o-6"],
        "every record written while stopped arrives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_reaches_the_pipe_dlq_after_its_retries() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let (client, dynamodb, sqs) = (
        pipes_client(&endpoint),
        engine.dynamodb(),
        sqs_client(&endpoint),
    );
    let (stream, bus, queue) = outbox(&engine).await;
    let dlq = create_queue(&sqs, "pipe-dlq", &[]).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    // Written before the pipe exists (TRIM_HORIZON reads them) so they form one batch;
    // the detail-type path finds no `kind` in o-2: that record cannot become an event.
    for (id, kind) in [
        ("o-1", Some("Placed")),
        ("o-2", None),
        ("o-3", Some("Paid")),
    ] {
        let mut attributes = vec![("pk", s(id))];
        if let Some(kind) = kind {
            attributes.push(("kind", s(kind)));
        }
        dynamodb
            .put_item()
            .table_name("orders")
            .set_item(Some(item(&attributes)))
            .send()
            .await
            .unwrap();
    }
    client
        .create_pipe()
        .name("p")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(10, 1, Some(&dlq_arn)))
                .build(),
        )
        .target_parameters(
            PipeTargetParameters::builder()
                .event_bridge_event_bus_parameters(
                    PipeTargetEventBridgeEventBusParameters::builder()
                        .detail_type("$.dynamodb.NewImage.kind.S")
                        .source("shop")
                        .time("$.dynamodb.ApproximateCreationDateTime")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let dead = drain(&sqs, &dlq, 1, Duration::from_secs(20)).await;
    assert_eq!(
        dead.len(),
        1,
        "the poison record's batch is described in the DLQ"
    );
    let failure: serde_json::Value = serde_json::from_str(&dead[0]).unwrap();
    let info = &failure["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["streamArn"], stream.as_str());
    assert_eq!(info["startSequenceNumber"], info["endSequenceNumber"]);
    assert!(info["shardId"].as_str().unwrap().starts_with("shardId-"));
    assert_eq!(
        failure["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    let delivered = drain(&sqs, &queue, 2, Duration::from_secs(10)).await;
    let mut types: Vec<String> = delivered
        .iter()
        .map(|b| {
            let event: serde_json::Value = serde_json::from_str(b).unwrap();
            // `Time` points at the record's creation time (epoch seconds).
            let created = event["detail"]["dynamodb"]["ApproximateCreationDateTime"]
                .as_i64()
                .unwrap();
            assert_eq!(
                event["time"],
                outboxctl::local::events::rfc3339(created * 1000)
            );
            event["detail-type"].as_str().unwrap().to_string()
        })
        .collect();
    types.sort();
    assert_eq!(
        types,
        vec!["Paid", "Placed"],
        "bisection lets the good records through"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_source_shows_in_state_reason() {
    let engine = TestEngine::start().await;
    let client = pipes_client(&engine.handle.endpoint_url());
    let (_, bus, _) = outbox(&engine).await;
    client
        .create_pipe()
        .name("orphan")
        .role_arn(ROLE)
        .source("arn:aws:dynamodb:us-east-1:000000000000:table/gone/stream/2026-01-01T00:00:00.000")
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(10, 1, None))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let described = client.describe_pipe().name("orphan").send().await.unwrap();
        if let Some(reason) = described.state_reason {
            assert!(reason.contains("source stream"), "{reason}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no StateReason for a missing source"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_pipes() {
    let engine = TestEngine::start().await;
    crate::local_sqs::run_boto3_script("pipes_basics.py", engine.handle.endpoint_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_bus_sends_the_batch_to_the_pipe_dlq_after_its_retries() {
    use crate::local_events::admin;

    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let (client, dynamodb, sqs) = (
        pipes_client(&endpoint),
        engine.dynamodb(),
        sqs_client(&endpoint),
    );
    let (stream, bus, queue) = outbox(&engine).await;
    let dlq = create_queue(&sqs, "pipe-dlq", &[]).await;
    client
        .create_pipe()
        .name("p")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(
                    10,
                    1,
                    Some(&queue_arn(&sqs, &dlq).await),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_for_state(&client, "p", PipeState::Running).await;
    let refused = admin(
        engine.handle.addr(),
        "POST",
        "/_outboxctl/faults",
        r#"{"target": "bus:orders", "action": "refuse", "seconds": 60}"#,
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 200"), "{refused}");
    put_order(&dynamodb, "o-1", "1").await;
    let dead = drain(&sqs, &dlq, 1, Duration::from_secs(20)).await;
    let failure: serde_json::Value = serde_json::from_str(&dead[0]).unwrap();
    assert_eq!(failure["responseContext"]["errorCode"], "InternalFailure");
    assert_eq!(failure["DDBStreamBatchInfo"]["batchSize"], 1);
    assert!(
        drain(&sqs, &queue, 1, Duration::from_millis(300))
            .await
            .is_empty()
    );
    admin(
        engine.handle.addr(),
        "DELETE",
        "/_outboxctl/faults",
        r#"{"target": "bus:orders"}"#,
    )
    .await;
    put_order(&dynamodb, "o-2", "2").await;
    let delivered = drain(&sqs, &queue, 1, Duration::from_secs(10)).await;
    assert!(delivered[0].contains("o-2"), "{delivered:?}");
}

/// A pipe on `outbox`'s table and bus with the given stream parameters and a DLQ.
async fn pipe_with_dlq(
    engine: &TestEngine,
    parameters: aws_sdk_pipes::types::builders::PipeSourceDynamoDbStreamParametersBuilder,
) -> String {
    let endpoint = engine.handle.endpoint_url();
    let (client, sqs) = (pipes_client(&endpoint), sqs_client(&endpoint));
    let (stream, bus, _) = outbox(engine).await;
    let dlq = create_queue(&sqs, "pipe-dlq", &[]).await;
    let parameters = parameters
        .dead_letter_config(
            DeadLetterConfig::builder()
                .arn(queue_arn(&sqs, &dlq).await)
                .build(),
        )
        .build()
        .unwrap();
    client
        .create_pipe()
        .name("p")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(parameters)
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_for_state(&client, "p", PipeState::Running).await;
    let refused = crate::local_events::admin(
        engine.handle.addr(),
        "POST",
        "/_outboxctl/faults",
        r#"{"target": "bus:orders", "seconds": 3600}"#,
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 200"), "{refused}");
    dlq
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batching_window_gathers_records_into_one_batch() {
    let engine = TestEngine::start().await;
    let sqs = sqs_client(&engine.handle.endpoint_url());
    let parameters = PipeSourceDynamoDbStreamParameters::builder()
        .starting_position(DynamoDbStreamStartPosition::TrimHorizon)
        .batch_size(10)
        .maximum_batching_window_in_seconds(3)
        .maximum_retry_attempts(0);
    let dlq = pipe_with_dlq(&engine, parameters).await;
    let dynamodb = engine.dynamodb();
    for i in 1..=3 {
        put_order(&dynamodb, &format!("o-{i}"), "1").await;
    }
    // The bus refuses and there are no retries or bisection: the one failed batch shows
    // how many records the window gathered.
    let dead = drain(&sqs, &dlq, 1, Duration::from_secs(20)).await;
    let failure: serde_json::Value = serde_json::from_str(&dead[0]).unwrap();
    assert_eq!(failure["DDBStreamBatchInfo"]["batchSize"], 3, "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_older_than_maximum_record_age_go_to_the_dlq() {
    use std::sync::Arc;

    use outboxctl::local::clock::ManualClock;

    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let engine = TestEngine::with_clock(clock.clone()).await;
    let sqs = sqs_client(&engine.handle.endpoint_url());
    let parameters = PipeSourceDynamoDbStreamParameters::builder()
        .starting_position(DynamoDbStreamStartPosition::TrimHorizon)
        .batch_size(10)
        .maximum_retry_attempts(10_000)
        .maximum_record_age_in_seconds(60);
    let dlq = pipe_with_dlq(&engine, parameters).await;
    put_order(&engine.dynamodb(), "o-1", "1").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        drain(&sqs, &dlq, 1, Duration::from_millis(200))
            .await
            .is_empty()
    );
    clock.advance_ms(61_000);
    let dead = drain(&sqs, &dlq, 1, Duration::from_secs(20)).await;
    let failure: serde_json::Value = serde_json::from_str(&dead[0]).unwrap();
    assert_eq!(failure["requestContext"]["condition"], "RecordAgeExceeded");
}

/// TagResource, UntagResource and ListTagsForResource change a pipe's tags in place, with
/// Pipes' limits (50 tags) and errors (an ARN naming no pipe).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_change_in_place() {
    let engine = TestEngine::start().await;
    let client = pipes_client(&engine.handle.endpoint_url());
    let (stream, bus, _) = outbox(&engine).await;
    let arn = client
        .create_pipe()
        .name("p")
        .role_arn(ROLE)
        .source(&stream)
        .target(&bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(10, 1, None))
                .build(),
        )
        .tags("team", "a")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let tags = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let listed = || async {
        client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap()
            .tags
            .unwrap_or_default()
    };
    assert_eq!(listed().await, tags(&[("team", "a")]));

    client
        .tag_resource()
        .resource_arn(&arn)
        .tags("team", "b")
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    assert_eq!(listed().await, tags(&[("team", "b"), ("env", "dev")]));
    let described = client.describe_pipe().name("p").send().await.unwrap();
    assert_eq!(
        described.tags.unwrap_or_default(),
        tags(&[("team", "b"), ("env", "dev")])
    );

    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    assert_eq!(listed().await, tags(&[("env", "dev")]));

    let mut too_many = client.tag_resource().resource_arn(&arn);
    for n in 0..50 {
        too_many = too_many.tags(format!("k{n}"), "v");
    }
    let refused = too_many.send().await.unwrap_err().into_service_error();
    assert!(refused.is_validation_exception(), "{refused:?}");
    let reserved = client
        .tag_resource()
        .resource_arn(&arn)
        .tags("aws:team", "x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(reserved.is_validation_exception(), "{reserved:?}");
    assert_eq!(listed().await, tags(&[("env", "dev")]), "nothing applied");

    let missing = client
        .list_tags_for_resource()
        .resource_arn("arn:aws:pipes:us-east-1:000000000000:pipe/nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_not_found_exception(), "{missing:?}");
}
