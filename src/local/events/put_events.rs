//! PutEvents: check each entry as EventBridge does (per-entry errors, request limits), wrap
//! it in the event envelope, and in the commit that acknowledges it, write one delivery
//! outbox row per matching enabled rule and target, and the copies its archives keep.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use serde_json::Value;

use super::error::EventsError;
use super::{Events, rfc3339};
use crate::flow::{BusEntry, envelope};
use crate::local::faults::FaultTarget;
use crate::local::streams::ACCOUNT_ID;

/// At most this many entries per PutEvents request.
pub const MAX_ENTRIES: usize = 10;
/// At most this many bytes of entries per request (the API reference's 1 MB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// At most this many characters in an entry's `DetailType`.
pub const MAX_DETAIL_TYPE_CHARS: usize = 128;
/// Sources AWS services publish under; a custom event may not claim one.
const AWS_SOURCE_PREFIX: &str = "aws.";
/// What a given `Time` adds to an entry's size.
const TIME_BYTES: usize = 14;

/// One PutEvents entry.
#[derive(Debug, Clone, Default)]
pub struct PutEventsEntry {
    pub source: Option<String>,
    pub detail_type: Option<String>,
    /// JSON text of an object.
    pub detail: Option<String>,
    pub resources: Vec<String>,
    /// Name or ARN; `None` is the default bus.
    pub event_bus_name: Option<String>,
    /// Milliseconds since the epoch; `None` is now.
    pub time_ms: Option<i64>,
}

impl PutEventsEntry {
    /// The size AWS counts toward the request limit ("Calculating PutEvents event entry
    /// size" in the EventBridge user guide): `Time` counts only when it is given.
    pub fn size(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        self.time_ms.map_or(0, |_| TIME_BYTES)
            + text(&self.source)
            + text(&self.detail_type)
            + text(&self.detail)
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

/// A failed entry, as PutEvents reports it (`ErrorCode`, `ErrorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub code: String,
    pub message: String,
}

impl EntryError {
    fn new(code: &str, message: impl Into<String>) -> EntryError {
        EntryError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// An accepted event and where it goes.
struct Accepted {
    bus: String,
    event: String,
    deliveries: Vec<(String, String)>,
    archives: Vec<String>,
}

/// Work to commit in the same transaction as accepted events (a pipe's checkpoint).
pub type AlongsideJob = Box<dyn FnOnce(&Connection) -> Result<(), EventsError> + Send>;

impl Events {
    /// PutEvents: one result per entry (the event id, or why it was refused).
    pub async fn put_events(
        &self,
        entries: Vec<PutEventsEntry>,
    ) -> Result<Vec<Result<String, EntryError>>, EventsError> {
        self.put_events_with(entries, false, None).await
    }

    /// PutEvents for in-process callers that need all or nothing: when any entry is
    /// refused nothing is written and the first refusal is returned; otherwise the events
    /// and `alongside` commit in one transaction.
    pub async fn put_events_atomically(
        &self,
        entries: Vec<PutEventsEntry>,
        alongside: Option<AlongsideJob>,
    ) -> Result<Result<Vec<String>, EntryError>, EventsError> {
        let results = self.put_events_with(entries, true, alongside).await?;
        Ok(results.into_iter().collect())
    }

    async fn put_events_with(
        &self,
        entries: Vec<PutEventsEntry>,
        all_or_nothing: bool,
        alongside: Option<AlongsideJob>,
    ) -> Result<Vec<Result<String, EntryError>>, EventsError> {
        if entries.is_empty() || entries.len() > MAX_ENTRIES {
            return Err(EventsError::Validation(format!(
                "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to {MAX_ENTRIES} and greater than or equal to 1 (got {})",
                entries.len()
            )));
        }
        if entries.iter().map(PutEventsEntry::size).sum::<usize>() > MAX_REQUEST_BYTES {
            return Err(EventsError::Validation(
                "Total size of the entries in the request is over the limit.".into(),
            ));
        }
        let now = self.clock.now_ms();
        let mut results: Vec<Result<String, EntryError>> = Vec::with_capacity(entries.len());
        let mut accepted: Vec<(usize, Accepted)> = Vec::new();
        let mut known_buses: HashMap<String, bool> = HashMap::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let bus = Events::bus_name(entry.event_bus_name.as_deref());
            let exists = match known_buses.get(&bus) {
                Some(exists) => *exists,
                None => {
                    let exists = self.bus_exists(&bus).await?;
                    known_buses.insert(bus.clone(), exists);
                    exists
                }
            };
            let outcome = match self.check_entry(&entry, &bus, exists) {
                Err(error) => Err(error),
                Ok(bus_entry) => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let time = rfc3339(entry.time_ms.unwrap_or(now));
                    let event = envelope(
                        &bus_entry,
                        &id,
                        ACCOUNT_ID,
                        &self.region,
                        &time,
                        &entry.resources,
                    );
                    let routing = self.routing_of(&bus).await?;
                    let deliveries = routing
                        .matching_rules(&event)
                        .into_iter()
                        .flat_map(|rule| {
                            rule.target_ids
                                .iter()
                                .map(|t| (rule.name.clone(), t.clone()))
                        })
                        .collect();
                    let archives = routing
                        .matching_archives(&event)
                        .into_iter()
                        .map(str::to_string)
                        .collect();
                    accepted.push((
                        index,
                        Accepted {
                            bus: bus.clone(),
                            event: event.to_string(),
                            deliveries,
                            archives,
                        },
                    ));
                    Ok(id)
                }
            };
            results.push(outcome);
        }
        let refused = results.iter().any(Result::is_err);
        if (accepted.is_empty() && alongside.is_none()) || (all_or_nothing && refused) {
            return Ok(results);
        }
        let wrote_deliveries = accepted.iter().any(|(_, a)| !a.deliveries.is_empty());
        let written = self
            .storage
            .write(move |conn| -> Result<(), EventsError> {
                let mut outbox = conn.prepare_cached(
                    "INSERT INTO events_outbox (bus, rule, target_id, event, ingested_ms, attempts, next_ms) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?5)",
                )?;
                let mut archive = conn.prepare_cached(
                    "INSERT INTO events_archived (archive, event, archived_ms) VALUES (?1, ?2, ?3)",
                )?;
                for (_, event) in &accepted {
                    for (rule, target) in &event.deliveries {
                        outbox.execute(params![event.bus, rule, target, event.event, now])?;
                    }
                    for name in &event.archives {
                        archive.execute(params![name, event.event, now])?;
                    }
                }
                match alongside {
                    Some(job) => job(conn),
                    None => Ok(()),
                }
            })
            .await;
        if let Err(error) = written {
            // Nothing was acknowledged: every entry fails, so a caller retries them all.
            return Ok(results
                .into_iter()
                .map(|r| r.and(Err(EntryError::new("InternalFailure", error.to_string()))))
                .collect());
        }
        if wrote_deliveries {
            self.pending.notify_one();
        }
        Ok(results)
    }

    /// The bus entry for a PutEvents entry, or the per-entry error AWS returns.
    fn check_entry(
        &self,
        entry: &PutEventsEntry,
        bus: &str,
        bus_exists: bool,
    ) -> Result<BusEntry, EntryError> {
        let required = |value: &Option<String>, name: &str| {
            value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
                EntryError::new(
                    "InvalidArgument",
                    format!(
                        "Parameter {name} is not valid. Reason: {name} is a required argument."
                    ),
                )
            })
        };
        let source = required(&entry.source, "Source")?;
        let detail_type = required(&entry.detail_type, "DetailType")?;
        let detail = required(&entry.detail, "Detail")?;
        if source.starts_with(AWS_SOURCE_PREFIX) {
            return Err(EntryError::new(
                "NotAuthorizedForSourceException",
                "Not authorized for the source.",
            ));
        }
        if detail_type.chars().count() > MAX_DETAIL_TYPE_CHARS {
            return Err(EntryError::new(
                "InvalidArgument",
                format!(
                    "Parameter DetailType is not valid. Reason: DetailType is longer than {MAX_DETAIL_TYPE_CHARS} characters."
                ),
            ));
        }
        if !matches!(serde_json::from_str::<Value>(&detail), Ok(Value::Object(_))) {
            return Err(EntryError::new("MalformedDetail", "Detail is malformed."));
        }
        if !bus_exists {
            return Err(EntryError::new(
                "NotFoundException",
                format!("Event bus {bus} does not exist."),
            ));
        }
        if self.faults.is_refused(&FaultTarget::Bus(bus.to_string())) {
            return Err(EntryError::new(
                "InternalFailure",
                format!(
                    "the event bus `{bus}` refuses events for now (a fault injected through /_outboxctl/faults)"
                ),
            ));
        }
        Ok(BusEntry {
            source,
            detail_type,
            detail,
        })
    }
}
