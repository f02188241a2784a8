//! Messages as stored, and the SQL steps on them that run inside one storage transaction:
//! enqueue (also used by EventBridge and Pipes deliveries, so a delivery and its outbox
//! bookkeeping commit together), and the receive step with redrive to a dead-letter queue.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::attributes::{self, RedrivePolicy};
use super::error::SqsError;

pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;
pub const MAX_ATTRIBUTE_NAME: usize = 256;
/// At most this many bytes in all the messages of one SendMessageBatch together.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// The only message system attribute SQS takes (an X-Ray trace header).
pub const TRACE_HEADER: &str = "AWSTraceHeader";
/// Attribute name prefixes SQS reserves for AWS, in any case.
const RESERVED_PREFIXES: &[&str] = &["aws.", "amazon."];

/// A message attribute (`DataType` `String`, `Number`, `Binary`, optionally `.custom`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Base64, as on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
}

impl AttributeValue {
    pub fn string(value: impl Into<String>) -> AttributeValue {
        AttributeValue {
            data_type: "String".into(),
            string_value: Some(value.into()),
            binary_value: None,
        }
    }

    pub fn binary_bytes(&self) -> Option<Vec<u8>> {
        self.binary_value
            .as_deref()
            .and_then(|b| BASE64.decode(b).ok())
    }

    fn size(&self) -> usize {
        self.data_type.len()
            + self.string_value.as_ref().map_or(0, String::len)
            + self.binary_bytes().map_or(0, |b| b.len())
    }
}

/// What a sender hands over.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub body: String,
    pub attributes: BTreeMap<String, AttributeValue>,
    /// `None`: the queue's `DelaySeconds`.
    pub delay_seconds: Option<i64>,
    /// `MessageSystemAttributes`: only [`TRACE_HEADER`].
    pub system_attributes: BTreeMap<String, AttributeValue>,
}

impl NewMessage {
    /// The size SQS counts against `MaximumMessageSize`: the body and the message
    /// attributes; system attributes do not count.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.size())
                .sum::<usize>()
    }
}

/// SendMessageBatch's limit on the size of all its messages together.
pub fn check_batch_size(messages: &[NewMessage]) -> Result<(), SqsError> {
    let sent = messages.iter().map(NewMessage::size).sum();
    if sent > MAX_BATCH_BYTES {
        return Err(SqsError::BatchRequestTooLong {
            sent,
            max: MAX_BATCH_BYTES,
        });
    }
    Ok(())
}

/// A received message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub attributes: BTreeMap<String, AttributeValue>,
    pub sent_ms: i64,
    pub receive_count: i64,
    pub first_receive_ms: i64,
    /// Set when the message was moved here by a redrive policy.
    pub dead_letter_source_arn: Option<String>,
    /// What the sender gave as `MessageSystemAttributes`.
    pub system_attributes: BTreeMap<String, AttributeValue>,
}

/// Check a message as SendMessage does; `max_size` is the queue's `MaximumMessageSize`.
pub fn validate(message: &NewMessage, max_size: i64) -> Result<(), SqsError> {
    if message.body.is_empty() {
        return Err(SqsError::MissingParameter(
            "The request must contain the parameter MessageBody.".into(),
        ));
    }
    if let Some(bad) = message.body.chars().find(|c| !allowed_char(*c)) {
        return Err(SqsError::InvalidMessageContents(format!(
            "Invalid characters found. Deleted message body contains the character U+{:04X}, which SQS does not allow.",
            bad as u32
        )));
    }
    if message.attributes.len() > MAX_MESSAGE_ATTRIBUTES {
        return Err(SqsError::InvalidParameterValue(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}].",
            message.attributes.len()
        )));
    }
    for (name, value) in &message.attributes {
        validate_attribute_name(name)?;
        let base = value.data_type.split('.').next().unwrap_or("");
        let has_value = match base {
            "String" | "Number" => value.string_value.is_some(),
            "Binary" => value.binary_bytes().is_some(),
            _ => {
                return Err(SqsError::InvalidParameterValue(format!(
                    "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
                )));
            }
        };
        if !has_value {
            return Err(SqsError::InvalidParameterValue(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
            )));
        }
        if base == "Number" && !value.string_value.as_deref().is_some_and(is_number) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Can't cast the value of message (user) attribute '{name}' to a number."
            )));
        }
    }
    validate_system_attributes(&message.system_attributes)?;
    if message.size() as i64 > max_size {
        return Err(SqsError::InvalidParameterValue(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max_size} bytes."
        )));
    }
    if let Some(delay) = message.delay_seconds
        && !(0..=attributes::MAX_DELAY_SECONDS).contains(&delay)
    {
        return Err(SqsError::InvalidParameterValue(format!(
            "Value {delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
        )));
    }
    Ok(())
}

/// A message attribute name as the SQS developer guide allows it.
fn validate_attribute_name(name: &str) -> Result<(), SqsError> {
    if name.is_empty() {
        return Err(SqsError::InvalidParameterValue(
            "The request must contain non-empty message attribute name.".into(),
        ));
    }
    let invalid = |reason: &str| {
        Err(SqsError::InvalidParameterValue(format!(
            "Message (user) attribute name '{name}' is invalid. Reason: {reason}"
        )))
    };
    if name.chars().count() > MAX_ATTRIBUTE_NAME {
        return invalid(&format!(
            "Must be at most {MAX_ATTRIBUTE_NAME} characters long."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return invalid(
            "Can only include alphanumeric characters, hyphens, underscores, or periods.",
        );
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return invalid("The prefixes AWS. and Amazon. (in any case) are reserved for AWS.");
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return invalid("Must not start or end with a period, nor have successive periods.");
    }
    Ok(())
}

/// A `Number` attribute's value: any finite decimal number.
fn is_number(text: &str) -> bool {
    text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// `MessageSystemAttributes`: SQS takes only [`TRACE_HEADER`], a `String`.
fn validate_system_attributes(
    attributes: &BTreeMap<String, AttributeValue>,
) -> Result<(), SqsError> {
    for (name, value) in attributes {
        if name != TRACE_HEADER {
            return Err(SqsError::InvalidParameterValue(format!(
                "Message system attribute name '{name}' is invalid. The only supported message system attribute is {TRACE_HEADER}."
            )));
        }
        if value.data_type != "String" {
            return Err(SqsError::InvalidParameterValue(format!(
                "The type of message system attribute '{name}' is invalid. It must be String."
            )));
        }
        if value.string_value.as_deref().is_none_or(str::is_empty) {
            return Err(SqsError::InvalidParameterValue(format!(
                "The message system attribute '{name}' must contain non-empty message attribute value for message attribute type 'String'."
            )));
        }
    }
    Ok(())
}

/// The characters SQS allows in a body (XML 1.0's set).
fn allowed_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// A queue's settable attributes, or QueueDoesNotExist.
pub fn queue_attributes(
    conn: &Connection,
    queue: &str,
) -> Result<BTreeMap<String, String>, SqsError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT attributes FROM sqs_queues WHERE name = ?1")?
        .query_row([queue], |r| r.get(0))
        .optional()?;
    let text = text.ok_or(SqsError::QueueDoesNotExist)?;
    serde_json::from_str(&text).map_err(|e| SqsError::Internal(format!("corrupt queue: {e}")))
}

/// Enqueue one message (after [`validate`]) in the caller's transaction; returns its id.
pub fn enqueue(
    conn: &Connection,
    queue: &str,
    message: &NewMessage,
    now_ms: i64,
) -> Result<String, SqsError> {
    let attributes = queue_attributes(conn, queue)?;
    validate(
        message,
        attributes::number(
            &attributes,
            "MaximumMessageSize",
            attributes::DEFAULT_MAXIMUM_MESSAGE_SIZE,
        ),
    )?;
    let delay = message
        .delay_seconds
        .unwrap_or_else(|| attributes::number(&attributes, "DelaySeconds", 0));
    let message_id = uuid::Uuid::new_v4().to_string();
    let stored_attributes = to_json(&message.attributes)?;
    let stored_system = (!message.system_attributes.is_empty())
        .then(|| to_json(&message.system_attributes))
        .transpose()?;
    conn.prepare_cached(
        "INSERT INTO sqs_messages (queue, message_id, body, attributes, sent_ms, visible_ms, system_attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![queue, message_id, message.body, stored_attributes, now_ms, now_ms + delay * 1000, stored_system])?;
    Ok(message_id)
}

fn to_json(attributes: &BTreeMap<String, AttributeValue>) -> Result<String, SqsError> {
    serde_json::to_string(attributes).map_err(|e| SqsError::Internal(e.to_string()))
}

/// Receive up to `max` visible messages, making each invisible for `visibility_ms`.
/// Messages already received `maxReceiveCount` times move to the dead-letter queue instead
/// (keeping their original enqueue time); expired ones are deleted.
pub fn receive(
    conn: &Connection,
    queue: &str,
    queue_arn: &str,
    max: usize,
    visibility_ms: i64,
    now_ms: i64,
) -> Result<Vec<Message>, SqsError> {
    let attributes = queue_attributes(conn, queue)?;
    let retention_ms = attributes::number(
        &attributes,
        "MessageRetentionPeriod",
        attributes::DEFAULT_RETENTION_SECONDS,
    ) * 1000;
    conn.prepare_cached(
        "DELETE FROM sqs_messages INDEXED BY sqs_messages_age WHERE queue = ?1 AND sent_ms < ?2",
    )?
    .execute(params![queue, now_ms - retention_ms])?;
    let redrive = attributes
        .get("RedrivePolicy")
        .filter(|p| !p.is_empty())
        .and_then(|p| RedrivePolicy::parse(p).ok());
    let dead_letter_queue = redrive.as_ref().and_then(|policy| {
        let name = queue_name_of_arn(&policy.dead_letter_target_arn)?;
        queue_attributes(conn, name).ok().map(|_| name.to_string())
    });
    let mut out = Vec::new();
    let mut statement = conn.prepare_cached(
        "SELECT id, message_id, body, attributes, sent_ms, receive_count, first_receive_ms, source_arn, system_attributes FROM sqs_messages INDEXED BY sqs_messages_ready WHERE queue = ?1 AND visible_ms <= ?2 ORDER BY visible_ms, id LIMIT ?3",
    )?;
    // Read a little more than asked, as some may be redriven instead of returned.
    let rows: Vec<_> = statement
        .query_map(params![queue, now_ms, (max * 4) as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (id, message_id, body, attributes, sent_ms, count, first, source, system) in rows {
        if out.len() >= max {
            break;
        }
        if let (Some(policy), Some(dlq)) = (&redrive, &dead_letter_queue)
            && count >= policy.max_receive_count
        {
            conn.prepare_cached(
                "UPDATE sqs_messages SET queue = ?2, visible_ms = ?3, receive_count = 0, first_receive_ms = NULL, receipt = NULL, source_arn = ?4 WHERE id = ?1",
            )?
            .execute(params![id, dlq, now_ms, queue_arn])?;
            continue;
        }
        let receipt = format!("{}-{id}", uuid::Uuid::new_v4().simple());
        let first = first.unwrap_or(now_ms);
        conn.prepare_cached(
            "UPDATE sqs_messages SET visible_ms = ?2, receive_count = receive_count + 1, first_receive_ms = ?3, receipt = ?4 WHERE id = ?1",
        )?
        .execute(params![id, now_ms + visibility_ms, first, receipt])?;
        out.push(Message {
            message_id,
            receipt_handle: BASE64.encode(receipt),
            body,
            attributes: serde_json::from_str(&attributes).unwrap_or_default(),
            sent_ms,
            receive_count: count + 1,
            first_receive_ms: first,
            dead_letter_source_arn: source,
            system_attributes: system
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The stored receipt behind a handle, or ReceiptHandleIsInvalid.
pub fn decode_receipt(handle: &str) -> Result<String, SqsError> {
    BASE64
        .decode(handle)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|r| r.contains('-'))
        .ok_or_else(|| SqsError::ReceiptHandleIsInvalid(handle.to_string()))
}

/// `arn:aws:sqs:<region>:<account>:<name>` → `<name>`.
pub fn queue_name_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("sqs")) => parts.nth(2).filter(|n| !n.is_empty()),
        _ => None,
    }
}
