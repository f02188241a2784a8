"""The local engine's S3 through boto3, an independent client with its own view of the
REST protocol (addressing, HEAD without bodies, error codes), which checks the ETag it
gets back.

Usage: python s3_basics.py ENDPOINT_URL. Exits non-zero on the first failure.
"""

import hashlib
import io
import sys

import boto3
from botocore.config import Config

from sqs_events_clients import expect_error


def main(endpoint):
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket="py-artifacts")
    s3.head_bucket(Bucket="py-artifacts")
    body = ("héllo " * 20_000).encode()
    put = s3.put_object(Bucket="py-artifacts", Key="dir/one.json", Body=io.BytesIO(body))
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), put["ETag"]
    got = s3.get_object(Bucket="py-artifacts", Key="dir/one.json")
    assert got["Body"].read() == body
    assert got["ContentLength"] == len(body), got["ContentLength"]
    head = s3.head_object(Bucket="py-artifacts", Key="dir/one.json")
    assert head["ContentLength"] == len(body), head["ContentLength"]
    assert head["ETag"] == put["ETag"]

    expect_error("NoSuchKey", s3.get_object, Bucket="py-artifacts", Key="dir/two.json")
    expect_error("404", s3.head_object, Bucket="py-artifacts", Key="dir/two.json")
    expect_error("NoSuchBucket", s3.put_object, Bucket="py-nope", Key="k", Body=b"x")
    expect_error("InvalidBucketName", s3.create_bucket, Bucket="Py_Bad")
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket="py-artifacts")
    s3.delete_object(Bucket="py-artifacts", Key="dir/one.json")
    s3.delete_bucket(Bucket="py-artifacts")
    expect_error("404", s3.head_bucket, Bucket="py-artifacts")
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
