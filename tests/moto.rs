//! The data-plane commands against moto_server, an AWS implementation that is not ours:
//! `send-test-order` writes what it says, `tail` groups tap copies as EventBridge
//! delivers them, and a template too large to send inline is put in S3 as deploy puts it.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use serde_json::{Value, json};

use crate::support::{Moto, expect_code, local_aws_env, outboxctl, repo, sdk_config, text};

async fn create_orders_table(ddb: &aws_sdk_dynamodb::Client, name: &str) {
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
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
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

fn send(moto: &Moto, args: &[&str]) -> Vec<String> {
    let mut cmd = outboxctl();
    local_aws_env(&mut cmd, &moto.endpoint)
        .current_dir(repo())
        .args([
            "-f",
            "blueprints/food-ordering.yaml",
            "send-test-order",
            "--table",
            "orders",
        ])
        .args(args);
    let output = cmd.output().unwrap();
    expect_code(&output, 0);
    text(&output.stdout).lines().map(str::to_string).collect()
}

#[tokio::test]
async fn send_test_order_writes_updates_and_deletes_real_items() {
    let moto = Moto::start();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config(&moto.endpoint).await);
    create_orders_table(&ddb, "orders").await;

    let ids = send(
        &moto,
        &["--count", "3", "--set", "total=99.5", "--set", "country=DE"],
    );
    assert_eq!(ids.len(), 3);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "ids sort in creation order");

    let key = |id: &str| {
        [
            ("pk".to_string(), AttributeValue::S(format!("ORDER#{id}"))),
            ("sk".to_string(), AttributeValue::S("ORDER".into())),
        ]
        .into()
    };
    let item = ddb
        .get_item()
        .table_name("orders")
        .set_key(Some(key(&ids[0])))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["status"], AttributeValue::S("PLACED".into()));
    assert_eq!(
        item["total"],
        AttributeValue::N("99.5".into()),
        "--set numbers are N"
    );
    assert_eq!(item["country"], AttributeValue::S("DE".into()));
    assert!(item["createdAt"].as_n().unwrap().parse::<u128>().unwrap() > 1_600_000_000_000);

    send(&moto, &["--update", &ids[1], "--status", "DELIVERED"]);
    let item = ddb
        .get_item()
        .table_name("orders")
        .set_key(Some(key(&ids[1])))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["status"], AttributeValue::S("DELIVERED".into()));
    assert!(item.contains_key("updatedAt"));

    send(&moto, &["--delete", &ids[2]]);
    let gone = ddb
        .get_item()
        .table_name("orders")
        .set_key(Some(key(&ids[2])))
        .send()
        .await
        .unwrap();
    assert!(gone.item.is_none());

    let mut cmd = outboxctl();
    local_aws_env(&mut cmd, &moto.endpoint)
        .current_dir(repo())
        .args([
            "-f",
            "blueprints/food-ordering.yaml",
            "send-test-order",
            "--table",
            "orders",
            "--delete",
            "does-not-exist",
        ]);
    let output = cmd.output().unwrap();
    expect_code(&output, 1);
    assert!(
        text(&output.stderr).contains("order `does-not-exist` does not exist"),
        "{}",
        text(&output.stderr)
    );
}

fn tap(rule: &str, id: &str, detail: Value) -> String {
    json!({
        "rule": rule,
        "ingested": "2026-11-30T12:00:00Z",
        "event": {"version": "0", "id": id, "detail-type": "INSERT", "source": "com.example.food-ordering",
                  "account": "123456789012", "time": "2026-11-30T12:00:00Z", "region": "us-east-1",
                  "resources": [], "detail": detail}
    })
    .to_string()
}

#[tokio::test]
async fn tail_groups_copies_by_event_and_names_unmatched_events() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto.endpoint).await);
    let url = sqs
        .create_queue()
        .queue_name("food-ordering-tail")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let detail = json!({"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}},
        "NewImage": {"createdAt": {"N": "1700000000000"}}}});
    for body in [
        tap("food-ordering-new_orders", "e1", detail.clone()),
        tap("food-ordering-order_changes", "e1", detail.clone()),
        tap("food-ordering-tail-all", "e1", detail.clone()),
        tap(
            "food-ordering-tail-all",
            "e2",
            json!({"eventName": "MODIFY"}),
        ),
    ] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let mut cmd = outboxctl();
    local_aws_env(&mut cmd, &moto.endpoint)
        .current_dir(repo())
        .args([
            "-f",
            "blueprints/food-ordering.yaml",
            "tail",
            "--queue-url",
            &url,
            "--json",
            "--count",
            "2",
            "--timeout",
            "30",
        ]);
    let output = cmd.output().unwrap();
    expect_code(&output, 0);
    let events: Vec<Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let e1 = events.iter().find(|e| e["id"] == "e1").expect("e1 tailed");
    assert_eq!(e1["rules"], json!(["new_orders", "order_changes"]));
    assert!(e1["latencyMs"].as_u64().is_some());
    let e2 = events.iter().find(|e| e["id"] == "e2").expect("e2 tailed");
    assert_eq!(
        e2["rules"],
        json!([]),
        "only the catch-all saw it: no rule matched"
    );
    let left = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        left.attributes.unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
        "0",
        "tail deletes what it showed"
    );
}

#[test]
fn tail_times_out_with_failure_when_count_is_not_reached() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto.endpoint).await);
        sqs.create_queue()
            .queue_name("empty-tail")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    });
    let mut cmd = outboxctl();
    local_aws_env(&mut cmd, &moto.endpoint)
        .current_dir(repo())
        .args([
            "-f",
            "blueprints/food-ordering.yaml",
            "tail",
            "--queue-url",
            &url,
            "--count",
            "1",
            "--timeout",
            "2",
        ]);
    expect_code(&cmd.output().unwrap(), 1);
}

/// The upload `deploy --s3-bucket` makes, against moto's S3: the object holds the template
/// byte for byte, a second stage of the same template uploads nothing, and CloudFormation
/// takes the URL it gives.
#[tokio::test]
async fn a_large_template_is_staged_in_s3_once() {
    use outboxctl::cloud::artifacts::{self, Bucket, Staged, TemplateSource};

    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint).await;
    let aws = outboxctl::cloud::Clients::new(&config);
    let s3 = &aws.s3;
    s3.create_bucket().bucket("deploys").send().await.unwrap();
    let body = format!(
        r#"{{"Resources": {{"Topic": {{"Type": "AWS::SNS::Topic"}}}}, "Description": "{}"}}"#,
        "x".repeat(60_000)
    );
    let bucket = Some(Bucket {
        name: "deploys",
        prefix: Some("ci"),
    });
    let (source, staged) = artifacts::stage(&aws, bucket, "shop", body.clone())
        .await
        .unwrap();
    let Staged::Uploaded { object } = staged else {
        panic!("first stage uploads: {staged:?}")
    };
    let key = object.strip_prefix("s3://deploys/").unwrap();
    assert!(
        key.starts_with("ci/shop/") && key.ends_with(".template"),
        "{key}"
    );
    let stored = s3
        .get_object()
        .bucket("deploys")
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = stored.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes, body.as_bytes());
    let (again, staged) = artifacts::stage(&aws, bucket, "shop", body.clone())
        .await
        .unwrap();
    assert!(matches!(staged, Staged::AlreadyThere { .. }), "{staged:?}");
    assert_eq!(again, source);
    let TemplateSource::Url(url) = source else {
        panic!("a template past 51,200 bytes goes by URL")
    };
    assert_eq!(
        url,
        format!("https://s3.us-east-1.amazonaws.com/deploys/{key}")
    );
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    cfn.create_stack()
        .stack_name("from-s3")
        .template_url(&url)
        .send()
        .await
        .unwrap();
    let stored = cfn
        .get_template()
        .stack_name("from-s3")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.template_body.as_deref(), Some(body.as_str()));

    let missing = Some(Bucket {
        name: "no-such-bucket",
        prefix: None,
    });
    let refused = artifacts::stage(&aws, missing, "shop", "y".repeat(60_000))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("S3 bucket `no-such-bucket` does not exist"),
        "{refused}"
    );
}
