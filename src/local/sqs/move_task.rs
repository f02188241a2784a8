//! StartMessageMoveTask / ListMessageMoveTasks: redrive messages out of a dead-letter queue,
//! back to the queues they came from or to a chosen destination. A task moves every message
//! in the DLQ at the moment it starts, in one commit, and is then COMPLETED.

use rusqlite::{OptionalExtension, params};

use super::Sqs;
use super::error::SqsError;
use super::message::{self, queue_name_of_arn};

/// A move task as ListMessageMoveTasks shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTask {
    pub task_handle: String,
    pub status: String,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<i64>,
    pub moved: i64,
    pub to_move: i64,
    pub started_ms: i64,
    pub failure_reason: Option<String>,
}

impl Sqs {
    /// Start moving the messages of the dead-letter queue `source_arn`; returns the handle.
    pub async fn start_message_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<String>,
        max_per_second: Option<i64>,
    ) -> Result<String, SqsError> {
        let source = self
            .local_queue_name(source_arn)
            .ok_or_else(no_source)?
            .to_string();
        if let Some(rate) = max_per_second
            && !(1..=500).contains(&rate)
        {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500."
            )));
        }
        let now = self.clock.now_ms();
        let handle = uuid::Uuid::new_v4().to_string();
        let (task, arn) = (handle.clone(), source_arn.to_string());
        let destination_name = destination_arn
            .as_deref()
            .map(|d| {
                self.local_queue_name(d)
                    .map(str::to_string)
                    .ok_or(SqsError::QueueDoesNotExist)
            })
            .transpose()?;
        self.storage
            .write(move |conn| -> Result<(), SqsError> {
                message::queue_attributes(conn, &source).map_err(|_| no_source())?;
                if let Some(destination) = &destination_name {
                    message::queue_attributes(conn, destination)?;
                }
                let running: Option<String> = conn
                    .query_row("SELECT handle FROM sqs_move_tasks WHERE source_arn = ?1 AND status = 'RUNNING'", [&arn], |r| r.get(0))
                    .optional()?;
                if running.is_some() {
                    return Err(SqsError::UnsupportedOperation("There is already a task running. Only one active task is allowed for a source queue arn at a given time.".into()));
                }
                let to_move: i64 = conn.query_row("SELECT COUNT(*) FROM sqs_messages WHERE queue = ?1", [&source], |r| r.get(0))?;
                conn.execute(
                    "INSERT INTO sqs_move_tasks (handle, source_arn, destination_arn, max_per_second, status, moved, to_move, started_ms) VALUES (?1, ?2, ?3, ?4, 'RUNNING', 0, ?5, ?6)",
                    params![task, arn, destination_arn, max_per_second, to_move, now],
                )?;
                Ok(())
            })
            .await?;
        let sqs = self.clone();
        let task = handle.clone();
        tokio::spawn(async move {
            if let Err(err) = sqs.run_move_task(task).await {
                tracing::warn!(error = %err, "message move task failed");
            }
        });
        Ok(handle)
    }

    /// Move the messages and mark the task COMPLETED (or FAILED with the reason).
    async fn run_move_task(&self, handle: String) -> Result<(), SqsError> {
        let now = self.clock.now_ms();
        self.storage
            .write(move |conn| -> Result<(), SqsError> {
                let (source_arn, destination): (String, Option<String>) = conn.query_row(
                    "SELECT source_arn, destination_arn FROM sqs_move_tasks WHERE handle = ?1",
                    [&handle],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let source = queue_name_of_arn(&source_arn).unwrap_or_default().to_string();
                let rows: Vec<(i64, Option<String>)> = conn
                    .prepare("SELECT id, source_arn FROM sqs_messages WHERE queue = ?1 ORDER BY id")?
                    .query_map([&source], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let mut moved = 0i64;
                let mut failure = None;
                for (id, origin) in rows {
                    let target = destination.clone().or(origin);
                    let Some(target) = target.as_deref().and_then(queue_name_of_arn).map(str::to_string) else {
                        failure = Some("a message has no source queue to return to; give a DestinationArn".to_string());
                        continue;
                    };
                    if message::queue_attributes(conn, &target).is_err() {
                        failure = Some(format!("the destination queue `{target}` does not exist"));
                        continue;
                    }
                    conn.execute(
                        "UPDATE sqs_messages SET queue = ?2, visible_ms = ?3, receive_count = 0, first_receive_ms = NULL, receipt = NULL, source_arn = NULL WHERE id = ?1",
                        params![id, target, now],
                    )?;
                    moved += 1;
                }
                let status = if failure.is_some() { "FAILED" } else { "COMPLETED" };
                conn.execute(
                    "UPDATE sqs_move_tasks SET status = ?2, moved = ?3, failure = ?4 WHERE handle = ?1",
                    params![handle, status, moved, failure],
                )?;
                Ok(())
            })
            .await?;
        self.notify();
        Ok(())
    }

    /// The move tasks of a source queue, newest first.
    pub async fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max_results: usize,
    ) -> Result<Vec<MoveTask>, SqsError> {
        let arn = source_arn.to_string();
        let source = self
            .local_queue_name(source_arn)
            .ok_or_else(no_source)?
            .to_string();
        self.storage
            .read(move |conn| -> Result<Vec<MoveTask>, SqsError> {
                message::queue_attributes(conn, &source).map_err(|_| no_source())?;
                let mut statement = conn.prepare(
                    "SELECT handle, status, destination_arn, max_per_second, moved, to_move, started_ms, failure FROM sqs_move_tasks WHERE source_arn = ?1 ORDER BY started_ms DESC, rowid DESC LIMIT ?2",
                )?;
                let tasks = statement
                    .query_map(params![arn, max_results as i64], |r| {
                        Ok(MoveTask {
                            task_handle: r.get(0)?,
                            status: r.get(1)?,
                            source_arn: arn.clone(),
                            destination_arn: r.get(2)?,
                            max_per_second: r.get(3)?,
                            moved: r.get(4)?,
                            to_move: r.get(5)?,
                            started_ms: r.get(6)?,
                            failure_reason: r.get(7)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                Ok(tasks)
            })
            .await
    }
}

fn no_source() -> SqsError {
    SqsError::ResourceNotFound(
        "The resource that you specified for the SourceArn parameter doesn't exist.".into(),
    )
}
