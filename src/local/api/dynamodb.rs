//! DynamoDB's JSON 1.0 actions: one thin function per action that parses the request,
//! calls [`crate::local::dynamodb::DynamoDb`] and serialises the answer as AWS does.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use md5::Digest as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::json_protocol::{RequestError, ServiceError};
use crate::local::EngineState;
use crate::local::dynamodb::attribute_value::{Item, item_from_json, item_to_json};
use crate::local::dynamodb::error::DynamoError;
use crate::local::dynamodb::expression::{
    Condition, Path, Placeholders, Update, parse_condition, parse_projection, parse_update,
};
use crate::local::dynamodb::index::SecondaryIndex;
use crate::local::dynamodb::table::KeyAttribute;
use crate::local::dynamodb::write::{ItemWrite, WriteOp};
use crate::local::dynamodb::{
    CreateTableInput, IdempotencyToken, QueryInput, ReturnValues, ScanInput, Select,
    TableDescription, UpdateTableInput, check_tags,
};

const NAMESPACE: &str = "com.amazonaws.dynamodb.v20120810";

impl From<DynamoError> for ServiceError {
    fn from(error: DynamoError) -> ServiceError {
        let type_name = match &error {
            DynamoError::Validation(_) => {
                "com.amazon.coral.validate#ValidationException".to_owned()
            }
            other => format!("{NAMESPACE}#{}", other.shape()),
        };
        let status = match &error {
            DynamoError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut service_error = ServiceError::new(status, type_name, error.to_string());
        match error {
            DynamoError::ConditionalCheckFailed { item: Some(item) } => {
                service_error.fields.push(("Item", item_to_json(&item)));
            }
            DynamoError::TransactionCanceled { reasons } => {
                service_error.message_key = "Message";
                let reasons: Vec<Value> = reasons
                    .into_iter()
                    .map(|reason| {
                        let mut out = Map::new();
                        out.insert("Code".into(), json!(reason.code));
                        if let Some(message) = reason.message {
                            out.insert("Message".into(), json!(message));
                        }
                        if let Some(item) = reason.item {
                            out.insert("Item".into(), item_to_json(&item));
                        }
                        Value::Object(out)
                    })
                    .collect();
                service_error
                    .fields
                    .push(("CancellationReasons", Value::Array(reasons)));
            }
            _ => {}
        }
        service_error
    }
}

type ActionResult = Result<Value, ServiceError>;

/// Read an action's input (DynamoDB and DynamoDB Streams); a missing required member is a ValidationException, as on AWS.
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    super::json_protocol::parse_request(body).map_err(|e: RequestError| {
        e.into_service_error("com.amazon.coral.validate#ValidationException")
    })
}

pub async fn dispatch(state: &EngineState, action: &str, body: &[u8]) -> ActionResult {
    match action {
        "CreateTable" => create_table(state, parse(body)?).await,
        "DescribeTable" => describe_table(state, parse(body)?).await,
        "ListTables" => list_tables(state, parse(body)?).await,
        "UpdateTable" => update_table(state, parse(body)?).await,
        "DeleteTable" => delete_table(state, parse(body)?).await,
        "PutItem" => put_item(state, parse(body)?).await,
        "GetItem" => get_item(state, parse(body)?).await,
        "UpdateItem" => update_item(state, parse(body)?).await,
        "DeleteItem" => delete_item(state, parse(body)?).await,
        "BatchWriteItem" => batch_write_item(state, parse(body)?).await,
        "BatchGetItem" => batch_get_item(state, parse(body)?).await,
        "TransactGetItems" => transact_get_items(state, parse(body)?).await,
        "TransactWriteItems" => transact_write_items(state, parse(body)?, body).await,
        "Query" => query(state, parse(body)?).await,
        "Scan" => scan(state, parse(body)?).await,
        "TagResource" => tag_resource(state, parse(body)?).await,
        "UntagResource" => untag_resource(state, parse(body)?).await,
        "ListTagsOfResource" => list_tags_of_resource(state, parse(body)?).await,
        "UpdateTimeToLive" => update_time_to_live(state, parse(body)?).await,
        "DescribeTimeToLive" => describe_time_to_live(state, parse(body)?).await,
        other => Err(ServiceError::unknown_operation(&format!(
            "DynamoDB_20120810.{other}"
        ))),
    }
}

// ---- shared request parts ----

/// `ExpressionAttributeNames` and `ExpressionAttributeValues`, present on most actions.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExpressionParams {
    expression_attribute_names: Option<BTreeMap<String, String>>,
    expression_attribute_values: Option<Value>,
}

impl ExpressionParams {
    fn placeholders(&self) -> Result<Placeholders, DynamoError> {
        let names = self.expression_attribute_names.clone().unwrap_or_default();
        if self.expression_attribute_names.is_some() && names.is_empty() {
            return Err(DynamoError::validation(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        if let Some(bad) = names.keys().find(|k| !k.starts_with('#') || k.len() < 2) {
            return Err(DynamoError::validation(format!(
                "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        let values = match &self.expression_attribute_values {
            Some(values) => {
                let values = item_from_json(values)?;
                if values.is_empty() {
                    return Err(DynamoError::validation(
                        "ExpressionAttributeValues must not be empty",
                    ));
                }
                values
            }
            None => Item::new(),
        };
        if let Some(bad) = values.keys().find(|k| !k.starts_with(':') || k.len() < 2) {
            return Err(DynamoError::validation(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        Ok(Placeholders::new(names, values))
    }
}

fn optional_condition(
    text: Option<&str>,
    kind: &'static str,
    placeholders: &mut Placeholders,
) -> Result<Option<Condition>, DynamoError> {
    text.map(|t| parse_condition(t, kind, placeholders))
        .transpose()
}

fn optional_projection(
    text: Option<&str>,
    placeholders: &mut Placeholders,
) -> Result<Option<Vec<Path>>, DynamoError> {
    text.map(|t| parse_projection(t, placeholders)).transpose()
}

/// The pre-expression parameters (Expected, AttributeUpdates, …) are not served.
fn reject_legacy(fields: &[(&str, bool)]) -> Result<(), DynamoError> {
    if let Some((name, _)) = fields.iter().find(|(_, present)| *present) {
        return Err(DynamoError::validation(format!(
            "The legacy parameter {name} is not supported by the local engine; use the expression parameters instead (ConditionExpression, UpdateExpression, KeyConditionExpression, FilterExpression, ProjectionExpression)"
        )));
    }
    Ok(())
}

fn on_failure(text: Option<&str>) -> Result<bool, DynamoError> {
    match text.unwrap_or("NONE") {
        "NONE" => Ok(false),
        "ALL_OLD" => Ok(true),
        other => Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        ))),
    }
}

fn attributes(item: Option<Item>) -> Value {
    match item {
        Some(item) => json!({"Attributes": item_to_json(&item)}),
        None => json!({}),
    }
}

// ---- tables ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeySchemaElement {
    attribute_name: String,
    key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinition {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Throughput {
    read_capacity_units: i64,
    write_capacity_units: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamSpecification {
    stream_enabled: bool,
    stream_view_type: Option<String>,
}

impl StreamSpecification {
    /// `Some(view)` to enable, `None` to disable.
    fn view(&self) -> Result<Option<String>, DynamoError> {
        match (self.stream_enabled, &self.stream_view_type) {
            (true, Some(view)) => Ok(Some(view.clone())),
            (true, None) => Err(DynamoError::validation(
                "One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true",
            )),
            (false, _) => Ok(None),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTableRequest {
    table_name: String,
    key_schema: Vec<KeySchemaElement>,
    attribute_definitions: Vec<AttributeDefinition>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    stream_specification: Option<StreamSpecification>,
    deletion_protection_enabled: Option<bool>,
    global_secondary_indexes: Option<Vec<IndexDefinition>>,
    local_secondary_indexes: Option<Vec<IndexDefinition>>,
    tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexDefinition {
    index_name: String,
    key_schema: Vec<KeySchemaElement>,
    projection: ProjectionDefinition,
    provisioned_throughput: Option<Throughput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionDefinition {
    projection_type: Option<String>,
    non_key_attributes: Option<Vec<String>>,
}

/// Split a KeySchema into its HASH and optional RANGE attribute names.
fn hash_and_range(
    schema: &[KeySchemaElement],
    what: &str,
) -> Result<(String, Option<String>), DynamoError> {
    let names = |kind: &str| {
        schema
            .iter()
            .filter(|k| k.key_type == kind)
            .map(|k| k.attribute_name.clone())
            .collect::<Vec<_>>()
    };
    let (hashes, ranges) = (names("HASH"), names("RANGE"));
    if hashes.len() != 1 || ranges.len() > 1 || hashes.len() + ranges.len() != schema.len() {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: {what} KeySchema must have exactly one HASH element and at most one RANGE element (KeyType HASH or RANGE)"
        )));
    }
    Ok((hashes[0].clone(), ranges.first().cloned()))
}

fn secondary_index(
    definition: IndexDefinition,
    global: bool,
    attributes: &[KeyAttribute],
    billing_mode: &str,
) -> Result<SecondaryIndex, DynamoError> {
    let (hash, range) = hash_and_range(
        &definition.key_schema,
        &format!("index {}", definition.index_name),
    )?;
    let defined = |name: &str| -> Result<KeyAttribute, DynamoError> {
        attributes.iter().find(|a| a.name == name).cloned().ok_or_else(|| {
            DynamoError::validation(format!(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{name}], AttributeDefinitions: [{}]",
                attributes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })
    };
    let (read_capacity, write_capacity) = match (
        global,
        billing_mode,
        &definition.provisioned_throughput,
    ) {
        (true, "PROVISIONED", Some(t)) => (t.read_capacity_units, t.write_capacity_units),
        (true, "PROVISIONED", None) => {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {}",
                definition.index_name
            )));
        }
        _ => (0, 0),
    };
    Ok(SecondaryIndex {
        hash_key: defined(&hash)?,
        range_key: range.as_deref().map(defined).transpose()?,
        name: definition.index_name,
        global,
        projection: definition
            .projection
            .projection_type
            .unwrap_or_else(|| "ALL".into()),
        non_key_attributes: definition.projection.non_key_attributes.unwrap_or_default(),
        read_capacity,
        write_capacity,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

fn tag_map(tags: Option<Vec<Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

fn billing(
    mode: Option<&str>,
    throughput: Option<&Throughput>,
) -> Result<(String, i64, i64), DynamoError> {
    match (mode.unwrap_or("PROVISIONED"), throughput) {
        ("PROVISIONED", Some(t)) => Ok((
            "PROVISIONED".into(),
            t.read_capacity_units,
            t.write_capacity_units,
        )),
        ("PROVISIONED", None) => Err(DynamoError::validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        ("PAY_PER_REQUEST", None) => Ok(("PAY_PER_REQUEST".into(), 0, 0)),
        ("PAY_PER_REQUEST", Some(_)) => Err(DynamoError::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (other, _) => Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        ))),
    }
}

async fn create_table(state: &EngineState, request: CreateTableRequest) -> ActionResult {
    let (hash_key, range_key) = hash_and_range(&request.key_schema, "table")?;
    let (billing_mode, read_capacity, write_capacity) = billing(
        request.billing_mode.as_deref(),
        request.provisioned_throughput.as_ref(),
    )?;
    let attribute_definitions: Vec<KeyAttribute> = request
        .attribute_definitions
        .into_iter()
        .map(|a| KeyAttribute {
            name: a.attribute_name,
            kind: a.attribute_type,
        })
        .collect();
    let globals = request
        .global_secondary_indexes
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d, true));
    let locals = request
        .local_secondary_indexes
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d, false));
    let indexes: Vec<SecondaryIndex> = globals
        .chain(locals)
        .map(|(definition, global)| {
            secondary_index(definition, global, &attribute_definitions, &billing_mode)
        })
        .collect::<Result<_, _>>()?;
    let description = state
        .dynamodb
        .create_table_with_indexes(
            CreateTableInput {
                name: request.table_name,
                hash_key,
                range_key,
                attribute_definitions,
                billing_mode,
                read_capacity,
                write_capacity,
                stream_view_type: request
                    .stream_specification
                    .as_ref()
                    .map(StreamSpecification::view)
                    .transpose()?
                    .flatten(),
                deletion_protection: request.deletion_protection_enabled.unwrap_or(false),
                tags: {
                    let tags = tag_map(request.tags);
                    check_tags(&tags)?;
                    tags
                },
            },
            indexes,
        )
        .await?;
    Ok(json!({"TableDescription": table_description(&description)}))
}

fn table_description(description: &TableDescription) -> Value {
    let meta = &description.meta;
    let mut out = json!({
        "AttributeDefinitions": meta.attribute_definitions.iter().map(|a| json!({"AttributeName": a.name, "AttributeType": a.kind})).collect::<Vec<_>>(),
        "TableName": meta.name,
        "KeySchema": meta.key_schema_json(),
        "TableStatus": description.status,
        "CreationDateTime": meta.created_ms as f64 / 1000.0,
        "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": meta.read_capacity, "WriteCapacityUnits": meta.write_capacity},
        "TableSizeBytes": description.size_bytes,
        "ItemCount": description.item_count,
        "TableArn": meta.arn,
        "TableId": meta.id,
        "BillingModeSummary": {"BillingMode": meta.billing_mode},
        "DeletionProtectionEnabled": meta.deletion_protection,
    });
    for global in [true, false] {
        let indexes: Vec<Value> = meta
            .indexes
            .iter()
            .filter(|i| i.global == global)
            .map(|index| {
                let mut projection = json!({"ProjectionType": index.projection});
                if !index.non_key_attributes.is_empty() {
                    projection["NonKeyAttributes"] = json!(index.non_key_attributes);
                }
                let mut description = json!({
                    "IndexName": index.name,
                    "KeySchema": index.key_schema_json(),
                    "Projection": projection,
                    "IndexSizeBytes": 0,
                    "ItemCount": 0,
                    "IndexArn": format!("{}/index/{}", meta.arn, index.name),
                });
                if global {
                    description["IndexStatus"] = json!("ACTIVE");
                    description["ProvisionedThroughput"] = json!({
                        "NumberOfDecreasesToday": 0,
                        "ReadCapacityUnits": index.read_capacity,
                        "WriteCapacityUnits": index.write_capacity,
                    });
                }
                description
            })
            .collect();
        if let (false, Some(map)) = (indexes.is_empty(), out.as_object_mut()) {
            let key = if global {
                "GlobalSecondaryIndexes"
            } else {
                "LocalSecondaryIndexes"
            };
            map.insert(key.into(), Value::Array(indexes));
        }
    }
    if let (Some(stream), Some(map)) = (&meta.stream, out.as_object_mut()) {
        let spec = if stream.enabled {
            json!({"StreamEnabled": true, "StreamViewType": stream.view_type})
        } else {
            json!({"StreamEnabled": false})
        };
        map.insert("StreamSpecification".into(), spec);
        map.insert("LatestStreamLabel".into(), json!(stream.label));
        map.insert("LatestStreamArn".into(), json!(stream.arn));
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableNameRequest {
    table_name: String,
}

async fn describe_table(state: &EngineState, request: TableNameRequest) -> ActionResult {
    let description = state.dynamodb.describe_table(request.table_name).await?;
    Ok(json!({"Table": table_description(&description)}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTablesRequest {
    exclusive_start_table_name: Option<String>,
    limit: Option<usize>,
}

async fn list_tables(state: &EngineState, request: ListTablesRequest) -> ActionResult {
    let (names, last) = state
        .dynamodb
        .list_tables(
            request.exclusive_start_table_name,
            request.limit.unwrap_or(100),
        )
        .await?;
    let mut out = json!({"TableNames": names});
    if let (Some(last), Some(map)) = (last, out.as_object_mut()) {
        map.insert("LastEvaluatedTableName".into(), json!(last));
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateTableRequest {
    table_name: String,
    stream_specification: Option<StreamSpecification>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    deletion_protection_enabled: Option<bool>,
    global_secondary_index_updates: Option<Value>,
}

async fn update_table(state: &EngineState, request: UpdateTableRequest) -> ActionResult {
    if request.global_secondary_index_updates.is_some() {
        return Err(DynamoError::validation(
            "Adding, updating or deleting secondary indexes with UpdateTable is not supported by the local engine; recreate the table with its indexes (or run `outboxctl local reset`)",
        )
        .into());
    }
    let (billing_mode, capacity) = match (&request.billing_mode, &request.provisioned_throughput) {
        (None, None) => (None, None),
        (mode, throughput) => {
            let (mode, read, write) = billing(mode.as_deref(), throughput.as_ref())?;
            (Some(mode), Some((read, write)))
        }
    };
    let description = state
        .dynamodb
        .update_table(UpdateTableInput {
            name: request.table_name,
            stream: request
                .stream_specification
                .as_ref()
                .map(StreamSpecification::view)
                .transpose()?,
            billing_mode,
            capacity,
            deletion_protection: request.deletion_protection_enabled,
        })
        .await?;
    let description = state
        .dynamodb
        .describe_table(description.meta.name.clone())
        .await
        .unwrap_or(description);
    Ok(json!({"TableDescription": table_description(&description)}))
}

async fn delete_table(state: &EngineState, request: TableNameRequest) -> ActionResult {
    let description = state.dynamodb.delete_table(request.table_name).await?;
    Ok(json!({"TableDescription": table_description(&description)}))
}

// ---- single items ----

/// The members PutItem, UpdateItem and DeleteItem share.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteParams {
    condition_expression: Option<String>,
    #[serde(flatten)]
    expressions: ExpressionParams,
    return_values: Option<String>,
    return_values_on_condition_check_failure: Option<String>,
    expected: Option<Value>,
}

/// Parse the expressions of one item write, build its operation and run it.
async fn single_write(
    state: &EngineState,
    table: String,
    params: WriteParams,
    update_expression: Option<&str>,
    operation: impl FnOnce(Option<Update>) -> Result<WriteOp, DynamoError>,
) -> ActionResult {
    reject_legacy(&[("Expected", params.expected.is_some())])?;
    let mut placeholders = params.expressions.placeholders()?;
    let update = update_expression
        .map(|u| parse_update(u, &mut placeholders))
        .transpose()?;
    let condition = optional_condition(
        params.condition_expression.as_deref(),
        "ConditionExpression",
        &mut placeholders,
    )?;
    placeholders.check_all_used()?;
    let write = ItemWrite {
        table,
        op: operation(update)?,
        condition,
        return_old_on_failure: on_failure(
            params.return_values_on_condition_check_failure.as_deref(),
        )?,
    };
    let return_values = ReturnValues::parse(params.return_values.as_deref())?;
    Ok(attributes(
        state.dynamodb.write_item(write, return_values).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutItemRequest {
    table_name: String,
    item: Value,
    #[serde(flatten)]
    params: WriteParams,
}

async fn put_item(state: &EngineState, request: PutItemRequest) -> ActionResult {
    let item = item_from_json(&request.item)?;
    single_write(state, request.table_name, request.params, None, |_| {
        Ok(WriteOp::Put { item })
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetItemRequest {
    table_name: String,
    key: Value,
    projection_expression: Option<String>,
    #[serde(flatten)]
    expressions: ExpressionParams,
    attributes_to_get: Option<Value>,
}

async fn get_item(state: &EngineState, request: GetItemRequest) -> ActionResult {
    reject_legacy(&[("AttributesToGet", request.attributes_to_get.is_some())])?;
    let mut placeholders = request.expressions.placeholders()?;
    let projection =
        optional_projection(request.projection_expression.as_deref(), &mut placeholders)?;
    placeholders.check_all_used()?;
    let item = state
        .dynamodb
        .get_item(
            request.table_name,
            item_from_json(&request.key)?,
            projection,
        )
        .await?;
    Ok(match item {
        Some(item) => json!({"Item": item_to_json(&item)}),
        None => json!({}),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateItemRequest {
    table_name: String,
    key: Value,
    update_expression: Option<String>,
    attribute_updates: Option<Value>,
    #[serde(flatten)]
    params: WriteParams,
}

async fn update_item(state: &EngineState, request: UpdateItemRequest) -> ActionResult {
    reject_legacy(&[("AttributeUpdates", request.attribute_updates.is_some())])?;
    let key = item_from_json(&request.key)?;
    single_write(
        state,
        request.table_name,
        request.params,
        request.update_expression.as_deref(),
        |update| Ok(WriteOp::Update { key, update }),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteItemRequest {
    table_name: String,
    key: Value,
    #[serde(flatten)]
    params: WriteParams,
}

async fn delete_item(state: &EngineState, request: DeleteItemRequest) -> ActionResult {
    let key = item_from_json(&request.key)?;
    single_write(state, request.table_name, request.params, None, |_| {
        Ok(WriteOp::Delete { key })
    })
    .await
}

// ---- batches and transactions ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchWriteRequest {
    request_items: BTreeMap<String, Vec<WriteRequest>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteRequest {
    put_request: Option<ItemHolder>,
    delete_request: Option<KeyHolder>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ItemHolder {
    item: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyHolder {
    key: Value,
}

async fn batch_write_item(state: &EngineState, request: BatchWriteRequest) -> ActionResult {
    let mut writes = Vec::new();
    for (table, requests) in request.request_items {
        for write in requests {
            let op = match (write.put_request, write.delete_request) {
                (Some(put), None) => WriteOp::Put {
                    item: item_from_json(&put.item)?,
                },
                (None, Some(delete)) => WriteOp::Delete {
                    key: item_from_json(&delete.key)?,
                },
                _ => {
                    return Err(DynamoError::validation(
                        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes: each WriteRequest needs exactly one of PutRequest or DeleteRequest",
                    )
                    .into());
                }
            };
            writes.push(ItemWrite {
                table: table.clone(),
                op,
                condition: None,
                return_old_on_failure: false,
            });
        }
    }
    state.dynamodb.batch_write(writes).await?;
    Ok(json!({"UnprocessedItems": {}}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGetRequest {
    request_items: BTreeMap<String, KeysAndAttributes>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeysAndAttributes {
    keys: Vec<Value>,
    projection_expression: Option<String>,
    #[serde(flatten)]
    expressions: ExpressionParams,
    attributes_to_get: Option<Value>,
}

async fn batch_get_item(state: &EngineState, request: BatchGetRequest) -> ActionResult {
    let mut requests = Vec::new();
    for (table, keys) in request.request_items {
        reject_legacy(&[("AttributesToGet", keys.attributes_to_get.is_some())])?;
        let mut placeholders = keys.expressions.placeholders()?;
        let projection =
            optional_projection(keys.projection_expression.as_deref(), &mut placeholders)?;
        placeholders.check_all_used()?;
        let parsed: Vec<Item> = keys
            .keys
            .iter()
            .map(item_from_json)
            .collect::<Result<_, _>>()?;
        requests.push((table, parsed, projection));
    }
    let responses = state.dynamodb.batch_get(requests).await?;
    let responses: Map<String, Value> = responses
        .into_iter()
        .map(|(table, items)| {
            (
                table,
                Value::Array(items.iter().map(item_to_json).collect()),
            )
        })
        .collect();
    Ok(json!({"Responses": responses, "UnprocessedKeys": {}}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactWriteRequest {
    transact_items: Vec<TransactItem>,
    client_request_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactItem {
    condition_check: Option<TransactMember>,
    put: Option<TransactMember>,
    update: Option<TransactMember>,
    delete: Option<TransactMember>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactMember {
    table_name: String,
    item: Option<Value>,
    key: Option<Value>,
    update_expression: Option<String>,
    condition_expression: Option<String>,
    #[serde(flatten)]
    expressions: ExpressionParams,
    return_values_on_condition_check_failure: Option<String>,
}

fn transact_member(item: TransactItem) -> Result<ItemWrite, DynamoError> {
    let required = |v: Option<Value>, name: &str| {
        v.ok_or_else(|| {
            DynamoError::validation(format!(
                "1 validation error detected: {name} is required in this TransactItem"
            ))
        })
    };
    let members = [
        ("ConditionCheck", item.condition_check),
        ("Put", item.put),
        ("Update", item.update),
        ("Delete", item.delete),
    ];
    let mut present = members
        .into_iter()
        .filter_map(|(kind, m)| m.map(|m| (kind, m)));
    let (Some((kind, member)), None) = (present.next(), present.next()) else {
        return Err(DynamoError::validation(
            "TransactItems can only contain one of Check, Put, Update or Delete",
        ));
    };
    let mut placeholders = member.expressions.placeholders()?;
    let op = match kind {
        "Put" => WriteOp::Put {
            item: item_from_json(&required(member.item, "Item")?)?,
        },
        "Delete" => WriteOp::Delete {
            key: item_from_json(&required(member.key, "Key")?)?,
        },
        "ConditionCheck" => {
            if member.condition_expression.is_none() {
                return Err(DynamoError::validation(
                    "1 validation error detected: ConditionExpression is required in ConditionCheck",
                ));
            }
            WriteOp::Check {
                key: item_from_json(&required(member.key, "Key")?)?,
            }
        }
        _ => {
            let text = member.update_expression.as_deref().ok_or_else(|| {
                DynamoError::validation(
                    "1 validation error detected: UpdateExpression is required in Update",
                )
            })?;
            WriteOp::Update {
                key: item_from_json(&required(member.key, "Key")?)?,
                update: Some(parse_update(text, &mut placeholders)?),
            }
        }
    };
    let condition = optional_condition(
        member.condition_expression.as_deref(),
        "ConditionExpression",
        &mut placeholders,
    )?;
    placeholders.check_all_used()?;
    Ok(ItemWrite {
        table: member.table_name,
        op,
        condition,
        return_old_on_failure: on_failure(
            member.return_values_on_condition_check_failure.as_deref(),
        )?,
    })
}

async fn transact_write_items(
    state: &EngineState,
    request: TransactWriteRequest,
    body: &[u8],
) -> ActionResult {
    if request
        .client_request_token
        .as_ref()
        .is_some_and(|t| t.is_empty() || t.len() > 36)
    {
        return Err(DynamoError::validation(
            "ClientRequestToken must be between 1 and 36 characters",
        )
        .into());
    }
    let writes: Vec<ItemWrite> = request
        .transact_items
        .into_iter()
        .map(transact_member)
        .collect::<Result<_, _>>()?;
    // Retries of one request carry the same body, so its digest tells them apart from a
    // different request that reuses the token.
    let idempotency = request.client_request_token.map(|token| IdempotencyToken {
        token,
        fingerprint: hex::encode(md5::Md5::digest(body)),
    });
    state.dynamodb.transact_write(writes, idempotency).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactGetRequest {
    transact_items: Vec<TransactGetItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactGetItem {
    get: TransactGet,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactGet {
    table_name: String,
    key: Value,
    projection_expression: Option<String>,
    #[serde(flatten)]
    expressions: ExpressionParams,
}

async fn transact_get_items(state: &EngineState, request: TransactGetRequest) -> ActionResult {
    let mut gets = Vec::with_capacity(request.transact_items.len());
    for member in request.transact_items {
        let get = member.get;
        let mut placeholders = get.expressions.placeholders()?;
        let projection =
            optional_projection(get.projection_expression.as_deref(), &mut placeholders)?;
        placeholders.check_all_used()?;
        gets.push((get.table_name, item_from_json(&get.key)?, projection));
    }
    let items = state.dynamodb.transact_get(gets).await?;
    let responses: Vec<Value> = items
        .into_iter()
        .map(|item| match item {
            Some(item) => json!({"Item": item_to_json(&item)}),
            None => json!({}),
        })
        .collect();
    Ok(json!({"Responses": responses}))
}

// ---- query and scan ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryRequest {
    table_name: String,
    index_name: Option<String>,
    key_condition_expression: Option<String>,
    filter_expression: Option<String>,
    projection_expression: Option<String>,
    #[serde(flatten)]
    expressions: ExpressionParams,
    select: Option<String>,
    limit: Option<usize>,
    scan_index_forward: Option<bool>,
    exclusive_start_key: Option<Value>,
    consistent_read: Option<bool>,
    key_conditions: Option<Value>,
    query_filter: Option<Value>,
    attributes_to_get: Option<Value>,
}

/// The `Select` parameter; its default depends on whether an index is read.
fn select(
    select: Option<&str>,
    has_projection: bool,
    has_index: bool,
) -> Result<Select, DynamoError> {
    match select {
        None if has_projection => Ok(Select::SpecificAttributes),
        None if has_index => Ok(Select::AllProjectedAttributes),
        None => Ok(Select::AllAttributes),
        Some("SPECIFIC_ATTRIBUTES") => Ok(Select::SpecificAttributes),
        // A projection goes only with SPECIFIC_ATTRIBUTES.
        Some(chosen @ ("ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" | "COUNT"))
            if has_projection =>
        {
            let gets = if chosen == "COUNT" {
                "only the Count"
            } else {
                chosen
            };
            Err(DynamoError::validation(format!(
                "Cannot specify the ProjectionExpression when choosing to get {gets}"
            )))
        }
        Some("ALL_ATTRIBUTES") => Ok(Select::AllAttributes),
        Some("COUNT") => Ok(Select::Count),
        Some("ALL_PROJECTED_ATTRIBUTES") if has_index => Ok(Select::AllProjectedAttributes),
        Some("ALL_PROJECTED_ATTRIBUTES") => Err(DynamoError::validation(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        )),
        Some(other) => Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        ))),
    }
}

fn page_response(page: crate::local::dynamodb::Page, select: Select) -> Value {
    let mut out = Map::new();
    if select != Select::Count {
        out.insert(
            "Items".into(),
            Value::Array(page.items.iter().map(item_to_json).collect()),
        );
    }
    out.insert("Count".into(), json!(page.count));
    out.insert("ScannedCount".into(), json!(page.scanned));
    if let Some(key) = page.last_key {
        out.insert("LastEvaluatedKey".into(), item_to_json(&key));
    }
    Value::Object(out)
}

async fn query(state: &EngineState, request: QueryRequest) -> ActionResult {
    reject_legacy(&[
        ("KeyConditions", request.key_conditions.is_some()),
        ("QueryFilter", request.query_filter.is_some()),
        ("AttributesToGet", request.attributes_to_get.is_some()),
    ])?;
    let mut placeholders = request.expressions.placeholders()?;
    let key_text = request
        .key_condition_expression
        .as_deref()
        .ok_or_else(|| DynamoError::validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."))?;
    let key_condition = parse_condition(key_text, "KeyConditionExpression", &mut placeholders)?;
    let filter = optional_condition(
        request.filter_expression.as_deref(),
        "FilterExpression",
        &mut placeholders,
    )?;
    let projection =
        optional_projection(request.projection_expression.as_deref(), &mut placeholders)?;
    placeholders.check_all_used()?;
    let select = select(
        request.select.as_deref(),
        projection.is_some(),
        request.index_name.is_some(),
    )?;
    let page = state
        .dynamodb
        .query(QueryInput {
            table: request.table_name,
            index: request.index_name,
            consistent_read: request.consistent_read.unwrap_or(false),
            key_condition,
            filter,
            projection,
            select,
            limit: request.limit,
            forward: request.scan_index_forward.unwrap_or(true),
            start_key: request
                .exclusive_start_key
                .as_ref()
                .map(item_from_json)
                .transpose()?,
        })
        .await?;
    Ok(page_response(page, select))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScanRequest {
    table_name: String,
    index_name: Option<String>,
    filter_expression: Option<String>,
    projection_expression: Option<String>,
    #[serde(flatten)]
    expressions: ExpressionParams,
    select: Option<String>,
    limit: Option<usize>,
    exclusive_start_key: Option<Value>,
    consistent_read: Option<bool>,
    segment: Option<u32>,
    total_segments: Option<u32>,
    scan_filter: Option<Value>,
    attributes_to_get: Option<Value>,
}

async fn scan(state: &EngineState, request: ScanRequest) -> ActionResult {
    reject_legacy(&[
        ("ScanFilter", request.scan_filter.is_some()),
        ("AttributesToGet", request.attributes_to_get.is_some()),
    ])?;
    let segment = match (request.segment, request.total_segments) {
        (None, None) => None,
        (Some(segment), Some(total)) => Some((segment, total)),
        _ => {
            return Err(DynamoError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present (and the reverse)",
            )
            .into());
        }
    };
    let mut placeholders = request.expressions.placeholders()?;
    let filter = optional_condition(
        request.filter_expression.as_deref(),
        "FilterExpression",
        &mut placeholders,
    )?;
    let projection =
        optional_projection(request.projection_expression.as_deref(), &mut placeholders)?;
    placeholders.check_all_used()?;
    let select = select(
        request.select.as_deref(),
        projection.is_some(),
        request.index_name.is_some(),
    )?;
    let page = state
        .dynamodb
        .scan(ScanInput {
            table: request.table_name,
            index: request.index_name,
            consistent_read: request.consistent_read.unwrap_or(false),
            filter,
            projection,
            select,
            limit: request.limit,
            start_key: request
                .exclusive_start_key
                .as_ref()
                .map(item_from_json)
                .transpose()?,
            segment,
        })
        .await?;
    Ok(page_response(page, select))
}

// ---- tags ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceRequest {
    resource_arn: String,
    tags: Vec<Tag>,
}

async fn tag_resource(state: &EngineState, request: TagResourceRequest) -> ActionResult {
    let tags = tag_map(Some(request.tags));
    state
        .dynamodb
        .change_tags(request.resource_arn, tags, Vec::new())
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceRequest {
    resource_arn: String,
    tag_keys: Vec<String>,
}

async fn untag_resource(state: &EngineState, request: UntagResourceRequest) -> ActionResult {
    state
        .dynamodb
        .change_tags(request.resource_arn, BTreeMap::new(), request.tag_keys)
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsRequest {
    resource_arn: String,
}

async fn list_tags_of_resource(state: &EngineState, request: ListTagsRequest) -> ActionResult {
    let tags = state.dynamodb.list_tags(request.resource_arn).await?;
    let tags: Vec<Value> = tags
        .into_iter()
        .map(|(key, value)| json!({"Key": key, "Value": value}))
        .collect();
    Ok(json!({"Tags": tags}))
}

// ---- time to live ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TimeToLiveSpecification {
    attribute_name: String,
    enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateTimeToLiveRequest {
    table_name: String,
    time_to_live_specification: TimeToLiveSpecification,
}

async fn update_time_to_live(
    state: &EngineState,
    request: UpdateTimeToLiveRequest,
) -> ActionResult {
    let spec = request.time_to_live_specification;
    let (attribute, enabled) = state
        .dynamodb
        .update_time_to_live(request.table_name, spec.attribute_name, spec.enabled)
        .await?;
    Ok(json!({"TimeToLiveSpecification": {"AttributeName": attribute, "Enabled": enabled}}))
}

async fn describe_time_to_live(state: &EngineState, request: TableNameRequest) -> ActionResult {
    let description = match state
        .dynamodb
        .describe_time_to_live(request.table_name)
        .await?
    {
        Some(attribute) => json!({"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}),
        None => json!({"TimeToLiveStatus": "DISABLED"}),
    };
    Ok(json!({"TimeToLiveDescription": description}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_members_are_validation_errors_and_bad_json_is_serialization() {
        let missing = parse::<PutItemRequest>(br#"{"Item": {}}"#).unwrap_err();
        assert_eq!(
            missing.type_name,
            "com.amazon.coral.validate#ValidationException"
        );
        assert_eq!(
            missing.message,
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
        );
        let malformed = parse::<PutItemRequest>(b"{not json").unwrap_err();
        assert_eq!(
            malformed.type_name,
            "com.amazon.coral.service#SerializationException"
        );
    }

    #[test]
    fn cancellation_reasons_are_serialised_as_aws_does() {
        let error = ServiceError::from(DynamoError::TransactionCanceled {
            reasons: vec![
                crate::local::dynamodb::error::CancellationReason::none(),
                crate::local::dynamodb::error::CancellationReason {
                    code: "ConditionalCheckFailed".into(),
                    message: Some("The conditional request failed".into()),
                    item: None,
                },
            ],
        });
        assert_eq!(error.message_key, "Message");
        assert_eq!(
            error.fields,
            vec![(
                "CancellationReasons",
                json!([{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}])
            )]
        );
    }
}
