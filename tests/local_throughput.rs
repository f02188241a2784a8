//! A benchmark, not a test: PutItem throughput of the local engine with 8 concurrent SDK
//! clients writing to a stream-enabled table (every write also appends its stream record).
//! Run it with `cargo test --release --test tests local_throughput -- --ignored --nocapture`;
//! it prints the numbers and fails only if a write fails.

use std::time::{Duration, Instant};

use crate::local_support::{TestEngine, create_table, dynamodb_client, n, s};

const CLIENTS: usize = 8;
const WRITES_PER_CLIENT: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run with --ignored --nocapture in release mode"]
async fn local_put_item_throughput() {
    let engine = TestEngine::start().await;
    create_table(
        &engine.dynamodb(),
        "bench",
        false,
        Some("NEW_AND_OLD_IMAGES"),
    )
    .await;
    let endpoint = engine.handle.endpoint_url();
    let started = Instant::now();
    let mut clients = Vec::new();
    for client_number in 0..CLIENTS {
        let client = dynamodb_client(&endpoint);
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(WRITES_PER_CLIENT);
            for i in 0..WRITES_PER_CLIENT {
                let begun = Instant::now();
                client
                    .put_item()
                    .table_name("bench")
                    .item("pk", s(&format!("order-{client_number}-{i}")))
                    .item("status", s("CREATED"))
                    .item("amount", n("12.5"))
                    .send()
                    .await
                    .expect("put");
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "PutItem: {} writes from {CLIENTS} clients in {:.2?}: {:.0} writes/s, latency p50 {:.2?} p99 {:.2?}",
        latencies.len(),
        elapsed,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99)
    );
}
