//! `AWS::DynamoDB::Table` on the engine's DynamoDB: key schema, secondary indexes,
//! billing, the stream (`StreamArn`), TTL, tags and deletion protection are applied; point-in-time recovery and SSE
//! are recorded in the stack only (the engine has no backups or keys).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{
    BoxFuture, ProviderContext, ProviderError, Provisioned, ResourceProvider, flag, tag_changes,
    tags,
};
use crate::local::dynamodb::error::DynamoError;
use crate::local::dynamodb::index::SecondaryIndex;
use crate::local::dynamodb::table::KeyAttribute;
use crate::local::dynamodb::{CreateTableInput, TableDescription, UpdateTableInput};

pub struct TableProvider;

const TYPE: &str = "AWS::DynamoDB::Table";

fn refused(err: DynamoError) -> ProviderError {
    let code = match err {
        DynamoError::ResourceInUse(_) => "AlreadyExists",
        DynamoError::ResourceNotFound(_) => "NotFound",
        _ => "InvalidRequest",
    };
    ProviderError::handler(err, code)
}

fn stream_view(properties: &Value) -> Option<String> {
    properties
        .pointer("/StreamSpecification/StreamViewType")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn ttl(properties: &Value) -> Option<String> {
    flag(properties, "/TimeToLiveSpecification/Enabled")
        .then(|| {
            properties
                .pointer("/TimeToLiveSpecification/AttributeName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten()
}

fn capacity(
    context: &ProviderContext,
    properties: &Value,
) -> Result<(String, i64, i64), ProviderError> {
    let mode = context
        .optional_string(properties, "BillingMode")?
        .unwrap_or_else(|| "PROVISIONED".to_owned());
    let units = |name: &str| {
        properties
            .pointer(&format!("/ProvisionedThroughput/{name}"))
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
    };
    match mode.as_str() {
        "PAY_PER_REQUEST" => Ok((mode, 0, 0)),
        "PROVISIONED" => match (units("ReadCapacityUnits"), units("WriteCapacityUnits")) {
            (Some(read), Some(write)) => Ok((mode, read, write)),
            _ => Err(ProviderError::handler(
                "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
                "InvalidRequest",
            )),
        },
        other => Err(ProviderError::property(
            &context.logical_id,
            format!("#/BillingMode: {other} is not a valid enum value"),
        )),
    }
}

fn table_attributes(description: &TableDescription) -> Provisioned {
    let mut attributes = Map::new();
    attributes.insert("Arn".into(), Value::String(description.meta.arn.clone()));
    if let Some(stream) = description.meta.enabled_stream() {
        attributes.insert("StreamArn".into(), Value::String(stream.arn.clone()));
    }
    Provisioned {
        physical_id: description.meta.name.clone(),
        attributes,
    }
}

fn key_schema(
    context: &ProviderContext,
    properties: &Value,
) -> Result<(String, Option<String>, Vec<KeyAttribute>), ProviderError> {
    let schema = context
        .required(properties, "KeySchema")?
        .as_array()
        .ok_or_else(|| {
            ProviderError::property(&context.logical_id, "#/KeySchema: expected type: JSONArray")
        })?;
    let mut hash = None;
    let mut range = None;
    for element in schema {
        let name = element.get("AttributeName").and_then(Value::as_str);
        match (name, element.get("KeyType").and_then(Value::as_str)) {
            (Some(name), Some("HASH")) => hash = Some(name.to_owned()),
            (Some(name), Some("RANGE")) => range = Some(name.to_owned()),
            _ => {
                return Err(ProviderError::property(
                    &context.logical_id,
                    "#/KeySchema: each element needs AttributeName and KeyType HASH or RANGE",
                ));
            }
        }
    }
    let hash = hash.ok_or_else(|| {
        ProviderError::handler(
            "One or more parameter values were invalid: Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
            "InvalidRequest",
        )
    })?;
    let definitions = properties
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| {
            match (
                d.get("AttributeName").and_then(Value::as_str),
                d.get("AttributeType").and_then(Value::as_str),
            ) {
                (Some(name), Some(kind)) => Ok(KeyAttribute {
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                }),
                _ => Err(ProviderError::property(
                    &context.logical_id,
                    "#/AttributeDefinitions: each element needs AttributeName and AttributeType",
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((hash, range, definitions))
}

/// `GlobalSecondaryIndexes` and `LocalSecondaryIndexes` as the engine's indexes.
fn secondary_indexes(
    context: &ProviderContext,
    properties: &Value,
    definitions: &[KeyAttribute],
) -> Result<Vec<SecondaryIndex>, ProviderError> {
    let mut indexes = Vec::new();
    for (section, global) in [
        ("GlobalSecondaryIndexes", true),
        ("LocalSecondaryIndexes", false),
    ] {
        for index in properties
            .get(section)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = index
                .get("IndexName")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ProviderError::property(
                        &context.logical_id,
                        format!("#/{section}: required key [IndexName] not found"),
                    )
                })?;
            let (hash, range, _) = key_schema(context, index)?;
            let defined = |attribute: &str| {
                definitions.iter().find(|d| d.name == attribute).cloned().ok_or_else(|| {
                    ProviderError::handler(
                        format!("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{attribute}], AttributeDefinitions: [{}]", definitions.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")),
                        "InvalidRequest",
                    )
                })
            };
            let units = |name: &str| {
                index
                    .pointer(&format!("/ProvisionedThroughput/{name}"))
                    .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
                    .unwrap_or(0)
            };
            indexes.push(SecondaryIndex {
                name: name.to_owned(),
                global,
                hash_key: defined(&hash)?,
                range_key: range.as_deref().map(defined).transpose()?,
                projection: index
                    .pointer("/Projection/ProjectionType")
                    .and_then(Value::as_str)
                    .unwrap_or("ALL")
                    .to_owned(),
                non_key_attributes: index
                    .pointer("/Projection/NonKeyAttributes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                read_capacity: units("ReadCapacityUnits"),
                write_capacity: units("WriteCapacityUnits"),
            });
        }
    }
    Ok(indexes)
}

impl ResourceProvider for TableProvider {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replacement_properties(&self) -> &'static [&'static str] {
        &[
            "TableName",
            "KeySchema",
            "LocalSecondaryIndexes",
            "ImportSourceSpecification",
        ]
    }

    fn attributes(&self) -> &'static [&'static str] {
        &["Arn", "StreamArn"]
    }

    fn volatile_attributes(&self) -> &'static [&'static str] {
        // A new stream specification gives a new stream ARN.
        &["StreamArn"]
    }

    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("TableName").and_then(Value::as_str)
    }

    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            if properties.get("ImportSourceSpecification").is_some() {
                return Err(ProviderError::handler(
                    "the local engine's DynamoDB does not import from S3; remove ImportSourceSpecification to deploy locally",
                    "InvalidRequest",
                ));
            }
            let name = match context.optional_string(properties, "TableName")? {
                Some(name) => name,
                None => context.generated_name(255),
            };
            let (hash_key, range_key, attribute_definitions) = key_schema(context, properties)?;
            let (billing_mode, read_capacity, write_capacity) = capacity(context, properties)?;
            let indexes = secondary_indexes(context, properties, &attribute_definitions)?;
            let table = &context.services.dynamodb;
            let created = table
                .create_table_with_indexes(
                    CreateTableInput {
                        name: name.clone(),
                        hash_key,
                        range_key,
                        attribute_definitions,
                        billing_mode,
                        read_capacity,
                        write_capacity,
                        stream_view_type: stream_view(properties),
                        deletion_protection: flag(properties, "/DeletionProtectionEnabled"),
                        tags: tags(properties),
                    },
                    indexes,
                )
                .await
                .map_err(refused)?;
            if let Some(attribute) = ttl(properties) {
                table
                    .update_time_to_live(name.clone(), attribute, true)
                    .await
                    .map_err(refused)?;
            }
            Ok(table_attributes(&created))
        })
    }

    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            if old.get("GlobalSecondaryIndexes") != new.get("GlobalSecondaryIndexes") {
                return Err(ProviderError::handler(
                    "the local engine cannot add, change or remove global secondary indexes of an existing table; replace the table (rename it) instead",
                    "InvalidRequest",
                ));
            }
            let table = &context.services.dynamodb;
            let name = current.physical_id.clone();
            let (old_view, new_view) = (stream_view(old), stream_view(new));
            if old_view != new_view && old_view.is_some() {
                table
                    .update_table(UpdateTableInput {
                        name: name.clone(),
                        stream: Some(None),
                        ..UpdateTableInput::default()
                    })
                    .await
                    .map_err(refused)?;
            }
            let (billing_mode, read, write) = capacity(context, new)?;
            let updated = table
                .update_table(UpdateTableInput {
                    name: name.clone(),
                    stream: (old_view != new_view && new_view.is_some()).then(|| new_view.clone()),
                    billing_mode: Some(billing_mode),
                    capacity: Some((read, write)),
                    deletion_protection: Some(flag(new, "/DeletionProtectionEnabled")),
                })
                .await
                .map_err(refused)?;
            let (old_ttl, new_ttl) = (ttl(old), ttl(new));
            if old_ttl != new_ttl {
                if let Some(attribute) = old_ttl {
                    table
                        .update_time_to_live(name.clone(), attribute, false)
                        .await
                        .map_err(refused)?;
                }
                if let Some(attribute) = new_ttl {
                    table
                        .update_time_to_live(name.clone(), attribute, true)
                        .await
                        .map_err(refused)?;
                }
            }
            let changes = tag_changes(old, new);
            if !changes.is_empty() {
                let (mut add, mut remove) = (BTreeMap::new(), Vec::new());
                for (key, value) in changes {
                    match value {
                        Some(value) => {
                            add.insert(key, value);
                        }
                        None => remove.push(key),
                    }
                }
                table
                    .change_tags(updated.meta.arn.clone(), add, remove)
                    .await
                    .map_err(refused)?;
            }
            Ok(table_attributes(&updated))
        })
    }

    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            match context
                .services
                .dynamodb
                .delete_table(current.physical_id.clone())
                .await
            {
                Ok(_) | Err(DynamoError::ResourceNotFound(_)) => Ok(()),
                Err(err) => Err(refused(err)),
            }
        })
    }
}
