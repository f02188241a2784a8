"""The local engine's CloudFormation API through boto3 and its waiters, an independent client.

Usage: python cfn_conformance.py ENDPOINT_URL. Exits non-zero on the first failure.
"""

import sys

import boto3
from botocore.exceptions import ClientError

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Description: boto3 conformance
Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub '${AWS::StackName}-${Env}'
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification:
        StreamViewType: !If [IsProd, NEW_AND_OLD_IMAGES, NEW_IMAGE]
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Join ['/', [outbox, !Ref 'AWS::StackName']]
      RetentionInDays: 7
Outputs:
  Table:
    Value: !Ref Table
  Stream:
    Value: !GetAtt Table.StreamArn
  Logs:
    Value: !GetAtt [Logs, Arn]
"""

FAST = {"Delay": 1, "MaxAttempts": 60}


def expect_error(code, call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as err:
        actual = err.response["Error"]["Code"]
        assert actual == code, f"expected {code}, got {actual}: {err}"
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return err.response["Error"]["Message"]
    raise AssertionError(f"expected {code}, the call succeeded")


def outputs(cfn, stack):
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def main(endpoint):
    cfn = boto3.client(
        "cloudformation",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    message = expect_error("ValidationError", cfn.describe_stacks, StackName="nope")
    assert message == "Stack with id nope does not exist", message

    cfn.create_stack(StackName="py", TemplateBody=TEMPLATE, ClientRequestToken="py-create")
    cfn.get_waiter("stack_create_complete").wait(StackName="py", WaiterConfig=FAST)
    out = outputs(cfn, "py")
    assert out["Table"] == "py-dev", out
    assert out["Logs"] == "arn:aws:logs:us-east-1:000000000000:log-group:outbox/py:*", out
    assert out["Stream"].startswith("arn:aws:dynamodb:us-east-1:000000000000:table/py-dev/stream/"), out

    events = [e for page in cfn.get_paginator("describe_stack_events").paginate(StackName="py") for e in page["StackEvents"]]
    assert all(e.get("ClientRequestToken") == "py-create" for e in events), events
    assert events[0]["ResourceStatus"] == "CREATE_COMPLETE", events[0]

    message = expect_error("ValidationError", cfn.update_stack, StackName="py", UsePreviousTemplate=True)
    assert message == "No updates are to be performed.", message

    # A parameter change renames the table: a replacement, seen as a parameter reference.
    cfn.create_change_set(
        StackName="py",
        ChangeSetName="prod",
        UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": "Env", "ParameterValue": "prod"}],
    )
    cfn.get_waiter("change_set_create_complete").wait(StackName="py", ChangeSetName="prod", WaiterConfig=FAST)
    described = cfn.describe_change_set(StackName="py", ChangeSetName="prod")
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]}
    assert list(changes) == ["Table"], changes
    assert changes["Table"]["Replacement"] == "True", changes
    sources = {d["Target"]["Name"]: d["ChangeSource"] for d in changes["Table"]["Details"]}
    assert sources == {"TableName": "ParameterReference", "StreamSpecification": "DirectModification"}, sources
    cfn.execute_change_set(StackName="py", ChangeSetName="prod")
    cfn.get_waiter("stack_update_complete").wait(StackName="py", WaiterConfig=FAST)
    assert outputs(cfn, "py")["Table"] == "py-prod"
    message = expect_error("InvalidChangeSetStatus", cfn.execute_change_set, StackName="py", ChangeSetName="prod")
    assert "cannot be executed in its current status of [EXECUTE_COMPLETE]" in message, message

    summaries = cfn.list_change_sets(StackName="py")["Summaries"]
    assert [s["ExecutionStatus"] for s in summaries] == ["EXECUTE_COMPLETE"], summaries

    cfn.delete_stack(StackName="py")
    cfn.get_waiter("stack_delete_complete").wait(StackName="py", WaiterConfig=FAST)
    tables = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).list_tables()["TableNames"]
    assert tables == [], tables
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
