//! The DynamoDB table whose stream is the outbox. It is the one stateful resource, so
//! it is retained on stack deletion and replacement unless the blueprint opts out.

use serde_json::json;

use super::intrinsic::{get_att, reference, tag_list, with_tags};
use super::template::Template;
use crate::blueprint::{Billing, Blueprint, Encryption, logical, output};

pub fn render(bp: &Blueprint, t: &mut Template) {
    let table = &bp.table;
    let mut attributes = vec![
        json!({ "AttributeName": table.partition_key.name, "AttributeType": table.partition_key.kind.as_str() }),
    ];
    let mut key_schema =
        vec![json!({ "AttributeName": table.partition_key.name, "KeyType": "HASH" })];
    if let Some(sort) = &table.sort_key {
        attributes.push(json!({ "AttributeName": sort.name, "AttributeType": sort.kind.as_str() }));
        key_schema.push(json!({ "AttributeName": sort.name, "KeyType": "RANGE" }));
    }
    let sse = match &table.encryption {
        Encryption::AwsOwned => json!({ "SSEEnabled": false }),
        Encryption::AwsManaged => json!({ "SSEEnabled": true, "SSEType": "KMS" }),
        Encryption::CustomerManaged { kms_key_arn } => {
            json!({ "SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": kms_key_arn })
        }
    };
    let mut properties = json!({
        "TableName": bp.table_name(),
        "AttributeDefinitions": attributes,
        "KeySchema": key_schema,
        "BillingMode": match table.billing { Billing::OnDemand => "PAY_PER_REQUEST", Billing::Provisioned { .. } => "PROVISIONED" },
        "StreamSpecification": { "StreamViewType": table.stream_view.as_str() },
        "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": table.point_in_time_recovery },
        "SSESpecification": sse,
        "DeletionProtectionEnabled": table.deletion_protection,
    });
    let map = properties
        .as_object_mut()
        .expect("properties are an object");
    if let Billing::Provisioned { read, write } = table.billing {
        map.insert(
            "ProvisionedThroughput".into(),
            json!({ "ReadCapacityUnits": read, "WriteCapacityUnits": write }),
        );
    }
    if let Some(ttl) = &table.ttl_attribute {
        map.insert(
            "TimeToLiveSpecification".into(),
            json!({ "AttributeName": ttl, "Enabled": true }),
        );
    }
    // RetainExceptOnCreate keeps the table when the stack is deleted, like Retain, but not
    // when the stack's first create fails: a table kept then would make every retry fail
    // with "already exists". Replacement has no such variant.
    let (deletion, replacement) = if table.retain_on_delete {
        ("RetainExceptOnCreate", "Retain")
    } else {
        ("Delete", "Delete")
    };
    t.resource(
        logical::TABLE,
        json!({
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": deletion,
            "UpdateReplacePolicy": replacement,
            "Properties": with_tags(properties, tag_list(bp)),
        }),
    );
    t.output(
        output::TABLE_NAME,
        "Table the service writes orders to",
        reference(logical::TABLE),
    );
    t.output(
        output::TABLE_ARN,
        "ARN of the table",
        get_att(logical::TABLE, "Arn"),
    );
    t.output(
        output::STREAM_ARN,
        "ARN of the table's stream (the outbox)",
        get_att(logical::TABLE, "StreamArn"),
    );
}
