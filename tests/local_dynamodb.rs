//! The local engine's DynamoDB API through aws-sdk-dynamodb: every action, and the error
//! types the SDK raises for the failures users handle.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, KeysAndAttributes, Put, PutRequest,
    ReturnValue, ReturnValuesOnConditionCheckFailure, Select, StreamSpecification, StreamViewType,
    TransactWriteItem, Update, WriteRequest,
};

use crate::local_support::{TestEngine, create_table, item, n, s};

fn code<E: ProvideErrorMetadata>(err: &aws_sdk_dynamodb::error::SdkError<E>) -> (String, String) {
    (
        err.code().unwrap_or_default().to_owned(),
        err.message().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn table_lifecycle() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    for name in ["alpha", "beta", "gamma"] {
        create_table(&client, name, true, None).await;
    }
    let again = client
        .create_table()
        .table_name("alpha")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        again
            .as_service_error()
            .unwrap()
            .is_resource_in_use_exception()
    );

    let first = client.list_tables().limit(2).send().await.unwrap();
    assert_eq!(first.table_names(), ["alpha", "beta"]);
    assert_eq!(first.last_evaluated_table_name(), Some("beta"));
    let rest = client
        .list_tables()
        .exclusive_start_table_name("beta")
        .send()
        .await
        .unwrap();
    assert_eq!(rest.table_names(), ["gamma"]);
    assert_eq!(rest.last_evaluated_table_name(), None);

    let beta = "arn:aws:dynamodb:us-east-1:000000000000:table/beta";
    let tag = |k: &str, v: &str| {
        aws_sdk_dynamodb::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    client
        .tag_resource()
        .resource_arn(beta)
        .tags(tag("project", "outbox"))
        .tags(tag("team", "orders"))
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(beta)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_of_resource()
        .resource_arn(beta)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags(), [tag("project", "outbox")]);
    let reserved = client
        .tag_resource()
        .resource_arn(beta)
        .tags(tag("aws:owner", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&reserved).0, "ValidationException");

    let described = client
        .describe_table()
        .table_name("alpha")
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    assert_eq!(table.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(table.key_schema().len(), 2);
    assert_eq!(
        table.table_arn(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/alpha")
    );
    assert!(table.latest_stream_arn().is_none());

    let updated = client
        .update_table()
        .table_name("alpha")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap();
    let stream_arn = updated
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    assert!(
        stream_arn.starts_with("arn:aws:dynamodb:us-east-1:000000000000:table/alpha/stream/"),
        "{stream_arn}"
    );
    let twice = client
        .update_table()
        .table_name("alpha")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&twice).0, "ValidationException");

    let protected = client
        .delete_table()
        .table_name("alpha")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&protected).0, "ValidationException");
    client
        .update_table()
        .table_name("alpha")
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    let deleted = client
        .delete_table()
        .table_name("alpha")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted
            .table_description()
            .unwrap()
            .table_status()
            .unwrap()
            .as_str(),
        "DELETING"
    );
    let gone = client
        .describe_table()
        .table_name("alpha")
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let missing_put = client
        .put_item()
        .table_name("alpha")
        .item("pk", s("x"))
        .send()
        .await
        .unwrap_err();
    assert!(
        missing_put
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
}

#[tokio::test]
async fn put_get_delete_with_conditions_and_return_values() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "orders", false, None).await;
    let order = item(&[
        ("pk", s("order#1")),
        ("status", s("NEW")),
        ("total", n("12.50")),
    ]);
    client
        .put_item()
        .table_name("orders")
        .set_item(Some(order.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap();

    let duplicate = client
        .put_item()
        .table_name("orders")
        .set_item(Some(order.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    let service = duplicate.into_service_error();
    assert!(service.is_conditional_check_failed_exception());
    let aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
        failed,
    ) = service
    else {
        panic!("expected ConditionalCheckFailedException");
    };
    assert_eq!(failed.item().unwrap().get("status"), Some(&s("NEW")));

    let got = client
        .get_item()
        .table_name("orders")
        .key("pk", s("order#1"))
        .send()
        .await
        .unwrap();
    // Numbers come back normalised, as DynamoDB stores them.
    assert_eq!(got.item().unwrap().get("total"), Some(&n("12.5")));
    let projected = client
        .get_item()
        .table_name("orders")
        .key("pk", s("order#1"))
        .projection_expression("#s")
        .expression_attribute_names("#s", "status")
        .send()
        .await
        .unwrap();
    assert_eq!(projected.item().unwrap().len(), 1);
    let none = client
        .get_item()
        .table_name("orders")
        .key("pk", s("order#2"))
        .send()
        .await
        .unwrap();
    assert!(none.item().is_none());

    let replaced = client
        .put_item()
        .table_name("orders")
        .set_item(Some(item(&[("pk", s("order#1")), ("status", s("PAID"))])))
        .condition_expression("#s = :expected")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":expected", s("NEW"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replaced.attributes().unwrap().get("status"),
        Some(&s("NEW"))
    );

    let wrong_state = client
        .delete_item()
        .table_name("orders")
        .key("pk", s("order#1"))
        .condition_expression("#s = :expected")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":expected", s("NEW"))
        .send()
        .await
        .unwrap_err();
    assert!(
        wrong_state
            .into_service_error()
            .is_conditional_check_failed_exception()
    );
    let deleted = client
        .delete_item()
        .table_name("orders")
        .key("pk", s("order#1"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.attributes().unwrap().get("status"),
        Some(&s("PAID"))
    );
    let invalid_return = client
        .put_item()
        .table_name("orders")
        .item("pk", s("x"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&invalid_return),
        (
            "ValidationException".into(),
            "Return values set to invalid value".into()
        )
    );
}

#[tokio::test]
async fn update_expressions_and_return_values() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "counters", false, None).await;
    let created = client
        .update_item()
        .table_name("counters")
        .key("pk", s("c1"))
        .update_expression("SET hits = if_not_exists(hits, :zero) + :one, events = list_append(if_not_exists(events, :empty), :e) ADD tags :t")
        .expression_attribute_values(":zero", n("0"))
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":empty", AttributeValue::L(vec![]))
        .expression_attribute_values(":e", AttributeValue::L(vec![s("created")]))
        .expression_attribute_values(":t", AttributeValue::Ss(vec!["a".into(), "b".into()]))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let attributes = created.attributes().unwrap();
    assert_eq!(attributes.get("hits"), Some(&n("1")));
    assert_eq!(
        attributes.get("events"),
        Some(&AttributeValue::L(vec![s("created")]))
    );

    let second = client
        .update_item()
        .table_name("counters")
        .key("pk", s("c1"))
        .update_expression("SET hits = hits + :half, meta = :m REMOVE events DELETE tags :drop")
        .condition_expression("hits < :limit")
        .expression_attribute_values(":half", n("0.5"))
        .expression_attribute_values(":m", AttributeValue::M(item(&[("source", s("test"))])))
        .expression_attribute_values(":drop", AttributeValue::Ss(vec!["a".into()]))
        .expression_attribute_values(":limit", n("10"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    let updated = second.attributes().unwrap();
    assert_eq!(updated.get("hits"), Some(&n("1.5")));
    assert_eq!(
        updated.get("tags"),
        Some(&AttributeValue::Ss(vec!["b".into()]))
    );
    assert!(
        !updated.contains_key("pk"),
        "UPDATED_NEW returns only the updated attributes"
    );

    let nested = client
        .update_item()
        .table_name("counters")
        .key("pk", s("c1"))
        .update_expression("SET meta.#src = :v")
        .expression_attribute_names("#src", "source")
        .expression_attribute_values(":v", s("changed"))
        .return_values(ReturnValue::UpdatedOld)
        .send()
        .await
        .unwrap();
    assert_eq!(
        nested.attributes().unwrap().get("meta"),
        Some(&AttributeValue::M(item(&[("source", s("test"))])))
    );

    let key_change = client
        .update_item()
        .table_name("counters")
        .key("pk", s("c1"))
        .update_expression("SET pk = :v")
        .expression_attribute_values(":v", s("other"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&key_change),
        (
            "ValidationException".into(),
            "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key".into()
        )
    );
    let wrong_type = client
        .update_item()
        .table_name("counters")
        .key("pk", s("c1"))
        .update_expression("SET hits = meta + :one")
        .expression_attribute_values(":one", n("1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&wrong_type).1,
        "An operand in the update expression has an incorrect data type"
    );
}

#[tokio::test]
async fn validation_errors_say_what_is_wrong() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "things", true, None).await;
    let cases: Vec<(
        aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
        &str,
    )> = vec![
        (
            client.put_item().table_name("things").item("pk", s("a")),
            "Missing the key sk in the item",
        ),
        (
            client
                .put_item()
                .table_name("things")
                .item("pk", s("a"))
                .item("sk", s("1")),
            "Type mismatch for key sk",
        ),
        (
            client
                .put_item()
                .table_name("things")
                .item("pk", s(""))
                .item("sk", n("1")),
            "cannot contain an empty string value",
        ),
        (
            client
                .put_item()
                .table_name("things")
                .item("pk", s("a"))
                .item("sk", n("1"))
                .item("big", s(&"x".repeat(410 * 1024))),
            "Item size has exceeded the maximum allowed size",
        ),
        (
            client
                .put_item()
                .table_name("things")
                .item("pk", s("a"))
                .item("sk", n("1"))
                .condition_expression("attribute_not_exists(pk)")
                .expression_attribute_values(":unused", s("x")),
            "unused in expressions: keys: {:unused}",
        ),
        (
            client
                .put_item()
                .table_name("things")
                .item("pk", s("a"))
                .item("sk", n("1"))
                .condition_expression("attribute_exists(status)"),
            "reserved keyword: status",
        ),
        (
            client
                .put_item()
                .table_name("things")
                .item("pk", s("a"))
                .item("sk", n("1"))
                .item("n", n("not-a-number")),
            "cannot be converted into a number",
        ),
    ];
    for (request, expected) in cases {
        let err = request.send().await.unwrap_err();
        let (code, message) = code(&err);
        assert_eq!(code, "ValidationException", "{message}");
        assert!(
            message.contains(expected),
            "`{message}` should contain `{expected}`"
        );
    }
    let bad_key = client
        .get_item()
        .table_name("things")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&bad_key).1,
        "The provided key element does not match the schema"
    );
}

#[tokio::test]
async fn transactions_are_all_or_nothing() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "orders", false, None).await;
    create_table(&client, "outbox", false, None).await;
    let put = |table: &str, pk: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .item("pk", s(pk))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .unwrap(),
            )
            .build()
    };
    client
        .transact_write_items()
        .transact_items(put("orders", "o1"))
        .transact_items(put("outbox", "e1"))
        .send()
        .await
        .unwrap();
    let stored = client.scan().table_name("outbox").send().await.unwrap();
    assert_eq!(stored.count(), 1);

    // The second member's condition fails: nothing of the transaction is written.
    let err = client
        .transact_write_items()
        .transact_items(put("orders", "o2"))
        .transact_items(put("outbox", "e1"))
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name("orders")
                        .key("pk", s("o1"))
                        .update_expression("SET paid = :t")
                        .expression_attribute_values(":t", AttributeValue::Bool(true))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_transaction_canceled_exception());
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancelled) = service
    else {
        panic!("expected TransactionCanceledException");
    };
    let codes: Vec<&str> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["None", "ConditionalCheckFailed", "None"]);
    assert!(
        cancelled
            .message()
            .unwrap_or("")
            .contains("[None, ConditionalCheckFailed, None]")
    );
    let o2 = client
        .get_item()
        .table_name("orders")
        .key("pk", s("o2"))
        .send()
        .await
        .unwrap();
    assert!(
        o2.item().is_none(),
        "a cancelled transaction writes nothing"
    );
    let o1 = client
        .get_item()
        .table_name("orders")
        .key("pk", s("o1"))
        .send()
        .await
        .unwrap();
    assert!(!o1.item().unwrap().contains_key("paid"));

    let check_and_delete = client
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name("orders")
                        .key("pk", s("o1"))
                        .condition_expression("attribute_exists(pk)")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name("outbox")
                        .key("pk", s("e1"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await;
    check_and_delete.unwrap();
    let same_item_twice = client
        .transact_write_items()
        .transact_items(put("orders", "o9"))
        .transact_items(put("orders", "o9"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&same_item_twice).1,
        "Transaction request cannot include multiple operations on one item"
    );

    // TransactGetItems answers in request order, an empty response for a missing item.
    let get = |table: &str, pk: &str| {
        aws_sdk_dynamodb::types::TransactGetItem::builder()
            .get(
                aws_sdk_dynamodb::types::Get::builder()
                    .table_name(table)
                    .key("pk", s(pk))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let got = client
        .transact_get_items()
        .transact_items(get("orders", "o1"))
        .transact_items(get("outbox", "e1"))
        .transact_items(get("orders", "o2"))
        .send()
        .await
        .unwrap();
    let found: Vec<bool> = got.responses().iter().map(|r| r.item().is_some()).collect();
    assert_eq!(found, [true, false, false]);

    // A retry with the same ClientRequestToken succeeds without writing again; the same
    // token on a different request is refused.
    let with_token = |pk: &str| {
        client
            .transact_write_items()
            .client_request_token("retry-token-1")
            .transact_items(put("orders", pk))
    };
    with_token("o10").send().await.unwrap();
    with_token("o10")
        .send()
        .await
        .expect("an identical retry is idempotent");
    let mismatch = with_token("o11").send().await.unwrap_err();
    assert!(
        mismatch
            .into_service_error()
            .is_idempotent_parameter_mismatch_exception()
    );
    let retried = client
        .transact_write_items()
        .transact_items(put("orders", "o10"))
        .send()
        .await
        .unwrap_err();
    assert!(
        retried
            .into_service_error()
            .is_transaction_canceled_exception(),
        "without the token the condition sees the first write"
    );
}

#[tokio::test]
async fn batch_write_and_get() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "items", false, None).await;
    let puts: Vec<WriteRequest> = (0..25)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .item("pk", s(&format!("k{i}")))
                        .item("i", n(&i.to_string()))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    let written = client
        .batch_write_item()
        .request_items("items", puts)
        .send()
        .await
        .unwrap();
    assert!(written.unprocessed_items().unwrap().is_empty());
    let deletes = vec![
        WriteRequest::builder()
            .delete_request(DeleteRequest::builder().key("pk", s("k0")).build().unwrap())
            .build(),
    ];
    client
        .batch_write_item()
        .request_items("items", deletes)
        .send()
        .await
        .unwrap();

    let keys = KeysAndAttributes::builder()
        .keys(item(&[("pk", s("k0"))]))
        .keys(item(&[("pk", s("k1"))]))
        .keys(item(&[("pk", s("k2"))]))
        .projection_expression("i")
        .build()
        .unwrap();
    let got = client
        .batch_get_item()
        .request_items("items", keys)
        .send()
        .await
        .unwrap();
    let mut values: Vec<String> = got.responses().unwrap()["items"]
        .iter()
        .map(|i| i["i"].as_n().unwrap().clone())
        .collect();
    values.sort();
    assert_eq!(values, ["1", "2"]);

    let too_many: Vec<WriteRequest> = (0..26)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .item("pk", s(&format!("x{i}")))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    let err = client
        .batch_write_item()
        .request_items("items", too_many)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
}

#[tokio::test]
async fn query_orders_filters_and_pages() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "events", true, None).await;
    for (pk, sk) in [
        ("a", "10"),
        ("a", "9"),
        ("a", "-1"),
        ("a", "100.5"),
        ("b", "1"),
    ] {
        client
            .put_item()
            .table_name("events")
            .item("pk", s(pk))
            .item("sk", n(sk))
            .item("kind", s(if sk == "9" { "skip" } else { "keep" }))
            .send()
            .await
            .unwrap();
    }
    let sks = |items: &[std::collections::HashMap<String, AttributeValue>]| -> Vec<String> {
        items
            .iter()
            .map(|i| i["sk"].as_n().unwrap().clone())
            .collect()
    };
    let all = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sks(all.items()),
        ["-1", "9", "10", "100.5"],
        "numbers sort by value"
    );
    let backwards = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p AND sk BETWEEN :lo AND :hi")
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":lo", n("0"))
        .expression_attribute_values(":hi", n("100"))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    assert_eq!(sks(backwards.items()), ["10", "9"]);

    let filtered = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p AND sk > :lo")
        .filter_expression("kind = :keep")
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":lo", n("0"))
        .expression_attribute_values(":keep", s("keep"))
        .send()
        .await
        .unwrap();
    assert_eq!(sks(filtered.items()), ["10", "100.5"]);
    assert_eq!((filtered.count(), filtered.scanned_count()), (2, 3));

    // Limit counts evaluated items; LastEvaluatedKey resumes after them.
    let mut pages = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name("events")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("a"))
            .limit(3)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        pages.push(sks(page.items()));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert_eq!(pages, vec![vec!["-1", "9", "10"], vec!["100.5"]]);

    let counted = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(counted.count(), 4);
    assert!(counted.items().is_empty());

    let missing_pk = client
        .query()
        .table_name("events")
        .key_condition_expression("sk = :v")
        .expression_attribute_values(":v", n("1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&missing_pk).1,
        "Query condition missed key schema element: pk"
    );
    let wrong_sort_type = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p AND sk > :v")
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":v", s("1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&wrong_sort_type).1,
        "One or more parameter values were invalid: Condition parameter type does not match schema type"
    );
}

#[tokio::test]
async fn scan_filters_pages_and_segments() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "things", false, None).await;
    for i in 0..20 {
        client
            .put_item()
            .table_name("things")
            .item("pk", s(&format!("t{i:02}")))
            .item("n", n(&i.to_string()))
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name("things")
            .limit(7)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        seen.extend(page.items().iter().map(|i| i["pk"].as_s().unwrap().clone()));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 20);

    let even = client
        .scan()
        .table_name("things")
        .filter_expression("n >= :ten AND size(pk) = :three")
        .expression_attribute_values(":ten", n("10"))
        .expression_attribute_values(":three", n("3"))
        .send()
        .await
        .unwrap();
    assert_eq!(even.count(), 10);
    assert_eq!(even.scanned_count(), 20);

    let mut total = 0;
    for segment in 0..3 {
        total += client
            .scan()
            .table_name("things")
            .segment(segment)
            .total_segments(3)
            .send()
            .await
            .unwrap()
            .count();
    }
    assert_eq!(total, 20, "segments partition the table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_serialised_per_item() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "counters", false, None).await;
    client
        .put_item()
        .table_name("counters")
        .item("pk", s("lock"))
        .item("version", n("0"))
        .send()
        .await
        .unwrap();

    // 8 writers: each adds 1 to a counter 25 times, and tries an optimistic-lock bump of
    // `version` from what it read. Every ADD lands; each version is won exactly once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut wins = 0;
            for _ in 0..25 {
                client
                    .update_item()
                    .table_name("counters")
                    .key("pk", s("hits"))
                    .update_expression("ADD hits :one")
                    .expression_attribute_values(":one", n("1"))
                    .send()
                    .await
                    .unwrap();
                let read = client
                    .get_item()
                    .table_name("counters")
                    .key("pk", s("lock"))
                    .send()
                    .await
                    .unwrap();
                let version: u64 = read.item().unwrap()["version"]
                    .as_n()
                    .unwrap()
                    .parse()
                    .unwrap();
                let bumped = client
                    .update_item()
                    .table_name("counters")
                    .key("pk", s("lock"))
                    .update_expression("SET version = :next")
                    .condition_expression("version = :seen")
                    .expression_attribute_values(":seen", n(&version.to_string()))
                    .expression_attribute_values(":next", n(&(version + 1).to_string()))
                    .send()
                    .await;
                match bumped {
                    Ok(_) => wins += 1,
                    Err(err) => assert!(
                        err.into_service_error()
                            .is_conditional_check_failed_exception()
                    ),
                }
            }
            wins
        }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += task.await.unwrap();
    }
    let hits = client
        .get_item()
        .table_name("counters")
        .key("pk", s("hits"))
        .send()
        .await
        .unwrap();
    assert_eq!(hits.item().unwrap()["hits"], n("200"));
    let lock = client
        .get_item()
        .table_name("counters")
        .key("pk", s("lock"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        lock.item().unwrap()["version"],
        n(&wins.to_string()),
        "one winner per version"
    );
}

#[tokio::test]
async fn secondary_indexes_are_sparse_ordered_and_projected() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType,
    };
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name("orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("sk", ScalarAttributeType::N))
        .attribute_definitions(attribute("state", ScalarAttributeType::S))
        .attribute_definitions(attribute("createdAt", ScalarAttributeType::N))
        .attribute_definitions(attribute("amount", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byState")
                .key_schema(key("state", KeyType::Hash))
                .key_schema(key("createdAt", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("amount")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("byAmount")
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("amount", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let described = client
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    assert_eq!(
        table.global_secondary_indexes()[0]
            .index_status()
            .unwrap()
            .as_str(),
        "ACTIVE"
    );
    assert_eq!(
        table.local_secondary_indexes()[0].index_name(),
        Some("byAmount")
    );

    for (pk, sk, state, created, amount) in [
        ("c1", "1", Some("NEW"), "30", "5"),
        ("c1", "2", Some("NEW"), "10", "7"),
        ("c2", "1", Some("PAID"), "20", "1"),
        ("c2", "2", None, "40", "3"),
        ("c3", "1", Some("NEW"), "20", "9"),
    ] {
        let mut put = client
            .put_item()
            .table_name("orders")
            .item("pk", s(pk))
            .item("sk", n(sk))
            .item("createdAt", n(created))
            .item("amount", n(amount))
            .item("note", s("not projected"));
        if let Some(state) = state {
            put = put.item("state", s(state));
        }
        put.send().await.unwrap();
    }
    let wrong_type = client
        .put_item()
        .table_name("orders")
        .item("pk", s("c9"))
        .item("sk", n("1"))
        .item("state", n("1"))
        .send()
        .await
        .unwrap_err();
    assert!(
        code(&wrong_type)
            .1
            .contains("Type mismatch for Index Key state Expected: S Actual: N IndexName: byState")
    );

    let by_state = |limit: Option<i32>, start| {
        client
            .query()
            .table_name("orders")
            .index_name("byState")
            .key_condition_expression("#st = :new")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":new", s("NEW"))
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .send()
    };
    let all_new = by_state(None, None).await.unwrap();
    let created: Vec<&str> = all_new
        .items()
        .iter()
        .map(|i| i["createdAt"].as_n().unwrap().as_str())
        .collect();
    assert_eq!(created, ["10", "20", "30"], "ordered by the index sort key");
    let first = &all_new.items()[0];
    assert!(
        first.contains_key("amount") && first.contains_key("pk") && !first.contains_key("note"),
        "INCLUDE projection: {first:?}"
    );

    let page = by_state(Some(1), None).await.unwrap();
    let last_key = page.last_evaluated_key().unwrap().clone();
    let mut names: Vec<&str> = last_key.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        ["createdAt", "pk", "sk", "state"],
        "index LastEvaluatedKey has table and index keys"
    );
    let next = by_state(None, Some(last_key)).await.unwrap();
    assert_eq!(next.count(), 2);

    let consistent = client
        .query()
        .table_name("orders")
        .index_name("byState")
        .key_condition_expression("#st = :new")
        .expression_attribute_names("#st", "state")
        .expression_attribute_values(":new", s("NEW"))
        .consistent_read(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&consistent).1,
        "Consistent reads are not supported on global secondary indexes"
    );

    let local = client
        .query()
        .table_name("orders")
        .index_name("byAmount")
        .key_condition_expression("pk = :c AND amount > :min")
        .expression_attribute_values(":c", s("c1"))
        .expression_attribute_values(":min", n("6"))
        .send()
        .await
        .unwrap();
    assert_eq!(local.items().len(), 1);
    assert!(
        !local.items()[0].contains_key("note"),
        "KEYS_ONLY projection"
    );
    let local_all = client
        .query()
        .table_name("orders")
        .index_name("byAmount")
        .key_condition_expression("pk = :c")
        .expression_attribute_values(":c", s("c1"))
        .select(Select::AllAttributes)
        .send()
        .await
        .unwrap();
    let amounts: Vec<&str> = local_all
        .items()
        .iter()
        .map(|i| i["amount"].as_n().unwrap().as_str())
        .collect();
    assert_eq!(amounts, ["5", "7"]);
    assert!(
        local_all.items()[0].contains_key("note"),
        "ALL_ATTRIBUTES on a local index reads the table"
    );

    let scanned = client
        .scan()
        .table_name("orders")
        .index_name("byState")
        .send()
        .await
        .unwrap();
    assert_eq!(
        scanned.count(),
        4,
        "the item without `state` is not in the index"
    );
    let missing = client
        .query()
        .table_name("orders")
        .index_name("nope")
        .key_condition_expression("pk = :c")
        .expression_attribute_values(":c", s("c1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&missing).1,
        "The table does not have the specified index: nope"
    );
}

#[tokio::test]
async fn a_projection_goes_only_with_specific_attributes_and_distinct_paths() {
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "orders", false, None).await;
    let query = || {
        client
            .query()
            .table_name("orders")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("a"))
    };
    for chosen in [Select::Count, Select::AllAttributes] {
        let gets = if chosen == Select::Count {
            "only the Count"
        } else {
            "ALL_ATTRIBUTES"
        };
        let expected = (
            "ValidationException".to_string(),
            format!("Cannot specify the ProjectionExpression when choosing to get {gets}"),
        );
        let queried = query()
            .select(chosen.clone())
            .projection_expression("pk")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&queried), expected);
        let scanned = client
            .scan()
            .table_name("orders")
            .select(chosen)
            .projection_expression("pk")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&scanned), expected);
    }
    query()
        .select(Select::SpecificAttributes)
        .projection_expression("pk")
        .send()
        .await
        .unwrap();

    let overlap = |one: &str, two: &str| {
        (
            "ValidationException".to_string(),
            format!(
                "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
            ),
        )
    };
    let duplicate = query()
        .projection_expression("n, n")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&duplicate), overlap("[n]", "[n]"));
    let nested = client
        .scan()
        .table_name("orders")
        .projection_expression("m, #x, m.a")
        .expression_attribute_names("#x", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&nested), overlap("[m]", "[m, a]"));
    let got = client
        .get_item()
        .table_name("orders")
        .key("pk", s("a"))
        .projection_expression("l[1], l[1].b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&got), overlap("[l, [1]]", "[l, [1], b]"));
}

/// `send-test-order` writes with "only if new": when the SDK retries a write whose answer
/// was lost, the retry finds the first attempt's item. That item is its own write, so the
/// order counts as written; a different item under the id is still refused.
#[tokio::test]
async fn a_retried_order_write_finds_its_own_item_and_succeeds() {
    use outboxctl::cloud::orders;
    let engine = TestEngine::start().await;
    let client = engine.dynamodb();
    create_table(&client, "orders", false, None).await;
    let table = outboxctl::blueprint::parse("t.yaml", "name: shop\n")
        .unwrap()
        .table;
    let item = orders::new_item(&table, "ORDER#1", 1_700_000_000_000, "NEW", &[]).unwrap();
    orders::put(&client, "orders", &table, item.clone())
        .await
        .unwrap();
    orders::put(&client, "orders", &table, item.clone())
        .await
        .expect("the same item again is the retry of a committed write");
    let other = orders::new_item(&table, "ORDER#1", 1_700_000_000_001, "NEW", &[]).unwrap();
    let refused = orders::put(&client, "orders", &table, other)
        .await
        .unwrap_err();
    assert!(
        format!("{refused:#}").contains("ConditionalCheckFailed"),
        "{refused:#}"
    );
}
