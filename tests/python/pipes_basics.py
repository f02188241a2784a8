"""The local engine's EventBridge Pipes API through boto3, an independent client: the
lifecycle of a DynamoDB-stream-to-bus pipe, its states, errors, and a record delivered.

Usage: python pipes_basics.py ENDPOINT_URL. Exits non-zero on the first failure.
"""

import json
import sys
import time

from sqs_events_clients import client, expect_error


def wait_for(pipes, name, state):
    deadline = time.time() + 10
    while time.time() < deadline:
        current = pipes.describe_pipe(Name=name)["CurrentState"]
        if current == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"pipe {name} is {current}, expected {state}")


def main(endpoint):
    dynamodb, events, sqs, pipes = (client(s, endpoint) for s in ("dynamodb", "events", "sqs", "pipes"))
    dynamodb.create_table(
        TableName="py-orders",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    stream = dynamodb.describe_table(TableName="py-orders")["Table"]["LatestStreamArn"]
    bus = events.create_event_bus(Name="py-pipes")["EventBusArn"]
    url = sqs.create_queue(QueueName="py-pipe-consumer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="py-pipes", EventPattern=json.dumps({"source": ["py.shop"]}))
    events.put_targets(Rule="all", EventBusName="py-pipes", Targets=[{"Id": "q", "Arn": arn}])

    base = dict(
        RoleArn="arn:aws:iam::000000000000:role/pipe",
        Source=stream,
        Target=bus,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10}},
        TargetParameters={
            "InputTemplate": '{"id": "<$.dynamodb.Keys.pk.S>"}',
            "EventBridgeEventBusParameters": {"DetailType": "$.eventName", "Source": "py.shop"},
        },
    )
    created = pipes.create_pipe(Name="py-pipe", **base)
    assert created["CurrentState"] == "CREATING", created
    assert created["Arn"] == "arn:aws:pipes:us-east-1:000000000000:pipe/py-pipe", created
    wait_for(pipes, "py-pipe", "RUNNING")
    expect_error("ConflictException", pipes.create_pipe, Name="py-pipe", **base)
    expect_error("ConflictException", pipes.start_pipe, Name="py-pipe")
    expect_error("NotFoundException", pipes.describe_pipe, Name="missing")
    bad = dict(base, SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 100}})
    expect_error("ValidationException", pipes.create_pipe, Name="py-bad", **bad)

    dynamodb.put_item(TableName="py-orders", Item={"pk": {"S": "ORDER#1"}})
    deadline = time.time() + 10
    messages = []
    while not messages and time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    event = json.loads(messages[0]["Body"])
    assert event["detail"] == {"id": "ORDER#1"}, event
    assert event["detail-type"] == "INSERT", event

    described = pipes.describe_pipe(Name="py-pipe")
    assert described["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] == 10, described
    assert [p["Name"] for p in pipes.list_pipes(NamePrefix="py-")["Pipes"]] == ["py-pipe"]
    assert pipes.stop_pipe(Name="py-pipe")["CurrentState"] == "STOPPING"
    wait_for(pipes, "py-pipe", "STOPPED")
    deleted = pipes.delete_pipe(Name="py-pipe")
    assert deleted["DesiredState"] == "DELETED", deleted
    expect_error("NotFoundException", pipes.describe_pipe, Name="py-pipe")
    print("pipes ok")


if __name__ == "__main__":
    main(sys.argv[1])
