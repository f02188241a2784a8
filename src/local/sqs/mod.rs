//! Amazon SQS (standard queues): queues, messages, visibility timeouts, long polling,
//! retention, redrive to dead-letter queues and message move tasks, all in the engine's
//! SQLite storage. This is the state and behaviour with no HTTP in it: the JSON protocol
//! lives in `api::sqs`, and EventBridge, Pipes and CloudFormation call this API directly.
//! Queue policies are recorded, not enforced.

pub mod attributes;
pub mod error;
pub mod md5;
pub mod message;
mod move_task;
mod retention;
mod tags;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::watch;

pub use self::error::SqsError;
pub use self::message::{AttributeValue, Message, NewMessage};
pub use self::move_task::MoveTask;
use crate::local::clock::Clock;
use crate::local::faults::Faults;
use crate::local::storage::Storage;
use crate::local::streams::ACCOUNT_ID;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sqs_queues (
    name TEXT PRIMARY KEY,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sqs_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    visible_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER,
    receipt TEXT,
    source_arn TEXT,
    system_attributes TEXT
);
CREATE INDEX IF NOT EXISTS sqs_messages_ready ON sqs_messages (queue, visible_ms, id);
CREATE INDEX IF NOT EXISTS sqs_messages_receipt ON sqs_messages (receipt);
-- Each receive first drops the queue's messages past retention: without this index that
-- read every message of the queue, so receiving slowed as the queue grew. Statements
-- name their index (INDEXED BY): with two indexes led by `queue`, SQLite's planner,
-- which has no statistics here, picked the wrong one and sorted the whole queue.
CREATE INDEX IF NOT EXISTS sqs_messages_age ON sqs_messages (queue, sent_ms);
CREATE TABLE IF NOT EXISTS sqs_move_tasks (
    handle TEXT PRIMARY KEY,
    source_arn TEXT NOT NULL,
    destination_arn TEXT,
    max_per_second INTEGER,
    status TEXT NOT NULL,
    moved INTEGER NOT NULL,
    to_move INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    failure TEXT
);
";

pub const MAX_QUEUE_NAME: usize = 80;
pub const MAX_BATCH_ENTRIES: usize = 10;
pub const MAX_RECEIVE_MESSAGES: i64 = 10;

/// A queue's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// What SendMessage answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
}

/// ReceiveMessage's options; `None` takes the queue's attribute.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceiveOptions {
    pub max_messages: Option<i64>,
    pub visibility_timeout: Option<i64>,
    pub wait_seconds: Option<i64>,
}

/// The SQS service of one engine.
#[derive(Debug, Clone)]
pub struct Sqs {
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    region: String,
    base_url: String,
    faults: Faults,
    changes: Arc<watch::Sender<u64>>,
}

impl Sqs {
    /// `base_url` is the engine's endpoint (`http://127.0.0.1:<port>`), the stem of queue URLs.
    pub async fn new(
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        region: String,
        base_url: String,
        faults: Faults,
    ) -> Result<Sqs, SqsError> {
        storage.ensure_schema(SCHEMA).await?;
        storage.write(add_system_attributes_column).await?;
        Ok(Sqs {
            storage,
            clock,
            region,
            base_url,
            faults,
            changes: Arc::new(watch::channel(0).0),
        })
    }

    pub fn queue(&self, name: &str) -> Queue {
        Queue {
            name: name.to_string(),
            url: format!("{}/{ACCOUNT_ID}/{name}", self.base_url),
            arn: self.queue_arn(name),
        }
    }

    /// The name of the queue `arn` names, if it is a queue of this engine's account and
    /// region: SQS finds nothing under another account's or region's ARN.
    pub fn local_queue_name<'a>(&self, arn: &'a str) -> Option<&'a str> {
        local_queue_name(arn, &self.queue_arn(""))
    }

    pub fn queue_arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{ACCOUNT_ID}:{name}", self.region)
    }

    /// Wake long pollers: messages may have arrived or become visible.
    pub fn notify(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub async fn create_queue(
        &self,
        name: &str,
        attributes: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<Queue, SqsError> {
        validate_queue_name(name)?;
        attributes::validate(&attributes)?;
        let now = self.clock.now_ms();
        let owned = name.to_string();
        let arn_prefix = self.queue_arn("");
        self.storage
            .write(move |conn| -> Result<(), SqsError> {
                match message::queue_attributes(conn, &owned) {
                    Ok(existing) => {
                        // Only the attributes the request names must match: a request
                        // with none answers the existing queue whatever it was created with.
                        if let Some((key, _)) = attributes.iter().find(|(k, v)| existing.get(*k) != Some(v)) {
                            return Err(SqsError::QueueAlreadyExists(format!(
                                "A queue already exists with the same name and a different value for attribute {key}"
                            )));
                        }
                        Ok(())
                    }
                    Err(SqsError::QueueDoesNotExist) => {
                        check_dead_letter_target(conn, &attributes, &arn_prefix)?;
                        let mut all = attributes::defaults();
                        all.extend(attributes);
                        conn.execute(
                            "INSERT INTO sqs_queues (name, attributes, tags, created_ms, modified_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
                            params![owned, to_json(&all)?, to_json(&tags)?, now],
                        )?;
                        Ok(())
                    }
                    Err(other) => Err(other),
                }
            })
            .await?;
        Ok(self.queue(name))
    }

    pub async fn delete_queue(&self, name: &str) -> Result<(), SqsError> {
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), SqsError> {
                if conn.execute("DELETE FROM sqs_queues WHERE name = ?1", [&owned])? == 0 {
                    return Err(SqsError::QueueDoesNotExist);
                }
                conn.execute("DELETE FROM sqs_messages WHERE queue = ?1", [&owned])?;
                Ok(())
            })
            .await
    }

    /// Queues whose names start with `prefix`, sorted by name.
    pub async fn list_queues(&self, prefix: Option<String>) -> Result<Vec<Queue>, SqsError> {
        let names = self
            .storage
            .read(move |conn| -> Result<Vec<String>, SqsError> {
                let mut statement = conn.prepare("SELECT name FROM sqs_queues ORDER BY name")?;
                let names = statement
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(names
                    .into_iter()
                    .filter(|n| prefix.as_deref().is_none_or(|p| n.starts_with(p)))
                    .collect())
            })
            .await?;
        Ok(names.iter().map(|n| self.queue(n)).collect())
    }

    pub async fn get_queue_url(&self, name: &str) -> Result<Queue, SqsError> {
        self.settable_attributes(name).await?;
        Ok(self.queue(name))
    }

    async fn settable_attributes(&self, name: &str) -> Result<BTreeMap<String, String>, SqsError> {
        let owned = name.to_string();
        self.storage
            .read(move |conn| message::queue_attributes(conn, &owned))
            .await
    }

    /// All attributes, settable and computed (`QueueArn`, message counts, timestamps).
    pub async fn get_queue_attributes(
        &self,
        name: &str,
    ) -> Result<BTreeMap<String, String>, SqsError> {
        let now = self.clock.now_ms();
        let owned = name.to_string();
        let arn = self.queue_arn(name);
        self.storage
            .read(move |conn| -> Result<BTreeMap<String, String>, SqsError> {
                let mut all = message::queue_attributes(conn, &owned)?;
                let (created, modified): (i64, i64) = conn.query_row(
                    "SELECT created_ms, modified_ms FROM sqs_queues WHERE name = ?1",
                    [&owned],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let retention = attributes::number(
                    &all,
                    "MessageRetentionPeriod",
                    attributes::DEFAULT_RETENTION_SECONDS,
                ) * 1000;
                let (visible, in_flight, delayed): (i64, i64, i64) = conn.query_row(
                    "SELECT COALESCE(SUM(visible_ms <= ?2), 0),
                            COALESCE(SUM(visible_ms > ?2 AND receipt IS NOT NULL), 0),
                            COALESCE(SUM(visible_ms > ?2 AND receipt IS NULL), 0)
                     FROM sqs_messages WHERE queue = ?1 AND sent_ms >= ?3",
                    params![owned, now, now - retention],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                all.insert("ApproximateNumberOfMessages".into(), visible.to_string());
                all.insert(
                    "ApproximateNumberOfMessagesNotVisible".into(),
                    in_flight.to_string(),
                );
                all.insert(
                    "ApproximateNumberOfMessagesDelayed".into(),
                    delayed.to_string(),
                );
                all.insert("CreatedTimestamp".into(), (created / 1000).to_string());
                all.insert(
                    "LastModifiedTimestamp".into(),
                    (modified / 1000).to_string(),
                );
                all.insert("QueueArn".into(), arn);
                Ok(all)
            })
            .await
    }

    pub async fn set_queue_attributes(
        &self,
        name: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        attributes::validate(&changes)?;
        let now = self.clock.now_ms();
        let owned = name.to_string();
        let arn_prefix = self.queue_arn("");
        self.storage
            .write(move |conn| -> Result<(), SqsError> {
                let mut all = message::queue_attributes(conn, &owned)?;
                check_dead_letter_target(conn, &changes, &arn_prefix)?;
                for (key, value) in changes {
                    // An empty Policy or RedrivePolicy removes it.
                    if value.is_empty()
                        && matches!(
                            key.as_str(),
                            "Policy" | "RedrivePolicy" | "RedriveAllowPolicy"
                        )
                    {
                        all.remove(&key);
                    } else {
                        all.insert(key, value);
                    }
                }
                conn.execute(
                    "UPDATE sqs_queues SET attributes = ?2, modified_ms = ?3 WHERE name = ?1",
                    params![owned, to_json(&all)?, now],
                )?;
                Ok(())
            })
            .await?;
        self.notify();
        Ok(())
    }

    pub async fn send_message(
        &self,
        name: &str,
        message: NewMessage,
    ) -> Result<SentMessage, SqsError> {
        let mut sent = self.send_message_batch(name, vec![message]).await?;
        sent.pop()
            .unwrap_or_else(|| Err(SqsError::Internal("the batch lost its only entry".into())))
    }

    /// Send several messages in one commit; each entry succeeds or fails on its own.
    pub async fn send_message_batch(
        &self,
        name: &str,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<Result<SentMessage, SqsError>>, SqsError> {
        let now = self.clock.now_ms();
        let owned = name.to_string();
        let results = self
            .storage
            .write(
                move |conn| -> Result<Vec<Result<SentMessage, SqsError>>, SqsError> {
                    message::queue_attributes(conn, &owned)?;
                    Ok(messages
                        .iter()
                        .map(|m| {
                            let message_id = message::enqueue(conn, &owned, m, now)?;
                            Ok(SentMessage {
                                message_id,
                                md5_of_body: md5::md5_of_body(&m.body),
                                md5_of_attributes: md5::md5_of_attributes(&m.attributes),
                                md5_of_system_attributes: md5::md5_of_attributes(
                                    &m.system_attributes,
                                ),
                            })
                        })
                        .collect())
                },
            )
            .await?;
        self.notify();
        Ok(results)
    }

    /// ReceiveMessage: waits up to the wait time (long polling) for at least one message.
    pub async fn receive_message(
        &self,
        name: &str,
        options: ReceiveOptions,
    ) -> Result<Vec<Message>, SqsError> {
        let attributes = self.settable_attributes(name).await?;
        let max = options.max_messages.unwrap_or(1);
        if !(1..=MAX_RECEIVE_MESSAGES).contains(&max) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            )));
        }
        let visibility = options.visibility_timeout.unwrap_or_else(|| {
            attributes::number(
                &attributes,
                "VisibilityTimeout",
                attributes::DEFAULT_VISIBILITY_TIMEOUT,
            )
        });
        if !(0..=attributes::MAX_VISIBILITY_TIMEOUT).contains(&visibility) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
            )));
        }
        let wait = options
            .wait_seconds
            .unwrap_or_else(|| attributes::number(&attributes, "ReceiveMessageWaitTimeSeconds", 0));
        if !(0..=attributes::MAX_WAIT_SECONDS).contains(&wait) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait as u64);
        let mut changes = self.changes.subscribe();
        loop {
            changes.borrow_and_update();
            let now = self.clock.now_ms();
            let owned = name.to_string();
            let arn = self.queue_arn(name);
            let (messages, next_visible) = self
                .storage
                .write(move |conn| -> Result<(Vec<Message>, Option<i64>), SqsError> {
                    let messages = message::receive(conn, &owned, &arn, max as usize, visibility * 1000, now)?;
                    let next: Option<i64> = conn
                        .query_row("SELECT MIN(visible_ms) FROM sqs_messages INDEXED BY sqs_messages_ready WHERE queue = ?1 AND visible_ms > ?2", params![owned, now], |r| r.get(0))
                        .optional()?
                        .flatten();
                    Ok((messages, next))
                })
                .await?;
            if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(messages);
            }
            // Sleep until a send, a visibility change, the next message turning visible or
            // the end of the wait, whichever comes first.
            let mut until = deadline;
            if let Some(next) = next_visible {
                let in_ms = (next - self.clock.now_ms()).max(1) as u64;
                until = until.min(tokio::time::Instant::now() + Duration::from_millis(in_ms));
            }
            let _ = tokio::time::timeout_at(until, changes.changed()).await;
        }
    }

    pub async fn delete_message(&self, name: &str, receipt_handle: &str) -> Result<(), SqsError> {
        let mut results = self
            .delete_message_batch(name, vec![receipt_handle.to_string()])
            .await?;
        results.pop().unwrap_or(Ok(()))
    }

    /// Delete by receipt handle; a stale but well-formed handle succeeds, as on SQS.
    pub async fn delete_message_batch(
        &self,
        name: &str,
        receipt_handles: Vec<String>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError> {
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<Vec<Result<(), SqsError>>, SqsError> {
                message::queue_attributes(conn, &owned)?;
                let mut statement = conn
                    .prepare_cached("DELETE FROM sqs_messages INDEXED BY sqs_messages_receipt WHERE queue = ?1 AND receipt = ?2")?;
                Ok(receipt_handles
                    .iter()
                    .map(|handle| {
                        let receipt = message::decode_receipt(handle)?;
                        statement.execute(params![owned, receipt])?;
                        Ok(())
                    })
                    .collect())
            })
            .await
    }

    pub async fn change_message_visibility(
        &self,
        name: &str,
        receipt_handle: &str,
        visibility_timeout: i64,
    ) -> Result<(), SqsError> {
        let mut results = self
            .change_message_visibility_batch(
                name,
                vec![(receipt_handle.to_string(), visibility_timeout)],
            )
            .await?;
        results.pop().unwrap_or(Ok(()))
    }

    /// Change the visibility of in-flight messages by receipt handle; each entry succeeds
    /// or fails on its own (`MessageNotInflight` for a message that is not in flight).
    pub async fn change_message_visibility_batch(
        &self,
        name: &str,
        entries: Vec<(String, i64)>,
    ) -> Result<Vec<Result<(), SqsError>>, SqsError> {
        let now = self.clock.now_ms();
        let owned = name.to_string();
        let results = self
            .storage
            .write(move |conn| -> Result<Vec<Result<(), SqsError>>, SqsError> {
                message::queue_attributes(conn, &owned)?;
                let mut statement = conn.prepare_cached(
                    "UPDATE sqs_messages SET visible_ms = ?3 WHERE queue = ?1 AND receipt = ?2 AND visible_ms > ?4",
                )?;
                Ok(entries
                    .iter()
                    .map(|(handle, timeout)| {
                        if !(0..=attributes::MAX_VISIBILITY_TIMEOUT).contains(timeout) {
                            return Err(SqsError::InvalidParameterValue(format!(
                                "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
                            )));
                        }
                        let receipt = message::decode_receipt(handle)?;
                        match statement.execute(params![owned, receipt, now + timeout * 1000, now])? {
                            0 => Err(SqsError::MessageNotInflight),
                            _ => Ok(()),
                        }
                    })
                    .collect())
            })
            .await?;
        self.notify();
        Ok(results)
    }

    pub async fn purge_queue(&self, name: &str) -> Result<(), SqsError> {
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), SqsError> {
                message::queue_attributes(conn, &owned)?;
                conn.execute("DELETE FROM sqs_messages WHERE queue = ?1", [&owned])?;
                Ok(())
            })
            .await
    }

    /// The queue name in a queue URL (`…/<account>/<name>`), or QueueDoesNotExist.
    pub fn name_of_url(url: &str) -> Result<&str, SqsError> {
        url.trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty() && validate_queue_name(n).is_ok())
            .ok_or(SqsError::QueueDoesNotExist)
    }
}

fn validate_queue_name(name: &str) -> Result<(), SqsError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_QUEUE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SqsError::InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
                .into(),
        ))
    }
}

/// The queue name in `arn` when it starts with `arn_prefix` (a queue ARN of this engine
/// without its name).
fn local_queue_name<'a>(arn: &'a str, arn_prefix: &str) -> Option<&'a str> {
    arn.strip_prefix(arn_prefix)
        .filter(|name| !name.is_empty() && !name.contains(':'))
}

/// A `RedrivePolicy` must name a queue that exists when it is set, in the same account
/// and region as the queue (`arn_prefix`, the ARN of a queue here without its name).
fn check_dead_letter_target(
    conn: &Connection,
    attributes: &BTreeMap<String, String>,
    arn_prefix: &str,
) -> Result<(), SqsError> {
    let Some(text) = attributes.get("RedrivePolicy").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let policy = attributes::RedrivePolicy::parse(text)?;
    let exists = match local_queue_name(&policy.dead_letter_target_arn, arn_prefix) {
        Some(name) => conn
            .prepare_cached("SELECT 1 FROM sqs_queues WHERE name = ?1")?
            .exists([name])?,
        None => false,
    };
    if exists {
        Ok(())
    } else {
        Err(SqsError::InvalidParameterValue(format!(
            "Value {text} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist."
        )))
    }
}

/// Data directories written before messages kept system attributes lack the column.
fn add_system_attributes_column(conn: &Connection) -> Result<(), SqsError> {
    let present: bool = conn
        .prepare(
            "SELECT 1 FROM pragma_table_info('sqs_messages') WHERE name = 'system_attributes'",
        )?
        .exists([])?;
    if !present {
        conn.execute(
            "ALTER TABLE sqs_messages ADD COLUMN system_attributes TEXT",
            [],
        )?;
    }
    Ok(())
}

fn to_json(map: &BTreeMap<String, String>) -> Result<String, SqsError> {
    serde_json::to_string(map).map_err(|e| SqsError::Internal(e.to_string()))
}

/// Used by the delivery paths of EventBridge and Pipes inside their own transactions.
pub fn enqueue_in(
    conn: &Connection,
    queue_arn: &str,
    message: &NewMessage,
    now_ms: i64,
) -> Result<String, SqsError> {
    let name = message::queue_name_of_arn(queue_arn).ok_or(SqsError::QueueDoesNotExist)?;
    message::enqueue(conn, name, message, now_ms)
}
