//! Reading the tail queue. Every rule taps a copy of each event it matches into the tail
//! queue (with the rule's name), and a catch-all rule copies every event there too. Here
//! the copies are grouped back by event id: the rules an event matched, or none. Only the
//! tail queue is read, never a consumer's queue.
//!
//! Reading a message hides it for the queue's visibility timeout; only the copies of
//! events a command reports are deleted ([`Tail::ack`]). Events it leaves out (`--rule`)
//! stay hidden while it runs ([`Tail::pass_over`]); when it stops, those, the events past
//! `--count` and those still waiting for copies are made visible again
//! ([`Tail::release`]), so the next `tail` or `verify` still sees them.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName,
};
use serde_json::Value;

use super::error::explain;

/// One event with every rule that matched it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TailedEvent {
    pub id: String,
    pub time: String,
    pub detail_type: String,
    pub source: String,
    /// Physical names of the rules that matched (the catch-all excluded), sorted.
    pub rules: Vec<String>,
    /// From the order's write (its updatedAt/createdAt, in milliseconds) to the first
    /// copy landing in the tail queue; none when the event carries no such time.
    pub latency_ms: Option<u64>,
    pub event: Value,
    /// The receipt handles of its copies, by message id: what [`Tail::ack`] deletes.
    #[serde(skip)]
    copies: HashMap<String, String>,
}

struct Pending {
    first_seen: Instant,
    last_seen: Instant,
    rules: BTreeSet<String>,
    caught_all: bool,
    earliest_sent_ms: u64,
    event: Value,
    copies: HashMap<String, String>,
}

/// How long to wait for more copies after the catch-all's copy arrived, and at most
/// after the first copy: EventBridge delivers each target's copy independently (and
/// retries each on its own), so a rule's copy can trail the catch-all's.
const SETTLE: Duration = Duration::from_millis(1500);
const GIVE_UP: Duration = Duration::from_secs(10);
/// How long an event passed over stays hidden from this reader. Should the reader die
/// without releasing it, other readers see it again after this long.
const PASSED_OVER: Duration = Duration::from_secs(15 * 60);

pub struct Tail {
    sqs: Client,
    queue_url: String,
    catch_all_rule: String,
    pending: HashMap<String, Pending>,
    /// Copies of the events passed over, by event id, then by message id.
    passed_over: HashMap<String, HashMap<String, String>>,
}

impl Tail {
    pub fn new(sqs: Client, queue_url: &str, catch_all_rule: &str) -> Tail {
        Tail {
            sqs,
            queue_url: queue_url.to_string(),
            catch_all_rule: catch_all_rule.to_string(),
            pending: HashMap::new(),
            passed_over: HashMap::new(),
        }
    }

    /// Receive what has arrived (waiting up to `wait`), and return the events whose
    /// copies have all come in, oldest first. Nothing is deleted here: pass each event
    /// to [`Tail::ack`] once it is reported, or to [`Tail::release`].
    pub async fn poll(&mut self, wait: Duration) -> anyhow::Result<Vec<TailedEvent>> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|err| explain("sqs:ReceiveMessage", err))?;
        let messages = received.messages.unwrap_or_default();
        let mut strays = Vec::new();
        let now = Instant::now();
        for message in messages {
            let (Some(message_id), Some(handle)) =
                (message.message_id.clone(), message.receipt_handle.clone())
            else {
                continue;
            };
            let sent_ms = message
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0);
            let Some(tap) = message
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
            else {
                tracing::warn!("deleting a tail message that is not a tap copy");
                strays.push(handle);
                continue;
            };
            let rule = tap["rule"].as_str().unwrap_or_default().to_string();
            let event = tap["event"].clone();
            let id = event["id"].as_str().unwrap_or_default().to_string();
            let entry = self.pending.entry(id).or_insert_with(|| Pending {
                first_seen: now,
                last_seen: now,
                rules: BTreeSet::new(),
                caught_all: false,
                earliest_sent_ms: sent_ms,
                event,
                copies: HashMap::new(),
            });
            entry.last_seen = now;
            entry.earliest_sent_ms = entry.earliest_sent_ms.min(sent_ms);
            // A copy received again (its visibility timeout ran out) brings a new handle;
            // only the newest one can delete it.
            entry.copies.insert(message_id, handle);
            if rule == self.catch_all_rule {
                entry.caught_all = true;
            } else {
                entry.rules.insert(rule);
            }
        }
        self.delete(strays).await?;
        Ok(self.settled(Instant::now()))
    }

    /// Delete the copies of an event that has been reported.
    pub async fn ack(&self, event: &TailedEvent) -> anyhow::Result<()> {
        self.delete(event.copies.values().cloned().collect()).await
    }

    async fn delete(&self, handles: Vec<String>) -> anyhow::Result<()> {
        for chunk in handles.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| explain("sqs:DeleteMessageBatch", err))?;
        }
        Ok(())
    }

    /// Leave `event` to another reader: it stays hidden while this one runs (at most
    /// [`PASSED_OVER`], so that it is not received again and again), and
    /// [`Tail::release`] makes it visible when this one stops.
    pub async fn pass_over(&mut self, event: TailedEvent) -> anyhow::Result<()> {
        let handles: Vec<String> = event.copies.values().cloned().collect();
        self.change_visibility(&handles, PASSED_OVER.as_secs() as i32)
            .await?;
        // Copies received again after PASSED_OVER bring newer handles: keep the newest.
        self.passed_over
            .entry(event.id)
            .or_default()
            .extend(event.copies);
        Ok(())
    }

    /// Make visible again, at once, the copies of `events`, of the events passed over,
    /// and of every event still waiting for copies: a command that stops leaves what it
    /// did not report for the next.
    pub async fn release(&mut self, events: Vec<TailedEvent>) -> anyhow::Result<()> {
        let handles: Vec<String> = events
            .into_iter()
            .flat_map(|e| e.copies.into_values())
            .chain(self.passed_over.drain().flat_map(|(_, c)| c.into_values()))
            .chain(
                self.pending
                    .drain()
                    .flat_map(|(_, p)| p.copies.into_values()),
            )
            .collect();
        self.change_visibility(&handles, 0).await
    }

    /// Hide the copies with `handles` for `seconds` from now (0: show them). A handle that
    /// no longer works (its copy was received again since) is skipped.
    async fn change_visibility(&self, handles: &[String], seconds: i32) -> anyhow::Result<()> {
        for chunk in handles.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(seconds)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let result = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| explain("sqs:ChangeMessageVisibilityBatch", err))?;
            for failed in result.failed {
                tracing::debug!(
                    "the visibility of a tail copy did not change: {}",
                    failed.message.unwrap_or(failed.code)
                );
            }
        }
        Ok(())
    }

    fn settled(&mut self, now: Instant) -> Vec<TailedEvent> {
        let done: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                (p.caught_all && now - p.last_seen >= SETTLE) || now - p.first_seen >= GIVE_UP
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut events: Vec<(u64, TailedEvent)> = done
            .into_iter()
            .filter_map(|id| {
                let p = self.pending.remove(&id)?;
                let written = write_time_ms(&p.event);
                let event = TailedEvent {
                    id,
                    time: p.event["time"].as_str().unwrap_or_default().to_string(),
                    detail_type: p.event["detail-type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    source: p.event["source"].as_str().unwrap_or_default().to_string(),
                    rules: p.rules.into_iter().collect(),
                    latency_ms: written.map(|w| p.earliest_sent_ms.saturating_sub(w)),
                    event: p.event,
                    copies: p.copies,
                };
                Some((p.earliest_sent_ms, event))
            })
            .collect();
        events.sort_by_key(|(sent, _)| *sent);
        events.into_iter().map(|(_, e)| e).collect()
    }
}

/// When the order was written, in epoch milliseconds: its `updatedAt` or `createdAt`
/// (test orders carry them to the millisecond). The stream record's own time counts
/// whole seconds, too coarse for a latency, so events without those fields (deletes,
/// other writers' items) have none.
pub fn write_time_ms(event: &Value) -> Option<u64> {
    let detail = &event["detail"];
    let image = &detail["dynamodb"]["NewImage"];
    for field in ["updatedAt", "createdAt"] {
        let candidates = [&image[field]["N"], &detail[field]];
        for value in candidates {
            let parsed = match value {
                Value::String(s) => s.parse::<f64>().ok(),
                Value::Number(n) => n.as_f64(),
                _ => None,
            };
            if let Some(ms) = parsed {
                return Some(ms as u64);
            }
        }
    }
    None
}

/// The item keys of a stream-record event, as `name=value`.
pub fn keys(event: &Value) -> Option<String> {
    let keys = event["detail"]["dynamodb"]["Keys"].as_object()?;
    let parts: Vec<String> = keys
        .iter()
        .map(|(name, typed)| {
            let value = typed.as_object().and_then(|m| m.values().next()).map_or(
                String::new(),
                |v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            );
            format!("{name}={value}")
        })
        .collect();
    Some(parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_time_prefers_the_latest_write() {
        let event = json!({"detail": {"dynamodb": {"ApproximateCreationDateTime": 1700000000,
            "NewImage": {"createdAt": {"N": "1700000000123"}, "updatedAt": {"N": "1700000005000"}}}}});
        assert_eq!(write_time_ms(&event), Some(1_700_000_005_000));
        let reshaped = json!({"detail": {"createdAt": 1700000000123u64}});
        assert_eq!(write_time_ms(&reshaped), Some(1_700_000_000_123));
        let removed = json!({"detail": {"dynamodb": {"ApproximateCreationDateTime": 1700000001}}});
        assert_eq!(
            write_time_ms(&removed),
            None,
            "whole seconds are too coarse for a latency"
        );
    }

    #[test]
    fn keys_read_typed_values() {
        let event =
            json!({"detail": {"dynamodb": {"Keys": {"pk": {"S": "ORDER#1"}, "sk": {"N": "0"}}}}});
        assert_eq!(keys(&event).unwrap(), "pk=ORDER#1 sk=0");
    }
}
