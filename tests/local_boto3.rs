//! The same DynamoDB and Streams operations through boto3, an independent client, so the
//! engine is not only compatible with the Rust SDK's view of the protocol.

use std::path::PathBuf;
use std::process::Command;

use crate::local_support::TestEngine;

/// The interpreter with boto3: `OUTBOXCTL_TEST_PYTHON`, else the repo's `.venv`.
fn python() -> PathBuf {
    let path = std::env::var_os("OUTBOXCTL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        path.exists(),
        "no Python with boto3 at {}: run `scripts/test` (it creates .venv), or set OUTBOXCTL_TEST_PYTHON",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_dynamodb_and_streams() {
    let python = python();
    let engine = TestEngine::start().await;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/dynamodb_conformance.py");
    let endpoint = engine.handle.endpoint_url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python).arg(script).arg(endpoint).output()
    })
    .await
    .unwrap()
    .expect("run the boto3 script");
    assert!(
        output.status.success(),
        "boto3 script failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
