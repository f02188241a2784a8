//! One running pipe: read the stream shard in order from the durable checkpoint, wait for
//! a batch (BatchSize, MaximumBatchingWindowInSeconds), drop what the filters drop, put the
//! rest on the bus, and only then advance the checkpoint. A failed batch is retried with
//! backoff, bisected when `AUTOMATIC_BISECT` is on, and once MaximumRetryAttempts or
//! MaximumRecordAgeInSeconds is exhausted described in a message to the pipe's DLQ (shard,
//! first and last sequence numbers, arrival times, batch size, stream ARN, error), as AWS
//! does for stream sources. A stop request ends the runner between batches or mid-retry;
//! the unacknowledged batch is read again on restart (at-least-once).

use std::collections::VecDeque;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use tokio::sync::watch;

use super::spec::RunnerConfig;
use super::{Pipes, PipesError};
use crate::local::events::put_events::MAX_ENTRIES;
use crate::local::events::{AlongsideJob, EventsError, PutEventsEntry, rfc3339};
use crate::local::faults::FaultTarget;
use crate::local::sqs::NewMessage;
use crate::local::sqs::message::queue_name_of_arn;
use crate::local::streams::{StreamRecord, format_sequence_number};

/// How long an idle runner waits before looking again without a change signal.
const IDLE: Duration = Duration::from_secs(5);
const FIRST_BACKOFF_MS: u64 = 500;
const MAX_BACKOFF_MS: u64 = 30_000;
/// At most this many bytes of entries per PutEvents call (AWS's 256 KB).
const MAX_PUT_BYTES: usize = 256 * 1024;

/// The runner was asked to stop.
struct Stopped;

/// Why a batch failed: `(error code, message)`.
type Failure = (String, String);

pub(super) async fn run(
    pipes: Pipes,
    name: String,
    config: RunnerConfig,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(pipe = %name, source = %config.source_arn, "pipe runner started");
    // A reason left from before a restart is cleared on the first good read.
    let mut reason_set = true;
    loop {
        if *stop.borrow() {
            return;
        }
        match pipes
            .next_batch(&name, &config, &mut stop, &mut reason_set)
            .await
        {
            Ok(Some((shard, records))) => {
                let Some(last) = records.last().map(|r| r.seq) else {
                    continue;
                };
                let checkpoint = Checkpoint {
                    pipe: name.clone(),
                    stream_arn: config.source_arn.clone(),
                    shard: shard.clone(),
                    seq: last,
                };
                match pipes
                    .process(&name, &config, records, checkpoint, &mut stop)
                    .await
                {
                    Err(Stopped) => return,
                    Ok(true) => continue,
                    Ok(false) => {}
                }
                // Advance only after the bus accepted the batch (or its DLQ message went out).
                while let Err(err) = pipes
                    .save_checkpoint(&name, &config.source_arn, &shard, last)
                    .await
                {
                    tracing::warn!(pipe = %name, error = %err, "cannot save the pipe checkpoint; retrying");
                    if pause(&mut stop, Duration::from_secs(1)).await.is_err() {
                        return;
                    }
                }
            }
            Ok(None) => {}
            Err(Stopped) => return,
        }
    }
}

/// Sleep, unless a stop request comes first.
async fn pause(stop: &mut watch::Receiver<bool>, duration: Duration) -> Result<(), Stopped> {
    tokio::select! {
        _ = stop.changed() => Err(Stopped),
        _ = tokio::time::sleep(duration) => if *stop.borrow() { Err(Stopped) } else { Ok(()) },
    }
}

impl Pipes {
    /// The next batch after the checkpoint, waiting for records and the batching window.
    async fn next_batch(
        &self,
        name: &str,
        config: &RunnerConfig,
        stop: &mut watch::Receiver<bool>,
        reason_set: &mut bool,
    ) -> Result<Option<(String, Vec<StreamRecord>)>, Stopped> {
        let mut changes = self.streams.subscribe();
        changes.borrow_and_update();
        let info = match self
            .streams
            .describe_stream(config.source_arn.clone())
            .await
        {
            Ok(info) => {
                if std::mem::take(reason_set) {
                    self.set_state_reason(name, None).await;
                }
                info
            }
            Err(err) => {
                let reason = format!("the source stream cannot be read: {err}");
                *reason_set = true;
                if self.set_state_reason(name, Some(reason)).await {
                    tracing::warn!(pipe = %name, error = %err, "the pipe's source stream is not readable; retrying every second");
                }
                pause(stop, Duration::from_secs(1)).await?;
                return Ok(None);
            }
        };
        let shard = info.shard_id.clone();
        let after = match self.checkpoint(name, &config.source_arn, &shard).await {
            Ok(Some(seq)) => seq,
            Ok(None) => {
                let start = if config.starting_position == "LATEST" {
                    info.last_seq.unwrap_or(0)
                } else {
                    0
                };
                if self
                    .save_checkpoint(name, &config.source_arn, &shard, start)
                    .await
                    .is_err()
                {
                    pause(stop, Duration::from_secs(1)).await?;
                    return Ok(None);
                }
                start
            }
            Err(_) => {
                pause(stop, Duration::from_secs(1)).await?;
                return Ok(None);
            }
        };
        loop {
            let records = self
                .streams
                .read_records(&config.source_arn, &shard, after, config.batch_size)
                .await
                .unwrap_or_default();
            let window_end = records
                .first()
                .map(|r| r.created_ms + config.batching_window_ms);
            let full = records.len() >= config.batch_size;
            match window_end {
                Some(end) if full || self.clock.now_ms() >= end => {
                    return Ok(Some((shard, records)));
                }
                _ => {}
            }
            let wait = window_end.map_or(IDLE, |end| {
                Duration::from_millis((end - self.clock.now_ms()).max(1) as u64)
            });
            tokio::select! {
                _ = stop.changed() => return Err(Stopped),
                _ = changes.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            if *stop.borrow() {
                return Err(Stopped);
            }
        }
    }

    /// Deliver a batch: filter, then put on the bus with retries, bisection and the DLQ.
    /// Returns whether the checkpoint was committed with the batch's events (the batch
    /// went through at the first attempt); otherwise the caller saves it.
    async fn process(
        &self,
        name: &str,
        config: &RunnerConfig,
        records: Vec<StreamRecord>,
        checkpoint: Checkpoint,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<bool, Stopped> {
        let shard = checkpoint.shard.clone();
        let shard = shard.as_str();
        let passing: Vec<StreamRecord> = records
            .into_iter()
            .filter(|r| config.program.passes(&r.with_event_source_arn()))
            .collect();
        if passing.is_empty() {
            return Ok(false);
        }
        // Only the first attempt at the whole batch can carry the checkpoint.
        let mut checkpoint = Some(checkpoint);
        let mut committed = false;
        let mut work: VecDeque<(Vec<StreamRecord>, u64)> = VecDeque::from([(passing, 0)]);
        while let Some((batch, mut attempts)) = work.pop_front() {
            loop {
                let carried = checkpoint.take();
                let with_checkpoint = carried.is_some();
                let Err(failure) = self.put_batch(config, &batch, carried).await else {
                    committed |= with_checkpoint;
                    break;
                };
                attempts += 1;
                if config.bisect && batch.len() > 1 {
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    work.push_front((second, attempts));
                    work.push_front((first, attempts));
                    break;
                }
                let now = self.clock.now_ms();
                let oldest = batch.first().map_or(now, |r| r.created_ms);
                let too_old = config
                    .max_record_age_ms
                    .is_some_and(|max| now - oldest > max);
                let exhausted = config
                    .max_retry_attempts
                    .is_some_and(|max| attempts as i64 > max);
                if too_old || exhausted {
                    let condition = if too_old {
                        "RecordAgeExceeded"
                    } else {
                        "RetryAttemptsExhausted"
                    };
                    self.dead_letter(
                        name, config, shard, &batch, &failure, attempts, condition, stop,
                    )
                    .await?;
                    break;
                }
                tracing::info!(pipe = %name, attempts, error = %failure.1, "pipe batch failed; retrying");
                let backoff = (FIRST_BACKOFF_MS << (attempts - 1).min(10)).min(MAX_BACKOFF_MS);
                pause(stop, Duration::from_millis(backoff)).await?;
            }
        }
        Ok(committed)
    }

    /// Put a batch's events on the bus, all or nothing per PutEvents call; any refused
    /// entry fails the batch. The checkpoint, if given, commits with the last call.
    async fn put_batch(
        &self,
        config: &RunnerConfig,
        batch: &[StreamRecord],
        checkpoint: Option<Checkpoint>,
    ) -> Result<(), Failure> {
        let ingestion_time = rfc3339(self.clock.now_ms());
        let mut entries = Vec::with_capacity(batch.len());
        for record in batch {
            let record = record.with_event_source_arn();
            let entry = config
                .program
                .entry(&record, &ingestion_time)
                .map_err(|e| ("Target.TransformationFailed".to_string(), e.to_string()))?;
            let time_ms = config
                .time_path
                .as_ref()
                .and_then(|path| path.resolve(&record))
                .and_then(event_time_ms);
            entries.push(PutEventsEntry {
                source: Some(entry.source),
                detail_type: Some(entry.detail_type),
                detail: Some(entry.detail),
                resources: config.resources.clone(),
                event_bus_name: Some(config.target_bus.clone()),
                time_ms,
            });
        }
        let mut calls = chunks(entries);
        let last = calls.pop().unwrap_or_default();
        for chunk in calls {
            self.put_all(chunk, None).await?;
        }
        let alongside = checkpoint.map(|c| -> AlongsideJob {
            Box::new(move |conn| {
                c.write(conn)
                    .map_err(|e| EventsError::Internal(e.to_string()))
            })
        });
        self.put_all(last, alongside).await
    }

    async fn put_all(
        &self,
        entries: Vec<PutEventsEntry>,
        alongside: Option<AlongsideJob>,
    ) -> Result<(), Failure> {
        if entries.is_empty() && alongside.is_none() {
            return Ok(());
        }
        match self.events.put_events_atomically(entries, alongside).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(refused)) => Err((refused.code, refused.message)),
            Err(error) => Err((error.shape().to_string(), error.to_string())),
        }
    }

    /// Send the failed batch's description to the DLQ (retrying until it is accepted), or
    /// drop the batch when the pipe has no DLQ.
    #[allow(clippy::too_many_arguments)]
    async fn dead_letter(
        &self,
        name: &str,
        config: &RunnerConfig,
        shard: &str,
        batch: &[StreamRecord],
        failure: &Failure,
        attempts: u64,
        condition: &str,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), Stopped> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(());
        };
        let Some(dlq) = config.dead_letter_arn.as_deref() else {
            tracing::warn!(pipe = %name, error = %failure.1, "pipe batch dropped after its retries (the pipe has no dead-letter queue)");
            return Ok(());
        };
        let body = json!({
            "requestContext": {
                "requestId": uuid::Uuid::new_v4().to_string(),
                "pipeArn": self.pipe_arn(name),
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"errorCode": failure.0, "errorMessage": failure.1},
            "version": "1.0",
            "timestamp": rfc3339(self.clock.now_ms()),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": format_sequence_number(first.seq),
                "endSequenceNumber": format_sequence_number(last.seq),
                "approximateArrivalOfFirstRecord": rfc3339(first.created_ms),
                "approximateArrivalOfLastRecord": rfc3339(last.created_ms),
                "batchSize": batch.len(),
                "streamArn": config.source_arn,
            },
        });
        let queue = queue_name_of_arn(dlq).unwrap_or_default().to_string();
        loop {
            let refused = self
                .sqs
                .faults()
                .is_refused(&FaultTarget::Queue(queue.clone()));
            let message = NewMessage {
                body: body.to_string(),
                ..NewMessage::default()
            };
            match (refused, self.sqs.send_message(&queue, message).await) {
                (false, Ok(_)) => return Ok(()),
                (_, outcome) => {
                    tracing::warn!(pipe = %name, dlq, error = ?outcome.err(), "the pipe's dead-letter queue refused the failed batch; retrying");
                    pause(stop, Duration::from_secs(1)).await?;
                }
            }
        }
    }

    async fn checkpoint(
        &self,
        pipe: &str,
        stream_arn: &str,
        shard: &str,
    ) -> Result<Option<u64>, PipesError> {
        let (pipe, arn, shard) = (pipe.to_string(), stream_arn.to_string(), shard.to_string());
        self.storage
            .read(move |conn| -> Result<Option<u64>, PipesError> {
                let seq: Option<i64> = conn
                    .query_row(
                        "SELECT seq FROM pipes_checkpoints WHERE pipe = ?1 AND stream_arn = ?2 AND shard_id = ?3",
                        params![pipe, arn, shard],
                        |r| r.get(0),
                    )
                    .optional()?;
                Ok(seq.map(|s| s as u64))
            })
            .await
    }

    /// Set or clear the pipe's `StateReason`; true when it changed.
    async fn set_state_reason(&self, pipe: &str, reason: Option<String>) -> bool {
        let pipe = pipe.to_string();
        self.storage
            .write(move |conn| -> Result<bool, PipesError> {
                let changed = conn.execute(
                    "UPDATE pipes SET state_reason = ?2 WHERE name = ?1 AND state_reason IS NOT ?2",
                    params![pipe, reason],
                )?;
                Ok(changed > 0)
            })
            .await
            .unwrap_or(false)
    }

    async fn save_checkpoint(
        &self,
        pipe: &str,
        stream_arn: &str,
        shard: &str,
        seq: u64,
    ) -> Result<(), PipesError> {
        let checkpoint = Checkpoint {
            pipe: pipe.to_string(),
            stream_arn: stream_arn.to_string(),
            shard: shard.to_string(),
            seq,
        };
        self.storage.write(move |conn| checkpoint.write(conn)).await
    }
}

/// Where a pipe has read up to in one shard.
struct Checkpoint {
    pipe: String,
    stream_arn: String,
    shard: String,
    seq: u64,
}

impl Checkpoint {
    /// Record it (never moving backwards; a deleted pipe keeps no checkpoint).
    fn write(&self, conn: &Connection) -> Result<(), PipesError> {
        conn.execute(
            "INSERT INTO pipes_checkpoints (pipe, stream_arn, shard_id, seq) SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM pipes WHERE name = ?1)
             ON CONFLICT (pipe, stream_arn, shard_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            params![self.pipe, self.stream_arn, self.shard, self.seq as i64],
        )?;
        Ok(())
    }
}

/// An event time from the record: epoch seconds (as `ApproximateCreationDateTime` is) or
/// RFC 3339 text; anything else leaves the time of the PutEvents call.
fn event_time_ms(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64().map(|s| (s * 1000.0) as i64),
        serde_json::Value::String(text) => {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        }
        _ => None,
    }
}

/// Split entries into PutEvents calls of at most 10 entries and 256 KB.
fn chunks(entries: Vec<PutEventsEntry>) -> Vec<Vec<PutEventsEntry>> {
    let mut out: Vec<Vec<PutEventsEntry>> = Vec::new();
    let mut bytes = 0;
    for entry in entries {
        let size = entry.size();
        match out.last_mut() {
            Some(chunk) if chunk.len() < MAX_ENTRIES && bytes + size <= MAX_PUT_BYTES => {
                bytes += size;
                chunk.push(entry);
            }
            _ => {
                bytes = size;
                out.push(vec![entry]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn event_times_come_from_epoch_seconds_or_rfc3339() {
        assert_eq!(
            event_time_ms(&json!(1_700_000_000)),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            event_time_ms(&json!("2023-11-14T22:13:20Z")),
            Some(1_700_000_000_000)
        );
        assert_eq!(event_time_ms(&json!("yesterday")), None);
    }

    #[test]
    fn put_events_calls_hold_at_most_ten_entries() {
        let entry = |i: usize| PutEventsEntry {
            detail: Some(format!("{{\"i\": {i}}}")),
            ..PutEventsEntry::default()
        };
        let calls = chunks((0..23).map(entry).collect());
        assert_eq!(
            calls.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![10, 10, 3]
        );
    }
}
