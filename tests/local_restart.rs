//! Durability: writes acknowledged by the real `outboxctl local up` process survive a
//! `kill -9` right after the acknowledgements, with their stream records, in order.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use aws_sdk_dynamodbstreams::types::ShardIteratorType;

use crate::local_support::{
    create_table, dynamodb_client as dynamodb, n, s, streams_client as streams,
};

const WRITERS: usize = 8;
const WRITES_PER_WRITER: usize = 25;

/// [`spawn_engine`] off the async threads.
async fn start_engine(data_dir: &Path) -> (Child, String) {
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || spawn_engine(&data_dir))
        .await
        .unwrap()
}

/// Start the binary on a free port and read the endpoint it prints.
fn spawn_engine(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_outboxctl"))
        .args(["local", "up", "--port", "0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn outboxctl local up");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the endpoint line");
    let endpoint = line
        .trim()
        .strip_prefix("endpoint: ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (child, endpoint)
}

/// Writer `writer` puts its counter item through versions `1..=last`, one acknowledged
/// write after another; returns the last acknowledged version (it stops at the first error).
async fn write_versions(client: aws_sdk_dynamodb::Client, writer: usize, last: usize) -> usize {
    let mut acknowledged = 0;
    for version in 1..=last {
        let put = client
            .put_item()
            .table_name("orders")
            .item("pk", s(&format!("counter-{writer}")))
            .item("version", n(&version.to_string()))
            .send()
            .await;
        if put.is_err() {
            break;
        }
        acknowledged = version;
    }
    acknowledged
}

/// Start `WRITERS` concurrent writers, each on its own key.
fn start_writers(
    client: &aws_sdk_dynamodb::Client,
    last: usize,
) -> Vec<tokio::task::JoinHandle<usize>> {
    (0..WRITERS)
        .map(|writer| tokio::spawn(write_versions(client.clone(), writer, last)))
        .collect()
}

/// After a restart: each counter's stored version, and the versions its stream records
/// carry, in stream order.
async fn stored_versions(endpoint: &str) -> (Vec<usize>, Vec<Vec<usize>>) {
    let client = dynamodb(endpoint);
    let mut items = Vec::new();
    for writer in 0..WRITERS {
        let got = client
            .get_item()
            .table_name("orders")
            .key("pk", s(&format!("counter-{writer}")))
            .send()
            .await
            .unwrap();
        items.push(
            got.item()
                .map_or(0, |item| item["version"].as_n().unwrap().parse().unwrap()),
        );
    }
    let stream_arn = client
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let streams = streams(endpoint);
    let shard = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description()
        .unwrap()
        .shards()[0]
        .shard_id()
        .unwrap()
        .to_owned();
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&stream_arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .unwrap()
        .to_owned();
    let mut versions_by_key: Vec<Vec<usize>> = vec![Vec::new(); WRITERS];
    loop {
        let page = streams
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .unwrap();
        if page.records().is_empty() {
            break;
        }
        for record in page.records() {
            let image = record.dynamodb().unwrap().new_image().unwrap();
            let writer: usize = image["pk"]
                .as_s()
                .unwrap()
                .trim_start_matches("counter-")
                .parse()
                .unwrap();
            versions_by_key[writer].push(image["version"].as_n().unwrap().parse().unwrap());
        }
        iterator = page.next_shard_iterator().unwrap().to_owned();
    }
    (items, versions_by_key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, endpoint) = start_engine(dir.path()).await;
    let client = dynamodb(&endpoint);
    create_table(&client, "orders", false, Some("NEW_IMAGE")).await;
    for writer in start_writers(&client, WRITES_PER_WRITER) {
        assert_eq!(
            writer.await.unwrap(),
            WRITES_PER_WRITER,
            "every write acknowledged"
        );
    }
    // SIGKILL right after the last acknowledgement.
    child.kill().expect("kill -9");
    child.wait().unwrap();

    let (mut child, endpoint) = start_engine(dir.path()).await;
    let (items, streams) = stored_versions(&endpoint).await;
    let expected: Vec<usize> = (1..=WRITES_PER_WRITER).collect();
    for writer in 0..WRITERS {
        assert_eq!(items[writer], WRITES_PER_WRITER, "counter-{writer}");
        assert_eq!(
            streams[writer], expected,
            "stream records of counter-{writer}: all there, in order"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, endpoint) = start_engine(dir.path()).await;
    let client = dynamodb(&endpoint);
    create_table(&client, "orders", false, Some("NEW_IMAGE")).await;
    let writers = start_writers(&client, usize::MAX);
    // Let the writers get going, then SIGKILL while requests are in flight.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    child.kill().expect("kill -9");
    child.wait().unwrap();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.push(writer.await.unwrap());
    }
    assert!(
        acknowledged.iter().all(|a| *a > 0),
        "writers made progress before the kill: {acknowledged:?}"
    );

    let (mut child, endpoint) = start_engine(dir.path()).await;
    let (items, streams) = stored_versions(&endpoint).await;
    for writer in 0..WRITERS {
        // A write may have committed without its acknowledgement arriving, never the reverse.
        assert!(
            items[writer] >= acknowledged[writer],
            "counter-{writer}: acknowledged {} but stored {}",
            acknowledged[writer],
            items[writer]
        );
        let expected: Vec<usize> = (1..=items[writer]).collect();
        assert_eq!(
            streams[writer], expected,
            "stream records of counter-{writer}: one per stored write, gap-free, in order"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_refuses_while_an_engine_holds_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("state");
    let (mut child, endpoint) = start_engine(&data_dir).await;
    create_table(&dynamodb(&endpoint), "orders", false, None).await;

    let reset = || {
        Command::new(env!("CARGO_BIN_EXE_outboxctl"))
            .args(["--output", "json", "local", "reset", "--data-dir"])
            .arg(&data_dir)
            .output()
            .expect("run outboxctl local reset")
    };
    let refused = reset();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("in use by another running engine"),
        "{stderr}"
    );
    assert!(data_dir.exists());

    child.kill().unwrap();
    child.wait().unwrap();
    let done = reset();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(!data_dir.exists(), "reset removes the data directory");
    let answer: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(answer["removed"], true, "{answer}");

    // A directory that is not an engine's is refused, with nothing removed.
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    std::fs::write(project.join("main.rs"), "fn main() {}").unwrap();
    std::fs::write(project.join("engine.sqlite3"), "").unwrap();
    for target in [project.clone(), project.join(".git")] {
        let refused = Command::new(env!("CARGO_BIN_EXE_outboxctl"))
            .args(["local", "reset", "--data-dir"])
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("is not an engine's data directory"),
            "{stderr}"
        );
    }
    assert!(project.join("main.rs").exists() && project.join(".git").exists());
    assert!(project.join("engine.sqlite3").exists(), "nothing removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_engine_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, endpoint) = start_engine(dir.path()).await;
    create_table(&dynamodb(&endpoint), "orders", false, None).await;
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(interrupted.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "Ctrl-C exits with success: {status:?}");

    let (mut child, endpoint) = start_engine(dir.path()).await;
    let tables = dynamodb(&endpoint).list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["orders"]);
    child.kill().unwrap();
    child.wait().unwrap();
}
