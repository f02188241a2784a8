"""The local engine's SQS API through boto3, an independent client (botocore checks the
MD5 digests of bodies and message attributes on send and receive).

Usage: python sqs_basics.py ENDPOINT_URL. Exits non-zero on the first failure.
"""

import json
import sys

from sqs_events_clients import client, expect_error


def main(endpoint):
    sqs = client("sqs", endpoint)
    dlq_url = sqs.create_queue(QueueName="py-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert dlq_arn == "arn:aws:sqs:us-east-1:000000000000:py-dlq", dlq_arn
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    url = sqs.create_queue(QueueName="py-orders", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": policy})["QueueUrl"]
    assert url in sqs.list_queues(QueueNamePrefix="py-")["QueueUrls"]
    assert sqs.get_queue_url(QueueName="py-orders")["QueueUrl"] == url

    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="héllo",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    assert "MD5OfMessageAttributes" in sent
    batch = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two"}]
    )
    assert sorted(e["Id"] for e in batch["Successful"]) == ["a", "b"], batch

    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert len(got) == 3, got
    first = next(m for m in got if m["Body"] == "héllo")
    assert first["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01"
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got) if m["Body"] != "one"]
    )
    # "one" was received once (maxReceiveCount 1): the next receive moves it to the DLQ.
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    moved = sqs.receive_message(QueueUrl=dlq_url, MessageSystemAttributeNames=["All"])["Messages"]
    assert moved[0]["Body"] == "one"
    assert moved[0]["Attributes"]["DeadLetterQueueSourceArn"].endswith(":py-orders")

    expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_url, QueueName="missing")
    expect_error("InvalidAttributeValue", sqs.set_queue_attributes, QueueUrl=url, Attributes={"MessageRetentionPeriod": "10"})
    expect_error("ReceiptHandleIsInvalid", sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage")
    sqs.purge_queue(QueueUrl=dlq_url)
    sqs.delete_queue(QueueUrl=url)
    expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"])
    print("sqs ok")


if __name__ == "__main__":
    main(sys.argv[1])
