//! The main job, as a user runs it: the real binary against an in-process local engine.
//! deploy (create, no-op, update with a property diff, rollback, ROLLBACK_COMPLETE,
//! --recreate), send-test-order, tail, verify, status, destroy, and the one-command demo.

use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType,
};

use crate::local_support::{TestEngine, dynamodb_client};
use crate::support::{cli, expect_code, local_aws_env, outboxctl, repo, text};

/// A copy of an example blueprint that a test may edit.
fn blueprint_copy(dir: &Path, example: &str) -> PathBuf {
    let path = dir.join("outbox.yaml");
    std::fs::copy(repo().join(format!("blueprints/{example}.yaml")), &path).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_send_tail_verify_status_destroy() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_copy(dir.path(), "food-ordering");

    // --no-execute leaves the change set for review; the stack waits in REVIEW_IN_PROGRESS.
    let reviewed = cli(&endpoint, &bp, &["deploy", "--no-execute"]).await;
    expect_code(&reviewed, 0);
    assert!(
        text(&reviewed.stdout).contains("is ready for review"),
        "{}",
        text(&reviewed.stdout)
    );

    let created = cli(&endpoint, &bp, &["deploy"]).await;
    expect_code(&created, 0);
    let stdout = text(&created.stdout);
    assert!(
        stdout.contains("change set for stack `food-ordering` (create)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Add      Table"),
        "the change table lists the table: {stdout}"
    );
    assert!(
        stdout.contains("stack `food-ordering`: CREATE_COMPLETE"),
        "{stdout}"
    );
    assert!(
        stdout.contains("TailQueueUrl"),
        "outputs are printed: {stdout}"
    );

    let again = cli(&endpoint, &bp, &["deploy"]).await;
    expect_code(&again, 0);
    assert!(text(&again.stdout).contains("nothing to deploy: stack `food-ordering` is up to date"));

    let sent = cli(&endpoint, &bp, &["send-test-order"]).await;
    expect_code(&sent, 0);
    let id = text(&sent.stdout).trim().to_string();
    let tailed = cli(
        &endpoint,
        &bp,
        &["tail", "--json", "--count", "1", "--timeout", "30"],
    )
    .await;
    expect_code(&tailed, 0);
    let event: serde_json::Value =
        serde_json::from_str(text(&tailed.stdout).lines().next().unwrap()).unwrap();
    assert!(
        event["event"]["detail"].to_string().contains(&id),
        "the tailed event is our order: {event}"
    );
    // The names `--rule` takes, and where each rule delivers, as in the text line.
    assert_eq!(
        event["rules"],
        serde_json::json!(["new_orders", "order_changes"])
    );
    assert_eq!(
        event["routes"],
        serde_json::json!([
            {"rule": "new_orders", "queues": ["notify_restaurant"]},
            {"rule": "order_changes", "queues": ["order_tracking"]}
        ])
    );

    // tail deletes only what it shows: `--count` and `--rule` leave the rest for the next.
    let two = cli(&endpoint, &bp, &["send-test-order", "--count", "2"]).await;
    expect_code(&two, 0);
    let mut sent_ids: Vec<String> = text(&two.stdout).lines().map(str::to_string).collect();
    let mut tailed_ids = Vec::new();
    for _ in 0..2 {
        let one = cli(
            &endpoint,
            &bp,
            &["tail", "--json", "--count", "1", "--timeout", "30"],
        )
        .await;
        expect_code(&one, 0);
        let detail = text(&one.stdout).lines().next().unwrap().to_string();
        let ours = sent_ids.iter().find(|id| detail.contains(id.as_str()));
        tailed_ids.push(ours.expect("the tailed event is one of ours").clone());
    }
    sent_ids.sort();
    tailed_ids.sort();
    assert_eq!(
        tailed_ids, sent_ids,
        "the second tail sees the order the first stopped before"
    );
    let delivered = cli(
        &endpoint,
        &bp,
        &["send-test-order", "--status", "DELIVERED"],
    )
    .await;
    expect_code(&delivered, 0);
    let delivered_id = text(&delivered.stdout).trim().to_string();
    let filtered = cli(
        &endpoint,
        &bp,
        &[
            "tail",
            "--rule",
            "new_orders",
            "--count",
            "1",
            "--timeout",
            "5",
        ],
    )
    .await;
    expect_code(&filtered, 1);
    assert_eq!(
        text(&filtered.stdout),
        "",
        "new_orders only takes PLACED orders"
    );
    let after = cli(
        &endpoint,
        &bp,
        &["tail", "--json", "--count", "1", "--timeout", "30"],
    )
    .await;
    expect_code(&after, 0);
    assert!(
        text(&after.stdout).contains(&delivered_id),
        "the event `--rule` left out is still there: {}",
        text(&after.stdout)
    );
    // `tail --rule … | head -1` whose reader has gone: it ends with 141, and what it passed
    // over or could not show is back for the next reader at once.
    let passed_over = cli(
        &endpoint,
        &bp,
        &["send-test-order", "--status", "DELIVERED"],
    )
    .await;
    let placed = cli(&endpoint, &bp, &["send-test-order"]).await;
    let mut closed = outboxctl();
    local_aws_env(&mut closed, &endpoint)
        .arg("-f")
        .arg(&bp)
        .args(["tail", "--rule", "new_orders", "--timeout", "30"]);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    closed.stdout(writer).stderr(std::process::Stdio::piped());
    let gone = tokio::task::spawn_blocking(move || closed.output().unwrap())
        .await
        .unwrap();
    expect_code(&gone, 141);
    let both = cli(
        &endpoint,
        &bp,
        &["tail", "--json", "--count", "2", "--timeout", "10"],
    )
    .await;
    expect_code(&both, 0);
    for id in [&passed_over, &placed].map(|o| text(&o.stdout).trim().to_string()) {
        assert!(
            text(&both.stdout).contains(&id),
            "{id} is back for the next tail: {}",
            text(&both.stdout)
        );
    }

    // The ingest API writes the order itself (no Lambda), signed with SigV4.
    let posted = cli(
        &endpoint,
        &bp,
        &["send-test-order", "--via", "api", "--set", "total=42"],
    )
    .await;
    expect_code(&posted, 0);
    let api_id = text(&posted.stdout).trim().to_string();
    assert!(api_id.starts_with("ORDER#"), "{api_id}");
    let item = engine
        .dynamodb()
        .query()
        .table_name("food-ordering-orders")
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(api_id.clone()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(item.len(), 1, "the API's PutItem stored the order");
    assert_eq!(
        item[0]["total"],
        aws_sdk_dynamodb::types::AttributeValue::N("42".into())
    );
    // The id the API printed works with --update and --delete (its sort key is the
    // request time, not the `ORDER` that send-test-order writes).
    let updated = cli(
        &endpoint,
        &bp,
        &[
            "send-test-order",
            "--update",
            &api_id,
            "--status",
            "ACCEPTED",
        ],
    )
    .await;
    expect_code(&updated, 0);
    let deleted = cli(&endpoint, &bp, &["send-test-order", "--delete", &api_id]).await;
    expect_code(&deleted, 0);
    let gone = cli(&endpoint, &bp, &["send-test-order", "--delete", &api_id]).await;
    expect_code(&gone, 1);
    assert!(text(&gone.stderr).contains("does not exist in the table"));

    // Unusable input exits 2, with what to do.
    for (args, says) in [
        (
            &["send-test-order", "--set", "pk=custom"][..],
            "part of the table's key",
        ),
        (
            &["send-test-order", "--rate", "0"][..],
            "--rate must be a positive",
        ),
        (
            &["tail", "--rule", "bogus", "--timeout", "1"][..],
            "its rules are: new_orders, order_changes",
        ),
        (
            &["tail", "--count", "0"][..],
            "invalid value '0' for '--count",
        ),
        (
            &["send-test-order", "--via", "api", "--set", "foo=bar"][..],
            "only the fields declared in the blueprint's `api.fields`",
        ),
        (
            &["verify", "--timeout", "0"][..],
            "invalid value '0' for '--timeout",
        ),
    ] {
        let refused = cli(&endpoint, &bp, args).await;
        expect_code(&refused, 2);
        assert!(
            text(&refused.stderr).contains(says),
            "{}",
            text(&refused.stderr)
        );
    }

    let verified = cli(&endpoint, &bp, &["verify", "--timeout", "60"]).await;
    expect_code(&verified, 0);
    assert!(
        text(&verified.stdout).contains("verify passed"),
        "{}",
        text(&verified.stdout)
    );

    // A changed blueprint: diff shows the property, deploy updates in place.
    let edited = std::fs::read_to_string(&bp)
        .unwrap()
        .replace("max_retries: 10 ", "max_retries: 7 ");
    std::fs::write(&bp, edited).unwrap();
    let diff = cli(&endpoint, &bp, &["diff"]).await;
    expect_code(&diff, 0);
    let diff_out = text(&diff.stdout);
    assert!(diff_out.contains("~ Pipe (AWS::Pipes::Pipe)"), "{diff_out}");
    assert!(
        diff_out.contains("MaximumRetryAttempts: 10 → 7"),
        "{diff_out}"
    );
    let updated = cli(&endpoint, &bp, &["deploy"]).await;
    expect_code(&updated, 0);
    assert!(
        text(&updated.stdout).contains("Modify   Pipe"),
        "only the pipe changes: {}",
        text(&updated.stdout)
    );
    assert!(!text(&updated.stdout).contains("Modify   Table"));

    // What CloudFormation cannot do (replace a resource that keeps its name) is refused
    // before any change set, with the edit that makes it possible; nothing changes.
    let original = std::fs::read_to_string(&bp).unwrap();
    for (edit, says) in [
        (
            original.replace(
                "sort_key: {name: sk, type: S}",
                "sort_key: {name: sk2, type: S}",
            ),
            "give the table a new `table.name`",
        ),
        (
            original.replace("stream_view: NEW_AND_OLD_IMAGES", "stream_view: NEW_IMAGE"),
            "give the pipe a new `pipe.name`",
        ),
    ] {
        std::fs::write(&bp, edit).unwrap();
        let warned = cli(&endpoint, &bp, &["diff"]).await;
        assert!(
            text(&warned.stderr).contains(says),
            "{}",
            text(&warned.stderr)
        );
        assert!(
            !text(&warned.stderr).contains("asks before doing it"),
            "what deploy refuses it does not also ask about: {}",
            text(&warned.stderr)
        );
        let refused = cli(&endpoint, &bp, &["deploy", "--yes", "--output", "json"]).await;
        expect_code(&refused, 1);
        let outcome: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
        assert!(
            outcome["failure"]["outcome"]
                .as_str()
                .is_some_and(|o| o.contains(says)),
            "{outcome}"
        );
        let refusal = text(&refused.stderr);
        assert!(
            refusal.contains("cannot replace a resource that keeps its name")
                && refusal.contains(says),
            "{refusal}"
        );
        let stack = cli(&endpoint, &bp, &["status", "--output", "json"]).await;
        let report: serde_json::Value = serde_json::from_slice(&stack.stdout).unwrap();
        assert_eq!(report["status"], "UPDATE_COMPLETE", "nothing was deployed");
    }
    // A new pipe over the same stream would replay it to every consumer: asked first.
    std::fs::write(&bp, original.replace("pipe:\n", "pipe:\n  name: outbox2\n")).unwrap();
    let asked = cli(&endpoint, &bp, &["deploy"]).await;
    expect_code(&asked, 1);
    assert!(
        text(&asked.stderr).contains("reads the stream from its start")
            && text(&asked.stderr).contains("is left for review"),
        "{}",
        text(&asked.stderr)
    );
    // Scripts get that refusal as the outcome document too.
    let asked = cli(&endpoint, &bp, &["deploy", "--output", "json"]).await;
    expect_code(&asked, 1);
    let outcome: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap();
    assert_eq!(outcome["status"], "UPDATE_COMPLETE", "{outcome}");
    assert!(
        outcome["failure"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("reads the stream from its start")),
        "{outcome}"
    );
    // A new table name replaces the table: diff says deploy will ask.
    std::fs::write(&bp, original.replace("name: orders ", "name: orders2 ")).unwrap();
    let warned = cli(&endpoint, &bp, &["diff"]).await;
    assert!(
        text(&warned.stderr).contains("this deploy replaces or removes Table")
            && text(&warned.stderr).contains("`deploy` asks before doing it"),
        "{}",
        text(&warned.stderr)
    );
    // A queue added to the blueprint and not deployed yet: status shows the stack as it is.
    std::fs::write(&bp, original.replace("queues:\n", "queues:\n  audit:\n")).unwrap();
    let partial = cli(&endpoint, &bp, &["status", "--output", "json"]).await;
    expect_code(&partial, 0);
    let report: serde_json::Value = serde_json::from_slice(&partial.stdout).unwrap();
    assert_eq!(
        report["not_deployed"],
        serde_json::json!(["food-ordering-audit", "food-ordering-audit-dlq"])
    );
    let partial = cli(&endpoint, &bp, &["status"]).await;
    expect_code(&partial, 0);
    assert!(
        text(&partial.stderr).contains("the blueprint has queues the stack does not"),
        "{}",
        text(&partial.stderr)
    );
    std::fs::write(&bp, &original).unwrap();

    let status = cli(&endpoint, &bp, &["status", "--output", "json"]).await;
    expect_code(&status, 0);
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["pipe"]["current"], "RUNNING");
    // Each DLQ's role says how to recover what lands in it.
    let role = |name: &str| {
        report["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .map(|q| q["role"].clone())
    };
    assert_eq!(
        role("food-ordering-notify_restaurant-dlq"),
        Some("dlq".into())
    );
    assert_eq!(role("food-ordering-outbox-dlq"), Some("pipe-dlq".into()));
    assert_eq!(
        role("food-ordering-rule-new_orders-dlq"),
        Some("rule-dlq".into())
    );

    // Nobody at a terminal to confirm: refused, and a script still gets the outcome.
    let refused = cli(&endpoint, &bp, &["destroy", "--output", "json"]).await;
    expect_code(&refused, 1);
    let outcome: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(outcome["deleted"], false, "{outcome}");
    assert_eq!(
        outcome["discarded"],
        serde_json::json!([]),
        "nothing went: {outcome}"
    );
    assert!(
        outcome["failure"].as_str().unwrap().contains("pass --yes"),
        "{outcome}"
    );
    let destroyed = cli(&endpoint, &bp, &["destroy", "--yes"]).await;
    expect_code(&destroyed, 0);
    // The test orders still wait in the consumer queues: destroy says they go too.
    assert!(
        text(&destroyed.stderr).contains("food-ordering-notify_restaurant holds")
            && text(&destroyed.stderr).contains("deleted with the stack"),
        "{}",
        text(&destroyed.stderr)
    );
    assert!(
        text(&destroyed.stdout).contains("kept AWS::DynamoDB::Table food-ordering-orders"),
        "{}",
        text(&destroyed.stdout)
    );
    let tables = engine
        .dynamodb()
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap();
    assert!(
        tables.contains(&"food-ordering-orders".to_string()),
        "the retained table outlives the stack"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_deploy_rolls_back_and_recreate_fixes_it() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_copy(dir.path(), "minimal");
    // A table of the same name already exists: CloudFormation's create of it fails.
    let ddb = dynamodb_client(&endpoint);
    ddb.create_table()
        .table_name("shop-orders")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();

    let failed = cli(&endpoint, &bp, &["deploy", "--output", "json"]).await;
    expect_code(&failed, 1);
    // Scripts get the failure as one document; people get it on stderr.
    let outcome: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(outcome["status"], "ROLLBACK_COMPLETE", "{outcome}");
    assert_eq!(outcome["failure"]["logical_id"], "Table", "{outcome}");
    assert!(
        outcome["failure"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("already exists")),
        "{outcome}"
    );
    let stderr = text(&failed.stderr);
    assert!(
        stderr.contains("deploy failed: Table (AWS::DynamoDB::Table)"),
        "{stderr}"
    );
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert!(
        stderr.contains("the table's name is taken") && stderr.contains("delete-table"),
        "a kept table blocks the create, and the way out is named: {stderr}"
    );

    let stuck = cli(&endpoint, &bp, &["deploy"]).await;
    expect_code(&stuck, 1);
    assert!(
        text(&stuck.stderr).contains("ROLLBACK_COMPLETE"),
        "{}",
        text(&stuck.stderr)
    );
    assert!(text(&stuck.stderr).contains("--recreate"));
    let stuck = cli(&endpoint, &bp, &["deploy", "--output", "json"]).await;
    expect_code(&stuck, 1);
    let outcome: serde_json::Value = serde_json::from_slice(&stuck.stdout).unwrap();
    assert_eq!(outcome["status"], "ROLLBACK_COMPLETE", "{outcome}");
    assert!(
        outcome["failure"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("--recreate")),
        "{outcome}"
    );
    // The failed stack holds nothing: diff says everything is still to create.
    let diff = cli(&endpoint, &bp, &["diff", "--exit-code"]).await;
    expect_code(&diff, 1);
    let diff_out = text(&diff.stdout);
    assert!(
        diff_out.contains("is ROLLBACK_COMPLETE (its first deploy failed)"),
        "{diff_out}"
    );
    assert!(
        diff_out.contains("+ Table (AWS::DynamoDB::Table)"),
        "{diff_out}"
    );
    let send = cli(&endpoint, &bp, &["send-test-order"]).await;
    expect_code(&send, 1);
    assert!(
        text(&send.stderr).contains("run `outboxctl deploy --recreate`"),
        "{}",
        text(&send.stderr)
    );

    ddb.delete_table()
        .table_name("shop-orders")
        .send()
        .await
        .unwrap();
    let recreated = cli(&endpoint, &bp, &["deploy", "--recreate"]).await;
    expect_code(&recreated, 0);
    assert!(text(&recreated.stdout).contains("CREATE_COMPLETE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_deploy_that_fails_after_the_table_leaves_nothing_behind() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_copy(dir.path(), "minimal");
    // A queue of the consumer's name with other attributes: its create fails after the
    // table's has succeeded.
    let sqs = aws_sdk_sqs::Client::new(&crate::support::sdk_config(&endpoint).await);
    let conflict = sqs
        .create_queue()
        .queue_name("shop-consumer")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "99",
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let failed = cli(&endpoint, &bp, &["deploy"]).await;
    expect_code(&failed, 1);
    assert!(
        text(&failed.stderr).contains("deploy failed: ConsumerQueue"),
        "{}",
        text(&failed.stderr)
    );
    let tables = engine.dynamodb().list_tables().send().await.unwrap();
    assert!(
        !tables.table_names().contains(&"shop-orders".to_string()),
        "the rollback of a failed first create removes the table it made"
    );
    sqs.delete_queue().queue_url(conflict).send().await.unwrap();
    let recreated = cli(&endpoint, &bp, &["deploy", "--recreate"]).await;
    expect_code(&recreated, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_fails_for_a_rule_no_order_reaches() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_copy(dir.path(), "minimal");
    // Renaming the stack renames the pipe's source; the rule still names the old one.
    let renamed = std::fs::read_to_string(&bp)
        .unwrap()
        .replace("name: shop", "name: shop2");
    std::fs::write(&bp, renamed).unwrap();
    expect_code(&cli(&endpoint, &bp, &["deploy"]).await, 0);
    let verified = cli(&endpoint, &bp, &["verify", "--timeout", "30"]).await;
    expect_code(&verified, 1);
    let out = format!("{}{}", text(&verified.stdout), text(&verified.stderr));
    assert!(
        out.contains(
            "all_changes: no order reached it: its pattern's `source` is not `outboxctl.shop2`"
        ),
        "{out}"
    );
}

#[test]
fn the_demo_runs_offline_from_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = outboxctl()
        .current_dir(dir.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["demo", "--timeout", "60"])
        .output()
        .unwrap();
    expect_code(&output, 0);
    let stdout = text(&output.stdout);
    assert!(stdout.contains("verify passed"), "{stdout}");
    assert!(
        stdout.contains("new_orders → notify_restaurant"),
        "tailed events are shown: {stdout}"
    );

    // For scripts: one JSON document, verify's report.
    let json = outboxctl()
        .current_dir(dir.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["demo", "--timeout", "60", "--output", "json"])
        .output()
        .unwrap();
    expect_code(&json, 0);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report}");
}

/// A stream view change whose deploy fails after the table's step rolls back with the
/// table on yet another stream and the pipe on the closed one: no order flows, and the
/// template says all is well. deploy and status say so, and how to get out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_left_on_a_closed_stream_is_named() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_copy(dir.path(), "minimal");
    expect_code(&cli(&endpoint, &bp, &["deploy", "--yes"]).await, 0);

    // A pipe already named as the new one will be: its create fails, after the table's.
    let stream = dynamodb_client(&endpoint)
        .describe_table()
        .table_name("shop-orders")
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .latest_stream_arn
        .unwrap();
    crate::local_pipes::pipes_client(&endpoint)
        .create_pipe()
        .name("shop-outbox2")
        .role_arn(crate::local_pipes::ROLE)
        .source(stream)
        .target("arn:aws:events:us-east-1:000000000000:event-bus/shop-events")
        .source_parameters(
            aws_sdk_pipes::types::PipeSourceParameters::builder()
                .dynamo_db_stream_parameters(crate::local_pipes::stream_parameters(10, 1, None))
                .build(),
        )
        .desired_state(aws_sdk_pipes::types::RequestedPipeState::Stopped)
        .send()
        .await
        .unwrap();
    let edited = std::fs::read_to_string(&bp).unwrap()
        + "table:\n  stream_view: NEW_IMAGE\npipe:\n  name: outbox2\n";
    std::fs::write(&bp, edited).unwrap();
    let failed = cli(&endpoint, &bp, &["deploy", "--yes"]).await;
    expect_code(&failed, 1);
    let says = "no order reaches the bus; give the pipe a new `pipe.name`";
    assert!(
        text(&failed.stderr).contains(says) && !text(&failed.stderr).contains("works as before"),
        "{}",
        text(&failed.stderr)
    );
    let status = cli(&endpoint, &bp, &["status"]).await;
    expect_code(&status, 1);
    assert!(
        text(&status.stderr).contains(says),
        "{}",
        text(&status.stderr)
    );
    // Back to the blueprint the stack was rolled back to: nothing to deploy, and still
    // no order reaches the bus, so deploy says so.
    std::fs::copy(repo().join("blueprints/minimal.yaml"), &bp).unwrap();
    let unchanged = cli(&endpoint, &bp, &["deploy", "--output", "json"]).await;
    expect_code(&unchanged, 1);
    assert!(
        text(&unchanged.stderr).contains(says),
        "{}",
        text(&unchanged.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&unchanged.stdout).unwrap();
    assert_eq!(outcome["change_set"], serde_json::Value::Null, "{outcome}");
    assert_eq!(outcome["failure"]["logical_id"], "Pipe", "{outcome}");
    // The advice works: the rollback left the stack knowing the table's current stream,
    // so a pipe with a new name reads it.
    let renamed = std::fs::read_to_string(&bp).unwrap() + "pipe:\n  name: outbox3\n";
    std::fs::write(&bp, renamed).unwrap();
    let fixed = cli(&endpoint, &bp, &["deploy", "--yes"]).await;
    expect_code(&fixed, 0);
    expect_code(&cli(&endpoint, &bp, &["status"]).await, 0);
}

/// A queue renamed in the blueprint: until the next deploy the stack still has the old one,
/// and status lists it, with its messages, as one the blueprint no longer has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_queues_the_blueprint_no_longer_has() {
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_copy(dir.path(), "minimal");
    expect_code(&cli(&endpoint, &bp, &["deploy", "--yes"]).await, 0);
    let renamed = std::fs::read_to_string(&bp)
        .unwrap()
        .replace("  consumer:", "  consumer2:")
        .replace("targets: [consumer]", "targets: [consumer2]");
    std::fs::write(&bp, renamed).unwrap();
    let status = cli(&endpoint, &bp, &["status", "--output", "json"]).await;
    expect_code(&status, 0);
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let roles: Vec<(&str, &str)> = report["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["name"].as_str().unwrap(), q["role"].as_str().unwrap()))
        .collect();
    assert!(
        roles.contains(&("shop-consumer", "not-in-blueprint"))
            && roles.contains(&("shop-consumer-dlq", "not-in-blueprint")),
        "{roles:?}"
    );
    assert_eq!(
        report["not_deployed"],
        serde_json::json!(["shop-consumer2", "shop-consumer2-dlq"])
    );
    let status = cli(&endpoint, &bp, &["status"]).await;
    expect_code(&status, 0);
    assert!(
        text(&status.stderr).contains("queues the blueprint no longer has: shop-consumer"),
        "{}",
        text(&status.stderr)
    );
    // A renamed pipe names a new DLQ: the deployed one is listed by its own name.
    let renamed_pipe = std::fs::read_to_string(&bp).unwrap() + "pipe:\n  name: outbox2\n";
    std::fs::write(&bp, renamed_pipe).unwrap();
    let status = cli(&endpoint, &bp, &["status", "--output", "json"]).await;
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let pipe_dlq: Vec<&str> = report["queues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["role"] == "pipe-dlq")
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(pipe_dlq, ["shop-outbox-dlq"]);
    assert!(
        report["not_deployed"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("shop-outbox2-dlq")),
        "{report}"
    );
}

/// A stream switched off outside CloudFormation: the table still names it, and no order
/// reaches the bus. status and deploy say so, and the way out they give works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_switched_off_is_named_and_the_way_out_works() {
    use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
    let engine = TestEngine::start().await;
    let endpoint = engine.handle.endpoint_url();
    let dir = tempfile::tempdir().unwrap();
    let bp = blueprint_copy(dir.path(), "minimal");
    expect_code(&cli(&endpoint, &bp, &["deploy", "--yes"]).await, 0);
    let stream = |enabled: bool| {
        let mut spec = StreamSpecification::builder().stream_enabled(enabled);
        if enabled {
            spec = spec.stream_view_type(StreamViewType::NewAndOldImages);
        }
        spec.build().unwrap()
    };
    let ddb = dynamodb_client(&endpoint);
    ddb.update_table()
        .table_name("shop-orders")
        .stream_specification(stream(false))
        .send()
        .await
        .unwrap();
    let says = "the table's stream is switched off";
    for args in [&["status"][..], &["deploy", "--yes"][..]] {
        let answer = cli(&endpoint, &bp, args).await;
        expect_code(&answer, 1);
        assert!(
            text(&answer.stderr).contains(says),
            "{}",
            text(&answer.stderr)
        );
    }
    // The way out: the stream on again, then a new pipe name and a table change.
    ddb.update_table()
        .table_name("shop-orders")
        .stream_specification(stream(true))
        .send()
        .await
        .unwrap();
    let status = cli(&endpoint, &bp, &["status"]).await;
    expect_code(&status, 1);
    assert!(
        text(&status.stderr).contains("change the table"),
        "{}",
        text(&status.stderr)
    );
    let edited = std::fs::read_to_string(&bp).unwrap()
        + "pipe:\n  name: outbox2\ntags:\n  refresh: stream\n";
    std::fs::write(&bp, edited).unwrap();
    expect_code(&cli(&endpoint, &bp, &["deploy", "--yes"]).await, 0);
    let healthy = cli(&endpoint, &bp, &["status"]).await;
    expect_code(&healthy, 0);
    expect_code(
        &cli(&endpoint, &bp, &["verify", "--timeout", "60"]).await,
        0,
    );
}
