"""Shared by the SQS and EventBridge boto3 scripts: clients for the local engine and a
check that a call fails with a given error code."""

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
