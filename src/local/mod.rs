//! The embedded local engine: an AWS-API-compatible, durable, single-process runtime of
//! the outbox pattern, so the whole flow runs offline with the same SDK code that talks
//! to AWS.
//!
//! Layout (as moto splits it): service state and behaviour with no HTTP in it
//! ([`dynamodb`], [`streams`], [`s3`], …), durable storage ([`storage`]), and the wire protocols in
//! [`api`]. [`Engine::start`] runs it in-process on the caller's tokio runtime; `outboxctl
//! local up` is a thin command around it.

pub mod api;
pub mod apigateway;
pub mod clock;
pub mod cloudformation;
pub mod dynamodb;
pub mod events;
pub mod faults;
pub mod pipes;
pub mod s3;
pub mod sqs;
pub mod storage;
pub mod streams;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::apigateway::{ApiGateway, ApiGatewayError};
use self::clock::{Clock, SystemClock};
use self::cloudformation::CloudFormation;
use self::cloudformation::error::CfnError;
use self::cloudformation::providers::Services;
use self::dynamodb::DynamoDb;
use self::events::{Events, EventsError};
use self::faults::Faults;
use self::pipes::{Pipes, PipesError};
use self::s3::S3;
use self::sqs::{Sqs, SqsError};
use self::storage::{DataDirLock, Storage, StorageError};
use self::streams::Streams;

/// The port AWS emulators conventionally use.
pub const DEFAULT_PORT: u16 = 4566;
pub const DEFAULT_REGION: &str = "us-east-1";
/// How often records past the 24 h retention are removed.
const TRIM_INTERVAL: Duration = Duration::from_secs(60);
/// How often expired TTL items are deleted (AWS takes minutes to days; locally, seconds).
const TTL_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot load the stored CloudFormation stacks: {0}")]
    CloudFormation(#[from] CfnError),
    #[error("cannot load the stored API Gateway APIs: {0}")]
    ApiGateway(#[from] ApiGatewayError),
    #[error(
        "cannot listen on {addr}: {source}; is another engine running there? (choose another --port)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the SQS service: {0}")]
    Sqs(#[from] SqsError),
    #[error("cannot start the EventBridge service: {0}")]
    Events(#[from] EventsError),
    #[error("cannot start the Pipes service: {0}")]
    Pipes(#[from] PipesError),
    #[error("cannot remove the data directory `{dir}`: {source}")]
    Reset {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`{dir}` is not an engine's data directory ({why}); local reset removes only the files an engine writes: point --data-dir at the directory `local up` used"
    )]
    NotADataDir { dir: PathBuf, why: String },
}

/// How to start an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where to listen; port 0 picks a free port (see [`EngineHandle::addr`]).
    pub bind: SocketAddr,
    /// Where the state lives; created if missing.
    pub data_dir: PathBuf,
    /// The region written into ARNs and stream records.
    pub region: String,
    pub clock: Arc<dyn Clock>,
    /// How long each CloudFormation resource step takes (so pollers see progress).
    pub cloudformation_step: Duration,
}

/// Loopback:4566, data in `.outboxctl/local` under the current directory.
impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig::new(".outboxctl/local")
    }
}

impl EngineConfig {
    /// Loopback on the default port, region us-east-1, the wall clock.
    pub fn new(data_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            data_dir: data_dir.into(),
            region: DEFAULT_REGION.to_owned(),
            clock: Arc::new(SystemClock),
            cloudformation_step: cloudformation::DEFAULT_STEP_DELAY,
        }
    }

    /// Loopback on an ephemeral port: for tests and in-process use.
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..EngineConfig::new(data_dir)
        }
    }
}

/// The services, shared by every request.
#[derive(Debug)]
pub struct EngineState {
    pub dynamodb: DynamoDb,
    pub streams: Streams,
    pub cloudformation: CloudFormation,
    pub apigateway: ApiGateway,
    pub clock: Arc<dyn Clock>,
    pub sqs: Sqs,
    pub events: Events,
    pub pipes: Pipes,
    pub s3: S3,
    pub faults: Faults,
}

/// Starts engines.
#[derive(Debug)]
pub struct Engine;

impl Engine {
    /// Open the data directory (refusing one another engine holds), bind, and serve.
    pub async fn start(config: EngineConfig) -> Result<EngineHandle, EngineError> {
        let lock = DataDirLock::acquire(&config.data_dir)?;
        let storage = Arc::new(Storage::open(&config.data_dir)?);
        // Bind first: queue URLs carry the port.
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| EngineError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| EngineError::Bind {
            addr: config.bind,
            source,
        })?;
        let streams = Streams::new(Arc::clone(&storage), Arc::clone(&config.clock));
        let dynamodb = DynamoDb::new(
            Arc::clone(&storage),
            streams.clone(),
            Arc::clone(&config.clock),
            config.region.clone(),
        );
        let faults = Faults::new(Arc::clone(&config.clock));
        let sqs = Sqs::new(
            Arc::clone(&storage),
            Arc::clone(&config.clock),
            config.region.clone(),
            format!("http://{addr}"),
            faults.clone(),
        )
        .await?;
        let events = Events::new(
            Arc::clone(&storage),
            Arc::clone(&config.clock),
            config.region.clone(),
            sqs.clone(),
            faults.clone(),
        )
        .await?;
        let pipes = Pipes::new(
            Arc::clone(&storage),
            Arc::clone(&config.clock),
            config.region.clone(),
            streams.clone(),
            events.clone(),
            sqs.clone(),
        )
        .await?;
        let apigateway = ApiGateway::open(Arc::clone(&storage)).await?;
        let s3 = S3::open(
            Arc::clone(&storage),
            Arc::clone(&config.clock),
            config.region.clone(),
        )
        .await?;
        let cloudformation = CloudFormation::open(
            Arc::clone(&storage),
            Arc::clone(&config.clock),
            config.region.clone(),
            Services {
                dynamodb: dynamodb.clone(),
                apigateway: apigateway.clone(),
                sqs: sqs.clone(),
                events: events.clone(),
                pipes: pipes.clone(),
            },
            config.cloudformation_step,
        )
        .await?;
        let state = Arc::new(EngineState {
            dynamodb,
            streams: streams.clone(),
            cloudformation,
            apigateway,
            clock: Arc::clone(&config.clock),
            sqs,
            events: events.clone(),
            pipes: pipes.clone(),
            s3,
            faults,
        });

        let (stop, stopped) = oneshot::channel::<()>();
        let app = api::router::router(Arc::clone(&state));
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                tracing::error!(error = %err, "the engine's HTTP server failed");
            }
        });
        let trimmer = tokio::spawn(housekeeping(state.dynamodb.clone(), streams));
        let workers = vec![
            tokio::spawn(retention(state.sqs.clone(), events.clone())),
            tokio::spawn(events::delivery::run(events)),
        ];
        pipes.resume().await?;
        tracing::info!(%addr, data_dir = %config.data_dir.display(), "local engine listening");
        Ok(EngineHandle {
            addr,
            state,
            storage,
            stop: Some(stop),
            server: Some(server),
            trimmer,
            workers,
            _lock: lock,
        })
    }
}

/// Background work: expire TTL items, drop stream records past retention.
async fn housekeeping(dynamodb: DynamoDb, streams: Streams) {
    let mut ttl = tokio::time::interval(TTL_INTERVAL);
    let mut trim = tokio::time::interval(TRIM_INTERVAL);
    loop {
        tokio::select! {
            _ = ttl.tick() => match dynamodb.expire_items().await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "deleted items whose TTL passed"),
                Err(err) => tracing::warn!(error = %err, "TTL expiry failed"),
            },
            _ = trim.tick() => match streams.trim().await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed stream records past the 24 h retention"),
                Err(err) => tracing::warn!(error = %err, "stream retention trimming failed"),
            },
        }
    }
}

/// Delete SQS messages and archived events past their retention, once a minute.
async fn retention(sqs: Sqs, events: Events) {
    let mut tick = tokio::time::interval(TRIM_INTERVAL);
    loop {
        tick.tick().await;
        match sqs.expire_messages().await {
            Ok(0) => {}
            Ok(removed) => {
                tracing::info!(removed, "removed SQS messages past their retention period")
            }
            Err(err) => tracing::warn!(error = %err, "SQS retention sweep failed"),
        }
        match events.expire_archived().await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed archived events past their retention"),
            Err(err) => tracing::warn!(error = %err, "archive retention sweep failed"),
        }
    }
}

/// A running engine. Dropping it stops serving; [`EngineHandle::shutdown`] also waits
/// until every acknowledged write is closed out.
#[derive(Debug)]
pub struct EngineHandle {
    addr: SocketAddr,
    state: Arc<EngineState>,
    storage: Arc<Storage>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    trimmer: JoinHandle<()>,
    /// Event delivery and pipe runners: stopped with the engine.
    workers: Vec<JoinHandle<()>>,
    _lock: DataDirLock,
}

impl EngineHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for an SDK's `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The stream reader for in-process consumers (the pipe runner).
    pub fn streams(&self) -> &Streams {
        &self.state.streams
    }

    pub fn state(&self) -> &Arc<EngineState> {
        &self.state
    }

    /// Stop accepting requests, finish the ones in flight, close the storage.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.cloudformation.stop();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.trimmer.abort();
        for worker in &self.workers {
            worker.abort();
        }
        self.state.pipes.abort_all();
        let storage = Arc::clone(&self.storage);
        let _ = tokio::task::spawn_blocking(move || storage.close()).await;
        tracing::info!("local engine stopped");
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.cloudformation.stop();
        self.trimmer.abort();
        for worker in &self.workers {
            worker.abort();
        }
        self.state.pipes.abort_all();
    }
}

/// Every entry of `dir`, with whether it is a file an engine writes.
fn data_dir_entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, bool)>> {
    std::fs::read_dir(dir)?
        .map(|entry| {
            let entry = entry?;
            let engine = entry.file_type()?.is_file()
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(storage::is_engine_file);
            Ok((entry.path(), engine))
        })
        .collect()
}

/// Wipe an engine's data directory: its files, then the directory once empty. Refuses
/// while an engine holds it, and refuses a directory holding anything an engine does
/// not write, before removing anything.
pub fn reset_data_dir(dir: &Path) -> Result<bool, EngineError> {
    if !dir.exists() {
        return Ok(false);
    }
    let failed = |source| EngineError::Reset {
        dir: dir.to_owned(),
        source,
    };
    let not_a_data_dir = |why: String| EngineError::NotADataDir {
        dir: dir.to_owned(),
        why,
    };
    let entries = data_dir_entries(dir).map_err(failed)?;
    if let Some((other, _)) = entries.iter().find(|(_, engine)| !engine) {
        let name = other.file_name().unwrap_or_default().to_string_lossy();
        return Err(not_a_data_dir(format!("it holds `{name}`")));
    }
    if entries.is_empty() {
        return Err(not_a_data_dir("it holds no engine files".into()));
    }
    // An absolute path: a directory named `.` cannot be removed by that name.
    let dir = &dir.canonicalize().map_err(failed)?;
    drop(DataDirLock::acquire(dir)?);
    // Listed again: taking the lock may have written the lock file.
    for (file, engine) in data_dir_entries(dir).map_err(failed)? {
        if engine {
            std::fs::remove_file(&file).map_err(failed)?;
        }
    }
    std::fs::remove_dir(dir).map_err(failed)?;
    Ok(true)
}
