//! Amazon EventBridge Pipes for a DynamoDB stream source and an event-bus target: the pipe
//! definitions and their lifecycle (state with no HTTP in it; the REST protocol lives in
//! `api::pipes`), and one runner task per running pipe ([`runner`]) that reads the stream
//! from a durable per-shard checkpoint, filters and reshapes records through
//! [`crate::flow::PipeProgram`], puts them on the bus through [`Events::put_events`], and
//! advances the checkpoint only after the bus accepted the batch (at-least-once).

pub mod error;
mod runner;
pub mod spec;
pub mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::error::PipesError;
pub use self::spec::PipeSpec;
pub use self::state::{PipeEvent, PipeState};
use crate::local::clock::Clock;
use crate::local::events::Events;
use crate::local::sqs::Sqs;
use crate::local::storage::Storage;
use crate::local::streams::{ACCOUNT_ID, Streams};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pipes (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    current_state TEXT NOT NULL,
    desired_state TEXT NOT NULL,
    state_reason TEXT,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pipes_checkpoints (
    pipe TEXT NOT NULL,
    stream_arn TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (pipe, stream_arn, shard_id)
);
";

/// A pipe as DescribePipe answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct PipeInfo {
    pub name: String,
    pub arn: String,
    pub desired_state: String,
    pub current_state: String,
    pub state_reason: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub spec: PipeSpec,
}

struct Runner {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The Pipes service of one engine.
#[derive(Clone)]
pub struct Pipes {
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    region: String,
    streams: Streams,
    events: Events,
    sqs: Sqs,
    runners: Arc<Mutex<HashMap<String, Runner>>>,
}

impl std::fmt::Debug for Pipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipes")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Pipes {
    pub async fn new(
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        region: String,
        streams: Streams,
        events: Events,
        sqs: Sqs,
    ) -> Result<Pipes, PipesError> {
        storage.ensure_schema(SCHEMA).await?;
        Ok(Pipes {
            storage,
            clock,
            region,
            streams,
            events,
            sqs,
            runners: Arc::default(),
        })
    }

    pub fn pipe_arn(&self, name: &str) -> String {
        format!("arn:aws:pipes:{}:{ACCOUNT_ID}:pipe/{name}", self.region)
    }

    /// After a (re)start: settle pipes a crash left in a transitional state, finish
    /// deletions, and start the runners of running pipes.
    pub async fn resume(&self) -> Result<(), PipesError> {
        for pipe in self.list_pipes().await? {
            let current = PipeState::parse(&pipe.current_state).unwrap_or(PipeState::Stopped);
            if current == PipeState::Deleting {
                self.remove(&pipe.name).await?;
                continue;
            }
            self.settle(&pipe.name, pipe.desired_state == "RUNNING")
                .await?;
        }
        Ok(())
    }

    /// Stop every runner at once (engine shutdown); checkpoints are already durable.
    pub fn abort_all(&self) {
        if let Ok(mut runners) = self.runners.lock() {
            for (_, runner) in runners.drain() {
                runner.task.abort();
            }
        }
    }

    pub async fn create_pipe(&self, name: &str, spec: PipeSpec) -> Result<PipeInfo, PipesError> {
        validate_name(name)?;
        let config = spec.compile(name, &self.pipe_arn(name))?;
        let now = self.clock.now_ms();
        let desired = if spec.desired_running() {
            "RUNNING"
        } else {
            "STOPPED"
        };
        let (owned, text) = (name.to_string(), to_text(&spec)?);
        self.storage
            .write(move |conn| -> Result<(), PipesError> {
                let inserted = conn.execute(
                    "INSERT OR IGNORE INTO pipes (name, spec, current_state, desired_state, created_ms, modified_ms) VALUES (?1, ?2, 'CREATING', ?3, ?4, ?4)",
                    params![owned, text, desired, now],
                )?;
                if inserted == 0 {
                    return Err(PipesError::Conflict(format!("Pipe {owned} already exists.")));
                }
                // Fix where LATEST starts now, so a later start (or a crash before the
                // first read) does not skip records written in between.
                if config.starting_position == "LATEST" {
                    initial_checkpoint(conn, &owned, &config.source_arn)?;
                }
                Ok(())
            })
            .await?;
        let created = self.describe_pipe(name).await?;
        self.settle(name, spec.desired_running()).await?;
        Ok(created)
    }

    pub async fn start_pipe(&self, name: &str) -> Result<PipeInfo, PipesError> {
        self.request(name, PipeEvent::Start, Some("RUNNING"))
            .await?;
        let info = self.describe_pipe(name).await?;
        self.settle(name, true).await?;
        Ok(info)
    }

    pub async fn stop_pipe(&self, name: &str) -> Result<PipeInfo, PipesError> {
        self.request(name, PipeEvent::Stop, Some("STOPPED")).await?;
        let info = self.describe_pipe(name).await?;
        self.stop_runner(name).await;
        self.settle(name, false).await?;
        Ok(info)
    }

    /// UpdatePipe: the members given replace theirs, the rest stay (AWS's merge rule).
    pub async fn update_pipe(&self, name: &str, update: PipeSpec) -> Result<PipeInfo, PipesError> {
        let current = self.describe_pipe(name).await?;
        let merged = current.spec.merged(&update);
        self.redefine(name, &current, merged, &update).await
    }

    /// Make the pipe's definition exactly `definition` (its tags aside), as a CloudFormation
    /// update does: a member the template no longer has (a filter, an input template) is
    /// removed, where UpdatePipe would keep it.
    pub async fn replace_definition(
        &self,
        name: &str,
        definition: PipeSpec,
    ) -> Result<PipeInfo, PipesError> {
        let current = self.describe_pipe(name).await?;
        let mut replaced = definition.clone();
        replaced.set_tags(current.spec.tags());
        self.redefine(name, &current, replaced, &definition).await
    }

    async fn redefine(
        &self,
        name: &str,
        current: &PipeInfo,
        merged: PipeSpec,
        update: &PipeSpec,
    ) -> Result<PipeInfo, PipesError> {
        merged.compile(name, &self.pipe_arn(name))?;
        let text = to_text(&merged)?;
        // DesiredState given in the update wins; otherwise the pipe keeps its own.
        let run = match update.0.get("DesiredState") {
            Some(_) => update.desired_running(),
            None => current.desired_state == "RUNNING",
        };
        let desired = if run { "RUNNING" } else { "STOPPED" };
        self.transition(name, PipeEvent::Update, Some(desired), Some(text))
            .await?;
        let info = self.describe_pipe(name).await?;
        self.stop_runner(name).await;
        self.settle(name, run).await?;
        Ok(info)
    }

    /// DeletePipe: answers DELETING; the pipe and its checkpoints are then removed.
    pub async fn delete_pipe(&self, name: &str) -> Result<PipeInfo, PipesError> {
        self.request(name, PipeEvent::Delete, None).await?;
        let mut info = self.describe_pipe(name).await?;
        info.desired_state = "DELETED".into();
        self.stop_runner(name).await;
        self.remove(name).await?;
        Ok(info)
    }

    /// The pipe named by `arn`, if it is a pipe ARN of this engine's region and account.
    pub fn name_in_arn<'a>(&self, arn: &'a str) -> Option<&'a str> {
        arn.strip_prefix(self.pipe_arn("").as_str())
            .filter(|name| !name.is_empty())
    }

    /// TagResource and UntagResource: set `add`, then remove `remove`, in place. A pipe's
    /// tags change nothing it does, so its state and LastModifiedTime stay as they are.
    pub async fn retag(
        &self,
        name: &str,
        add: Map<String, Value>,
        remove: Vec<String>,
    ) -> Result<(), PipesError> {
        spec::check_tags(&Value::Object(add.clone()))?;
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), PipesError> {
                let info =
                    load_pipe(conn, &owned)?.ok_or_else(|| PipesError::pipe_not_found(&owned))?;
                let mut spec = info.spec;
                let mut tags = spec.tags();
                tags.extend(add);
                for key in &remove {
                    tags.remove(key);
                }
                if tags.len() > spec::MAX_TAGS {
                    return Err(PipesError::Validation(format!(
                        "Pipe {owned} would have {} tags; a pipe can have at most {}.",
                        tags.len(),
                        spec::MAX_TAGS
                    )));
                }
                spec.set_tags(tags);
                conn.execute(
                    "UPDATE pipes SET spec = ?2 WHERE name = ?1",
                    params![owned, to_text(&spec)?],
                )?;
                Ok(())
            })
            .await
    }

    pub async fn describe_pipe(&self, name: &str) -> Result<PipeInfo, PipesError> {
        let owned = name.to_string();
        let row = self
            .storage
            .read(move |conn| load_pipe(conn, &owned))
            .await?;
        let mut info = row.ok_or_else(|| PipesError::pipe_not_found(name))?;
        info.arn = self.pipe_arn(name);
        Ok(info)
    }

    pub async fn list_pipes(&self) -> Result<Vec<PipeInfo>, PipesError> {
        let names = self
            .storage
            .read(|conn| -> Result<Vec<String>, PipesError> {
                let mut statement = conn.prepare("SELECT name FROM pipes ORDER BY name")?;
                let names = statement
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(names)
            })
            .await?;
        let mut pipes = Vec::new();
        for name in names {
            pipes.push(self.describe_pipe(&name).await?);
        }
        Ok(pipes)
    }

    /// Check `event` against the transition table and enter the transitional state.
    async fn request(
        &self,
        name: &str,
        event: PipeEvent,
        desired: Option<&'static str>,
    ) -> Result<(), PipesError> {
        self.transition(name, event, desired, None).await
    }

    async fn transition(
        &self,
        name: &str,
        event: PipeEvent,
        desired: Option<&str>,
        spec: Option<String>,
    ) -> Result<(), PipesError> {
        let now = self.clock.now_ms();
        let (owned, desired) = (name.to_string(), desired.map(str::to_string));
        self.storage
            .write(move |conn| -> Result<(), PipesError> {
                let info = load_pipe(conn, &owned)?.ok_or_else(|| PipesError::pipe_not_found(&owned))?;
                let current = PipeState::parse(&info.current_state).unwrap_or(PipeState::Stopped);
                let next = current.next(event).ok_or_else(|| {
                    PipesError::Conflict(format!(
                        "Pipe {owned} is {}; it cannot be {} now.",
                        current.as_str(),
                        match event {
                            PipeEvent::Start => "started",
                            PipeEvent::Stop => "stopped",
                            PipeEvent::Update => "updated",
                            PipeEvent::Delete => "deleted",
                            PipeEvent::Settle { .. } => "settled",
                        }
                    ))
                })?;
                conn.execute(
                    "UPDATE pipes SET current_state = ?2, desired_state = COALESCE(?3, desired_state), spec = COALESCE(?4, spec), modified_ms = ?5 WHERE name = ?1",
                    params![owned, next.as_str(), desired, spec, now],
                )?;
                Ok(())
            })
            .await
    }

    /// Finish a transitional state: record RUNNING or STOPPED, start the runner if running.
    async fn settle(&self, name: &str, run: bool) -> Result<(), PipesError> {
        let info = self.describe_pipe(name).await?;
        let current = PipeState::parse(&info.current_state).unwrap_or(PipeState::Stopped);
        let settled = current.settled(run);
        if settled != current {
            let (owned, state) = (name.to_string(), settled.as_str());
            self.storage
                .write(move |conn| -> Result<(), PipesError> {
                    conn.execute(
                        "UPDATE pipes SET current_state = ?2 WHERE name = ?1",
                        params![owned, state],
                    )?;
                    Ok(())
                })
                .await?;
        }
        if settled == PipeState::Running {
            let config = info.spec.compile(name, &info.arn)?;
            self.start_runner(name, config);
        }
        Ok(())
    }

    fn start_runner(&self, name: &str, config: spec::RunnerConfig) {
        let Ok(mut runners) = self.runners.lock() else {
            return;
        };
        if runners.get(name).is_some_and(|r| !r.task.is_finished()) {
            return;
        }
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(runner::run(self.clone(), name.to_string(), config, stopped));
        runners.insert(name.to_string(), Runner { stop, task });
    }

    /// Ask the runner to stop and wait for it (it stops between batches or mid-retry).
    async fn stop_runner(&self, name: &str) {
        let runner = self.runners.lock().ok().and_then(|mut r| r.remove(name));
        if let Some(runner) = runner {
            let _ = runner.stop.send(true);
            let _ = runner.task.await;
        }
    }

    async fn remove(&self, name: &str) -> Result<(), PipesError> {
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), PipesError> {
                conn.execute("DELETE FROM pipes WHERE name = ?1", [&owned])?;
                conn.execute("DELETE FROM pipes_checkpoints WHERE pipe = ?1", [&owned])?;
                Ok(())
            })
            .await
    }
}

fn validate_name(name: &str) -> Result<(), PipesError> {
    if crate::local::events::is_simple_name(name, spec::MAX_NAME_CHARS) {
        Ok(())
    } else {
        Err(PipesError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\.\\-_A-Za-z0-9]+$ and have length between 1 and 64"
        )))
    }
}

fn to_text(spec: &PipeSpec) -> Result<String, PipesError> {
    serde_json::to_string(spec).map_err(|e| PipesError::Internal(e.to_string()))
}

fn load_pipe(conn: &Connection, name: &str) -> Result<Option<PipeInfo>, PipesError> {
    let row = conn
        .query_row(
            "SELECT spec, current_state, desired_state, state_reason, created_ms, modified_ms FROM pipes WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    row.map(
        |(spec, current_state, desired_state, state_reason, created_ms, modified_ms)| {
            Ok(PipeInfo {
                name: name.to_string(),
                arn: String::new(),
                desired_state,
                current_state,
                state_reason,
                created_ms,
                modified_ms,
                spec: serde_json::from_str(&spec)
                    .map_err(|e| PipesError::Internal(format!("corrupt pipe {name}: {e}")))?,
            })
        },
    )
    .transpose()
}

/// The checkpoint a LATEST pipe starts from: the stream's last record now.
fn initial_checkpoint(conn: &Connection, pipe: &str, stream_arn: &str) -> Result<(), PipesError> {
    let shard: Option<String> = conn
        .query_row(
            "SELECT shard_id FROM streams WHERE arn = ?1",
            [stream_arn],
            |r| r.get(0),
        )
        .optional()?;
    let Some(shard) = shard else {
        return Ok(());
    };
    let last: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM stream_records WHERE stream_arn = ?1",
        [stream_arn],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO pipes_checkpoints (pipe, stream_arn, shard_id, seq) VALUES (?1, ?2, ?3, ?4)",
        params![pipe, stream_arn, shard, last],
    )?;
    Ok(())
}
