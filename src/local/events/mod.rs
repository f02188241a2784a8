//! Amazon EventBridge: event buses, rules with event patterns, targets, archives and
//! PutEvents, with durable at-least-once delivery to SQS targets. State and behaviour
//! with no HTTP in it: the JSON 1.1 protocol lives in `api::events`; Pipes and the
//! CloudFormation providers call this API directly.
//!
//! PutEvents matches each event against the bus's compiled routing and, in the same commit
//! that acknowledges it, writes one row per (rule, target) into a delivery outbox
//! (`events_outbox`). The delivery worker ([`delivery`]) moves rows into queues, each move
//! in one transaction with the row's removal, and retries failures with backoff until the
//! target's RetryPolicy is exhausted, then writes to the target's dead-letter queue.

pub mod delivery;
pub mod error;
pub mod put_events;
mod retention;
mod routing;
pub mod rules;
pub mod target;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

pub use self::error::EventsError;
pub use self::put_events::{AlongsideJob, EntryError, PutEventsEntry};
pub use self::routing::BusRouting;
pub use self::rules::{Rule, RuleSpec};
pub use self::target::Target;
use crate::local::clock::Clock;
use crate::local::faults::Faults;
use crate::local::sqs::Sqs;
use crate::local::storage::Storage;
use crate::local::streams::ACCOUNT_ID;

pub const DEFAULT_BUS: &str = "default";

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events_buses (
    name TEXT PRIMARY KEY,
    description TEXT,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events_rules (
    bus TEXT NOT NULL,
    name TEXT NOT NULL,
    event_pattern TEXT,
    schedule_expression TEXT,
    state TEXT NOT NULL,
    description TEXT,
    role_arn TEXT,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (bus, name)
);
CREATE TABLE IF NOT EXISTS events_targets (
    bus TEXT NOT NULL,
    rule TEXT NOT NULL,
    id TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (bus, rule, id)
);
CREATE TABLE IF NOT EXISTS events_archives (
    name TEXT PRIMARY KEY,
    source_arn TEXT NOT NULL,
    description TEXT,
    event_pattern TEXT,
    retention_days INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events_archived (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    archive TEXT NOT NULL,
    event TEXT NOT NULL,
    archived_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bus TEXT NOT NULL,
    rule TEXT NOT NULL,
    target_id TEXT NOT NULL,
    event TEXT NOT NULL,
    ingested_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_outbox_due ON events_outbox (next_ms, id);
";

/// An event bus's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBus {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// Compiled routing by bus. `generation` moves on every change, so a compilation that
/// started before a change never caches its stale result.
#[derive(Default)]
struct RoutingCache {
    generation: u64,
    buses: HashMap<String, Arc<BusRouting>>,
}

/// The EventBridge service of one engine.
#[derive(Clone)]
pub struct Events {
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    region: String,
    sqs: Sqs,
    faults: Faults,
    routing: Arc<RwLock<RoutingCache>>,
    /// Wakes the delivery worker when PutEvents wrote outbox rows.
    pending: Arc<Notify>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Events {
    pub async fn new(
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        region: String,
        sqs: Sqs,
        faults: Faults,
    ) -> Result<Events, EventsError> {
        storage.ensure_schema(SCHEMA).await?;
        let now = clock.now_ms();
        // Every account has the default bus.
        storage
            .write(move |conn| -> Result<(), EventsError> {
                conn.execute(
                    "INSERT OR IGNORE INTO events_buses (name, description, created_ms, modified_ms) VALUES (?1, NULL, ?2, ?2)",
                    params![DEFAULT_BUS, now],
                )?;
                Ok(())
            })
            .await?;
        Ok(Events {
            storage,
            clock,
            region,
            sqs,
            faults,
            routing: Arc::default(),
            pending: Arc::new(Notify::new()),
        })
    }

    pub fn bus_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:events:{}:{ACCOUNT_ID}:event-bus/{name}",
            self.region
        )
    }

    pub fn rule_arn(&self, bus: &str, rule: &str) -> String {
        if bus == DEFAULT_BUS {
            format!("arn:aws:events:{}:{ACCOUNT_ID}:rule/{rule}", self.region)
        } else {
            format!(
                "arn:aws:events:{}:{ACCOUNT_ID}:rule/{bus}/{rule}",
                self.region
            )
        }
    }

    pub fn archive_arn(&self, name: &str) -> String {
        format!("arn:aws:events:{}:{ACCOUNT_ID}:archive/{name}", self.region)
    }

    /// A bus name from a name or an ARN; `None` is the default bus.
    pub fn bus_name(name_or_arn: Option<&str>) -> String {
        match name_or_arn {
            None | Some("") => DEFAULT_BUS.to_string(),
            Some(text) => match text.split_once(":event-bus/") {
                Some((_, name)) if text.starts_with("arn:") => name.to_string(),
                _ => text.to_string(),
            },
        }
    }

    pub async fn create_event_bus(
        &self,
        name: &str,
        description: Option<String>,
    ) -> Result<EventBus, EventsError> {
        let valid = !name.is_empty()
            && name.len() <= 256
            && !name.starts_with("aws.")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
        if !valid {
            return Err(EventsError::Validation(format!(
                "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+ (and not start with aws.)"
            )));
        }
        if name == DEFAULT_BUS {
            return Err(EventsError::ResourceAlreadyExists(format!(
                "Event bus {name} already exists."
            )));
        }
        let now = self.clock.now_ms();
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                let inserted = conn.execute(
                    "INSERT OR IGNORE INTO events_buses (name, description, created_ms, modified_ms) VALUES (?1, ?2, ?3, ?3)",
                    params![owned, description, now],
                )?;
                if inserted == 0 {
                    return Err(EventsError::ResourceAlreadyExists(format!(
                        "Event bus {owned} already exists."
                    )));
                }
                Ok(())
            })
            .await?;
        self.describe_event_bus(name).await
    }

    pub async fn describe_event_bus(&self, name: &str) -> Result<EventBus, EventsError> {
        let owned = name.to_string();
        let row = self
            .storage
            .read(move |conn| -> Result<Option<(Option<String>, i64, i64)>, EventsError> {
                Ok(conn
                    .query_row(
                        "SELECT description, created_ms, modified_ms FROM events_buses WHERE name = ?1",
                        [&owned],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?)
            })
            .await?;
        let (description, created_ms, modified_ms) =
            row.ok_or_else(|| EventsError::bus_not_found(name))?;
        Ok(EventBus {
            name: name.to_string(),
            arn: self.bus_arn(name),
            description,
            created_ms,
            modified_ms,
        })
    }

    pub async fn list_event_buses(
        &self,
        prefix: Option<String>,
    ) -> Result<Vec<EventBus>, EventsError> {
        let names = self
            .storage
            .read(move |conn| -> Result<Vec<String>, EventsError> {
                let mut statement = conn.prepare("SELECT name FROM events_buses ORDER BY name")?;
                let names = statement
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(names
                    .into_iter()
                    .filter(|n| prefix.as_deref().is_none_or(|p| n.starts_with(p)))
                    .collect())
            })
            .await?;
        let mut buses = Vec::new();
        for name in names {
            buses.push(self.describe_event_bus(&name).await?);
        }
        Ok(buses)
    }

    /// Delete a custom bus with its rules and targets (the default bus cannot be deleted).
    pub async fn delete_event_bus(&self, name: &str) -> Result<(), EventsError> {
        if name == DEFAULT_BUS {
            return Err(EventsError::Validation(
                "Cannot delete event bus default.".into(),
            ));
        }
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                // Deleting a bus that does not exist succeeds, as on AWS.
                conn.execute("DELETE FROM events_buses WHERE name = ?1", [&owned])?;
                conn.execute("DELETE FROM events_rules WHERE bus = ?1", [&owned])?;
                conn.execute("DELETE FROM events_targets WHERE bus = ?1", [&owned])?;
                Ok(())
            })
            .await?;
        self.invalidate(name);
        Ok(())
    }

    /// Forget a bus's compiled routing after its rules, targets or archives changed.
    fn invalidate(&self, bus: &str) {
        if let Ok(mut cache) = self.routing.write() {
            cache.generation += 1;
            cache.buses.remove(bus);
        }
    }

    fn invalidate_all(&self) {
        if let Ok(mut cache) = self.routing.write() {
            cache.generation += 1;
            cache.buses.clear();
        }
    }

    /// The bus's routing, compiled on first use after a change.
    async fn routing_of(&self, bus: &str) -> Result<Arc<BusRouting>, EventsError> {
        let generation = match self.routing.read() {
            Ok(cache) => {
                if let Some(found) = cache.buses.get(bus) {
                    return Ok(Arc::clone(found));
                }
                cache.generation
            }
            Err(_) => 0,
        };
        let (owned, arn) = (bus.to_string(), self.bus_arn(bus));
        let routing = Arc::new(
            self.storage
                .read(move |conn| BusRouting::load(conn, &owned, &arn))
                .await?,
        );
        if let Ok(mut cache) = self.routing.write()
            && cache.generation == generation
        {
            cache.buses.insert(bus.to_string(), Arc::clone(&routing));
        }
        Ok(routing)
    }

    async fn bus_exists(&self, bus: &str) -> Result<bool, EventsError> {
        let owned = bus.to_string();
        self.storage
            .read(move |conn| -> Result<bool, EventsError> {
                Ok(conn
                    .query_row(
                        "SELECT 1 FROM events_buses WHERE name = ?1",
                        [&owned],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some())
            })
            .await
    }
}

/// Names of rules, targets, archives and pipes: 1 to `max` characters of
/// `[.\-_A-Za-z0-9]`.
pub fn is_simple_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// RFC 3339 in UTC with second precision, as event envelopes carry `time`.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}
