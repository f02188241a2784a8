//! Throughput of the local engine's outbox flow, through the real SDK clients over HTTP:
//! PutItem on a stream-enabled table (each write also appends its stream record),
//! SQS SendMessageBatch/ReceiveMessage/DeleteMessageBatch, and the whole path from
//! concurrent PutItem calls to messages in a consumer queue (stream → pipe → bus → rule →
//! queue), all durable (every acknowledged request fsynced by group commit).
//!
//! Run with `cargo bench --bench engine`. Prints numbers; asserts nothing about speed.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_sdk_eventbridge::types::Target;
use aws_sdk_pipes::types::{
    DynamoDbStreamStartPosition, PipeSourceDynamoDbStreamParameters, PipeSourceParameters,
    PipeTargetEventBridgeEventBusParameters, PipeTargetParameters,
};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, QueueAttributeName, SendMessageBatchRequestEntry,
};
use outboxctl::local::{Engine, EngineConfig};

const WRITERS: usize = 8;
const ITEMS_PER_WRITER: usize = 250;
const SQS_SENDERS: usize = 8;
const SQS_BATCHES_PER_SENDER: usize = 50;

macro_rules! client {
    ($sdk:ident, $endpoint:expr) => {{
        use $sdk::config::{BehaviorVersion, Credentials, Region};
        let config = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url($endpoint)
            .build();
        $sdk::Client::from_conf(config)
    }};
}

/// Receive (and delete) until `count` messages arrived; returns how many arrived.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str, count: usize, limit: Duration) -> usize {
    let started = Instant::now();
    let mut received = 0;
    while received < count && started.elapsed() < limit {
        let page = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = page.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        received += messages.len();
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                    .build()
                    .expect("entry")
            })
            .collect();
        sqs.delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("delete");
    }
    received
}

async fn sqs_round_trip(endpoint: &str) {
    let sqs = client!(aws_sdk_sqs, endpoint);
    let url = sqs
        .create_queue()
        .queue_name("bench-sqs")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let started = Instant::now();
    let mut senders = Vec::new();
    for sender in 0..SQS_SENDERS {
        let (sqs, url) = (sqs.clone(), url.clone());
        senders.push(tokio::spawn(async move {
            for batch in 0..SQS_BATCHES_PER_SENDER {
                let entries = (0..10)
                    .map(|i| {
                        SendMessageBatchRequestEntry::builder()
                            .id(format!("m{i}"))
                            .message_body(format!(
                                r#"{{"sender": {sender}, "batch": {batch}, "i": {i}}}"#
                            ))
                            .build()
                            .expect("entry")
                    })
                    .collect();
                sqs.send_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .expect("send batch");
            }
        }));
    }
    for sender in senders {
        sender.await.expect("sender");
    }
    let sent = SQS_SENDERS * SQS_BATCHES_PER_SENDER * 10;
    let send_time = started.elapsed();
    let started = Instant::now();
    let received = drain(&sqs, &url, sent, Duration::from_secs(120)).await;
    let receive_time = started.elapsed();
    println!(
        "sqs: {sent} messages sent in batches of 10 by {SQS_SENDERS} clients: {:.0} messages/s; received and deleted by 1 client: {:.0} messages/s ({received} received)",
        sent as f64 / send_time.as_secs_f64(),
        received as f64 / receive_time.as_secs_f64(),
    );
}

async fn flow(endpoint: &str) {
    let (dynamodb, events, sqs, pipes) = (
        client!(aws_sdk_dynamodb, endpoint),
        client!(aws_sdk_eventbridge, endpoint),
        client!(aws_sdk_sqs, endpoint),
        client!(aws_sdk_pipes, endpoint),
    );
    dynamodb
        .create_table()
        .table_name("bench")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("stream"),
        )
        .send()
        .await
        .expect("table");
    let stream = dynamodb
        .describe_table()
        .table_name("bench")
        .send()
        .await
        .expect("describe")
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("stream arn");
    let bus = events
        .create_event_bus()
        .name("bench")
        .send()
        .await
        .expect("bus")
        .event_bus_arn
        .expect("bus arn");
    let url = sqs
        .create_queue()
        .queue_name("bench-consumer")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    events
        .put_rule()
        .event_bus_name("bench")
        .name("orders")
        .event_pattern(r#"{"source": ["bench"], "detail-type": ["INSERT", "MODIFY"]}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .event_bus_name("bench")
        .rule("orders")
        .targets(
            Target::builder()
                .id("q")
                .arn(queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");
    pipes
        .create_pipe()
        .name("bench")
        .role_arn("arn:aws:iam::000000000000:role/bench")
        .source(stream)
        .target(bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(
                    PipeSourceDynamoDbStreamParameters::builder()
                        .starting_position(DynamoDbStreamStartPosition::TrimHorizon)
                        .batch_size(10)
                        .build()
                        .expect("parameters"),
                )
                .build(),
        )
        .target_parameters(
            PipeTargetParameters::builder()
                .event_bridge_event_bus_parameters(
                    PipeTargetEventBridgeEventBusParameters::builder()
                        .detail_type("$.eventName")
                        .source("bench")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("pipe");

    let started = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let dynamodb = dynamodb.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..ITEMS_PER_WRITER {
                dynamodb
                    .put_item()
                    .table_name("bench")
                    .item("pk", AttributeValue::S(format!("ORDER#{writer}-{i}")))
                    .item("status", AttributeValue::S("PLACED".into()))
                    .item("total", AttributeValue::N(format!("{i}.5")))
                    .send()
                    .await
                    .expect("put");
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let items = WRITERS * ITEMS_PER_WRITER;
    let write_time = started.elapsed();
    let received = drain(&sqs, &url, items, Duration::from_secs(300)).await;
    let total = started.elapsed();
    println!(
        "flow: {items} PutItem by {WRITERS} clients: {:.0} writes/s acknowledged; all {received} in the consumer queue after {:.2} s: {:.0} events/s end to end (table → stream → pipe → bus → rule → queue)",
        items as f64 / write_time.as_secs_f64(),
        total.as_secs_f64(),
        received as f64 / total.as_secs_f64(),
    );
}

/// PutItem throughput and latency: 8 clients, 1,000 writes each, every write durable with
/// its stream record.
async fn put_item(endpoint: &str) {
    const CLIENTS: usize = 8;
    const WRITES_PER_CLIENT: usize = 1000;
    let ddb = client!(aws_sdk_dynamodb, endpoint);
    ddb.create_table()
        .table_name("bench-put")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("stream"),
        )
        .send()
        .await
        .expect("create table");
    let started = Instant::now();
    let mut writers = Vec::new();
    for client_number in 0..CLIENTS {
        let ddb = ddb.clone();
        writers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(WRITES_PER_CLIENT);
            for i in 0..WRITES_PER_CLIENT {
                let begun = Instant::now();
                ddb.put_item()
                    .table_name("bench-put")
                    .item(
                        "pk",
                        AttributeValue::S(format!("order-{client_number}-{i}")),
                    )
                    .item("status", AttributeValue::S("CREATED".into()))
                    .item("amount", AttributeValue::N("12.5".into()))
                    .send()
                    .await
                    .expect("put");
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for writer in writers {
        latencies.extend(writer.await.expect("writer"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "PutItem: {} writes from {CLIENTS} clients in {elapsed:.2?}: {:.0} writes/s, latency p50 {:.2?} p99 {:.2?}",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::start(EngineConfig::ephemeral(dir.path()))
            .await
            .expect("engine");
        let endpoint = engine.endpoint_url();
        put_item(&endpoint).await;
        sqs_round_trip(&endpoint).await;
        flow(&endpoint).await;
        engine.shutdown().await;
    });
}
