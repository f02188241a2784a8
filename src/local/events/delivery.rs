//! The delivery worker: moves rows of the delivery outbox into their target queues.
//!
//! Each move enqueues the message and deletes the outbox row in one transaction, so an
//! event reaches each target exactly once even across `kill -9` (and at least once is all
//! AWS promises). Failures (a queue refusing through fault injection, a missing queue, a
//! target the engine cannot deliver to) are retried with exponential backoff until the
//! target's RetryPolicy is exhausted; then the event goes to the target's dead-letter queue
//! with the attributes AWS documents, or is dropped when there is none.

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::{Connection, params};
use serde_json::Value;

use super::target::Target;
use super::{Events, rfc3339};
use crate::local::faults::FaultTarget;
use crate::local::sqs::message::queue_name_of_arn;
use crate::local::sqs::{AttributeValue, NewMessage, SqsError, enqueue_in};
use crate::pattern::template::{JsonPath, RuleContext};

/// Rows handled per round.
const BATCH: usize = 256;
/// The longest pause between retries of one delivery.
const MAX_BACKOFF_MS: i64 = 30_000;
/// How long the worker sleeps when nothing is due.
const IDLE: Duration = Duration::from_secs(60);

/// One outbox row with its target.
struct Due {
    id: i64,
    bus: String,
    rule: String,
    event: String,
    ingested_ms: i64,
    attempts: i64,
    target: Option<Target>,
}

/// What to do with one row.
enum Plan {
    /// The target is gone: drop the row, as AWS drops events for removed targets.
    Drop,
    Deliver {
        queue_arn: String,
        body: String,
    },
    Fail(Failure),
}

struct Failure {
    code: String,
    message: String,
    retriable: bool,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>, retriable: bool) -> Failure {
        Failure {
            code: code.to_string(),
            message: message.into(),
            retriable,
        }
    }
}

/// Run until the engine stops.
pub async fn run(events: Events) {
    loop {
        let wait = match events.deliver_due().await {
            Ok(next) => next.map_or(IDLE, |next_ms| {
                Duration::from_millis(
                    (next_ms - events.clock.now_ms()).clamp(0, IDLE.as_millis() as i64) as u64,
                )
            }),
            Err(err) => {
                tracing::warn!(error = %err, "event delivery round failed; retrying in 1 s");
                Duration::from_secs(1)
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = events.pending.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

impl Events {
    /// Deliver what is due; returns when the next row is due (`None`: the outbox is empty).
    pub async fn deliver_due(&self) -> Result<Option<i64>, super::EventsError> {
        let now = self.clock.now_ms();
        let due = self.storage.read(move |conn| load_due(conn, now)).await?;
        if !due.is_empty() {
            let plans: Vec<(Due, Plan)> = due
                .into_iter()
                .map(|row| {
                    let plan = self.plan(&row);
                    (row, plan)
                })
                .collect();
            let events = self.clone();
            let delivered = self
                .storage
                .write(move |conn| -> Result<usize, super::EventsError> {
                    let mut delivered = 0;
                    for (row, plan) in plans {
                        delivered += events.apply(conn, &row, plan, now)?;
                    }
                    Ok(delivered)
                })
                .await?;
            if delivered > 0 {
                self.sqs.notify();
            }
        }
        self.storage
            .read(|conn| -> Result<Option<i64>, super::EventsError> {
                Ok(conn.query_row("SELECT MIN(next_ms) FROM events_outbox", [], |r| r.get(0))?)
            })
            .await
    }

    /// Decide a row's fate outside the transaction (rendering, fault checks).
    fn plan(&self, row: &Due) -> Plan {
        let Some(target) = &row.target else {
            return Plan::Drop;
        };
        let body = match self.render(row, target) {
            Ok(body) => body,
            Err(message) => {
                return Plan::Fail(Failure::new("InputTransformationFailed", message, false));
            }
        };
        let Some(queue) = queue_name_of_arn(&target.arn) else {
            return Plan::Fail(Failure::new(
                "UnsupportedTarget",
                format!(
                    "the local engine delivers to SQS queues only, not to `{}`",
                    target.arn
                ),
                false,
            ));
        };
        if self
            .faults
            .is_refused(&FaultTarget::Queue(queue.to_string()))
        {
            return Plan::Fail(Failure::new(
                "SQS.ServiceUnavailable",
                format!(
                    "the queue `{queue}` refuses deliveries for now (a fault injected through /_outboxctl/faults)"
                ),
                true,
            ));
        }
        Plan::Deliver {
            queue_arn: target.arn.clone(),
            body,
        }
    }

    /// The message body for a target: Input, InputPath, InputTransformer, or the event.
    fn render(&self, row: &Due, target: &Target) -> Result<String, String> {
        if let Some(input) = &target.input {
            return Ok(input.clone());
        }
        let event: Value = serde_json::from_str(&row.event).map_err(|e| e.to_string())?;
        if let Some(path) = &target.input_path {
            let path = JsonPath::parse(path).map_err(|e| e.to_string())?;
            return Ok(path
                .resolve(&event)
                .map_or_else(|| "null".to_string(), Value::to_string));
        }
        match target.transformer().map_err(|e| e.to_string())? {
            Some(transformer) => transformer
                .render(
                    &event,
                    &RuleContext {
                        rule_arn: self.rule_arn(&row.bus, &row.rule),
                        rule_name: row.rule.clone(),
                        ingestion_time: rfc3339(row.ingested_ms),
                    },
                )
                .map_err(|e| e.to_string()),
            None => Ok(row.event.clone()),
        }
    }

    /// Carry out a plan inside the delivery transaction; returns messages enqueued.
    fn apply(
        &self,
        conn: &Connection,
        row: &Due,
        plan: Plan,
        now: i64,
    ) -> Result<usize, super::EventsError> {
        let failure = match plan {
            Plan::Drop => {
                conn.execute("DELETE FROM events_outbox WHERE id = ?1", [row.id])?;
                return Ok(0);
            }
            Plan::Deliver { queue_arn, body } => {
                let message = NewMessage {
                    body,
                    ..NewMessage::default()
                };
                match enqueue_in(conn, &queue_arn, &message, now) {
                    Ok(_) => {
                        conn.execute("DELETE FROM events_outbox WHERE id = ?1", [row.id])?;
                        return Ok(1);
                    }
                    Err(SqsError::Storage(err)) => return Err(err.into()),
                    Err(err @ SqsError::QueueDoesNotExist) => Failure::new(
                        "SQS.AWS.SimpleQueueService.NonExistentQueue",
                        err.to_string(),
                        false,
                    ),
                    Err(err) => {
                        Failure::new(&format!("SQS.{}", err.query_code()), err.to_string(), false)
                    }
                }
            }
            Plan::Fail(failure) => failure,
        };
        let Some(target) = &row.target else {
            return Ok(0);
        };
        let failed = row.attempts + 1;
        let retries = failed - 1;
        let exhausted = if !failure.retriable || retries >= target.max_retry_attempts() {
            Some("MaximumRetryAttemptsExhausted")
        } else if now - row.ingested_ms >= target.max_event_age_ms() {
            Some("MaximumEventAgeExhausted")
        } else {
            None
        };
        let Some(condition) = exhausted else {
            let backoff = (1000i64 << (failed - 1).min(15)).min(MAX_BACKOFF_MS);
            conn.execute(
                "UPDATE events_outbox SET attempts = ?2, next_ms = ?3 WHERE id = ?1",
                params![row.id, failed, now + backoff],
            )?;
            return Ok(0);
        };
        conn.execute("DELETE FROM events_outbox WHERE id = ?1", [row.id])?;
        let rule_arn = self.rule_arn(&row.bus, &row.rule);
        let Some(dlq) = target.dead_letter_arn() else {
            tracing::warn!(rule = %rule_arn, target = %target.id, code = %failure.code, error = %failure.message, "event dropped after its retries (the target has no dead-letter queue)");
            return Ok(0);
        };
        let attributes: BTreeMap<String, AttributeValue> = [
            ("RULE_ARN", rule_arn.clone()),
            ("TARGET_ARN", target.arn.clone()),
            ("ERROR_CODE", failure.code.clone()),
            ("ERROR_MESSAGE", failure.message.clone()),
            ("EXHAUSTED_RETRY_CONDITION", condition.to_string()),
            ("RETRY_ATTEMPTS", retries.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::string(v)))
        .collect();
        let refused = queue_name_of_arn(dlq)
            .is_some_and(|q| self.faults.is_refused(&FaultTarget::Queue(q.to_string())));
        let message = NewMessage {
            body: row.event.clone(),
            attributes,
            ..NewMessage::default()
        };
        match (refused, enqueue_in(conn, dlq, &message, now)) {
            (false, Ok(_)) => Ok(1),
            (_, Err(SqsError::Storage(err))) => Err(err.into()),
            (_, outcome) => {
                tracing::warn!(rule = %rule_arn, dlq, error = ?outcome.err(), "event dropped: its dead-letter queue refused it");
                Ok(0)
            }
        }
    }
}

fn load_due(conn: &Connection, now: i64) -> Result<Vec<Due>, super::EventsError> {
    let mut statement = conn.prepare_cached(
        "SELECT o.id, o.bus, o.rule, o.event, o.ingested_ms, o.attempts, t.target
         FROM events_outbox o LEFT JOIN events_targets t ON t.bus = o.bus AND t.rule = o.rule AND t.id = o.target_id
         WHERE o.next_ms <= ?1 ORDER BY o.next_ms, o.id LIMIT ?2",
    )?;
    let rows = statement
        .query_map(params![now, BATCH as i64], |r| {
            let target: Option<String> = r.get(6)?;
            Ok(Due {
                id: r.get(0)?,
                bus: r.get(1)?,
                rule: r.get(2)?,
                event: r.get(3)?,
                ingested_ms: r.get(4)?,
                attempts: r.get(5)?,
                target: target.and_then(|t| serde_json::from_str(&t).ok()),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
