"""The local engine's DynamoDB and DynamoDB Streams APIs through boto3, an independent client.

Usage: python dynamodb_conformance.py ENDPOINT_URL. Exits non-zero on the first failure.
"""

import sys

import boto3
from botocore.exceptions import ClientError


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def expect_error(code, call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as err:
        actual = err.response["Error"]["Code"]
        assert actual == code, f"expected {code}, got {actual}: {err}"
        return err.response
    raise AssertionError(f"expected {code}, the call succeeded")


def main(endpoint):
    ddb = client("dynamodb", endpoint)
    streams = client("dynamodbstreams", endpoint)

    ddb.create_table(
        TableName="orders",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.get_waiter("table_exists").wait(TableName="orders")
    ddb.create_table(
        TableName="outbox",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    expect_error(
        "ResourceInUseException",
        ddb.create_table,
        TableName="outbox",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert ddb.list_tables()["TableNames"] == ["orders", "outbox"]
    table = ddb.describe_table(TableName="orders")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    stream_arn = table["LatestStreamArn"]

    # Put with a condition; a repeat fails with ConditionalCheckFailedException and the old item.
    ddb.put_item(
        TableName="orders",
        Item={"pk": {"S": "o1"}, "sk": {"N": "1"}, "amount": {"N": "10.50"}, "tags": {"SS": ["a"]}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    response = expect_error(
        "ConditionalCheckFailedException",
        ddb.put_item,
        TableName="orders",
        Item={"pk": {"S": "o1"}, "sk": {"N": "1"}},
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    assert response["Item"]["amount"] == {"N": "10.5"}, response

    updated = ddb.update_item(
        TableName="orders",
        Key={"pk": {"S": "o1"}, "sk": {"N": "1"}},
        UpdateExpression="SET amount = amount + :d, #st = :s, notes = list_append(if_not_exists(notes, :e), :n) ADD tags :t",
        ConditionExpression="amount < :max",
        ExpressionAttributeNames={"#st": "status"},
        ExpressionAttributeValues={
            ":d": {"N": "0.25"}, ":s": {"S": "PAID"}, ":e": {"L": []}, ":n": {"L": [{"S": "paid"}]},
            ":t": {"SS": ["b"]}, ":max": {"N": "100"},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert updated["amount"] == {"N": "10.75"}, updated
    assert sorted(updated["tags"]["SS"]) == ["a", "b"], updated
    expect_error(
        "ValidationException",
        ddb.update_item,
        TableName="orders",
        Key={"pk": {"S": "o1"}, "sk": {"N": "1"}},
        UpdateExpression="SET status = :s",
        ExpressionAttributeValues={":s": {"S": "x"}},
    )
    item = ddb.get_item(TableName="orders", Key={"pk": {"S": "o1"}, "sk": {"N": "1"}}, ProjectionExpression="notes")["Item"]
    assert item == {"notes": {"L": [{"S": "paid"}]}}, item

    # Transactions: all or nothing, with one cancellation reason per member.
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "o2"}, "sk": {"N": "1"}}}},
            {"Put": {"TableName": "outbox", "Item": {"pk": {"S": "evt-o2"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
    )
    response = expect_error(
        "TransactionCanceledException",
        ddb.transact_write_items,
        TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "o3"}, "sk": {"N": "1"}}}},
            {"Put": {"TableName": "outbox", "Item": {"pk": {"S": "evt-o2"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        ],
    )
    codes = [reason["Code"] for reason in response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed"], codes
    assert "Item" not in ddb.get_item(TableName="orders", Key={"pk": {"S": "o3"}, "sk": {"N": "1"}})

    # Batches, queries with paging, scans.
    ddb.batch_write_item(
        RequestItems={"orders": [{"PutRequest": {"Item": {"pk": {"S": "o9"}, "sk": {"N": str(i)}}}} for i in range(5)]}
    )
    got = ddb.batch_get_item(
        RequestItems={"orders": {"Keys": [{"pk": {"S": "o9"}, "sk": {"N": "0"}}, {"pk": {"S": "o9"}, "sk": {"N": "4"}}]}}
    )
    assert len(got["Responses"]["orders"]) == 2, got
    paginator = ddb.get_paginator("query")
    pages = list(
        paginator.paginate(
            TableName="orders",
            KeyConditionExpression="pk = :p AND sk >= :lo",
            ExpressionAttributeValues={":p": {"S": "o9"}, ":lo": {"N": "1"}},
            ScanIndexForward=False,
            PaginationConfig={"PageSize": 3},
        )
    )
    order = [i["sk"]["N"] for page in pages for i in page["Items"]]
    assert order == ["4", "3", "2", "1"], order
    scanned = ddb.scan(TableName="orders", FilterExpression="attribute_exists(#st)", ExpressionAttributeNames={"#st": "status"})
    assert scanned["Count"] == 1 and scanned["ScannedCount"] == 7, scanned
    expect_error("ResourceNotFoundException", ddb.scan, TableName="nope")

    ddb.delete_item(TableName="orders", Key={"pk": {"S": "o2"}, "sk": {"N": "1"}})

    # The stream holds every change, in commit order, shaped as AWS shapes it.
    description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    assert description["StreamStatus"] == "ENABLED"
    shard = description["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    names = [r["eventName"] for r in records]
    assert names == ["INSERT", "MODIFY", "INSERT"] + ["INSERT"] * 5 + ["REMOVE"], names
    modify = records[1]
    assert modify["eventSource"] == "aws:dynamodb" and modify["eventVersion"] == "1.1"
    assert modify["dynamodb"]["OldImage"]["amount"] == {"N": "10.5"}
    assert modify["dynamodb"]["NewImage"]["status"] == {"S": "PAID"}
    assert modify["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences), sequences
    after = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        SequenceNumber=records[-2]["dynamodb"]["SequenceNumber"],
    )["ShardIterator"]
    assert [r["eventName"] for r in streams.get_records(ShardIterator=after)["Records"]] == ["REMOVE"]
    expect_error("ValidationException", streams.get_records, ShardIterator="garbage")

    # Transactional reads, idempotent transactional writes.
    got = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": "orders", "Key": {"pk": {"S": "o1"}, "sk": {"N": "1"}}, "ProjectionExpression": "amount"}},
            {"Get": {"TableName": "outbox", "Key": {"pk": {"S": "missing"}}}},
        ]
    )["Responses"]
    assert got == [{"Item": {"amount": {"N": "10.75"}}}, {}], got
    token_request = {
        "ClientRequestToken": "order-o5-attempt",
        "TransactItems": [
            {"Put": {"TableName": "outbox", "Item": {"pk": {"S": "evt-o5"}}, "ConditionExpression": "attribute_not_exists(pk)"}}
        ],
    }
    ddb.transact_write_items(**token_request)
    ddb.transact_write_items(**token_request)  # a retry: idempotent, no condition failure
    token_request["TransactItems"][0]["Put"]["Item"] = {"pk": {"S": "evt-o6"}}
    expect_error("IdempotentParameterMismatchException", ddb.transact_write_items, **token_request)

    # Tags and TTL.
    outbox_arn = ddb.describe_table(TableName="outbox")["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=outbox_arn, Tags=[{"Key": "project", "Value": "outbox"}])
    assert ddb.list_tags_of_resource(ResourceArn=outbox_arn)["Tags"] == [{"Key": "project", "Value": "outbox"}]
    ddb.update_time_to_live(TableName="outbox", TimeToLiveSpecification={"AttributeName": "expiresAt", "Enabled": True})
    ttl = ddb.describe_time_to_live(TableName="outbox")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}, ttl

    # A global secondary index: sparse, ordered by its sort key, projected as declared.
    ddb.create_table(
        TableName="by-state",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "state", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "byState",
            "KeySchema": [{"AttributeName": "state", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk, state, at in [("a", "NEW", "3"), ("b", "NEW", "1"), ("c", None, "2"), ("d", "PAID", "0")]:
        item = {"pk": {"S": pk}, "at": {"N": at}, "extra": {"S": "x"}}
        if state:
            item["state"] = {"S": state}
        ddb.put_item(TableName="by-state", Item=item)
    indexed = ddb.query(
        TableName="by-state", IndexName="byState", KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "state"}, ExpressionAttributeValues={":s": {"S": "NEW"}},
    )["Items"]
    assert [i["pk"]["S"] for i in indexed] == ["b", "a"], indexed
    assert all("extra" not in i for i in indexed), indexed
    assert ddb.scan(TableName="by-state", IndexName="byState")["Count"] == 3
    expect_error(
        "ValidationException", ddb.query, TableName="by-state", IndexName="byState", ConsistentRead=True,
        KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "NEW"}},
    )

    ddb.delete_table(TableName="outbox")
    expect_error("ResourceNotFoundException", ddb.describe_table, TableName="outbox")
    print("boto3 conformance: ok")


if __name__ == "__main__":
    main(sys.argv[1])
