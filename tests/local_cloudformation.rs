//! CloudFormation on the local engine, through aws-sdk-cloudformation and the aws CLI:
//! change sets with their verdicts, statuses observed by polling, rollback with the
//! failing resource's reason, Retain on delete, and the errors clients rely on.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, ResourceChange};
use outboxctl::local::{Engine, EngineConfig, EngineHandle};

use crate::local_support::{dynamodb_client, item, s};
use crate::support::{expect_code, local_aws_env, python_tool, text};

const NO_CHANGES: &str = "The submitted information didn't contain changes. Submit different information to create a change set.";

struct Cfn {
    engine: EngineHandle,
    client: aws_sdk_cloudformation::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Cfn {
    let dir = tempfile::tempdir().unwrap();
    let mut cfn = start_on(dir.path()).await;
    cfn._dir = dir;
    cfn
}

/// An engine on `data_dir`, for tests that stop it and start another on the same state.
async fn start_on(data_dir: &std::path::Path) -> Cfn {
    start_stepping(data_dir, Duration::from_millis(50)).await
}

/// An engine that waits `step` before each resource change it makes.
async fn start_stepping(data_dir: &std::path::Path, step: Duration) -> Cfn {
    let mut config = EngineConfig::ephemeral(data_dir);
    config.cloudformation_step = step;
    let engine = Engine::start(config).await.unwrap();
    let sdk = crate::support::sdk_config(&engine.endpoint_url()).await;
    Cfn {
        client: aws_sdk_cloudformation::Client::new(&sdk),
        engine,
        _dir: tempfile::tempdir().unwrap(),
    }
}

fn template(stream_view: &str, log_group_name: &str, retention: u32) -> String {
    serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "cfn test stack",
        "Parameters": {"Env": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "TableName": {"Fn::Sub": "${AWS::StackName}-orders"},
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "StreamSpecification": {"StreamViewType": stream_view},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": {"Fn::If": ["IsProd", true, false]}}
                }
            },
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": log_group_name, "RetentionInDays": retention}
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
                }
            },
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "read-stream",
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "dynamodb:GetRecords", "Resource": {"Fn::GetAtt": ["Table", "StreamArn"]}},
                        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": {"Fn::GetAtt": ["Logs", "Arn"]}}]}
                }
            }
        },
        "Outputs": {
            "TableName": {"Value": {"Ref": "Table"}},
            "StreamArn": {"Value": {"Fn::GetAtt": ["Table", "StreamArn"]}},
            "RoleArn": {"Value": {"Fn::GetAtt": "Role.Arn"}}
        }
    })
    .to_string()
}

impl Cfn {
    /// Create a change set and wait until it leaves CREATE_PENDING / CREATE_IN_PROGRESS.
    async fn change_set(
        &self,
        stack: &str,
        name: &str,
        kind: ChangeSetType,
        body: &str,
    ) -> aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput {
        let created = self
            .client
            .create_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .change_set_type(kind)
            .template_body(body)
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .expect("create change set");
        let id = created.id.unwrap();
        let mut seen = BTreeSet::new();
        loop {
            let described = self
                .client
                .describe_change_set()
                .change_set_name(&id)
                .send()
                .await
                .unwrap();
            let status = described.status.as_ref().unwrap().as_str().to_owned();
            seen.insert(status.clone());
            if status == "CREATE_COMPLETE" || status == "FAILED" {
                assert!(
                    seen.len() > 1,
                    "the change set was never seen pending: {seen:?}"
                );
                return described;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Poll DescribeStacks until the status stops ending in _IN_PROGRESS; every status seen.
    async fn wait(&self, stack: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..2000 {
            let status = self
                .client
                .describe_stacks()
                .stack_name(stack)
                .send()
                .await
                .unwrap()
                .stacks
                .unwrap()[0]
                .stack_status
                .as_ref()
                .unwrap()
                .as_str()
                .to_owned();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if !status.ends_with("_IN_PROGRESS") {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("stack {stack} did not settle: {seen:?}");
    }

    /// Poll until the stack shows `status` (an in-progress one, to stop the engine in it).
    async fn reach(&self, stack: &str, status: &str) {
        let reached = async {
            loop {
                let now = self
                    .client
                    .describe_stacks()
                    .stack_name(stack)
                    .send()
                    .await
                    .unwrap()
                    .stacks
                    .unwrap()
                    .remove(0);
                if now.stack_status().unwrap().as_str() == status {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), reached)
            .await
            .unwrap_or_else(|_| panic!("stack {stack} never showed {status}"));
    }

    async fn events(&self, stack: &str) -> Vec<aws_sdk_cloudformation::types::StackEvent> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_stack_events()
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
                .unwrap();
            events.extend(page.stack_events.unwrap_or_default());
            token = page.next_token;
            if token.is_none() {
                return events;
            }
        }
    }
}

fn verdicts(
    changes: &[aws_sdk_cloudformation::types::Change],
) -> Vec<(String, String, Option<String>)> {
    changes
        .iter()
        .filter_map(|c| c.resource_change.as_ref())
        .map(|rc: &ResourceChange| {
            (
                rc.logical_resource_id.clone().unwrap(),
                rc.action.as_ref().unwrap().as_str().to_owned(),
                rc.replacement.as_ref().map(|r| r.as_str().to_owned()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_sets_create_update_and_delete_a_stack() {
    let cfn = start().await;
    let dynamodb = dynamodb_client(&cfn.engine.endpoint_url());

    // Create through a change set: every resource is an Add.
    let created = cfn
        .change_set(
            "shop",
            "first",
            ChangeSetType::Create,
            &template("NEW_IMAGE", "shop-logs", 7),
        )
        .await;
    assert_eq!(created.status.unwrap().as_str(), "CREATE_COMPLETE");
    let mut adds = verdicts(created.changes.as_deref().unwrap());
    adds.sort();
    assert_eq!(
        adds,
        ["Logs", "Policy", "Role", "Table"]
            .map(|id| (id.to_owned(), "Add".to_owned(), None))
            .to_vec()
    );
    let review = cfn
        .client
        .describe_stacks()
        .stack_name("shop")
        .send()
        .await
        .unwrap();
    assert_eq!(
        review.stacks.unwrap()[0]
            .stack_status
            .as_ref()
            .unwrap()
            .as_str(),
        "REVIEW_IN_PROGRESS"
    );

    cfn.client
        .execute_change_set()
        .change_set_name("first")
        .stack_name("shop")
        .client_request_token("create-token")
        .send()
        .await
        .unwrap();
    let statuses = cfn.wait("shop").await;
    assert_eq!(statuses, ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]);

    let stack = cfn
        .client
        .describe_stacks()
        .stack_name("shop")
        .send()
        .await
        .unwrap()
        .stacks
        .unwrap()
        .remove(0);
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(output("TableName"), "shop-orders");
    assert!(
        output("StreamArn")
            .starts_with("arn:aws:dynamodb:us-east-1:000000000000:table/shop-orders/stream/")
    );
    assert!(
        output("RoleArn").starts_with("arn:aws:iam::000000000000:role/shop-Role-"),
        "{}",
        output("RoleArn")
    );
    let table = dynamodb
        .describe_table()
        .table_name("shop-orders")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(table.latest_stream_arn().unwrap(), output("StreamArn"));

    let events = cfn.events("shop").await;
    let creation: Vec<_> = events
        .iter()
        .filter(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str() != "REVIEW_IN_PROGRESS")
        })
        .collect();
    assert!(
        creation
            .iter()
            .all(|e| e.client_request_token() == Some("create-token"))
    );
    assert_eq!(
        events[0].resource_status().unwrap().as_str(),
        "CREATE_COMPLETE",
        "newest first"
    );
    let table_events: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| e.logical_resource_id() == Some("Table"))
        .map(|e| e.resource_status().unwrap().as_str())
        .collect();
    assert_eq!(table_events, ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]);

    // A change set for the same template and parameters has nothing to do.
    let same = cfn
        .change_set(
            "shop",
            "same",
            ChangeSetType::Update,
            &template("NEW_IMAGE", "shop-logs", 7),
        )
        .await;
    assert_eq!(same.status.unwrap().as_str(), "FAILED");
    assert_eq!(same.status_reason.as_deref(), Some(NO_CHANGES));

    // Update: new stream view (in place), renamed log group (replacement), retention (in place);
    // the policy reads both changed resources' attributes, so it changes dynamically.
    dynamodb
        .put_item()
        .table_name("shop-orders")
        .set_item(Some(item(&[("pk", s("order-1"))])))
        .send()
        .await
        .unwrap();
    let update = cfn
        .change_set(
            "shop",
            "second",
            ChangeSetType::Update,
            &template("NEW_AND_OLD_IMAGES", "shop-logs-v2", 14),
        )
        .await;
    assert_eq!(update.status().unwrap().as_str(), "CREATE_COMPLETE");
    let mut modified = verdicts(update.changes.as_deref().unwrap());
    modified.sort();
    assert_eq!(
        modified,
        vec![
            (
                "Logs".to_owned(),
                "Modify".to_owned(),
                Some("True".to_owned())
            ),
            (
                "Policy".to_owned(),
                "Modify".to_owned(),
                Some("False".to_owned())
            ),
            (
                "Table".to_owned(),
                "Modify".to_owned(),
                Some("False".to_owned())
            ),
        ]
    );
    let logs = update
        .changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .find(|rc| rc.logical_resource_id() == Some("Logs"))
        .unwrap();
    let name_detail = logs
        .details()
        .iter()
        .find(|d| d.target().and_then(|t| t.name()) == Some("LogGroupName"))
        .unwrap();
    assert_eq!(
        name_detail
            .target()
            .unwrap()
            .requires_recreation()
            .unwrap()
            .as_str(),
        "Always"
    );
    let policy = update
        .changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .find(|rc| rc.logical_resource_id() == Some("Policy"))
        .unwrap();
    assert!(
        policy
            .details()
            .iter()
            .all(|d| d.evaluation().unwrap().as_str() == "Dynamic")
    );

    cfn.client
        .execute_change_set()
        .change_set_name("second")
        .stack_name("shop")
        .client_request_token("update-token")
        .send()
        .await
        .unwrap();
    let statuses = cfn.wait("shop").await;
    assert_eq!(statuses.last().unwrap(), "UPDATE_COMPLETE");
    let events = cfn.events("shop").await;
    let stack_statuses: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| {
            e.client_request_token() == Some("update-token")
                && e.logical_resource_id() == Some("shop")
        })
        .map(|e| e.resource_status().unwrap().as_str())
        .collect();
    assert_eq!(
        stack_statuses,
        [
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE"
        ]
    );
    let old_log_group_deleted = events.iter().any(|e| {
        e.logical_resource_id() == Some("Logs")
            && e.physical_resource_id() == Some("shop-logs")
            && e.resource_status().unwrap().as_str() == "DELETE_COMPLETE"
    });
    assert!(
        old_log_group_deleted,
        "the replaced log group is deleted during cleanup"
    );
    let table = dynamodb
        .describe_table()
        .table_name("shop-orders")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        table
            .stream_specification()
            .unwrap()
            .stream_view_type()
            .unwrap()
            .as_str(),
        "NEW_AND_OLD_IMAGES"
    );
    let resources = cfn
        .client
        .list_stack_resources()
        .stack_name("shop")
        .send()
        .await
        .unwrap();
    let logs = resources
        .stack_resource_summaries()
        .iter()
        .find(|r| r.logical_resource_id() == Some("Logs"))
        .unwrap();
    assert_eq!(logs.physical_resource_id(), Some("shop-logs-v2"));
    let template_body = cfn
        .client
        .get_template()
        .stack_name("shop")
        .send()
        .await
        .unwrap()
        .template_body
        .unwrap();
    assert!(template_body.contains("shop-logs-v2"));

    // Delete: the table is retained with its items; the stack is gone by name.
    cfn.client
        .delete_stack()
        .stack_name("shop")
        .client_request_token("delete-token")
        .send()
        .await
        .unwrap();
    let stack_id = stack.stack_id().unwrap().to_owned();
    let statuses = cfn.wait(&stack_id).await;
    assert_eq!(statuses.last().unwrap(), "DELETE_COMPLETE");
    let events = cfn.events(&stack_id).await;
    let skipped = events
        .iter()
        .find(|e| {
            e.logical_resource_id() == Some("Table")
                && e.client_request_token() == Some("delete-token")
        })
        .unwrap();
    assert_eq!(
        skipped.resource_status().unwrap().as_str(),
        "DELETE_SKIPPED"
    );
    let kept = dynamodb
        .get_item()
        .table_name("shop-orders")
        .set_key(Some(item(&[("pk", s("order-1"))])))
        .send()
        .await
        .unwrap();
    assert!(kept.item.is_some(), "the retained table keeps its items");
    let err = cfn
        .client
        .describe_stacks()
        .stack_name("shop")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(err.message(), Some("Stack with id shop does not exist"));
    let history = cfn.client.list_stacks().send().await.unwrap();
    let summary = &history.stack_summaries()[0];
    assert_eq!(
        (
            summary.stack_name(),
            summary.stack_status().unwrap().as_str()
        ),
        (Some("shop"), "DELETE_COMPLETE")
    );
    let table = cfn
        .client
        .describe_stack_resource()
        .stack_name(&stack_id)
        .logical_resource_id("Table")
        .send()
        .await
        .unwrap();
    let detail = table.stack_resource_detail().unwrap();
    assert_eq!(detail.resource_status().unwrap().as_str(), "DELETE_SKIPPED");
    assert_eq!(detail.physical_resource_id(), Some("shop-orders"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_resource_rolls_back_with_its_reason() {
    let cfn = start().await;
    let body = serde_json::json!({
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
            "Later": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Table"}}}
        }
    })
    .to_string();
    let created = cfn
        .client
        .create_stack()
        .stack_name("broken")
        .template_body(&body)
        .client_request_token("t1")
        .send()
        .await
        .unwrap();
    assert!(
        created
            .stack_id()
            .unwrap()
            .starts_with("arn:aws:cloudformation:us-east-1:000000000000:stack/broken/")
    );
    let statuses = cfn.wait("broken").await;
    assert_eq!(statuses.first().unwrap(), "CREATE_IN_PROGRESS");
    assert_eq!(statuses.last().unwrap(), "ROLLBACK_COMPLETE");

    let events = cfn.events("broken").await;
    let stack_statuses: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| e.logical_resource_id() == Some("broken"))
        .map(|e| e.resource_status().unwrap().as_str())
        .collect();
    assert_eq!(
        stack_statuses,
        [
            "CREATE_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "ROLLBACK_COMPLETE"
        ]
    );
    let status_of = |id: &str, status: &str| {
        events
            .iter()
            .find(|e| {
                e.logical_resource_id() == Some(id)
                    && e.resource_status().unwrap().as_str() == status
            })
            .and_then(|e| e.resource_status_reason())
            .map(str::to_owned)
    };
    let reason = status_of("Table", "CREATE_FAILED").unwrap();
    assert!(reason.contains("ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"), "{reason}");
    assert_eq!(
        status_of("Logs", "CREATE_FAILED").as_deref(),
        Some("Resource creation cancelled")
    );
    assert!(
        !events
            .iter()
            .any(|e| e.logical_resource_id() == Some("Later")),
        "nothing after the failed wave starts"
    );
    let stack_reason = status_of("broken", "ROLLBACK_IN_PROGRESS").unwrap();
    assert_eq!(
        stack_reason,
        "The following resource(s) failed to create: [Table, Logs]. Rollback requested by user."
    );

    let err = cfn
        .client
        .update_stack()
        .stack_name("broken")
        .template_body(&body)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    let message = err.message().unwrap();
    assert!(
        message.starts_with("Stack:arn:aws:cloudformation:us-east-1:000000000000:stack/broken/"),
        "{message}"
    );
    assert!(
        message.ends_with(" is in ROLLBACK_COMPLETE state and can not be updated."),
        "{message}"
    );
    let err = cfn
        .client
        .create_change_set()
        .stack_name("broken")
        .change_set_name("again")
        .template_body(&body)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .contains("ROLLBACK_COMPLETE state and can not be updated")
    );

    cfn.client
        .delete_stack()
        .stack_name("broken")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cfn.wait(created.stack_id().unwrap()).await.last().unwrap(),
        "DELETE_COMPLETE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_types_and_template_errors_are_refused() {
    let cfn = start().await;
    let unsupported =
        r#"{"Resources": {"Api": {"Type": "AWS::Lambda::Function", "Properties": {}}}}"#;
    let failed = cfn
        .change_set("api", "first", ChangeSetType::Create, unsupported)
        .await;
    assert_eq!(failed.status.unwrap().as_str(), "FAILED");
    let reason = failed.status_reason.unwrap();
    assert!(
        reason.contains("[AWS::Lambda::Function]") && reason.contains("AWS::DynamoDB::Table"),
        "{reason}"
    );

    let refused = |body: &'static str, capability: bool| {
        let client = cfn.client.clone();
        async move {
            let mut request = client
                .create_change_set()
                .stack_name("bad")
                .change_set_name("c")
                .change_set_type(ChangeSetType::Create)
                .template_body(body);
            if capability {
                request = request.capabilities(Capability::CapabilityIam);
            }
            let err = request.send().await.unwrap_err();
            (
                err.code().unwrap().to_owned(),
                err.message().unwrap().to_owned(),
            )
        }
    };
    assert_eq!(
        refused(r#"{"Resources": {"G": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Nope"}}}}}"#, false).await,
        ("ValidationError".into(), "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template".into())
    );
    assert_eq!(
        refused(r#"{"Resources": {"A": {"Type": "AWS::Logs::LogGroup", "DependsOn": "B"}, "B": {"Type": "AWS::Logs::LogGroup", "DependsOn": "A"}}}"#, false).await,
        ("ValidationError".into(), "Circular dependency between resources: [A, B]".into())
    );
    assert_eq!(
        refused(r#"{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x", "AssumeRolePolicyDocument": {}}}}}"#, true).await,
        ("InsufficientCapabilitiesException".into(), "Requires capabilities : [CAPABILITY_NAMED_IAM]".into())
    );
    assert_eq!(
        refused(r#"{"Resources": {"G": {"Type": "AWS::Logs::LogGroup"}}, "Outputs": {"X": {"Value": {"Fn::GetAtt": ["G", "Nope"]}}}}"#, false).await,
        ("ValidationError".into(), "Template format error: Template error: resource G does not support attribute type Nope in Fn::GetAtt".into())
    );

    let err = cfn
        .client
        .describe_stacks()
        .stack_name("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Some("ValidationError"),
            Some("Stack with id missing does not exist")
        )
    );
    let validated = cfn.client.validate_template().template_body("Parameters:\n  Env:\n    Type: String\n    Default: dev\nResources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {}\n").send().await.unwrap();
    assert_eq!(validated.parameters()[0].parameter_key(), Some("Env"));
    assert_eq!(validated.capabilities()[0].as_str(), "CAPABILITY_IAM");

    let params = cfn.client.create_stack().stack_name("p").template_body(r#"{"Parameters": {"Days": {"Type": "Number"}}, "Resources": {"G": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": {"Ref": "Days"}}}}}"#)
        .parameters(Parameter::builder().parameter_key("Days").parameter_value("x").build()).send().await.unwrap_err();
    assert_eq!(params.message(), Some("Parameter 'Days' must be a number."));
}

/// The aws CLI as an independent client: `aws cloudformation deploy` of a YAML template
/// with short-form tags, then again with nothing to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_deploys_and_reports_no_changes() {
    let aws = python_tool("aws");
    let cfn = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.yaml");
    std::fs::write(
        &path,
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    DeletionPolicy: Retain\n    Properties:\n      TableName: !Sub '${AWS::StackName}-table'\n      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions:\n        - {AttributeName: pk, AttributeType: S}\n      KeySchema:\n        - {AttributeName: pk, KeyType: HASH}\n      StreamSpecification: {StreamViewType: NEW_IMAGE}\nOutputs:\n  Stream:\n    Value: !GetAtt Table.StreamArn\n",
    )
    .unwrap();
    let endpoint = cfn.engine.endpoint_url();
    let deploy = move || {
        let mut command = std::process::Command::new(&aws);
        command
            .args([
                "cloudformation",
                "deploy",
                "--stack-name",
                "cli",
                "--no-fail-on-empty-changeset",
                "--template-file",
            ])
            .arg(&path);
        // aws CLI v1 reads the region from AWS_DEFAULT_REGION.
        local_aws_env(&mut command, &endpoint).env("AWS_DEFAULT_REGION", "us-east-1");
        command.output().unwrap()
    };
    let first = tokio::task::spawn_blocking(deploy.clone()).await.unwrap();
    expect_code(&first, 0);
    assert!(
        text(&first.stdout).contains("Successfully created/updated stack - cli"),
        "{}",
        text(&first.stdout)
    );
    let tables = dynamodb_client(&cfn.engine.endpoint_url())
        .list_tables()
        .send()
        .await
        .unwrap();
    assert_eq!(tables.table_names(), ["cli-table"]);
    let second = tokio::task::spawn_blocking(deploy).await.unwrap();
    expect_code(&second, 0);
    assert!(
        text(&second.stdout).contains("No changes to deploy. Stack cli is up to date"),
        "{}",
        text(&second.stdout)
    );
}

/// outboxctl's own deploy client (change set, execute with a token, follow the events)
/// drives the engine as it drives AWS, and a second plan of the same template is a no-op.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outboxctl_deploy_client_drives_the_engine() {
    use outboxctl::cloud::artifacts::TemplateSource;
    use outboxctl::cloud::deploy::{self, Planned, Request};
    use outboxctl::cloud::events::Watcher;

    let cfn = start().await;
    let body = TemplateSource::Body(template("NEW_IMAGE", "client-logs", 7));
    let request = |token: &'static str| Request {
        stack: "client",
        template: &body,
        tags: vec![("app".into(), "orders".into())],
        token,
        poll: Duration::from_millis(10),
    };
    let Planned::Changes(plan) = deploy::plan(&cfn.client, request("t-1")).await.unwrap() else {
        panic!("a new stack has changes");
    };
    assert_eq!(plan.kind, "CREATE");
    assert_eq!(plan.changes.len(), 4);
    deploy::execute(&cfn.client, &plan, "t-1").await.unwrap();
    let mut watcher = Watcher::new(cfn.client.clone(), "client", "t-1");
    let (stack, events) = watcher
        .follow(Duration::from_millis(10), |_| {})
        .await
        .unwrap();
    let stack = stack.unwrap();
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert_eq!(stack.output("TableName").unwrap(), "client-orders");
    assert!(
        events
            .iter()
            .any(|e| e.logical_id == "Table" && e.status == "CREATE_COMPLETE")
    );
    assert_eq!(
        deploy::plan(&cfn.client, request("t-2")).await.unwrap(),
        Planned::NoChanges
    );
}

/// Stacks live in the engine's storage: a restarted engine still knows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacks_survive_an_engine_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_on(dir.path()).await;
    first
        .client
        .create_stack()
        .stack_name("durable")
        .template_body(template("KEYS_ONLY", "durable-logs", 7))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.wait("durable").await.last().unwrap(),
        "CREATE_COMPLETE"
    );
    first.engine.shutdown().await;

    let again = start_on(dir.path()).await;
    let stack = again
        .client
        .describe_stacks()
        .stack_name("durable")
        .send()
        .await
        .unwrap()
        .stacks
        .unwrap()
        .remove(0);
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    assert_eq!(stack.outputs().len(), 3);
    let resources = again
        .client
        .describe_stack_resources()
        .stack_name("durable")
        .send()
        .await
        .unwrap();
    assert_eq!(resources.stack_resources().len(), 4);

    // An update the engine stopped in the middle of is rolled back when it starts again,
    // as CloudFormation (which does not stop) would have rolled it back: whatever the
    // update had changed goes back.
    again
        .client
        .update_stack()
        .stack_name("durable")
        .template_body(template("NEW_IMAGE", "durable-logs", 14))
        .capabilities(Capability::CapabilityIam)
        .client_request_token("durable-update")
        .send()
        .await
        .unwrap();
    let table_updated = async {
        loop {
            let events = again.events("durable").await;
            if events.iter().any(|e| {
                e.logical_resource_id() == Some("Table")
                    && e.resource_status().map(|s| s.as_str()) == Some("UPDATE_COMPLETE")
            }) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), table_updated)
        .await
        .expect("the update reaches the table");
    again.engine.shutdown().await;
    let resumed = start_on(dir.path()).await;
    assert_eq!(
        resumed.wait("durable").await.last().unwrap(),
        "UPDATE_ROLLBACK_COMPLETE"
    );
    // The rollback goes on under the update's token, so the deploy following it by token
    // sees the end, and why.
    let resumed_events = resumed.events("durable").await;
    let why = resumed_events
        .iter()
        .find(|e| {
            e.client_request_token() == Some("durable-update")
                && e.resource_status().map(|s| s.as_str()) == Some("UPDATE_ROLLBACK_IN_PROGRESS")
        })
        .and_then(|e| e.resource_status_reason())
        .unwrap_or_default();
    assert!(why.contains("The local engine stopped"), "{why}");
    let view = dynamodb_client(&resumed.engine.endpoint_url())
        .describe_table()
        .table_name("durable-orders")
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .stream_specification
        .unwrap()
        .stream_view_type
        .unwrap();
    assert_eq!(
        view.as_str(),
        "KEYS_ONLY",
        "the table's change was rolled back"
    );

    // A delete the engine stopped in the middle of goes on when it starts again.
    resumed
        .client
        .delete_stack()
        .stack_name("durable")
        .send()
        .await
        .unwrap();
    resumed.engine.shutdown().await;
    let after = start_on(dir.path()).await;
    let gone = async {
        while after
            .client
            .describe_stacks()
            .stack_name("durable")
            .send()
            .await
            .is_ok()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .expect("the delete goes on after the restart");
}

/// An update the engine stopped in its cleanup finishes the cleanup when it starts again:
/// the replaced log group's old copy is deleted, and the stack keeps the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_cleanup_goes_on_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_on(dir.path()).await;
    first
        .client
        .create_stack()
        .stack_name("tidy")
        .template_body(template("KEYS_ONLY", "tidy-logs-1", 7))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    assert_eq!(first.wait("tidy").await.last().unwrap(), "CREATE_COMPLETE");
    first
        .client
        .update_stack()
        .stack_name("tidy")
        .template_body(template("KEYS_ONLY", "tidy-logs-2", 7))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    first
        .reach("tidy", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        .await;
    first.engine.shutdown().await;

    let resumed = start_on(dir.path()).await;
    assert_eq!(
        resumed.wait("tidy").await.last().unwrap(),
        "UPDATE_COMPLETE"
    );
    let old_copy_deleted = resumed.events("tidy").await.iter().any(|e| {
        e.physical_resource_id() == Some("tidy-logs-1")
            && e.resource_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE")
    });
    assert!(old_copy_deleted, "the old log group is deleted");
    let logs = resumed
        .client
        .describe_stack_resource()
        .stack_name("tidy")
        .logical_resource_id("Logs")
        .send()
        .await
        .unwrap()
        .stack_resource_detail
        .unwrap();
    assert_eq!(logs.physical_resource_id(), Some("tidy-logs-2"));
    assert_eq!(logs.resource_status().unwrap().as_str(), "UPDATE_COMPLETE");
}

/// A create the engine stopped in the middle of is rolled back when it starts again, so
/// the stack ends in ROLLBACK_COMPLETE, from which `deploy --recreate` starts over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_create_is_rolled_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_on(dir.path()).await;
    first
        .client
        .create_stack()
        .stack_name("halfway")
        .template_body(template("KEYS_ONLY", "halfway-logs", 7))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    first.engine.shutdown().await;
    let resumed = start_on(dir.path()).await;
    assert_eq!(
        resumed.wait("halfway").await.last().unwrap(),
        "ROLLBACK_COMPLETE"
    );
}

/// A stop right after an update starts, or while a change set is computed: the update is
/// rolled back (its journal is saved with its first status) and the change set fails with
/// a reason, so no client waits on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_at_the_start_of_an_update_or_a_change_set_leaves_nothing_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_on(dir.path()).await;
    first
        .client
        .create_stack()
        .stack_name("early")
        .template_body(template("KEYS_ONLY", "early-logs", 7))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    assert_eq!(first.wait("early").await.last().unwrap(), "CREATE_COMPLETE");
    first
        .client
        .update_stack()
        .stack_name("early")
        .template_body(template("NEW_IMAGE", "early-logs", 14))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    first.engine.shutdown().await;

    let second = start_on(dir.path()).await;
    assert_eq!(
        second.wait("early").await.last().unwrap(),
        "UPDATE_ROLLBACK_COMPLETE"
    );
    let pending = second
        .client
        .create_change_set()
        .stack_name("early")
        .change_set_name("pending")
        .template_body(template("NEW_IMAGE", "early-logs", 14))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    second.engine.shutdown().await;

    let third = start_on(dir.path()).await;
    let described = third
        .client
        .describe_change_set()
        .change_set_name(pending.id.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(described.status.unwrap().as_str(), "FAILED");
    assert!(
        described
            .status_reason
            .unwrap_or_default()
            .contains("stopped while computing"),
    );
}

/// A raw HTTP/1.1 request to the engine: (status, body).
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The committed food-ordering template's ingest API (RestApi → Resource → Method with a
/// DynamoDB PutItem integration → Deployment → Stage) deploys, and `POST /orders`
/// writes the order into the table with no compute, as on AWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rendered_ingest_api_writes_orders_into_the_table() {
    let full: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::repo().join("templates/food-ordering.json"))
            .unwrap(),
    )
    .unwrap();
    let mut resources = serde_json::Map::new();
    for (id, resource) in full["Resources"].as_object().unwrap() {
        if id == "Table" || id.starts_with("Api") {
            resources.insert(id.clone(), resource.clone());
        }
    }
    let body = serde_json::json!({
        "Resources": resources,
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}, "ApiUrl": full["Outputs"]["ApiUrl"].clone()}
    })
    .to_string();
    let cfn = start().await;
    cfn.client
        .create_stack()
        .stack_name("food")
        .template_body(&body)
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    let statuses = cfn.wait("food").await;
    let events = cfn.events("food").await;
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| e.resource_status_reason())
        .collect();
    assert_eq!(statuses.last().unwrap(), "CREATE_COMPLETE", "{failures:?}");
    let stack = cfn
        .client
        .describe_stacks()
        .stack_name("food")
        .send()
        .await
        .unwrap()
        .stacks
        .unwrap()
        .remove(0);
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .unwrap()
            .output_value()
            .unwrap()
            .to_owned()
    };
    let api = output("ApiId");
    assert_eq!(
        output("ApiUrl"),
        format!("https://{api}.execute-api.us-east-1.amazonaws.com/v1/orders")
    );

    let path = format!("/restapis/{api}/v1/_user_request_/orders");
    let signed = [
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261130/us-east-1/execute-api/aws4_request",
        ),
        ("Content-Type", "application/json"),
    ];
    let order =
        r#"{"status": "Created", "restaurantId": "r-1", "customerId": "c-\"1\"", "total": 12.5}"#;
    let (status, answer) = http(cfn.engine.addr(), "POST", &path, &signed, order).await;
    assert_eq!(status, 200, "{answer}");
    let order_id = serde_json::from_str::<serde_json::Value>(&answer).unwrap()["orderId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(order_id.starts_with("ORDER#"));
    let dynamodb = dynamodb_client(&cfn.engine.endpoint_url());
    let items = dynamodb
        .scan()
        .table_name("food-ordering-orders")
        .send()
        .await
        .unwrap();
    let item = &items.items()[0];
    assert_eq!(item["pk"].as_s().unwrap(), &order_id);
    assert_eq!(item["customerId"].as_s().unwrap(), "c-\"1\"");
    assert_eq!(item["total"].as_n().unwrap(), "12.5");

    // The same stage by host name, as the ApiUrl output spells it.
    let host = format!("{api}.execute-api.us-east-1.amazonaws.com");
    let by_host = [signed[0], signed[1], ("Host", host.as_str())];
    let (status, _) = http(cfn.engine.addr(), "POST", "/v1/orders", &by_host[..], order).await;
    assert_eq!(status, 200);

    // A body the order model refuses is answered by API Gateway itself, with every
    // reason, and never reaches DynamoDB.
    for (body, reasons) in [
        (
            r#"{"status": "Created", "restaurantId": "r", "customerId": "c", "total": "lots"}"#,
            &[
                r#"instance type (string) does not match any allowed primitive type (allowed: [\"number\"])"#,
            ][..],
        ),
        (
            r#"{"status": "Created", "total": 3}"#,
            &[r#"object has missing required properties ([\"customerId\",\"restaurantId\"])"#],
        ),
        ("not json", &["Unable to parse JSON"]),
    ] {
        let (status, answer) = http(cfn.engine.addr(), "POST", &path, &signed, body).await;
        assert_eq!(status, 400, "{answer}");
        let refused: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(refused["error"], "BadRequestBody", "{answer}");
        for reason in reasons {
            assert!(
                answer.contains(reason),
                "{body}: the client is told which field and why: {answer}"
            );
        }
    }
    // A PutItem DynamoDB refuses maps to the 4xx integration response.
    let (status, answer) = http(
        cfn.engine.addr(),
        "POST",
        &path,
        &signed,
        r#"{"status": "Created", "restaurantId": "r", "customerId": "c", "total": 1e200}"#,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let rejected: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(rejected["message"], "order rejected", "{answer}");
    assert!(
        rejected["error"]
            .as_str()
            .is_some_and(|e| e.ends_with("Exception")),
        "the client is told why: {answer}"
    );
    assert!(
        rejected["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{answer}"
    );
    // PassthroughBehavior NEVER: no template for the content type is a 415.
    let (status, _) = http(
        cfn.engine.addr(),
        "POST",
        &path,
        &[signed[0], ("Content-Type", "text/plain")],
        "x",
    )
    .await;
    assert_eq!(status, 415);
    // AWS_IAM authorisation needs a signature.
    let (status, answer) = http(cfn.engine.addr(), "POST", &path, &[signed[1]], order).await;
    assert_eq!(
        (status, answer.as_str()),
        (403, r#"{"message":"Missing Authentication Token"}"#)
    );
    let (status, _) = http(
        cfn.engine.addr(),
        "POST",
        &format!("/restapis/{api}/v1/_user_request_/nope"),
        &signed,
        order,
    )
    .await;
    assert_eq!(status, 403);

    // Deleting the stack removes the API and keeps the retained table.
    cfn.client
        .delete_stack()
        .stack_name("food")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cfn.wait(stack.stack_id().unwrap()).await.last().unwrap(),
        "DELETE_COMPLETE"
    );
    let (status, _) = http(cfn.engine.addr(), "POST", &path, &signed, order).await;
    assert_eq!(status, 403);
    assert_eq!(
        dynamodb
            .scan()
            .table_name("food-ordering-orders")
            .send()
            .await
            .unwrap()
            .count(),
        2
    );
}

fn table_template(table_name: &str, retention: u32, broken_extra: bool) -> String {
    let mut resources = serde_json::json!({
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "TableName": table_name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]
            }
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": retention}}
    });
    if broken_extra {
        resources["Extra"] = serde_json::json!({
            "Type": "AWS::Logs::LogGroup",
            "DependsOn": "Logs",
            "Properties": {"RetentionInDays": 8}
        });
    }
    serde_json::json!({"Resources": resources}).to_string()
}

/// A rollback the engine stopped in its cleanup finishes when it starts again: what the
/// failed update created is deleted and the stack's record is the one before the update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rollback_cleanup_goes_on_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_on(dir.path()).await;
    first
        .client
        .create_stack()
        .stack_name("undo")
        .template_body(table_template("undo-v1", 7, false))
        .send()
        .await
        .unwrap();
    assert_eq!(first.wait("undo").await.last().unwrap(), "CREATE_COMPLETE");
    let mut failing: serde_json::Value =
        serde_json::from_str(&table_template("undo-v1", 7, true)).unwrap();
    failing["Resources"]["Added"] =
        serde_json::json!({"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}});
    failing["Resources"]["Extra"]["DependsOn"] = serde_json::json!(["Logs", "Added"]);
    first
        .client
        .update_stack()
        .stack_name("undo")
        .template_body(failing.to_string())
        .send()
        .await
        .unwrap();
    first
        .reach("undo", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        .await;
    first.engine.shutdown().await;

    let resumed = start_on(dir.path()).await;
    assert_eq!(
        resumed.wait("undo").await.last().unwrap(),
        "UPDATE_ROLLBACK_COMPLETE"
    );
    let added_deleted = resumed.events("undo").await.iter().any(|e| {
        e.logical_resource_id() == Some("Added")
            && e.resource_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE")
    });
    assert!(added_deleted, "what the failed update created is deleted");
    let mut ids: Vec<String> = resumed
        .client
        .list_stack_resources()
        .stack_name("undo")
        .send()
        .await
        .unwrap()
        .stack_resource_summaries
        .unwrap()
        .into_iter()
        .map(|r| r.logical_resource_id.unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["Logs", "Table"]);
}

/// A failed update rolls back to the previous template and values; a replaced table with
/// UpdateReplacePolicy Retain keeps the old copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_updates_roll_back_and_replacements_honour_retain() {
    let cfn = start().await;
    let dynamodb = dynamodb_client(&cfn.engine.endpoint_url());
    cfn.client
        .create_stack()
        .stack_name("rb")
        .template_body(table_template("rb-v1", 7, false))
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("rb").await.last().unwrap(), "CREATE_COMPLETE");

    cfn.client
        .update_stack()
        .stack_name("rb")
        .template_body(table_template("rb-v1", 14, true))
        .client_request_token("bad-update")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cfn.wait("rb").await.last().unwrap(),
        "UPDATE_ROLLBACK_COMPLETE"
    );
    let events = cfn.events("rb").await;
    let ours: Vec<(String, String)> = events
        .iter()
        .rev()
        .filter(|e| e.client_request_token() == Some("bad-update"))
        .map(|e| {
            (
                e.logical_resource_id().unwrap().to_owned(),
                e.resource_status().unwrap().as_str().to_owned(),
            )
        })
        .collect();
    let stack_statuses: Vec<&str> = ours
        .iter()
        .filter(|(id, _)| id == "rb")
        .map(|(_, s)| s.as_str())
        .collect();
    assert_eq!(
        stack_statuses,
        [
            "UPDATE_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE"
        ]
    );
    let extra_failed = events
        .iter()
        .find(|e| {
            e.logical_resource_id() == Some("Extra")
                && e.resource_status().unwrap().as_str() == "CREATE_FAILED"
        })
        .unwrap();
    assert!(
        extra_failed
            .resource_status_reason()
            .unwrap()
            .contains("RetentionInDays"),
        "{:?}",
        extra_failed.resource_status_reason()
    );
    let logs_updates = ours
        .iter()
        .filter(|(id, s)| id == "Logs" && s == "UPDATE_COMPLETE")
        .count();
    assert_eq!(logs_updates, 2, "updated, then reverted");
    let body = cfn
        .client
        .get_template()
        .stack_name("rb")
        .send()
        .await
        .unwrap()
        .template_body
        .unwrap();
    assert!(
        body.contains("\"RetentionInDays\":7") && !body.contains("Extra"),
        "{body}"
    );
    let resources = cfn
        .client
        .list_stack_resources()
        .stack_name("rb")
        .send()
        .await
        .unwrap();
    assert_eq!(resources.stack_resource_summaries().len(), 2);

    // An update from UPDATE_ROLLBACK_COMPLETE is allowed; renaming the table replaces it.
    let change_set = cfn
        .change_set(
            "rb",
            "rename",
            ChangeSetType::Update,
            &table_template("rb-v2", 7, false),
        )
        .await;
    assert_eq!(
        verdicts(change_set.changes()),
        [(
            "Table".to_owned(),
            "Modify".to_owned(),
            Some("True".to_owned())
        )]
    );
    cfn.client
        .execute_change_set()
        .change_set_name("rename")
        .stack_name("rb")
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("rb").await.last().unwrap(), "UPDATE_COMPLETE");
    let mut tables = dynamodb
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .to_vec();
    tables.sort();
    assert_eq!(tables, ["rb-v1", "rb-v2"], "the replaced table is retained");
    let events = cfn.events("rb").await;
    assert!(
        events
            .iter()
            .any(|e| e.physical_resource_id() == Some("rb-v1")
                && e.resource_status().unwrap().as_str() == "DELETE_SKIPPED")
    );
}

/// Every committed template deploys through the SDK (change set, execute, poll) and its
/// stack reaches CREATE_COMPLETE with every resource served by the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_templates_deploy() {
    let cfn = start().await;
    let dir = crate::support::repo().join("templates");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for (index, path) in paths.iter().enumerate() {
        let stack = format!("t{index}");
        let body = std::fs::read_to_string(path).unwrap();
        let described = cfn
            .change_set(&stack, "c", ChangeSetType::Create, &body)
            .await;
        assert_eq!(
            described.status().unwrap().as_str(),
            "CREATE_COMPLETE",
            "{}: {:?}",
            path.display(),
            described.status_reason()
        );
        cfn.client
            .execute_change_set()
            .change_set_name("c")
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let statuses = cfn.wait(&stack).await;
        let events = cfn.events(&stack).await;
        let reasons: Vec<String> = events
            .iter()
            .filter(|e| {
                e.resource_status()
                    .is_some_and(|s| s.as_str().ends_with("FAILED"))
            })
            .map(|e| {
                format!(
                    "{}: {}",
                    e.logical_resource_id().unwrap_or_default(),
                    e.resource_status_reason().unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            statuses.last().unwrap(),
            "CREATE_COMPLETE",
            "{}: {reasons:#?}",
            path.display()
        );
    }
}

/// boto3 and its waiters as an independent client (tests/python/cfn_conformance.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_cloudformation() {
    let python = crate::support::python();
    let cfn = start().await;
    let script = crate::support::repo().join("tests/python/cfn_conformance.py");
    let endpoint = cfn.engine.endpoint_url();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg(endpoint)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    expect_code(&output, 0);
}

/// A rule with an invalid event pattern fails with EventBridge's message and the stack
/// rolls back, the bus it created deleted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_event_pattern_rolls_back_with_eventbridges_reason() {
    let cfn = start().await;
    let body = serde_json::json!({
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "orders"}},
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": {"Fn::GetAtt": ["Bus", "Name"]},
                "EventPattern": {"source": []},
                "State": "ENABLED"
            }}
        }
    })
    .to_string();
    cfn.client
        .create_stack()
        .stack_name("pattern")
        .template_body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cfn.wait("pattern").await.last().unwrap(),
        "ROLLBACK_COMPLETE"
    );
    let events = cfn.events("pattern").await;
    let failed = events
        .iter()
        .find(|e| {
            e.logical_resource_id() == Some("Rule")
                && e.resource_status().unwrap().as_str() == "CREATE_FAILED"
        })
        .unwrap();
    let reason = failed.resource_status_reason().unwrap();
    assert!(
        reason.contains("Event pattern is not valid. Reason: Empty arrays are not allowed"),
        "{reason}"
    );
    let bus_deleted = events.iter().any(|e| {
        e.logical_resource_id() == Some("Bus")
            && e.resource_status().unwrap().as_str() == "DELETE_COMPLETE"
    });
    assert!(bus_deleted);
}

/// The aws CLI deploys every committed template; a PutItem then reaches the consumer
/// queue through pipe, bus and rule; a changed template redeploys only what changed; and
/// deleting the stack keeps the retained table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_deploys_every_committed_template_and_the_outbox_flows() {
    let aws = python_tool("aws");
    let cfn = start().await;
    let endpoint = cfn.engine.endpoint_url();
    let run = |args: Vec<String>| {
        let (aws, endpoint) = (aws.clone(), endpoint.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let mut command = std::process::Command::new(&aws);
                command.args(&args);
                local_aws_env(&mut command, &endpoint).env("AWS_DEFAULT_REGION", "us-east-1");
                command.output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let deploy = |stack: &str, path: &std::path::Path| {
        vec![
            "cloudformation".into(),
            "deploy".into(),
            "--stack-name".into(),
            stack.to_owned(),
            "--capabilities".into(),
            "CAPABILITY_IAM".into(),
            "--template-file".into(),
            path.display().to_string(),
        ]
    };
    let templates = crate::support::repo().join("templates");
    let mut paths: Vec<_> = std::fs::read_dir(&templates)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in &paths {
        let stack = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let output = run(deploy(&stack, path)).await;
        expect_code(&output, 0);
    }

    // The outbox flows: an item written to the minimal stack's table reaches its queue.
    let sdk = crate::support::sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    dynamodb_client(&endpoint)
        .put_item()
        .table_name("shop-orders")
        .set_item(Some(item(&[("pk", s("order-cli-1"))])))
        .send()
        .await
        .unwrap();
    let queue_url = sqs
        .get_queue_url()
        .queue_name("shop-consumer")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let mut body = String::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(message) = received.messages().first() {
            body = message.body().unwrap_or_default().to_owned();
            break;
        }
    }
    assert!(
        body.contains("order-cli-1"),
        "the consumer queue got the item: {body:?}"
    );

    // A changed template (the consumer queue's visibility timeout) changes only that queue.
    let minimal = templates.join("minimal.json");
    let mut template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&minimal).unwrap()).unwrap();
    let timeout = &mut template["Resources"]["ConsumerQueue"]["Properties"]["VisibilityTimeout"];
    *timeout = serde_json::json!(timeout.as_i64().unwrap_or(30) + 7);
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("minimal.json");
    std::fs::write(&changed, template.to_string()).unwrap();
    expect_code(&run(deploy("minimal", &changed)).await, 0);
    let events = cfn.events("minimal").await;
    let update_start = events
        .iter()
        .position(|e| {
            e.logical_resource_id() == Some("minimal")
                && e.resource_status().unwrap().as_str() == "UPDATE_IN_PROGRESS"
        })
        .unwrap();
    let touched: BTreeSet<&str> = events[..update_start]
        .iter()
        .filter_map(|e| e.logical_resource_id())
        .filter(|id| *id != "minimal")
        .collect();
    assert_eq!(touched, BTreeSet::from(["ConsumerQueue"]));
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    let expected =
        template["Resources"]["ConsumerQueue"]["Properties"]["VisibilityTimeout"].to_string();
    assert_eq!(
        attributes
            .attributes()
            .unwrap()
            .get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout),
        Some(&expected)
    );

    // Delete: the retained table (and its item) stays.
    expect_code(
        &run(vec![
            "cloudformation".into(),
            "delete-stack".into(),
            "--stack-name".into(),
            "minimal".into(),
        ])
        .await,
        0,
    );
    expect_code(
        &run(vec![
            "cloudformation".into(),
            "wait".into(),
            "stack-delete-complete".into(),
            "--stack-name".into(),
            "minimal".into(),
        ])
        .await,
        0,
    );
    let kept = dynamodb_client(&endpoint)
        .get_item()
        .table_name("shop-orders")
        .set_key(Some(item(&[("pk", s("order-cli-1"))])))
        .send()
        .await
        .unwrap();
    assert!(kept.item.is_some());
}

/// A table's global secondary index from the template is a real index of the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_secondary_indexes_deploy() {
    let cfn = start().await;
    let body =
        serde_json::json!({"Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": "indexed",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "status", "AttributeType": "S"}
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [{
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}
            }]
        }}}})
        .to_string();
    cfn.client
        .create_stack()
        .stack_name("indexed")
        .template_body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("indexed").await.last().unwrap(), "CREATE_COMPLETE");
    let dynamodb = dynamodb_client(&cfn.engine.endpoint_url());
    dynamodb
        .put_item()
        .table_name("indexed")
        .set_item(Some(item(&[("pk", s("o1")), ("status", s("NEW"))])))
        .send()
        .await
        .unwrap();
    let found = dynamodb
        .query()
        .table_name("indexed")
        .index_name("by-status")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("NEW"))
        .send()
        .await
        .unwrap();
    assert_eq!(found.count(), 1);
}

/// A template of one queue and one table, both tagged with `tags`.
fn tagged_template(tags: &[(&str, &str)]) -> String {
    let pipe_tags: serde_json::Map<String, serde_json::Value> = tags
        .iter()
        .map(|(key, value)| (key.to_string(), serde_json::json!(value)))
        .collect();
    let tags: Vec<serde_json::Value> = tags
        .iter()
        .map(|(key, value)| serde_json::json!({"Key": key, "Value": value}))
        .collect();
    serde_json::json!({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "tagged", "Tags": tags}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": "tagged",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "Tags": tags
        }},
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "tagged"}},
        "Pipe": {"Type": "AWS::Pipes::Pipe", "Properties": {
            "Name": "tagged",
            "RoleArn": "arn:aws:iam::000000000000:role/pipe",
            "Source": {"Fn::GetAtt": ["Table", "StreamArn"]},
            "SourceParameters": {"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10}},
            "Target": {"Fn::GetAtt": ["Bus", "Arn"]},
            // A pipe's Tags are a map, not a list of {Key, Value}.
            "Tags": pipe_tags
        }}
    }})
    .to_string()
}

/// Tags change in place, as on AWS: added, changed and removed on the queue, the table and
/// the pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_updates_apply_in_place() {
    let cfn = start().await;
    let endpoint = cfn.engine.endpoint_url();
    cfn.client
        .create_stack()
        .stack_name("tags")
        .template_body(tagged_template(&[("team", "a"), ("old", "x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("tags").await.last().unwrap(), "CREATE_COMPLETE");
    cfn.client
        .update_stack()
        .stack_name("tags")
        .template_body(tagged_template(&[("team", "b"), ("new", "y")]))
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("tags").await.last().unwrap(), "UPDATE_COMPLETE");

    let expected: std::collections::HashMap<String, String> = [("team", "b"), ("new", "y")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sqs = aws_sdk_sqs::Client::new(&crate::support::sdk_config(&endpoint).await);
    let queue_url = format!("{endpoint}/000000000000/tagged");
    let queue_tags = sqs
        .list_queue_tags()
        .queue_url(queue_url)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default();
    assert_eq!(queue_tags, expected);
    let table_tags: std::collections::HashMap<String, String> = dynamodb_client(&endpoint)
        .list_tags_of_resource()
        .resource_arn("arn:aws:dynamodb:us-east-1:000000000000:table/tagged")
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    assert_eq!(table_tags, expected);
    let pipe_tags = crate::local_pipes::pipes_client(&endpoint)
        .list_tags_for_resource()
        .resource_arn("arn:aws:pipes:us-east-1:000000000000:pipe/tagged")
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default();
    assert_eq!(pipe_tags, expected);
}

/// A table with a stream, a bus and a pipe between them; `shaped` adds a filter and an
/// input template.
fn pipe_template(shaped: bool) -> String {
    let mut pipe = serde_json::json!({
        "Name": "shaped",
        "RoleArn": "arn:aws:iam::000000000000:role/pipe",
        "Source": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "SourceParameters": {"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10}},
        "Target": {"Fn::GetAtt": ["Bus", "Arn"]},
        "TargetParameters": {"EventBridgeEventBusParameters": {"Source": "shop", "DetailType": "order"}}
    });
    if shaped {
        pipe["SourceParameters"]["FilterCriteria"] =
            serde_json::json!({"Filters": [{"Pattern": r#"{"eventName": ["INSERT"]}"#}]});
        pipe["TargetParameters"]["InputTemplate"] =
            serde_json::json!(r#"{"id": <$.dynamodb.Keys.pk.S>}"#);
    }
    serde_json::json!({"Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": "shaped",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"}
        }},
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "shaped"}},
        "Pipe": {"Type": "AWS::Pipes::Pipe", "Properties": pipe}
    }})
    .to_string()
}

/// A filter or input template the template no longer has is gone from the pipe after the
/// update (UpdatePipe alone would keep both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_removes_what_the_template_no_longer_has() {
    let cfn = start().await;
    let endpoint = cfn.engine.endpoint_url();
    cfn.client
        .create_stack()
        .stack_name("shaped")
        .template_body(pipe_template(true))
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("shaped").await.last().unwrap(), "CREATE_COMPLETE");
    let pipes = crate::local_pipes::pipes_client(&endpoint);
    let before = pipes.describe_pipe().name("shaped").send().await.unwrap();
    assert!(before.source_parameters.unwrap().filter_criteria.is_some());
    assert!(before.target_parameters.unwrap().input_template.is_some());

    cfn.client
        .update_stack()
        .stack_name("shaped")
        .template_body(pipe_template(false))
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("shaped").await.last().unwrap(), "UPDATE_COMPLETE");
    let after = pipes.describe_pipe().name("shaped").send().await.unwrap();
    assert_eq!(after.source_parameters.unwrap().filter_criteria, None);
    let target = after.target_parameters.unwrap();
    assert_eq!(target.input_template, None);
    assert_eq!(
        target
            .event_bridge_event_bus_parameters
            .unwrap()
            .detail_type
            .as_deref(),
        Some("order")
    );
}

/// An in-place change is journaled before it is made. An engine stopped after making it
/// and before recording it (here: the change made by hand while the engine waits, then
/// the engine stopped) rolls it back on restart, instead of leaving the queue changed
/// while the stack says the update was rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_place_change_stopped_midway_is_reverted_after_a_restart() {
    let queue = |timeout: u32| {
        serde_json::json!({
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": "midway", "VisibilityTimeout": timeout}}}
        })
        .to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let first = start_stepping(dir.path(), Duration::from_secs(3)).await;
    first
        .client
        .create_stack()
        .stack_name("midway")
        .template_body(queue(30))
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.wait("midway").await.last().unwrap(),
        "CREATE_COMPLETE"
    );
    first
        .client
        .update_stack()
        .stack_name("midway")
        .template_body(queue(90))
        .send()
        .await
        .unwrap();
    let started = async {
        loop {
            let changing = first.events("midway").await.iter().any(|e| {
                e.logical_resource_id() == Some("Queue")
                    && e.resource_status().map(|s| s.as_str()) == Some("UPDATE_IN_PROGRESS")
            });
            if changing {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), started)
        .await
        .expect("the queue's change starts");
    let sdk = crate::support::sdk_config(&first.engine.endpoint_url()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs
        .get_queue_url()
        .queue_name("midway")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "90",
        )
        .send()
        .await
        .unwrap();
    first.engine.shutdown().await;

    let resumed = start_on(dir.path()).await;
    assert_eq!(
        resumed.wait("midway").await.last().unwrap(),
        "UPDATE_ROLLBACK_COMPLETE"
    );
    let sdk = crate::support::sdk_config(&resumed.engine.endpoint_url()).await;
    let timeout = aws_sdk_sqs::Client::new(&sdk)
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout);
    assert_eq!(
        timeout.as_deref(),
        Some("30"),
        "the queue is as the stack says"
    );
}

/// A change the provider refuses (a table's global secondary indexes, which the engine
/// cannot change in place) fails the update, and the rollback completes: the refused
/// change is not "reverted", which would be refused in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_in_place_change_rolls_back_cleanly() {
    let table = |index: &str| {
        serde_json::json!({
            "Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
                "TableName": "refused",
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": index, "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "GlobalSecondaryIndexes": [{"IndexName": index,
                    "KeySchema": [{"AttributeName": index, "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"}}]}}}
        })
        .to_string()
    };
    let cfn = start().await;
    cfn.client
        .create_stack()
        .stack_name("refused")
        .template_body(table("byStatus"))
        .send()
        .await
        .unwrap();
    assert_eq!(cfn.wait("refused").await.last().unwrap(), "CREATE_COMPLETE");
    cfn.client
        .update_stack()
        .stack_name("refused")
        .template_body(table("byCustomer"))
        .send()
        .await
        .unwrap();
    let statuses = cfn.wait("refused").await;
    assert_eq!(
        statuses.last().unwrap(),
        "UPDATE_ROLLBACK_COMPLETE",
        "{statuses:?}"
    );
    let failed = cfn.events("refused").await.into_iter().any(|e| {
        e.logical_resource_id() == Some("Table")
            && e.resource_status().map(|s| s.as_str()) == Some("UPDATE_FAILED")
    });
    assert!(failed, "the table's change was refused");
}
