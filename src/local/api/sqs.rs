//! SQS's JSON protocol (awsJson 1.0, `X-Amz-Target: AmazonSQS.*`), as current SDKs speak
//! it: thin actions over [`crate::local::sqs::Sqs`]. SQS is query-compatible, so errors also
//! carry `x-amzn-query-error: <code>;Sender|Receiver`, which the SDKs map exceptions from.

use std::collections::{BTreeMap, HashSet};

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::json_protocol::{ServiceError, error_response, ok_response, parse_request};
use super::paging;
use crate::local::EngineState;
use crate::local::sqs::message::{TRACE_HEADER, check_batch_size};
use crate::local::sqs::{
    AttributeValue, MAX_BATCH_ENTRIES, Message, NewMessage, ReceiveOptions, SentMessage, Sqs,
    SqsError, md5,
};
use crate::local::streams::ACCOUNT_ID;

const JSON_1_0: &str = "application/x-amz-json-1.0";

/// Run one action and write its response (with SQS's query-compatible error header).
pub async fn respond(state: &EngineState, action: &str, body: &[u8], request_id: &str) -> Response {
    match dispatch(state, action, body).await {
        Ok(value) => ok_response(JSON_1_0, request_id, &value),
        Err(error) => {
            let fault = if error.is_client_error() {
                "Sender"
            } else {
                "Receiver"
            };
            let wire = ServiceError::new(
                if error.is_client_error() {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                },
                format!("com.amazonaws.sqs#{}", error.shape()),
                error.to_string(),
            );
            if !error.is_client_error() {
                tracing::error!(error = %error, "internal error");
            }
            let mut response = error_response(JSON_1_0, request_id, &wire);
            if let Ok(value) = HeaderValue::from_str(&format!("{};{fault}", error.query_code())) {
                response.headers_mut().insert("x-amzn-query-error", value);
            }
            response
        }
    }
}

type ActionResult = Result<Value, SqsError>;

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SqsError> {
    parse_request(body).map_err(|e| match e {
        super::json_protocol::RequestError::MissingMember(member) => {
            let mut chars = member.chars();
            let pascal = chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default();
            SqsError::MissingParameter(format!("The request must contain the parameter {pascal}."))
        }
        super::json_protocol::RequestError::Malformed(reason) => {
            SqsError::InvalidParameterValue(format!("cannot parse the request body: {reason}"))
        }
    })
}

async fn dispatch(state: &EngineState, action: &str, body: &[u8]) -> ActionResult {
    let sqs = &state.sqs;
    match action {
        "CreateQueue" => create_queue(sqs, parse(body)?).await,
        "DeleteQueue" => {
            let request: QueueUrl = parse(body)?;
            sqs.delete_queue(Sqs::name_of_url(&request.queue_url)?)
                .await?;
            Ok(json!({}))
        }
        "ListQueues" => list_queues(sqs, parse(body)?).await,
        "GetQueueUrl" => {
            let request: GetQueueUrl = parse(body)?;
            Ok(json!({"QueueUrl": sqs.get_queue_url(&request.queue_name).await?.url}))
        }
        "GetQueueAttributes" => get_queue_attributes(sqs, parse(body)?).await,
        "SetQueueAttributes" => {
            let request: SetQueueAttributes = parse(body)?;
            sqs.set_queue_attributes(Sqs::name_of_url(&request.queue_url)?, request.attributes)
                .await?;
            Ok(json!({}))
        }
        "SendMessage" => send_message(sqs, parse(body)?).await,
        "SendMessageBatch" => send_message_batch(sqs, parse(body)?).await,
        "ReceiveMessage" => receive_message(sqs, parse(body)?).await,
        "DeleteMessage" => {
            let request: DeleteMessage = parse(body)?;
            sqs.delete_message(
                Sqs::name_of_url(&request.queue_url)?,
                &request.receipt_handle,
            )
            .await?;
            Ok(json!({}))
        }
        "DeleteMessageBatch" => delete_message_batch(sqs, parse(body)?).await,
        "ChangeMessageVisibility" => {
            let request: ChangeMessageVisibility = parse(body)?;
            sqs.change_message_visibility(
                Sqs::name_of_url(&request.queue_url)?,
                &request.receipt_handle,
                request.visibility_timeout,
            )
            .await?;
            Ok(json!({}))
        }
        "PurgeQueue" => {
            let request: QueueUrl = parse(body)?;
            sqs.purge_queue(Sqs::name_of_url(&request.queue_url)?)
                .await?;
            Ok(json!({}))
        }
        "StartMessageMoveTask" => {
            let request: StartMessageMoveTask = parse(body)?;
            let handle = sqs
                .start_message_move_task(
                    &request.source_arn,
                    request.destination_arn,
                    request.max_number_of_messages_per_second,
                )
                .await?;
            Ok(json!({"TaskHandle": handle}))
        }
        "ListMessageMoveTasks" => list_message_move_tasks(sqs, parse(body)?).await,
        "ChangeMessageVisibilityBatch" => change_visibility_batch(sqs, parse(body)?).await,
        "ListQueueTags" => {
            let request: QueueUrl = parse(body)?;
            let tags = sqs
                .list_queue_tags(Sqs::name_of_url(&request.queue_url)?)
                .await?;
            Ok(if tags.is_empty() {
                json!({})
            } else {
                json!({"Tags": tags})
            })
        }
        "TagQueue" => {
            let request: TagQueue = parse(body)?;
            let changes = request
                .tags
                .into_iter()
                .map(|(k, v)| (k, Some(v)))
                .collect();
            sqs.change_queue_tags(Sqs::name_of_url(&request.queue_url)?, changes)
                .await?;
            Ok(json!({}))
        }
        "UntagQueue" => {
            let request: UntagQueue = parse(body)?;
            let changes = request.tag_keys.into_iter().map(|k| (k, None)).collect();
            sqs.change_queue_tags(Sqs::name_of_url(&request.queue_url)?, changes)
                .await?;
            Ok(json!({}))
        }
        "ListDeadLetterSourceQueues" => {
            let request: QueueUrl = parse(body)?;
            let queues = sqs
                .list_dead_letter_source_queues(Sqs::name_of_url(&request.queue_url)?)
                .await?;
            Ok(json!({"queueUrls": queues.iter().map(|q| q.url.clone()).collect::<Vec<_>>()}))
        }
        other => Err(SqsError::UnsupportedOperation(format!(
            "The local engine does not serve the operation `AmazonSQS.{other}`; see docs/local-engine.md for what it supports"
        ))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueueUrl {
    queue_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateQueue {
    queue_name: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default, rename = "tags")]
    tags: BTreeMap<String, String>,
}

async fn create_queue(sqs: &Sqs, request: CreateQueue) -> ActionResult {
    let queue = sqs
        .create_queue(&request.queue_name, request.attributes, request.tags)
        .await?;
    Ok(json!({"QueueUrl": queue.url}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListQueues {
    queue_name_prefix: Option<String>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

async fn list_queues(sqs: &Sqs, request: ListQueues) -> ActionResult {
    let after = request
        .next_token
        .as_deref()
        .map(|token| {
            paging::name_after(token).ok_or_else(|| {
                SqsError::InvalidParameterValue("Invalid or expired next token.".into())
            })
        })
        .transpose()?;
    let queues = sqs.list_queues(request.queue_name_prefix).await?;
    let limit = request.max_results.unwrap_or(1000).clamp(1, 1000);
    let (page, next) = paging::page(queues, |q| q.name.as_str(), after.as_deref(), limit);
    let mut out = Map::new();
    if !page.is_empty() {
        out.insert(
            "QueueUrls".into(),
            json!(page.iter().map(|q| q.url.clone()).collect::<Vec<_>>()),
        );
    }
    // SQS pages only for a caller that set MaxResults.
    if let Some(next) = next.filter(|_| request.max_results.is_some()) {
        out.insert("NextToken".into(), json!(next));
    }
    Ok(Value::Object(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetQueueUrl {
    queue_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetQueueAttributes {
    queue_url: String,
    #[serde(default)]
    attribute_names: Vec<String>,
}

async fn get_queue_attributes(sqs: &Sqs, request: GetQueueAttributes) -> ActionResult {
    let all = sqs
        .get_queue_attributes(Sqs::name_of_url(&request.queue_url)?)
        .await?;
    let wants_all = request.attribute_names.iter().any(|n| n == "All");
    let mut out = Map::new();
    for name in &request.attribute_names {
        if name != "All"
            && !all.contains_key(name)
            && !KNOWN_ATTRIBUTE_NAMES.contains(&name.as_str())
        {
            return Err(SqsError::InvalidAttributeName(format!(
                "Unknown Attribute {name}."
            )));
        }
    }
    for (name, value) in all {
        if wants_all || request.attribute_names.contains(&name) {
            out.insert(name, Value::String(value));
        }
    }
    if out.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({"Attributes": out}))
}

/// Names GetQueueAttributes accepts even when the queue has no value for them.
const KNOWN_ATTRIBUTE_NAMES: &[&str] = &[
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SetQueueAttributes {
    queue_url: String,
    attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessage {
    queue_url: String,
    message_body: String,
    delay_seconds: Option<i64>,
    #[serde(default)]
    message_attributes: BTreeMap<String, AttributeValue>,
    #[serde(default)]
    message_system_attributes: BTreeMap<String, AttributeValue>,
}

async fn send_message(sqs: &Sqs, request: SendMessage) -> ActionResult {
    let sent = sqs
        .send_message(
            Sqs::name_of_url(&request.queue_url)?,
            NewMessage {
                body: request.message_body,
                attributes: request.message_attributes,
                delay_seconds: request.delay_seconds,
                system_attributes: request.message_system_attributes,
            },
        )
        .await?;
    Ok(sent_json(sent))
}

fn sent_json(sent: SentMessage) -> Value {
    let mut out = json!({"MessageId": sent.message_id, "MD5OfMessageBody": sent.md5_of_body});
    if let Some(md5) = sent.md5_of_attributes {
        out["MD5OfMessageAttributes"] = json!(md5);
    }
    if let Some(md5) = sent.md5_of_system_attributes {
        out["MD5OfMessageSystemAttributes"] = json!(md5);
    }
    out
}

/// A batch answer: `Successful` and `Failed` entries by their request ids.
fn batch_response<T>(
    ids: &[String],
    results: Vec<Result<T, SqsError>>,
    success: impl Fn(&str, T) -> Value,
) -> Value {
    let (mut successful, mut failed) = (Vec::new(), Vec::new());
    for (id, result) in ids.iter().zip(results) {
        match result {
            Ok(value) => successful.push(success(id, value)),
            Err(error) => failed.push(failed_entry(id, &error)),
        }
    }
    json!({"Successful": successful, "Failed": failed})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageBatch {
    queue_url: String,
    entries: Vec<SendEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendEntry {
    id: String,
    message_body: String,
    delay_seconds: Option<i64>,
    #[serde(default)]
    message_attributes: BTreeMap<String, AttributeValue>,
    #[serde(default)]
    message_system_attributes: BTreeMap<String, AttributeValue>,
}

/// The batch rules SQS applies before looking at any entry; `entry` names the entry type.
fn check_batch_ids<'a>(
    entry: &'static str,
    ids: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), SqsError> {
    if ids.len() == 0 {
        return Err(SqsError::EmptyBatchRequest(entry));
    }
    if ids.len() > MAX_BATCH_ENTRIES {
        return Err(SqsError::TooManyEntriesInBatchRequest(ids.len()));
    }
    let mut seen = HashSet::new();
    for id in ids {
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(SqsError::InvalidBatchEntryId);
        }
        if !seen.insert(id) {
            return Err(SqsError::BatchEntryIdsNotDistinct(id.to_string()));
        }
    }
    Ok(())
}

fn failed_entry(id: &str, error: &SqsError) -> Value {
    json!({"Id": id, "SenderFault": error.is_client_error(), "Code": error.query_code(), "Message": error.to_string()})
}

async fn send_message_batch(sqs: &Sqs, request: SendMessageBatch) -> ActionResult {
    check_batch_ids(
        "SendMessageBatchRequestEntry",
        request.entries.iter().map(|e| e.id.as_str()),
    )?;
    let ids: Vec<String> = request.entries.iter().map(|e| e.id.clone()).collect();
    let messages: Vec<NewMessage> = request
        .entries
        .into_iter()
        .map(|e| NewMessage {
            body: e.message_body,
            attributes: e.message_attributes,
            delay_seconds: e.delay_seconds,
            system_attributes: e.message_system_attributes,
        })
        .collect();
    check_batch_size(&messages)?;
    let results = sqs
        .send_message_batch(Sqs::name_of_url(&request.queue_url)?, messages)
        .await?;
    Ok(batch_response(&ids, results, |id, sent| {
        let mut entry = sent_json(sent);
        entry["Id"] = json!(id);
        entry
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiveMessage {
    queue_url: String,
    #[serde(default)]
    attribute_names: Vec<String>,
    #[serde(default)]
    message_system_attribute_names: Vec<String>,
    #[serde(default)]
    message_attribute_names: Vec<String>,
    max_number_of_messages: Option<i64>,
    visibility_timeout: Option<i64>,
    wait_time_seconds: Option<i64>,
}

async fn receive_message(sqs: &Sqs, request: ReceiveMessage) -> ActionResult {
    let messages = sqs
        .receive_message(
            Sqs::name_of_url(&request.queue_url)?,
            ReceiveOptions {
                max_messages: request.max_number_of_messages,
                visibility_timeout: request.visibility_timeout,
                wait_seconds: request.wait_time_seconds,
            },
        )
        .await?;
    let system: Vec<&String> = request
        .attribute_names
        .iter()
        .chain(&request.message_system_attribute_names)
        .collect();
    let out: Vec<Value> = messages
        .iter()
        .map(|m| message_json(m, &system, &request.message_attribute_names))
        .collect();
    if out.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({"Messages": out}))
}

fn message_json(message: &Message, system: &[&String], wanted_attributes: &[String]) -> Value {
    let mut out = json!({
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": md5::md5_of_body(&message.body),
        "Body": message.body,
    });
    let wants = |name: &str| {
        system
            .iter()
            .any(|n| n.as_str() == "All" || n.as_str() == name)
    };
    let mut attributes = Map::new();
    let mut put = |name: &str, value: String| {
        if wants(name) {
            attributes.insert(name.into(), Value::String(value));
        }
    };
    put("SenderId", ACCOUNT_ID.to_string());
    put("SentTimestamp", message.sent_ms.to_string());
    put("ApproximateReceiveCount", message.receive_count.to_string());
    put(
        "ApproximateFirstReceiveTimestamp",
        message.first_receive_ms.to_string(),
    );
    if let Some(source) = &message.dead_letter_source_arn {
        put("DeadLetterQueueSourceArn", source.clone());
    }
    if let Some(trace) = message
        .system_attributes
        .get(TRACE_HEADER)
        .and_then(|v| v.string_value.clone())
    {
        put(TRACE_HEADER, trace);
    }
    if !attributes.is_empty() {
        out["Attributes"] = Value::Object(attributes);
    }
    let selected: BTreeMap<String, AttributeValue> = message
        .attributes
        .iter()
        .filter(|(name, _)| {
            wanted_attributes.iter().any(|w| {
                w == "All"
                    || w == ".*"
                    || w == *name
                    || w.strip_suffix(".*").is_some_and(|p| name.starts_with(p))
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(md5) = md5::md5_of_attributes(&selected) {
        out["MD5OfMessageAttributes"] = json!(md5);
        out["MessageAttributes"] = serde_json::to_value(&selected).unwrap_or(Value::Null);
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteMessage {
    queue_url: String,
    receipt_handle: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteMessageBatch {
    queue_url: String,
    entries: Vec<DeleteEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteEntry {
    id: String,
    receipt_handle: String,
}

async fn delete_message_batch(sqs: &Sqs, request: DeleteMessageBatch) -> ActionResult {
    check_batch_ids(
        "DeleteMessageBatchRequestEntry",
        request.entries.iter().map(|e| e.id.as_str()),
    )?;
    let handles = request
        .entries
        .iter()
        .map(|e| e.receipt_handle.clone())
        .collect();
    let results = sqs
        .delete_message_batch(Sqs::name_of_url(&request.queue_url)?, handles)
        .await?;
    let ids: Vec<String> = request.entries.iter().map(|e| e.id.clone()).collect();
    Ok(batch_response(&ids, results, |id, ()| json!({"Id": id})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChangeMessageVisibility {
    queue_url: String,
    receipt_handle: String,
    visibility_timeout: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartMessageMoveTask {
    source_arn: String,
    destination_arn: Option<String>,
    max_number_of_messages_per_second: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListMessageMoveTasks {
    source_arn: String,
    max_results: Option<usize>,
}

async fn list_message_move_tasks(sqs: &Sqs, request: ListMessageMoveTasks) -> ActionResult {
    let tasks = sqs
        .list_message_move_tasks(
            &request.source_arn,
            request.max_results.unwrap_or(1).clamp(1, 10),
        )
        .await?;
    let results: Vec<Value> = tasks
        .iter()
        .map(|t| {
            let mut entry = json!({
                "Status": t.status,
                "SourceArn": t.source_arn,
                "ApproximateNumberOfMessagesMoved": t.moved,
                "ApproximateNumberOfMessagesToMove": t.to_move,
                "StartedTimestamp": t.started_ms,
            });
            if t.status == "RUNNING" {
                entry["TaskHandle"] = json!(t.task_handle);
            }
            if let Some(destination) = &t.destination_arn {
                entry["DestinationArn"] = json!(destination);
            }
            if let Some(rate) = t.max_per_second {
                entry["MaxNumberOfMessagesPerSecond"] = json!(rate);
            }
            if let Some(reason) = &t.failure_reason {
                entry["FailureReason"] = json!(reason);
            }
            entry
        })
        .collect();
    Ok(json!({"Results": results}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagQueue {
    queue_url: String,
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagQueue {
    queue_url: String,
    tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChangeVisibilityBatch {
    queue_url: String,
    entries: Vec<ChangeVisibilityEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChangeVisibilityEntry {
    id: String,
    receipt_handle: String,
    #[serde(default)]
    visibility_timeout: i64,
}

async fn change_visibility_batch(sqs: &Sqs, request: ChangeVisibilityBatch) -> ActionResult {
    check_batch_ids(
        "ChangeMessageVisibilityBatchRequestEntry",
        request.entries.iter().map(|e| e.id.as_str()),
    )?;
    let ids: Vec<String> = request.entries.iter().map(|e| e.id.clone()).collect();
    let entries = request
        .entries
        .into_iter()
        .map(|e| (e.receipt_handle, e.visibility_timeout))
        .collect();
    let results = sqs
        .change_message_visibility_batch(Sqs::name_of_url(&request.queue_url)?, entries)
        .await?;
    Ok(batch_response(&ids, results, |id, ()| json!({"Id": id})))
}
