//! The commands' failure paths, as a user meets them: a stack that does not exist, an
//! endpoint that does not answer, throttling. The whole flow is in `cli_e2e`.

use std::path::Path;

use crate::local_support::TestEngine;
use crate::support::{cli, expect_code, outboxctl, repo, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_a_missing_stack_say_to_deploy_first() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let bp = repo().join("blueprints/minimal.yaml");
    for args in [
        &["status"][..],
        &["send-test-order"],
        &["tail", "--timeout", "1"],
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
    // Deleting what is not there succeeds, as DeleteStack does, so teardown can rerun.
    let destroyed = cli(&endpoint, &bp, &["destroy", "--yes"]).await;
    expect_code(&destroyed, 0);
    assert!(text(&destroyed.stdout).contains("nothing to delete: stack `shop` does not exist"));
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

/// A CloudFormation endpoint that answers call `n` with the error `answer(n)` gives
/// (code, message). Returns its URL and the call counter.
async fn scripted_endpoint(
    answer: fn(usize) -> (&'static str, &'static str),
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (code, message) = answer(n);
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

const MISSING: (&str, &str) = ("ValidationError", "Stack with id shop does not exist");
const THROTTLED: (&str, &str) = ("Throttling", "Rate exceeded");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_are_retried_then_explained() {
    let bp = repo().join("blueprints/minimal.yaml");
    let (url, calls) = scripted_endpoint(|n| if n < 2 { THROTTLED } else { MISSING }).await;
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

    let (url, calls) = scripted_endpoint(|_| THROTTLED).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_names_the_action() {
    let bp = repo().join("blueprints/minimal.yaml");
    let (url, _) = scripted_endpoint(|_| {
        (
            "AccessDenied",
            "User: arn:aws:iam::1:user/x is not authorized",
        )
    })
    .await;
    let output = cli(&url, &bp, &["status"]).await;
    expect_code(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: access denied: the caller may not call cloudformation:DescribeStacks"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// The CLI with no credentials anywhere (no variables, files, profile or metadata).
fn without_credentials(home: &Path) -> std::process::Command {
    let mut cmd = outboxctl();
    cmd.env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"));
    for variable in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        cmd.env_remove(variable);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_takes_the_endpoint_of_an_engine_on_another_port() {
    let engine = TestEngine::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut cmd = without_credentials(home.path());
    cmd.arg("-f")
        .arg(repo().join("blueprints/minimal.yaml"))
        .args(["status", "--local", "--endpoint-url"])
        .arg(engine.handle.endpoint_url());
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    expect_code(&output, 1);
    assert!(
        text(&output.stderr).contains("stack `shop` does not exist in this account and region"),
        "dummy credentials, the given endpoint: {}",
        text(&output.stderr)
    );
}

#[test]
fn unusable_aws_arguments_exit_2_and_say_why() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config"),
        "[profile dev]\nregion = eu-west-1\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("credentials"),
        "[ci]\naws_access_key_id = x\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        without_credentials(home.path())
            .arg("-f")
            .arg(repo().join("blueprints/minimal.yaml"))
            .arg("status")
            .args(args)
            .output()
            .unwrap()
    };
    for (args, says) in [
        (
            &["--profile", "nosuch"][..],
            "the config profile (nosuch) could not be found",
        ),
        (
            &["--endpoint-url", "not a url"][..],
            "write the endpoint as a URL",
        ),
        (
            &["--endpoint-url", "http://127.0.0.1:99999"][..],
            "write the endpoint as a URL",
        ),
        (
            &["--region", "bad region!"][..],
            "a region name is lowercase letters",
        ),
    ] {
        let refused = run(args);
        expect_code(&refused, 2);
        assert!(
            text(&refused.stderr).contains(says),
            "{}",
            text(&refused.stderr)
        );
    }
    // Profiles of either file pass the check (and then fail for want of an engine).
    for profile in ["dev", "ci"] {
        let endpoint = format!("http://127.0.0.1:{}", crate::support::free_port());
        let ran = run(&["--profile", profile, "--endpoint-url", &endpoint]);
        assert_ne!(ran.status.code(), Some(2), "{}", text(&ran.stderr));
    }
}

#[test]
fn missing_credentials_say_how_to_get_some() {
    let home = tempfile::tempdir().unwrap();
    let output = without_credentials(home.path())
        .env("AWS_REGION", "us-east-1")
        .args(["-f"])
        .arg(repo().join("blueprints/minimal.yaml"))
        .args([
            "status",
            "--endpoint-url",
            &format!("http://127.0.0.1:{}", crate::support::free_port()),
        ])
        .output()
        .unwrap();
    expect_code(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: no AWS credentials found: run `aws configure`"),
        "{stderr}"
    );
}
