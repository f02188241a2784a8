//! The commands' failure paths, as a user meets them: a stack that does not exist, an
//! endpoint that does not answer, throttling. The whole flow is in `cli_e2e`.

use std::path::Path;
use std::process::Output;

use crate::local_support::TestEngine;
use crate::support::{expect_code, local_aws_env, outboxctl, repo, text};

/// Run the CLI against the engine without blocking the runtime the engine runs on.
async fn cli(endpoint: &str, blueprint: &Path, args: &[&str]) -> Output {
    let mut cmd = outboxctl();
    local_aws_env(&mut cmd, endpoint)
        .arg("-f")
        .arg(blueprint)
        .args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_a_missing_stack_say_to_deploy_first() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let bp = repo().join("blueprints/minimal.yaml");
    for args in [
        &["status"][..],
        &["send-test-order"],
        &["tail", "--timeout", "1"],
        &["destroy", "--yes"],
    ] {
        let output = cli(&endpoint, &bp, args).await;
        expect_code(&output, 1);
        assert!(
            text(&output.stderr).contains(
                "stack `shop` does not exist in this account and region: deploy it first"
            ),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_gets_one_clear_line() {
    let port = crate::support::free_port();
    let bp = repo().join("blueprints/minimal.yaml");
    let output = cli(&format!("http://127.0.0.1:{port}"), &bp, &["status"]).await;
    expect_code(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot reach the endpoint for cloudformation:DescribeStacks"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

/// A CloudFormation endpoint that throttles the first `throttled` calls, then says the
/// stack does not exist. Returns its URL and the call counter.
async fn throttling_endpoint(
    throttled: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (code, message) = if n < throttled { ("Throttling", "Rate exceeded") } else { ("ValidationError", "Stack with id shop does not exist") };
            let body = format!(
                "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r{n}</RequestId></ErrorResponse>"
            );
            (axum::http::StatusCode::BAD_REQUEST, [("content-type", "text/xml")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_are_retried_then_explained() {
    let bp = repo().join("blueprints/minimal.yaml");
    let (url, calls) = throttling_endpoint(2).await;
    let output = cli(&url, &bp, &["status"]).await;
    expect_code(&output, 1);
    assert!(
        text(&output.stderr).contains("stack `shop` does not exist"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "two throttled attempts, then the answer"
    );

    let (url, calls) = throttling_endpoint(usize::MAX).await;
    let output = cli(&url, &bp, &["status"]).await;
    expect_code(&output, 1);
    assert!(
        text(&output.stderr)
            .contains("AWS throttled cloudformation:DescribeStacks even after 5 attempts"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 5);
}
