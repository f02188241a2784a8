//! Retention: messages older than their queue's `MessageRetentionPeriod` (counted from the
//! original enqueue time, also in a dead-letter queue) are deleted. Receives and counts
//! already skip them; this sweep frees their storage.

use std::collections::BTreeMap;

use rusqlite::params;

use super::Sqs;
use super::attributes::{self, DEFAULT_RETENTION_SECONDS};
use super::error::SqsError;

impl Sqs {
    /// Delete expired messages of every queue; returns how many.
    pub async fn expire_messages(&self) -> Result<usize, SqsError> {
        let now = self.clock.now_ms();
        self.storage
            .write(move |conn| -> Result<usize, SqsError> {
                let queues: Vec<(String, String)> = conn
                    .prepare("SELECT name, attributes FROM sqs_queues")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let mut removed = 0;
                for (queue, text) in queues {
                    let settings: BTreeMap<String, String> =
                        serde_json::from_str(&text).unwrap_or_default();
                    let retention_ms = attributes::number(
                        &settings,
                        "MessageRetentionPeriod",
                        DEFAULT_RETENTION_SECONDS,
                    ) * 1000;
                    removed += conn.execute(
                        "DELETE FROM sqs_messages INDEXED BY sqs_messages_age WHERE queue = ?1 AND sent_ms < ?2",
                        params![queue, now - retention_ms],
                    )?;
                }
                Ok(removed)
            })
            .await
    }
}
