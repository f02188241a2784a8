//! SQS through aws-sdk-sqs against an in-process engine: queues and attributes, messages
//! with attributes and their digests, visibility and long polling, redrive to a
//! dead-letter queue after maxReceiveCount and back with StartMessageMoveTask, and the
//! typed errors SDKs see.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};

use crate::local_support::TestEngine;

/// An SQS client for `endpoint` with the dummy test credentials.
pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Create a queue with the given attributes; returns its URL.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(&str, &str)],
) -> String {
    let mut request = client.create_queue().queue_name(name);
    for (key, value) in attributes {
        request = request.attributes(QueueAttributeName::from(*key), *value);
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("get attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn")
}

/// Receive (long polling up to `wait` seconds per call) until `count` bodies arrived or
/// `within` passed; deletes what it receives.
pub async fn drain(
    client: &aws_sdk_sqs::Client,
    url: &str,
    count: usize,
    within: Duration,
) -> Vec<String> {
    let started = Instant::now();
    let mut bodies = Vec::new();
    while bodies.len() < count && started.elapsed() < within {
        let received = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for message in received.messages.unwrap_or_default() {
            bodies.push(message.body.unwrap_or_default());
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_round_trip_with_attributes_and_digests() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "orders", &[("VisibilityTimeout", "1")]).await;
    assert!(url.ends_with("/000000000000/orders"), "{url}");
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .message_attributes(
            "kind",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("order")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body.as_deref(),
        Some("5d41402abc4b2a76b9719d911017c592")
    );
    let received = client
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.body.as_deref(), Some("hello"));
    assert_eq!(
        message.md5_of_message_attributes,
        sent.md5_of_message_attributes
    );
    let system = message.attributes.as_ref().unwrap();
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("1")
    );
    assert!(system.contains_key(&MessageSystemAttributeName::SentTimestamp));
    // Invisible now; visible again after the 1 s visibility timeout, received a second time.
    let again = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(again.messages.unwrap_or_default().is_empty());
    let later = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(5)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(
        later[0]
            .attributes
            .as_ref()
            .unwrap()
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("2")
    );
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(later[0].receipt_handle.clone().unwrap())
        .send()
        .await
        .unwrap();
    let attributes = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attributes[&QueueAttributeName::ApproximateNumberOfMessages],
        "0"
    );
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polling_wakes_when_a_message_arrives() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "waiting", &[]).await;
    let receiver = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let out = client
                .receive_message()
                .queue_url(url)
                .wait_time_seconds(20)
                .send()
                .await
                .unwrap();
            (started.elapsed(), out.messages.unwrap_or_default().len())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("late")
        .send()
        .await
        .unwrap();
    let (waited, count) = receiver.await.unwrap();
    assert_eq!(count, 1);
    assert!(
        waited < Duration::from_secs(10),
        "the long poll should end on arrival, waited {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_receive_count_moves_to_the_dlq_and_a_move_task_brings_it_back() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let dlq = create_queue(
        &client,
        "orders-dlq",
        &[("MessageRetentionPeriod", "1209600")],
    )
    .await;
    let dlq_arn = queue_arn(&client, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":2}}"#);
    let url = create_queue(
        &client,
        "orders",
        &[("VisibilityTimeout", "0"), ("RedrivePolicy", &policy)],
    )
    .await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let got = client
            .receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap();
        assert_eq!(got.messages.unwrap_or_default().len(), 1);
    }
    // The third receive finds it past maxReceiveCount: it moves to the DLQ instead.
    let third = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(third.messages.unwrap_or_default().is_empty());
    let in_dlq = client
        .receive_message()
        .queue_url(&dlq)
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(in_dlq[0].body.as_deref(), Some("poison"));
    let system = in_dlq[0].attributes.as_ref().unwrap();
    assert_eq!(
        system[&MessageSystemAttributeName::DeadLetterQueueSourceArn],
        queue_arn(&client, &url).await
    );

    // The same queue name under another account is not this queue.
    let elsewhere = dlq_arn.replace(":000000000000:", ":111122223333:");
    assert_ne!(elsewhere, dlq_arn);
    let refused = client
        .start_message_move_task()
        .source_arn(&elsewhere)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(refused).0, "ResourceNotFoundException");
    let task = client
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert!(task.task_handle.is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tasks = client
            .list_message_move_tasks()
            .source_arn(&dlq_arn)
            .send()
            .await
            .unwrap();
        let status = tasks.results.unwrap()[0].status.clone().unwrap();
        if status == "COMPLETED" {
            break;
        }
        assert!(Instant::now() < deadline, "move task still {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let back = drain(&client, &url, 1, Duration::from_secs(5)).await;
    assert_eq!(back, vec!["poison".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_the_typed_sdk_errors() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let missing = client
        .get_queue_url()
        .queue_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_queue_does_not_exist(), "{missing:?}");
    let bad = client
        .create_queue()
        .queue_name("bad")
        .attributes(QueueAttributeName::VisibilityTimeout, "43201")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad.is_invalid_attribute_value(), "{bad:?}");
    let url = create_queue(&client, "q", &[]).await;
    let clash = client
        .create_queue()
        .queue_name("q")
        .attributes(QueueAttributeName::VisibilityTimeout, "5")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(clash.is_queue_name_exists(), "{clash:?}");
    let too_many = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        too_many.into_service_error().meta().code(),
        Some("InvalidParameterValue")
    );
    let empty = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert!(empty.into_service_error().is_empty_batch_request());
}

/// Run `tests/python/<script>` against `endpoint` with the boto3 interpreter
/// (`OUTBOXCTL_TEST_PYTHON`, else the repo's `.venv`); fails the test on a non-zero exit.
pub async fn run_boto3_script(script: &str, endpoint: String) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("OUTBOXCTL_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no Python with boto3 at {}: run `scripts/test` (it creates .venv), or set OUTBOXCTL_TEST_PYTHON",
        python.display()
    );
    let script = root.join("tests/python").join(script);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg(endpoint)
            .output()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_sqs() {
    let engine = TestEngine::start().await;
    run_boto3_script("sqs_basics.py", engine.handle.endpoint_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_visibility_batches_and_dead_letter_sources() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let dlq = create_queue(&client, "dlq", &[]).await;
    let dlq_arn = queue_arn(&client, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":5}}"#);
    let url = client
        .create_queue()
        .queue_name("source")
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .tags("team", "orders")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    client
        .tag_queue()
        .queue_url(&url)
        .tags("env", "local")
        .send()
        .await
        .unwrap();
    client
        .untag_queue()
        .queue_url(&url)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags["env"], "local");
    let sources = client
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap()
        .queue_urls;
    assert_eq!(sources, vec![url.clone()]);

    client
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .unwrap();
    let received = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(600)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry as Entry;
    let changed = client
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(
            Entry::builder()
                .id("ok")
                .receipt_handle(received[0].receipt_handle.clone().unwrap())
                .visibility_timeout(0)
                .build()
                .unwrap(),
        )
        .entries(
            Entry::builder()
                .id("bad")
                .receipt_handle("not-a-handle")
                .visibility_timeout(0)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(changed.successful.len(), 1);
    assert_eq!(changed.failed[0].code, "ReceiptHandleIsInvalid");
    // Visible again at once.
    let again = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(again.messages.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_and_retention_follow_the_engine_clock() {
    use std::sync::Arc;

    use outboxctl::local::clock::ManualClock;

    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let engine = TestEngine::with_clock(clock.clone()).await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(
        &client,
        "timed",
        &[
            ("VisibilityTimeout", "600"),
            ("MessageRetentionPeriod", "3600"),
        ],
    )
    .await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .unwrap();
    let receive = || client.receive_message().queue_url(&url).send();
    assert_eq!(receive().await.unwrap().messages.unwrap().len(), 1);
    clock.advance_ms(599_000);
    assert!(
        receive().await.unwrap().messages.is_none(),
        "still invisible"
    );
    clock.advance_ms(2_000);
    assert_eq!(
        receive().await.unwrap().messages.unwrap().len(),
        1,
        "visible again after 600 s"
    );
    clock.advance_ms(3_600_000);
    assert!(
        receive().await.unwrap().messages.is_none(),
        "gone after the retention period"
    );
    let attributes = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attributes[&QueueAttributeName::ApproximateNumberOfMessages],
        "0"
    );
    // The background sweep deletes expired messages nobody tried to receive.
    client
        .send_message()
        .queue_url(&url)
        .message_body("forgotten")
        .send()
        .await
        .unwrap();
    clock.advance_ms(3_601_000);
    assert_eq!(
        engine.handle.state().sqs.expire_messages().await.unwrap(),
        1
    );
}

/// The error code an SDK call failed with (SQS's untyped errors only carry the code).
fn error_code<E, R>(error: aws_sdk_sqs::error::SdkError<E, R>) -> (String, String)
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata,
{
    match error.as_service_error() {
        Some(service) => (
            service.code().unwrap_or_default().to_string(),
            service.message().unwrap_or_default().to_string(),
        ),
        None => panic!("not a service error"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_queue_without_attributes_returns_the_existing_queue() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "tuned", &[("VisibilityTimeout", "5")]).await;
    assert_eq!(create_queue(&client, "tuned", &[]).await, url);
    assert_eq!(
        create_queue(&client, "tuned", &[("VisibilityTimeout", "5")]).await,
        url
    );
    let clash = client
        .create_queue()
        .queue_name("tuned")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(clash.is_queue_name_exists(), "{clash:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_limited_to_one_mib_in_all() {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry as Entry;

    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "batched", &[]).await;
    let entry = |id: &str, size: usize| {
        Entry::builder()
            .id(id)
            .message_body("x".repeat(size))
            .build()
            .unwrap()
    };
    let half = client
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", 524_288))
        .entries(entry("b", 524_288))
        .send()
        .await
        .unwrap();
    assert_eq!(half.successful.len(), 2);
    let over = client
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", 524_288))
        .entries(entry("b", 524_289))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(over.is_batch_request_too_long(), "{over:?}");
    assert_eq!(
        over.to_string(),
        "BatchRequestTooLong: Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_may_be_one_mib_unless_the_queue_says_less() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "roomy", &[]).await;
    let attributes = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::MaximumMessageSize)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attributes[&QueueAttributeName::MaximumMessageSize],
        "1048576"
    );
    let send = |url: &str, size: usize| {
        client
            .send_message()
            .queue_url(url)
            .message_body("x".repeat(size))
            .send()
    };
    send(&url, 1_048_576).await.unwrap();
    let (code, message) = error_code(send(&url, 1_048_577).await.unwrap_err());
    assert_eq!(code, "InvalidParameterValue");
    assert!(message.contains("shorter than 1048576 bytes"), "{message}");
    let small = create_queue(&client, "small", &[("MaximumMessageSize", "1024")]).await;
    send(&small, 1024).await.unwrap();
    let (code, message) = error_code(send(&small, 1025).await.unwrap_err());
    assert_eq!(code, "InvalidParameterValue");
    assert!(message.contains("shorter than 1024 bytes"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_header_travels_with_the_message_and_its_digest() {
    use aws_sdk_sqs::types::{
        MessageSystemAttributeNameForSends as SendName, MessageSystemAttributeValue,
        SendMessageBatchRequestEntry as Entry,
    };

    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "traced", &[("VisibilityTimeout", "0")]).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let value = |data_type: &str| {
        MessageSystemAttributeValue::builder()
            .data_type(data_type)
            .string_value(trace)
            .build()
            .unwrap()
    };
    // The digest of SQS's attribute encoding of {AWSTraceHeader: String trace}.
    let digest = "5f48eef650c1d0207456969c85af2fdd";
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("traced")
        .message_system_attributes(SendName::AwsTraceHeader, value("String"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_system_attributes.as_deref(),
        Some(digest)
    );
    let batch = client
        .send_message_batch()
        .queue_url(&url)
        .entries(
            Entry::builder()
                .id("one")
                .message_body("batched")
                .message_system_attributes(SendName::AwsTraceHeader, value("String"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        batch.successful[0]
            .md5_of_message_system_attributes
            .as_deref(),
        Some(digest)
    );
    for asked in [
        MessageSystemAttributeName::AwsTraceHeader,
        MessageSystemAttributeName::All,
    ] {
        let received = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .message_system_attribute_names(asked)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap();
        assert_eq!(received.len(), 2);
        for message in &received {
            let attributes = message.attributes.as_ref().unwrap();
            assert_eq!(
                attributes[&MessageSystemAttributeName::AwsTraceHeader],
                trace
            );
        }
    }
    let unasked = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    assert!(unasked[0].attributes.is_none());

    let refused = [
        (SendName::from("SenderId"), value("String")),
        (SendName::AwsTraceHeader, value("Number")),
    ];
    for (name, value) in refused {
        let error = client
            .send_message()
            .queue_url(&url)
            .message_body("m")
            .message_system_attributes(name, value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(error).0, "InvalidParameterValue");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_attribute_names_and_numbers_are_checked() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "named", &[]).await;
    let send = |name: String, data_type: &str, value: &str| {
        client
            .send_message()
            .queue_url(&url)
            .message_body("m")
            .message_attributes(
                name,
                MessageAttributeValue::builder()
                    .data_type(data_type)
                    .string_value(value)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    send("order.kind-1_x".into(), "String", "paid")
        .await
        .unwrap();
    send("amount".into(), "Number", "-12.5e3").await.unwrap();
    send("a".repeat(256), "String", "v").await.unwrap();
    let bad_names = [
        "AWS.kind".to_string(),
        "amazon.kind".to_string(),
        "Aws.Kind".to_string(),
        "order..kind".to_string(),
        ".kind".to_string(),
        "kind.".to_string(),
        "order kind".to_string(),
        "a".repeat(257),
    ];
    for name in bad_names {
        let error = send(name.clone(), "String", "v").await.unwrap_err();
        let (code, message) = error_code(error);
        assert_eq!(code, "InvalidParameterValue", "{name}");
        assert!(message.contains("attribute name"), "{name}: {message}");
    }
    for not_a_number in ["twelve", "1.2.3", "NaN", "inf"] {
        let error = send("amount".into(), "Number", not_a_number)
            .await
            .unwrap_err();
        let (code, message) = error_code(error);
        assert_eq!(code, "InvalidParameterValue", "{not_a_number}");
        assert_eq!(
            message,
            "Can't cast the value of message (user) attribute 'amount' to a number."
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_policy_needs_an_existing_dead_letter_queue() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let policy =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:gone","maxReceiveCount":3}"#;
    let expected = format!(
        "Value {policy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist."
    );
    let created = client
        .create_queue()
        .queue_name("source")
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(created),
        ("InvalidParameterValue".to_string(), expected.clone())
    );
    let url = create_queue(&client, "source", &[]).await;
    let set = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(set),
        ("InvalidParameterValue".to_string(), expected)
    );
    // A queue of that name here does not make another account's or region's ARN name it.
    create_queue(&client, "dlq", &[]).await;
    for elsewhere in [
        "arn:aws:sqs:us-east-1:111122223333:dlq",
        "arn:aws:sqs:eu-west-1:000000000000:dlq",
    ] {
        let policy = format!(r#"{{"deadLetterTargetArn":"{elsewhere}","maxReceiveCount":3}}"#);
        let refused = client
            .set_queue_attributes()
            .queue_url(&url)
            .attributes(QueueAttributeName::RedrivePolicy, &policy)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            error_code(refused).0,
            "InvalidParameterValue",
            "{elsewhere}"
        );
    }
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3}"#,
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_queues_pages_with_its_own_tokens_only() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    for name in ["a", "b", "c"] {
        create_queue(&client, name, &[]).await;
    }
    let first = client.list_queues().max_results(2).send().await.unwrap();
    assert_eq!(first.queue_urls().len(), 2);
    let second = client
        .list_queues()
        .max_results(2)
        .next_token(first.next_token.unwrap())
        .send()
        .await
        .unwrap();
    assert!(second.queue_urls()[0].ends_with("/c"));
    assert!(second.next_token.is_none());
    let forged = client
        .list_queues()
        .max_results(2)
        .next_token("b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(forged),
        (
            "InvalidParameterValue".to_string(),
            "Invalid or expired next token.".to_string()
        )
    );
}

/// An empty batch is refused with the batch's own entry type in the message, as SQS says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_batch_names_its_entry_type() {
    let engine = TestEngine::start().await;
    let client = sqs_client(&engine.handle.endpoint_url());
    let url = create_queue(&client, "empty-batches", &[]).await;
    let deleted = error_code(
        client
            .delete_message_batch()
            .queue_url(&url)
            .set_entries(Some(Vec::new()))
            .send()
            .await
            .unwrap_err(),
    );
    let changed = error_code(
        client
            .change_message_visibility_batch()
            .queue_url(&url)
            .set_entries(Some(Vec::new()))
            .send()
            .await
            .unwrap_err(),
    );
    let sent = error_code(
        client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(Vec::new()))
            .send()
            .await
            .unwrap_err(),
    );
    for ((code, message), entry) in [
        (deleted, "DeleteMessageBatchRequestEntry"),
        (changed, "ChangeMessageVisibilityBatchRequestEntry"),
        (sent, "SendMessageBatchRequestEntry"),
    ] {
        assert_eq!(code, "AWS.SimpleQueueService.EmptyBatchRequest");
        assert_eq!(
            message,
            format!("There should be at least one {entry} in the request.")
        );
    }
}
