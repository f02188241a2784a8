//! Queue tags (TagQueue, UntagQueue, ListQueueTags) and ListDeadLetterSourceQueues: the
//! queues whose RedrivePolicy names a given dead-letter queue.

use std::collections::BTreeMap;

use rusqlite::params;

use super::attributes::RedrivePolicy;
use super::error::SqsError;
use super::{Queue, Sqs, message};

/// At most this many tags per queue.
pub const MAX_TAGS: usize = 50;

impl Sqs {
    pub async fn list_queue_tags(&self, name: &str) -> Result<BTreeMap<String, String>, SqsError> {
        let owned = name.to_string();
        self.storage.read(move |conn| read_tags(conn, &owned)).await
    }

    /// Add or overwrite tags (`Some`), or remove keys (`None` values).
    pub async fn change_queue_tags(
        &self,
        name: &str,
        changes: BTreeMap<String, Option<String>>,
    ) -> Result<(), SqsError> {
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), SqsError> {
                let mut tags = read_tags(conn, &owned)?;
                for (key, value) in changes {
                    match value {
                        Some(value) => tags.insert(key, value),
                        None => tags.remove(&key),
                    };
                }
                if tags.len() > MAX_TAGS {
                    return Err(SqsError::InvalidParameterValue(format!(
                        "Too many tags added for queue {owned}: a queue has at most {MAX_TAGS} tags."
                    )));
                }
                let text = serde_json::to_string(&tags).map_err(|e| SqsError::Internal(e.to_string()))?;
                conn.execute("UPDATE sqs_queues SET tags = ?2 WHERE name = ?1", params![owned, text])?;
                Ok(())
            })
            .await
    }

    /// Queues whose RedrivePolicy sends to the dead-letter queue `name`.
    pub async fn list_dead_letter_source_queues(&self, name: &str) -> Result<Vec<Queue>, SqsError> {
        let dlq_arn = self.queue_arn(name);
        let owned = name.to_string();
        let sources = self
            .storage
            .read(move |conn| -> Result<Vec<String>, SqsError> {
                message::queue_attributes(conn, &owned)?;
                let mut statement =
                    conn.prepare("SELECT name, attributes FROM sqs_queues ORDER BY name")?;
                let rows: Vec<(String, String)> = statement
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                Ok(rows
                    .into_iter()
                    .filter(|(_, attributes)| {
                        serde_json::from_str::<BTreeMap<String, String>>(attributes)
                            .ok()
                            .and_then(|a| {
                                a.get("RedrivePolicy")
                                    .and_then(|p| RedrivePolicy::parse(p).ok())
                            })
                            .is_some_and(|p| p.dead_letter_target_arn == dlq_arn)
                    })
                    .map(|(name, _)| name)
                    .collect())
            })
            .await?;
        Ok(sources.iter().map(|n| self.queue(n)).collect())
    }
}

fn read_tags(
    conn: &rusqlite::Connection,
    name: &str,
) -> Result<BTreeMap<String, String>, SqsError> {
    message::queue_attributes(conn, name)?;
    let text: String =
        conn.query_row("SELECT tags FROM sqs_queues WHERE name = ?1", [name], |r| {
            r.get(0)
        })?;
    serde_json::from_str(&text).map_err(|e| SqsError::Internal(format!("corrupt tags: {e}")))
}
