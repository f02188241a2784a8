//! Crash safety of the whole flow: the real `outboxctl local up` is killed with `kill -9`
//! at random moments while writers update their keys, and restarted on the same data
//! directory, several times. Afterwards every acknowledged write must have reached the
//! consumer queue through stream, pipe, bus and rule (at least once), and for each key
//! the versions must first arrive in the order they were written.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_pipes::types::{
    PipeSourceParameters, PipeTargetEventBridgeEventBusParameters, PipeTargetParameters,
};

use crate::local_events::events_client;
use crate::local_pipes::{ROLE, pipes_client, stream_parameters, table_and_bus};
use crate::local_sqs::{create_queue, queue_arn, sqs_client};
use crate::local_support::{n, s};

const KEYS: usize = 6;
const ROUNDS: usize = 4;

/// Start the binary on a free port (off the async threads) and read its endpoint.
async fn start_engine(data_dir: &Path) -> (Child, String) {
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_outboxctl"))
            .args(["local", "up", "--port", "0", "--data-dir"])
            .arg(&data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn outboxctl local up");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the endpoint line");
        let endpoint = line
            .trim()
            .strip_prefix("endpoint: ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        (child, endpoint)
    })
    .await
    .unwrap()
}

/// A DynamoDB client that does not retry, so a kill shows up as an error at once.
fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Table, stream, bus, catch-all rule into `consumer`, and the pipe between them.
async fn provision(endpoint: &str) {
    let (events, sqs, pipes) = (
        events_client(endpoint),
        sqs_client(endpoint),
        pipes_client(endpoint),
    );
    let ddb = crate::local_support::dynamodb_client(endpoint);
    let (stream, bus) = table_and_bus(&ddb, &events, "NEW_IMAGE", "orders").await;
    let queue = create_queue(&sqs, "consumer", &[("VisibilityTimeout", "60")]).await;
    events
        .put_rule()
        .event_bus_name("orders")
        .name("all")
        .event_pattern(r#"{"source": ["shop"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .event_bus_name("orders")
        .rule("all")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("consumer")
                .arn(queue_arn(&sqs, &queue).await)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    pipes
        .create_pipe()
        .name("outbox")
        .role_arn(ROLE)
        .source(stream)
        .target(bus)
        .source_parameters(
            PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(stream_parameters(10, 10, None))
                .build(),
        )
        .target_parameters(
            PipeTargetParameters::builder()
                .event_bridge_event_bus_parameters(
                    PipeTargetEventBridgeEventBusParameters::builder()
                        .detail_type("$.eventName")
                        .source("shop")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_across_kill_9_and_per_key_order_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, endpoint) = start_engine(dir.path()).await;
    provision(&endpoint).await;
    // The highest acknowledged version of each key.
    let acknowledged: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(vec![0; KEYS]));
    let mut endpoint = endpoint;
    for _ in 0..ROUNDS {
        let client = dynamodb(&endpoint);
        let mut writers = Vec::new();
        for key in 0..KEYS {
            let (client, acknowledged) = (client.clone(), Arc::clone(&acknowledged));
            writers.push(tokio::spawn(async move {
                loop {
                    let version = acknowledged.lock().unwrap()[key] + 1;
                    let written = client
                        .put_item()
                        .table_name("orders")
                        .item("pk", s(&format!("key-{key}")))
                        .item("version", n(&version.to_string()))
                        .send()
                        .await;
                    if written.is_err() {
                        return;
                    }
                    acknowledged.lock().unwrap()[key] = version;
                }
            }));
        }
        // Kill at a random moment, with writes, pipe batches and deliveries in flight.
        let delay = 150 + rand::random_range(0..400u64);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().expect("kill -9");
        child.wait().unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        let restarted = start_engine(dir.path()).await;
        child = restarted.0;
        endpoint = restarted.1;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.iter().all(|v| *v > 0),
        "every key got writes: {acknowledged:?}"
    );

    // Collect deliveries until every acknowledged version arrived.
    let sqs = sqs_client(&endpoint);
    let queue = sqs
        .get_queue_url()
        .queue_name("consumer")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let mut arrivals: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    let complete = |arrivals: &BTreeMap<usize, Vec<u64>>| {
        (0..KEYS).all(|key| {
            let seen: HashSet<u64> = arrivals.get(&key).into_iter().flatten().copied().collect();
            (1..=acknowledged[key]).all(|v| seen.contains(&v))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !complete(&arrivals) && Instant::now() < deadline {
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in received.messages.unwrap_or_default() {
            let event: serde_json::Value =
                serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
            let image = &event["detail"]["dynamodb"]["NewImage"];
            let key: usize = image["pk"]["S"].as_str().unwrap()["key-".len()..]
                .parse()
                .unwrap();
            let version: u64 = image["version"]["N"].as_str().unwrap().parse().unwrap();
            arrivals.entry(key).or_default().push(version);
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(message.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    child.kill().ok();
    child.wait().ok();
    assert!(
        complete(&arrivals),
        "acknowledged writes were lost: acknowledged {acknowledged:?}, arrived {arrivals:?}"
    );
    for (key, versions) in &arrivals {
        // Redeliveries after a crash repeat a suffix; first arrivals must be in order.
        let mut seen = HashSet::new();
        let first: Vec<u64> = versions
            .iter()
            .copied()
            .filter(|v| seen.insert(*v))
            .collect();
        assert!(
            first.windows(2).all(|w| w[0] < w[1]),
            "key-{key} arrived out of order: {versions:?}"
        );
    }
}
