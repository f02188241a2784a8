//! The engine's S3 and the deploys that go through it: objects stored and read back by
//! the Rust SDK and by boto3 (an independent client), CloudFormation reading a template
//! through its TemplateURL, and `deploy --s3-bucket` for a blueprint whose template is
//! too large to send inline.

use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;

use crate::local_support::TestEngine;
use crate::support::{blueprint_with_consumers, cli, expect_code, python_tool, sdk_config, text};

async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = sdk_config(endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

fn code<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> Option<String>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_stores_and_reads_objects() {
    let engine = TestEngine::start().await;
    let s3 = s3_client(&engine.handle.endpoint_url()).await;
    s3.create_bucket().bucket("artifacts").send().await.unwrap();
    s3.head_bucket().bucket("artifacts").send().await.unwrap();
    // The engine's one account owns every bucket; a request expecting another is refused.
    let sts = aws_sdk_sts::Client::new(&sdk_config(&engine.handle.endpoint_url()).await);
    let caller = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(caller.account(), Some("000000000000"));
    s3.head_bucket()
        .bucket("artifacts")
        .expected_bucket_owner("000000000000")
        .send()
        .await
        .unwrap();
    let foreign = s3
        .put_object()
        .bucket("artifacts")
        .key("k")
        .expected_bucket_owner("111111111111")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&foreign).as_deref(), Some("AccessDenied"));
    let body = "{\"Resources\": {}}".repeat(5_000);
    let put = s3
        .put_object()
        .bucket("artifacts")
        .key("stacks/shop/a b.template")
        .content_type("application/json")
        .body(ByteStream::from(body.clone().into_bytes()))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("artifacts")
        .key("stacks/shop/a b.template")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag, put.e_tag);
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes, body.as_bytes(), "the body comes back byte for byte");
    let head = s3
        .head_object()
        .bucket("artifacts")
        .key("stacks/shop/a b.template")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length, Some(body.len() as i64));
    assert!(head.last_modified.is_some());

    let missing = s3
        .head_object()
        .bucket("artifacts")
        .key("nope")
        .send()
        .await
        .unwrap_err();
    assert!(missing.as_service_error().is_some_and(|e| e.is_not_found()));
    let no_bucket = s3
        .get_object()
        .bucket("no-such-bucket")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_bucket).as_deref(), Some("NoSuchBucket"));
    let listing = s3
        .list_objects_v2()
        .bucket("artifacts")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&listing).as_deref(), Some("NotImplemented"));
    let not_empty = s3
        .delete_bucket()
        .bucket("artifacts")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&not_empty).as_deref(), Some("BucketNotEmpty"));

    s3.delete_object()
        .bucket("artifacts")
        .key("stacks/shop/a b.template")
        .send()
        .await
        .unwrap();
    s3.delete_bucket().bucket("artifacts").send().await.unwrap();
}

/// A body streamed from a file goes in aws-chunked framing with a trailing checksum, and
/// ranged reads give back the bytes asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_uploads_and_ranged_reads_keep_every_byte() {
    let engine = TestEngine::start().await;
    let s3 = s3_client(&engine.handle.endpoint_url()).await;
    s3.create_bucket().bucket("streams").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.bin");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &body).unwrap();
    s3.put_object()
        .bucket("streams")
        .key("body.bin")
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await
        .unwrap();
    let whole = s3
        .get_object()
        .bucket("streams")
        .key("body.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(whole.body.collect().await.unwrap().into_bytes(), body);
    let part = s3
        .get_object()
        .bucket("streams")
        .key("body.bin")
        .range("bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.content_range(), Some("bytes 1000-1999/300000"));
    assert_eq!(
        part.body.collect().await.unwrap().into_bytes(),
        body[1000..2000]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_stores_and_reads_objects() {
    let engine = TestEngine::start().await;
    crate::local_sqs::run_boto3_script("s3_basics.py", engine.handle.endpoint_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudformation_reads_a_template_through_its_url() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let config = sdk_config(&endpoint).await;
    let s3 = s3_client(&endpoint).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    s3.create_bucket().bucket("templates").send().await.unwrap();
    let template = r#"{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}}}"#;
    s3.put_object()
        .bucket("templates")
        .key("t.json")
        .body(ByteStream::from_static(template.as_bytes()))
        .send()
        .await
        .unwrap();

    let validated = cfn
        .validate_template()
        .template_url("https://templates.s3.us-east-1.amazonaws.com/t.json")
        .send()
        .await;
    assert!(validated.is_ok(), "{validated:?}");
    cfn.create_stack()
        .stack_name("from-s3")
        .template_url("https://s3.us-east-1.amazonaws.com/templates/t.json")
        .send()
        .await
        .unwrap();
    let stored = cfn
        .get_template()
        .stack_name("from-s3")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.template_body.as_deref(), Some(template));

    for (url, expected) in [
        (
            "https://example.com/templates/t.json",
            "TemplateURL must be a supported URL.",
        ),
        (
            "https://s3.amazonaws.com/templates/missing.json",
            "S3 error: The specified key does not exist.",
        ),
        (
            "https://s3.amazonaws.com/no-bucket/t.json",
            "S3 error: The specified bucket does not exist",
        ),
    ] {
        let refused = cfn
            .create_stack()
            .stack_name("refused")
            .template_url(url)
            .send()
            .await
            .unwrap_err();
        let message = refused
            .as_service_error()
            .and_then(|e| aws_sdk_cloudformation::error::ProvideErrorMetadata::message(e))
            .unwrap_or_default()
            .to_owned();
        assert_eq!(message, expected, "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_too_large_to_send_inline_deploys_through_s3() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_with_consumers(dir.path(), 30);

    let validated = cli(&endpoint, &bp, &["validate"]).await;
    expect_code(&validated, 0);
    assert!(
        text(&validated.stdout)
            .contains("deploy needs --s3-bucket (and diff, to show replacements)"),
        "{}",
        text(&validated.stdout)
    );

    let refused = cli(&endpoint, &bp, &["deploy"]).await;
    expect_code(&refused, 1);
    assert!(
        text(&refused.stderr)
            .contains("more than CloudFormation takes inline (51200): pass --s3-bucket BUCKET"),
        "{}",
        text(&refused.stderr)
    );

    let no_bucket = cli(&endpoint, &bp, &["deploy", "--s3-bucket", "deploys"]).await;
    expect_code(&no_bucket, 1);
    assert!(
        text(&no_bucket.stderr).contains("S3 bucket `deploys` does not exist"),
        "{}",
        text(&no_bucket.stderr)
    );

    // The bucket made as the README says, with the aws CLI (path-style by default for an
    // endpoint given as an address).
    let mut make_bucket = Command::new(python_tool("aws"));
    make_bucket
        .args(["--endpoint-url", &endpoint, "s3", "mb", "s3://deploys"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1");
    let made = tokio::task::spawn_blocking(move || make_bucket.output().unwrap())
        .await
        .unwrap();
    expect_code(&made, 0);
    let args = ["deploy", "--s3-bucket", "deploys", "--s3-prefix", "ci"];
    let deployed = cli(&endpoint, &bp, &args).await;
    expect_code(&deployed, 0);
    let stderr = text(&deployed.stderr);
    assert!(
        stderr.contains("template uploaded to s3://deploys/ci/big/"),
        "{stderr}"
    );

    let config = sdk_config(&endpoint).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let resources: Vec<_> = cfn
        .list_stack_resources()
        .stack_name("big")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    let logical: std::collections::HashSet<&str> = resources
        .iter()
        .filter_map(|r| r.logical_resource_id())
        .collect();
    for i in 0..30 {
        for id in [
            format!("Q{i}Queue"),
            format!("Q{i}QueueDlq"),
            format!("R{i}Rule"),
        ] {
            assert!(logical.contains(id.as_str()), "{id} is deployed");
        }
    }

    // The same template is not uploaded twice, and the stack is up to date.
    let again = cli(&endpoint, &bp, &args).await;
    expect_code(&again, 0);
    assert!(
        text(&again.stderr).contains("(same content): not uploaded again"),
        "{}",
        text(&again.stderr)
    );
    assert!(
        text(&again.stdout).contains("nothing to deploy"),
        "{}",
        text(&again.stdout)
    );
    // One more consumer: diff's change set reads the new template from the bucket too.
    let other = tempfile::tempdir().unwrap();
    let bigger = blueprint_with_consumers(other.path(), 31);
    // Without the bucket, the property diff is still shown, without replacement verdicts.
    let unstaged = cli(&endpoint, &bigger, &["diff"]).await;
    expect_code(&unstaged, 0);
    assert!(
        text(&unstaged.stderr).contains("without --s3-bucket no change set is made"),
        "{}",
        text(&unstaged.stderr)
    );
    assert!(text(&unstaged.stdout).contains("+ Q30Queue (AWS::SQS::Queue)"));
    let diffed = cli(&endpoint, &bigger, &["diff", "--s3-bucket", "deploys"]).await;
    expect_code(&diffed, 0);
    let stdout = text(&diffed.stdout);
    assert!(stdout.contains("+ Q30Queue (AWS::SQS::Queue)"), "{stdout}");
    assert!(text(&diffed.stderr).contains("template uploaded to s3://deploys/big/"));
}
