//! DynamoDB Streams' JSON 1.0 actions: ListStreams, DescribeStream, GetShardIterator and
//! GetRecords, thin wrappers over [`crate::local::streams::Streams`].

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::dynamodb::parse;
use super::json_protocol::ServiceError;
use crate::local::EngineState;
use crate::local::dynamodb::error::DynamoError;
use crate::local::streams::{StreamInfo, format_sequence_number};

type ActionResult = Result<Value, ServiceError>;

pub async fn dispatch(state: &EngineState, action: &str, body: &[u8]) -> ActionResult {
    match action {
        "ListStreams" => list_streams(state, parse(body)?).await,
        "DescribeStream" => describe_stream(state, parse(body)?).await,
        "GetShardIterator" => get_shard_iterator(state, parse(body)?).await,
        "GetRecords" => get_records(state, parse(body)?).await,
        other => Err(ServiceError::unknown_operation(&format!(
            "DynamoDBStreams_20120810.{other}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListStreamsRequest {
    table_name: Option<String>,
    limit: Option<usize>,
    exclusive_start_stream_arn: Option<String>,
}

async fn list_streams(state: &EngineState, request: ListStreamsRequest) -> ActionResult {
    let limit = request.limit.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(DynamoError::validation("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 100").into());
    }
    let all = state.streams.list_streams(request.table_name).await?;
    let start = match &request.exclusive_start_stream_arn {
        Some(arn) => all
            .iter()
            .position(|s| &s.arn == arn)
            .map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let page: Vec<&StreamInfo> = all[start..].iter().take(limit).collect();
    let mut out = Map::new();
    out.insert(
        "Streams".into(),
        page.iter()
            .map(|s| json!({"StreamArn": s.arn, "TableName": s.table_name, "StreamLabel": s.label}))
            .collect(),
    );
    if start + page.len() < all.len()
        && let Some(last) = page.last()
    {
        out.insert("LastEvaluatedStreamArn".into(), json!(last.arn));
    }
    Ok(Value::Object(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeStreamRequest {
    stream_arn: String,
    exclusive_start_shard_id: Option<String>,
}

async fn describe_stream(state: &EngineState, request: DescribeStreamRequest) -> ActionResult {
    let info = state.streams.describe_stream(request.stream_arn).await?;
    let mut range = Map::new();
    range.insert(
        "StartingSequenceNumber".into(),
        json!(format_sequence_number(info.first_seq.unwrap_or(1))),
    );
    if info.disabled {
        range.insert(
            "EndingSequenceNumber".into(),
            json!(format_sequence_number(info.last_seq.unwrap_or(0))),
        );
    }
    // One shard per stream: a paging request that starts after it gets no shards.
    let shards = if request.exclusive_start_shard_id.as_deref() == Some(info.shard_id.as_str()) {
        Vec::new()
    } else {
        vec![json!({"ShardId": info.shard_id, "SequenceNumberRange": Value::Object(range)})]
    };
    Ok(json!({"StreamDescription": {
        "StreamArn": info.arn,
        "StreamLabel": info.label,
        "StreamStatus": if info.disabled { "DISABLED" } else { "ENABLED" },
        "StreamViewType": info.view_type,
        "CreationRequestDateTime": info.created_ms as f64 / 1000.0,
        "TableName": info.table_name,
        "KeySchema": info.key_schema,
        "Shards": shards,
    }}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetShardIteratorRequest {
    stream_arn: String,
    shard_id: String,
    shard_iterator_type: String,
    sequence_number: Option<String>,
}

async fn get_shard_iterator(state: &EngineState, request: GetShardIteratorRequest) -> ActionResult {
    let iterator = state
        .streams
        .shard_iterator(
            request.stream_arn,
            request.shard_id,
            request.shard_iterator_type,
            request.sequence_number,
        )
        .await?;
    Ok(json!({"ShardIterator": iterator}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsRequest {
    shard_iterator: String,
    limit: Option<usize>,
}

async fn get_records(state: &EngineState, request: GetRecordsRequest) -> ActionResult {
    let page = state
        .streams
        .get_records(&request.shard_iterator, request.limit)
        .await?;
    let mut out = Map::new();
    out.insert(
        "Records".into(),
        page.records.into_iter().map(|r| r.record).collect(),
    );
    if let Some(next) = page.next_iterator {
        out.insert("NextShardIterator".into(), json!(next));
    }
    Ok(Value::Object(out))
}
