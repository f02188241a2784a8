//! DynamoDB Streams through aws-sdk-dynamodbstreams: record shapes per view type, the four
//! iterator types, stream re-creation, iterator expiry and 24 h retention, and the
//! in-process reader the pipe runner uses.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use outboxctl::local::clock::ManualClock;

use crate::local_support::{TestEngine, create_table, s};

async fn stream_arn(engine: &TestEngine, table: &str) -> String {
    let described = engine
        .dynamodb()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    described
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned()
}

async fn shard_id(engine: &TestEngine, arn: &str) -> String {
    let described = engine
        .streams()
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .unwrap();
    described.stream_description().unwrap().shards()[0]
        .shard_id()
        .unwrap()
        .to_owned()
}

async fn iterator(
    engine: &TestEngine,
    arn: &str,
    kind: ShardIteratorType,
    sequence: Option<&str>,
) -> String {
    let shard = shard_id(engine, arn).await;
    let response = engine
        .streams()
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_sequence_number(sequence.map(str::to_owned))
        .send()
        .await
        .unwrap();
    response.shard_iterator().unwrap().to_owned()
}

async fn read_all(engine: &TestEngine, arn: &str) -> Vec<Record> {
    let it = iterator(engine, arn, ShardIteratorType::TrimHorizon, None).await;
    engine
        .streams()
        .get_records()
        .shard_iterator(it)
        .send()
        .await
        .unwrap()
        .records()
        .to_vec()
}

/// INSERT, MODIFY (via update), unchanged put (no record), failed condition (no record), REMOVE.
async fn write_history(engine: &TestEngine, table: &str) {
    let client = engine.dynamodb();
    client
        .put_item()
        .table_name(table)
        .item("pk", s("k"))
        .item("v", s("1"))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name(table)
        .key("pk", s("k"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("2"))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(table)
        .item("pk", s("k"))
        .item("v", s("2"))
        .send()
        .await
        .unwrap();
    let failed = client
        .put_item()
        .table_name(table)
        .item("pk", s("k"))
        .item("v", s("3"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    assert!(failed.is_err());
    client
        .delete_item()
        .table_name(table)
        .key("pk", s("k"))
        .send()
        .await
        .unwrap();
    client
        .delete_item()
        .table_name(table)
        .key("pk", s("absent"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn records_follow_the_view_type() {
    let engine = TestEngine::start().await;
    let expectations = [
        (
            "KEYS_ONLY",
            [(false, false), (false, false), (false, false)],
        ),
        ("NEW_IMAGE", [(true, false), (true, false), (false, false)]),
        ("OLD_IMAGE", [(false, false), (false, true), (false, true)]),
        (
            "NEW_AND_OLD_IMAGES",
            [(true, false), (true, true), (false, true)],
        ),
    ];
    for (view, images) in expectations {
        let table = format!("t-{}", view.to_lowercase().replace('_', "-"));
        create_table(&engine.dynamodb(), &table, false, Some(view)).await;
        write_history(&engine, &table).await;
        let arn = stream_arn(&engine, &table).await;
        let records = read_all(&engine, &arn).await;
        let names: Vec<&str> = records
            .iter()
            .map(|r| r.event_name().unwrap().as_str())
            .collect();
        assert_eq!(
            names,
            ["INSERT", "MODIFY", "REMOVE"],
            "{view}: no record for unchanged or failed writes"
        );
        let mut last_sequence = String::new();
        for (record, (has_new, has_old)) in records.iter().zip(images) {
            assert_eq!(record.event_version(), Some("1.1"));
            assert_eq!(record.event_source(), Some("aws:dynamodb"));
            assert_eq!(record.aws_region(), Some("us-east-1"));
            let change = record.dynamodb().unwrap();
            assert_eq!(
                change.keys().unwrap().get("pk"),
                Some(&aws_sdk_dynamodbstreams::types::AttributeValue::S(
                    "k".into()
                ))
            );
            assert_eq!(change.new_image().is_some(), has_new, "{view} NewImage");
            assert_eq!(change.old_image().is_some(), has_old, "{view} OldImage");
            assert_eq!(change.stream_view_type().unwrap().as_str(), view);
            assert!(change.size_bytes().unwrap() > 0);
            assert!(change.approximate_creation_date_time().is_some());
            let sequence = change.sequence_number().unwrap().to_owned();
            assert!(sequence > last_sequence, "sequence numbers increase");
            last_sequence = sequence;
        }
        if view == "NEW_AND_OLD_IMAGES" {
            let modify = records[1].dynamodb().unwrap();
            let v = |image: &std::collections::HashMap<
                String,
                aws_sdk_dynamodbstreams::types::AttributeValue,
            >| image["v"].as_s().unwrap().clone();
            assert_eq!(
                (
                    v(modify.old_image().unwrap()),
                    v(modify.new_image().unwrap())
                ),
                ("1".into(), "2".into())
            );
        }
    }
    let listed = engine.streams().list_streams().send().await.unwrap();
    assert_eq!(listed.streams().len(), 4);
    let one = engine
        .streams()
        .list_streams()
        .table_name("t-keys-only")
        .send()
        .await
        .unwrap();
    assert_eq!(one.streams().len(), 1);
}

#[tokio::test]
async fn iterator_types_and_paging() {
    let engine = TestEngine::start().await;
    create_table(&engine.dynamodb(), "log", false, Some("NEW_IMAGE")).await;
    let client = engine.dynamodb();
    for i in 0..5 {
        client
            .put_item()
            .table_name("log")
            .item("pk", s(&format!("k{i}")))
            .send()
            .await
            .unwrap();
    }
    let arn = stream_arn(&engine, "log").await;
    let streams = engine.streams();

    // TRIM_HORIZON with Limit 2 pages through every record via NextShardIterator.
    let mut it = iterator(&engine, &arn, ShardIteratorType::TrimHorizon, None).await;
    let mut keys = Vec::new();
    for _ in 0..4 {
        let page = streams
            .get_records()
            .shard_iterator(&it)
            .limit(2)
            .send()
            .await
            .unwrap();
        keys.extend(page.records().iter().map(|r| {
            r.dynamodb().unwrap().keys().unwrap()["pk"]
                .as_s()
                .unwrap()
                .clone()
        }));
        it = page
            .next_shard_iterator()
            .expect("an open shard always has a next iterator")
            .to_owned();
    }
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);
    let sequences: Vec<String> = read_all(&engine, &arn)
        .await
        .iter()
        .map(|r| r.dynamodb().unwrap().sequence_number().unwrap().to_owned())
        .collect();

    let at = iterator(
        &engine,
        &arn,
        ShardIteratorType::AtSequenceNumber,
        Some(&sequences[2]),
    )
    .await;
    let page = streams
        .get_records()
        .shard_iterator(at)
        .send()
        .await
        .unwrap();
    assert_eq!(page.records().len(), 3);
    let after = iterator(
        &engine,
        &arn,
        ShardIteratorType::AfterSequenceNumber,
        Some(&sequences[2]),
    )
    .await;
    let page = streams
        .get_records()
        .shard_iterator(after)
        .send()
        .await
        .unwrap();
    assert_eq!(page.records().len(), 2);

    let latest = iterator(&engine, &arn, ShardIteratorType::Latest, None).await;
    let page = streams
        .get_records()
        .shard_iterator(&latest)
        .send()
        .await
        .unwrap();
    assert!(page.records().is_empty());
    client
        .put_item()
        .table_name("log")
        .item("pk", s("k5"))
        .send()
        .await
        .unwrap();
    let page = streams
        .get_records()
        .shard_iterator(page.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.records().len(),
        1,
        "LATEST sees only records written after it"
    );

    let bad = streams
        .get_records()
        .shard_iterator("not-an-iterator")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_dynamodbstreams::error::ProvideErrorMetadata::code(&bad),
        Some("ValidationException")
    );
    let missing = streams
        .describe_stream()
        .stream_arn("arn:aws:dynamodb:us-east-1:000000000000:table/x/stream/y")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception()
    );
}

#[tokio::test]
async fn disabling_closes_the_shard_and_reenabling_makes_a_new_stream() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "orders", false, Some("NEW_IMAGE")).await;
    client
        .put_item()
        .table_name("orders")
        .item("pk", s("a"))
        .send()
        .await
        .unwrap();
    let first = stream_arn(&engine, "orders").await;
    client
        .update_table()
        .table_name("orders")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name("orders")
        .item("pk", s("b"))
        .send()
        .await
        .unwrap();
    let described = engine
        .streams()
        .describe_stream()
        .stream_arn(&first)
        .send()
        .await
        .unwrap();
    let description = described.stream_description().unwrap();
    assert_eq!(description.stream_status().unwrap().as_str(), "DISABLED");
    assert!(
        description.shards()[0]
            .sequence_number_range()
            .unwrap()
            .ending_sequence_number()
            .is_some()
    );
    let it = iterator(&engine, &first, ShardIteratorType::TrimHorizon, None).await;
    let page = engine
        .streams()
        .get_records()
        .shard_iterator(it)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.records().len(),
        1,
        "nothing is recorded while the stream is off"
    );
    assert!(
        page.next_shard_iterator().is_none(),
        "a closed shard read to its end has no next iterator"
    );

    client
        .update_table()
        .table_name("orders")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let second = stream_arn(&engine, "orders").await;
    assert_ne!(first, second, "re-enabling gives a new stream ARN");

    // After the table is gone its streams stay readable (24 h) and described.
    client
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    let described = engine
        .streams()
        .describe_stream()
        .stream_arn(&second)
        .send()
        .await
        .unwrap();
    let description = described.stream_description().unwrap();
    assert_eq!(description.stream_status().unwrap().as_str(), "DISABLED");
    assert_eq!(description.key_schema()[0].attribute_name(), "pk");
}

#[tokio::test]
async fn iterators_expire_and_records_are_kept_24_hours() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let engine = TestEngine::with_clock(clock.clone()).await;
    create_table(&engine.dynamodb(), "orders", false, Some("KEYS_ONLY")).await;
    engine
        .dynamodb()
        .put_item()
        .table_name("orders")
        .item("pk", s("old"))
        .send()
        .await
        .unwrap();
    let arn = stream_arn(&engine, "orders").await;
    let old_sequence = read_all(&engine, &arn).await[0]
        .dynamodb()
        .unwrap()
        .sequence_number()
        .unwrap()
        .to_owned();

    let it = iterator(&engine, &arn, ShardIteratorType::TrimHorizon, None).await;
    clock.advance_ms(16 * 60 * 1000);
    let expired = engine
        .streams()
        .get_records()
        .shard_iterator(it)
        .send()
        .await
        .unwrap_err();
    assert!(expired.into_service_error().is_expired_iterator_exception());

    clock.advance_ms(24 * 60 * 60 * 1000);
    engine
        .dynamodb()
        .put_item()
        .table_name("orders")
        .item("pk", s("new"))
        .send()
        .await
        .unwrap();
    let records = read_all(&engine, &arn).await;
    assert_eq!(
        records.len(),
        1,
        "records older than 24 hours are not served"
    );
    assert_eq!(engine.handle.streams().trim().await.unwrap(), 1);
    let trimmed = engine
        .streams()
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shard_id(&engine, &arn).await)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(old_sequence)
        .send()
        .await
        .unwrap_err();
    assert!(
        trimmed
            .into_service_error()
            .is_trimmed_data_access_exception()
    );
}

#[tokio::test]
async fn in_process_reader_wakes_on_new_records() {
    let engine = TestEngine::start().await;
    create_table(&engine.dynamodb(), "orders", false, Some("NEW_IMAGE")).await;
    let arn = stream_arn(&engine, "orders").await;
    let shard = shard_id(&engine, &arn).await;
    let streams = engine.handle.streams().clone();
    let mut changes = streams.subscribe();
    changes.borrow_and_update();
    let reader = tokio::spawn({
        let (arn, shard) = (arn.clone(), shard.clone());
        async move {
            loop {
                let records = streams.read_records(&arn, &shard, 0, 10).await.unwrap();
                if !records.is_empty() {
                    return records;
                }
                changes.changed().await.unwrap();
            }
        }
    });
    engine
        .dynamodb()
        .put_item()
        .table_name("orders")
        .item("pk", s("a"))
        .send()
        .await
        .unwrap();
    let records = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("woken")
        .unwrap();
    assert_eq!(records.len(), 1);
    let delivered = records[0].with_event_source_arn();
    assert_eq!(delivered["eventSourceARN"], serde_json::json!(arn));
    assert_eq!(delivered["eventName"], "INSERT");
}

#[tokio::test]
async fn ttl_expiry_deletes_items_with_a_service_remove_record() {
    let now_ms = 1_800_000_000_000_i64;
    let clock = Arc::new(ManualClock::new(now_ms));
    let engine = TestEngine::with_clock(clock.clone()).await;
    let client = engine.dynamodb();
    create_table(&client, "outbox", false, Some("NEW_AND_OLD_IMAGES")).await;
    let spec = |enabled| {
        aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name("expiresAt")
            .enabled(enabled)
            .build()
            .unwrap()
    };
    client
        .update_time_to_live()
        .table_name("outbox")
        .time_to_live_specification(spec(true))
        .send()
        .await
        .unwrap();
    let again = client
        .update_time_to_live()
        .table_name("outbox")
        .time_to_live_specification(spec(true))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&again),
        Some("ValidationException")
    );
    let described = client
        .describe_time_to_live()
        .table_name("outbox")
        .send()
        .await
        .unwrap();
    let description = described.time_to_live_description().unwrap();
    assert_eq!(
        description.time_to_live_status().unwrap().as_str(),
        "ENABLED"
    );
    assert_eq!(description.attribute_name(), Some("expiresAt"));

    let seconds = now_ms / 1000;
    for (pk, expires) in [
        ("due", crate::local_support::n(&(seconds - 10).to_string())),
        (
            "later",
            crate::local_support::n(&(seconds + 3600).to_string()),
        ),
        ("text", s("0")),
        (
            "ancient",
            crate::local_support::n(&(seconds - 6 * 365 * 24 * 3600).to_string()),
        ),
    ] {
        client
            .put_item()
            .table_name("outbox")
            .item("pk", s(pk))
            .item("expiresAt", expires)
            .send()
            .await
            .unwrap();
    }
    let dynamodb = &engine.handle.state().dynamodb;
    assert_eq!(
        dynamodb.expire_items().await.unwrap(),
        1,
        "only numeric, past, less than 5 years old"
    );
    let left = client.scan().table_name("outbox").send().await.unwrap();
    let mut keys: Vec<String> = left
        .items()
        .iter()
        .map(|i| i["pk"].as_s().unwrap().clone())
        .collect();
    keys.sort();
    assert_eq!(keys, ["ancient", "later", "text"]);

    clock.advance_ms(3600 * 1000);
    assert_eq!(dynamodb.expire_items().await.unwrap(), 1);
    let records = read_all(&engine, &stream_arn(&engine, "outbox").await).await;
    let removes: Vec<&Record> = records
        .iter()
        .filter(|r| r.event_name().unwrap().as_str() == "REMOVE")
        .collect();
    assert_eq!(removes.len(), 2);
    for remove in removes {
        let identity = remove
            .user_identity()
            .expect("TTL deletes carry userIdentity");
        assert_eq!(
            (identity.r#type(), identity.principal_id()),
            (Some("Service"), Some("dynamodb.amazonaws.com"))
        );
        assert!(remove.dynamodb().unwrap().old_image().is_some());
    }
    // The in-process reader (the pipe runner's view) spells it as Lambda and Pipes do.
    let arn = stream_arn(&engine, "outbox").await;
    let shard = shard_id(&engine, &arn).await;
    let raw = engine
        .handle
        .streams()
        .read_records(&arn, &shard, 0, 100)
        .await
        .unwrap();
    let delivered = raw.last().unwrap().with_event_source_arn();
    assert_eq!(
        delivered["userIdentity"],
        serde_json::json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
    );
}
