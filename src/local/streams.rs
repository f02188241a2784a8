//! DynamoDB Streams: the change log of each table, written in the same SQLite transaction
//! as the item change it describes (that is the outbox guarantee), kept 24 hours, and read
//! through the Streams API or, by the pipe runner, through [`Streams::read_records`].
//!
//! Each stream has one shard, so the order of records is the commit order, which keeps
//! per-partition-key order (and more). Sequence numbers are one engine-wide increasing
//! counter, printed as fixed-width decimal strings so they sort as text and as numbers.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::local::clock::Clock;
use crate::local::dynamodb::attribute_value::{Item, item_size, item_to_json};
use crate::local::dynamodb::error::DynamoError;
use crate::local::dynamodb::table::{TableMeta, TableStream};
use crate::local::storage::Storage;

/// How long stream records are kept.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// How long a shard iterator stays valid.
pub const ITERATOR_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// The most records one GetRecords call returns.
pub const MAX_GET_RECORDS: usize = 1000;
/// The most data one GetRecords call returns.
pub const MAX_GET_RECORDS_BYTES: usize = 1024 * 1024;
pub const ACCOUNT_ID: &str = "000000000000";

/// A stream record as stored, with its place in the shard.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    pub seq: u64,
    pub stream_arn: String,
    pub created_ms: i64,
    /// The record exactly as GetRecords returns it (no `eventSourceARN`, as on AWS).
    pub record: Value,
}

impl StreamRecord {
    /// The record as Lambda and Pipes deliver it: with `eventSourceARN`, and the
    /// `userIdentity` members in camel case.
    pub fn with_event_source_arn(&self) -> Value {
        let mut record = self.record.clone();
        if let Value::Object(map) = &mut record {
            map.insert(
                "eventSourceARN".into(),
                Value::String(self.stream_arn.clone()),
            );
            if let Some(Value::Object(identity)) = map.get_mut("userIdentity") {
                *identity = identity
                    .iter()
                    .map(|(k, v)| match k.as_str() {
                        "Type" => ("type".to_owned(), v.clone()),
                        "PrincipalId" => ("principalId".to_owned(), v.clone()),
                        _ => (k.clone(), v.clone()),
                    })
                    .collect();
            }
        }
        record
    }
}

/// A stream's description, as DescribeStream and ListStreams need it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub arn: String,
    pub table_name: String,
    pub label: String,
    pub view_type: String,
    pub shard_id: String,
    pub created_ms: i64,
    pub disabled: bool,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The table's KeySchema as the API prints it (kept after the table is deleted).
    pub key_schema: Value,
}

pub fn format_sequence_number(seq: u64) -> String {
    format!("{seq:021}")
}

pub fn parse_sequence_number(text: &str) -> Result<u64, DynamoError> {
    text.parse::<u64>().map_err(|_| {
        DynamoError::validation(format!(
            "1 validation error detected: Value '{text}' at 'sequenceNumber' failed to satisfy constraint: Member must be a decimal sequence number"
        ))
    })
}

/// Create the stream for a table (CreateTable or UpdateTable turning streams on).
pub fn create_stream(
    conn: &Connection,
    table: &TableMeta,
    view_type: &str,
    region: &str,
    now_ms: i64,
) -> Result<TableStream, DynamoError> {
    // Labels have millisecond precision; a stream re-created within the same millisecond
    // still needs its own ARN.
    let mut created_ms = now_ms;
    loop {
        let label = stream_label(created_ms);
        let arn = format!(
            "arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{}/stream/{label}",
            table.name
        );
        let taken: Option<i64> = conn
            .query_row("SELECT 1 FROM streams WHERE arn = ?1", [&arn], |r| r.get(0))
            .optional()?;
        if taken.is_some() {
            created_ms += 1;
            continue;
        }
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let shard_id = format!("shardId-{created_ms:020}-{suffix}");
        conn.execute(
            "INSERT INTO streams (arn, table_name, label, view_type, shard_id, created_ms, disabled_ms, key_schema) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)",
            params![arn, table.name, label, view_type, shard_id, created_ms, table.key_schema_json().to_string()],
        )?;
        return Ok(TableStream {
            arn,
            label,
            view_type: view_type.to_owned(),
            enabled: true,
        });
    }
}

/// The ISO 8601 label AWS puts at the end of stream ARNs.
fn stream_label(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Close a stream: no new records; existing ones stay readable until retention ends.
pub fn disable_stream(conn: &Connection, arn: &str, now_ms: i64) -> Result<(), DynamoError> {
    conn.execute(
        "UPDATE streams SET disabled_ms = ?2 WHERE arn = ?1 AND disabled_ms IS NULL",
        params![arn, now_ms],
    )?;
    Ok(())
}

/// One item change, as the stream sees it.
#[derive(Debug, Clone, Copy)]
pub struct ItemChange<'a> {
    pub keys: &'a Item,
    pub old: Option<&'a Item>,
    pub new: Option<&'a Item>,
    /// Deleted by TTL expiry: the record carries the service's `userIdentity`, as on AWS.
    pub by_ttl: bool,
}

/// Append the record for one item change, if the table has a stream and the item changed.
/// Runs inside the caller's write transaction, so the record commits with the change.
pub fn append_record(
    conn: &Connection,
    table: &TableMeta,
    change: ItemChange<'_>,
    region: &str,
    now_ms: i64,
) -> Result<(), DynamoError> {
    let ItemChange {
        keys,
        old,
        new,
        by_ttl,
    } = change;
    let Some(stream) = table.enabled_stream() else {
        return Ok(());
    };
    let event_name = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(before), Some(after)) if before != after => "MODIFY",
        (Some(_), None) => "REMOVE",
        // Writes that change nothing write no stream record, as on AWS.
        _ => return Ok(()),
    };
    let view = stream.view_type.as_str();
    let new_image = new.filter(|_| matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES"));
    let old_image = old.filter(|_| matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES"));
    let size = item_size(keys) + new_image.map_or(0, item_size) + old_image.map_or(0, item_size);
    let mut dynamodb = serde_json::Map::new();
    dynamodb.insert("ApproximateCreationDateTime".into(), json!(now_ms / 1000));
    dynamodb.insert("Keys".into(), item_to_json(keys));
    if let Some(image) = new_image {
        dynamodb.insert("NewImage".into(), item_to_json(image));
    }
    if let Some(image) = old_image {
        dynamodb.insert("OldImage".into(), item_to_json(image));
    }
    dynamodb.insert("SizeBytes".into(), json!(size));
    dynamodb.insert("StreamViewType".into(), json!(view));
    let mut record = json!({
        "eventID": uuid::Uuid::new_v4().simple().to_string(),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": Value::Object(dynamodb),
    });
    if by_ttl && let Some(map) = record.as_object_mut() {
        map.insert(
            "userIdentity".into(),
            // The Streams API names these members `Type`/`PrincipalId`; events delivered
            // by Lambda and Pipes spell them `type`/`principalId` (see `with_event_source_arn`).
            json!({"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}),
        );
    }
    conn.prepare_cached(
        "INSERT INTO stream_records (stream_arn, created_ms, record) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![stream.arn, now_ms, record.to_string()])?;
    Ok(())
}

/// Where a shard iterator points: after `after_seq` in one shard.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct IteratorToken {
    arn: String,
    shard: String,
    after: u64,
    issued_ms: i64,
}

/// One page of GetRecords.
#[derive(Debug, Clone)]
pub struct RecordsPage {
    pub records: Vec<StreamRecord>,
    /// `None` once a closed shard has been read to its end.
    pub next_iterator: Option<String>,
}

/// The stream side of the engine: reads, iterators and the change signal.
#[derive(Debug, Clone)]
pub struct Streams {
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    changes: Arc<watch::Sender<u64>>,
}

impl Streams {
    pub fn new(storage: Arc<Storage>, clock: Arc<dyn Clock>) -> Streams {
        Streams {
            storage,
            clock,
            changes: Arc::new(watch::channel(0).0),
        }
    }

    /// Tell waiters that records may have been appended (called after each committed write).
    pub fn notify(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever new records may be readable: wait on it instead of
    /// polling.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub async fn list_streams(
        &self,
        table_name: Option<String>,
    ) -> Result<Vec<StreamInfo>, DynamoError> {
        let horizon = self.clock.now_ms() - RETENTION_MS;
        self.storage
            .read(move |conn| {
                let arns: Vec<String> = {
                    let mut statement = conn.prepare(
                        "SELECT arn FROM streams WHERE (?1 IS NULL OR table_name = ?1) AND (disabled_ms IS NULL OR disabled_ms >= ?2) ORDER BY table_name, created_ms",
                    )?;
                    statement.query_map(params![table_name, horizon], |r| r.get(0))?.collect::<Result<_, _>>()?
                };
                arns.iter().map(|arn| stream_info(conn, arn, horizon)).collect()
            })
            .await
    }

    pub async fn describe_stream(&self, arn: String) -> Result<StreamInfo, DynamoError> {
        let horizon = self.clock.now_ms() - RETENTION_MS;
        self.storage
            .read(move |conn| stream_info(conn, &arn, horizon))
            .await
    }

    /// GetShardIterator for the four iterator types.
    pub async fn shard_iterator(
        &self,
        arn: String,
        shard_id: String,
        kind: String,
        sequence: Option<String>,
    ) -> Result<String, DynamoError> {
        let now = self.clock.now_ms();
        let info = self.describe_stream(arn.clone()).await?;
        if info.shard_id != shard_id {
            return Err(DynamoError::ResourceNotFound(format!(
                "Requested resource not found: Shard does not exist: {shard_id} in stream {arn}"
            )));
        }
        let sequence = || -> Result<u64, DynamoError> {
            let text = sequence.as_deref().ok_or_else(|| {
                DynamoError::validation(format!(
                    "SequenceNumber is required for ShardIteratorType {kind}"
                ))
            })?;
            parse_sequence_number(text)
        };
        let after = match kind.as_str() {
            // Reads skip records past retention, so "after 0" is the trim horizon.
            "TRIM_HORIZON" => 0,
            "LATEST" => info.last_seq.unwrap_or(0),
            "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" => {
                let seq = sequence()?;
                let after = if kind == "AT_SEQUENCE_NUMBER" {
                    seq.saturating_sub(1)
                } else {
                    seq
                };
                if self.was_trimmed(&arn, seq).await? {
                    return Err(DynamoError::TrimmedDataAccess(format!(
                        "The sequence number {} is beyond the trim horizon of the shard (records older than 24 hours are removed)",
                        format_sequence_number(seq)
                    )));
                }
                after
            }
            other => {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
                )));
            }
        };
        Ok(encode_iterator(&IteratorToken {
            arn,
            shard: shard_id,
            after,
            issued_ms: now,
        }))
    }

    /// True when records at or before `seq` existed and were removed by retention.
    async fn was_trimmed(&self, arn: &str, seq: u64) -> Result<bool, DynamoError> {
        let arn = arn.to_owned();
        self.storage
            .read(move |conn| -> Result<bool, DynamoError> {
                let trimmed: i64 = conn
                    .query_row("SELECT COALESCE(trimmed_through, 0) FROM stream_trim WHERE stream_arn = ?1", [&arn], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                Ok(seq as i64 <= trimmed)
            })
            .await
    }

    /// GetRecords.
    pub async fn get_records(
        &self,
        iterator: &str,
        limit: Option<usize>,
    ) -> Result<RecordsPage, DynamoError> {
        let now = self.clock.now_ms();
        let token = decode_iterator(iterator)?;
        if now - token.issued_ms > ITERATOR_LIFETIME_MS {
            return Err(DynamoError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {}; shard iterators are valid for 15 minutes, get a new one",
                token.issued_ms, now
            )));
        }
        let limit = limit.unwrap_or(MAX_GET_RECORDS);
        if !(1..=MAX_GET_RECORDS).contains(&limit) {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000"
            )));
        }
        let info = self.describe_stream(token.arn.clone()).await?;
        let mut records = self
            .read_records(&token.arn, &token.shard, token.after, limit)
            .await?;
        // GetRecords answers at most 1 MB (but always at least one record).
        let mut bytes = 0;
        let within = records
            .iter()
            .take_while(|r| {
                bytes += r.record.to_string().len();
                bytes <= MAX_GET_RECORDS_BYTES
            })
            .count();
        records.truncate(within.max(1));
        let after = records.last().map_or(token.after, |r| r.seq);
        let finished = info.disabled && info.last_seq.is_none_or(|last| after >= last);
        let next_iterator = (!finished).then(|| {
            encode_iterator(&IteratorToken {
                after,
                issued_ms: now,
                ..token
            })
        });
        Ok(RecordsPage {
            records,
            next_iterator,
        })
    }

    /// The pipe runner's reader: up to `limit` retained records after `after_seq`, in order.
    pub async fn read_records(
        &self,
        stream_arn: &str,
        shard_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StreamRecord>, DynamoError> {
        let horizon = self.clock.now_ms() - RETENTION_MS;
        let (arn, shard) = (stream_arn.to_owned(), shard_id.to_owned());
        self.storage
            .read(move |conn| -> Result<Vec<StreamRecord>, DynamoError> {
                let shard_matches: Option<String> =
                    conn.query_row("SELECT shard_id FROM streams WHERE arn = ?1", [&arn], |r| r.get(0)).optional()?;
                if shard_matches.as_deref() != Some(shard.as_str()) {
                    return Err(DynamoError::ResourceNotFound(format!(
                        "Requested resource not found: Shard does not exist: {shard} in stream {arn}"
                    )));
                }
                let mut statement = conn.prepare_cached(
                    "SELECT seq, created_ms, record FROM stream_records WHERE stream_arn = ?1 AND seq > ?2 AND created_ms >= ?3 ORDER BY seq LIMIT ?4",
                )?;
                let rows = statement.query_map(params![arn, after_seq as i64, horizon, limit as i64], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (seq, created_ms, text) = row?;
                    let mut record: Value = serde_json::from_str(&text)
                        .map_err(|e| DynamoError::Internal(format!("corrupt stream record {seq}: {e}")))?;
                    if let Some(dynamodb) = record.get_mut("dynamodb").and_then(Value::as_object_mut) {
                        dynamodb.insert("SequenceNumber".into(), Value::String(format_sequence_number(seq as u64)));
                    }
                    out.push(StreamRecord { seq: seq as u64, stream_arn: arn.clone(), created_ms, record });
                }
                Ok(out)
            })
            .await
    }

    /// Delete records past retention (and streams disabled longer than that).
    pub async fn trim(&self) -> Result<usize, DynamoError> {
        let horizon = self.clock.now_ms() - RETENTION_MS;
        self.storage
            .write(move |conn| -> Result<usize, DynamoError> {
                conn.execute(
                    "INSERT INTO stream_trim (stream_arn, trimmed_through)
                     SELECT stream_arn, MAX(seq) FROM stream_records WHERE created_ms < ?1 GROUP BY stream_arn
                     ON CONFLICT (stream_arn) DO UPDATE SET trimmed_through = excluded.trimmed_through",
                    [horizon],
                )?;
                let removed = conn.execute("DELETE FROM stream_records WHERE created_ms < ?1", [horizon])?;
                conn.execute("DELETE FROM streams WHERE disabled_ms IS NOT NULL AND disabled_ms < ?1", [horizon])?;
                Ok(removed)
            })
            .await
    }
}

fn stream_info(conn: &Connection, arn: &str, horizon: i64) -> Result<StreamInfo, DynamoError> {
    let row = conn
        .query_row(
            "SELECT table_name, label, view_type, shard_id, created_ms, disabled_ms, key_schema FROM streams WHERE arn = ?1",
            [arn],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((table_name, label, view_type, shard_id, created_ms, disabled_ms, key_schema)) = row
    else {
        return Err(DynamoError::ResourceNotFound(format!(
            "Requested resource not found: Stream: {arn} not found"
        )));
    };
    let (first, last): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT MIN(seq), MAX(seq) FROM stream_records WHERE stream_arn = ?1 AND created_ms >= ?2",
        params![arn, horizon],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(StreamInfo {
        arn: arn.to_owned(),
        table_name,
        label,
        view_type,
        shard_id,
        created_ms,
        disabled: disabled_ms.is_some(),
        first_seq: first.map(|s| s as u64),
        last_seq: last.map(|s| s as u64),
        key_schema: serde_json::from_str(&key_schema).unwrap_or(Value::Array(Vec::new())),
    })
}

fn encode_iterator(token: &IteratorToken) -> String {
    BASE64.encode(serde_json::to_vec(token).unwrap_or_default())
}

fn decode_iterator(text: &str) -> Result<IteratorToken, DynamoError> {
    BASE64
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            DynamoError::validation("Invalid ShardIterator: get one from GetShardIterator")
        })
}
