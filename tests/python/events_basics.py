"""The local engine's EventBridge API through boto3, an independent client: buses, rules,
targets, PutEvents into an SQS target, TestEventPattern and the errors AWS returns.

Usage: python events_basics.py ENDPOINT_URL. Exits non-zero on the first failure.
"""

import json
import sys
import time

from sqs_events_clients import client, expect_error


def main(endpoint):
    events, sqs = client("events", endpoint), client("sqs", endpoint)
    bus_arn = events.create_event_bus(Name="py-bus")["EventBusArn"]
    assert events.describe_event_bus(Name="py-bus")["Arn"] == bus_arn
    assert "py-bus" in [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    url = sqs.create_queue(QueueName="py-consumer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = events.put_rule(
        Name="paid", EventBusName="py-bus", EventPattern=json.dumps({"detail-type": ["OrderPaid"]})
    )["RuleArn"]
    assert rule_arn == "arn:aws:events:us-east-1:000000000000:rule/py-bus/paid", rule_arn
    events.put_targets(Rule="paid", EventBusName="py-bus", Targets=[{"Id": "q", "Arn": arn, "InputPath": "$.detail"}])
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="paid", EventBusName="py-bus")["Targets"]] == ["q"]
    assert [r["Name"] for r in events.list_rules(EventBusName="py-bus")["Rules"]] == ["paid"]

    put = events.put_events(
        Entries=[
            {"EventBusName": "py-bus", "Source": "shop", "DetailType": "OrderPaid", "Detail": json.dumps({"id": "o-1"})},
            {"EventBusName": "py-bus", "Source": "shop", "DetailType": "OrderPaid"},
        ]
    )
    assert put["FailedEntryCount"] == 1, put
    assert put["Entries"][1]["ErrorCode"] == "InvalidArgument", put
    deadline = time.time() + 10
    messages = []
    while not messages and time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert json.loads(messages[0]["Body"]) == {"id": "o-1"}, messages

    expect_error("InvalidEventPatternException", events.put_rule, Name="bad", EventPattern='{"a": []}')
    expect_error("ResourceNotFoundException", events.describe_rule, Name="missing")
    expect_error("ResourceAlreadyExistsException", events.create_event_bus, Name="py-bus")
    expect_error("ValidationException", events.delete_rule, Name="paid", EventBusName="py-bus")
    event = {"id": "1", "account": "1", "source": "shop", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "detail-type": "OrderPaid", "detail": {}}
    assert events.test_event_pattern(EventPattern='{"source": ["shop"]}', Event=json.dumps(event))["Result"] is True
    events.disable_rule(Name="paid", EventBusName="py-bus")
    assert events.describe_rule(Name="paid", EventBusName="py-bus")["State"] == "DISABLED"
    events.remove_targets(Rule="paid", EventBusName="py-bus", Ids=["q"])
    events.delete_rule(Name="paid", EventBusName="py-bus")
    events.delete_event_bus(Name="py-bus")
    print("events ok")


if __name__ == "__main__":
    main(sys.argv[1])
