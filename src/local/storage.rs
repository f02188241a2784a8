//! Durable state for the local engine: one SQLite database in WAL mode.
//!
//! All writes go through a single writer thread. It takes every write request waiting at
//! that moment, runs each inside its own savepoint of one transaction (a failed request
//! rolls back only itself), commits once, and only then answers each request. That is
//! group commit: one fsync covers many concurrent writers, so durability does not cap
//! throughput. Reads use separate connections; WAL lets them run beside the writer and see
//! only committed data, so an acknowledged write is visible to every later read.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

pub const DATABASE_FILE: &str = "engine.sqlite3";
pub const LOCK_FILE: &str = "engine.lock";

/// Whether `name` is a file an engine writes in its data directory: the database, its
/// write-ahead log and shared memory, the lock, and their journals.
pub fn is_engine_file(name: &str) -> bool {
    [DATABASE_FILE, LOCK_FILE].iter().any(|file| {
        name == *file
            || name
                .strip_prefix(file)
                .is_some_and(|rest| rest.starts_with('-'))
    })
}
/// Upper bound of requests grouped into one commit, so one commit stays short.
const MAX_GROUP: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tables (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    table_name TEXT NOT NULL,
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (table_name, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS streams (
    arn TEXT PRIMARY KEY,
    table_name TEXT NOT NULL,
    label TEXT NOT NULL,
    view_type TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    disabled_ms INTEGER,
    key_schema TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stream_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_arn TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stream_records_by_stream ON stream_records (stream_arn, seq);
CREATE TABLE IF NOT EXISTS transaction_tokens (
    token TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stream_trim (
    stream_arn TEXT PRIMARY KEY,
    trimmed_through INTEGER NOT NULL
);
";

#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    #[error(
        "the data directory `{dir}` is in use by another running engine; stop it first (or pass a different --data-dir)"
    )]
    Locked { dir: PathBuf },
    #[error("cannot open the data directory `{dir}`: {reason}")]
    Open { dir: PathBuf, reason: String },
    #[error("storage failure: {0}")]
    Sqlite(String),
    #[error("the storage writer has stopped (the engine is shutting down)")]
    WriterStopped,
    #[error("a write job panicked; it was rolled back")]
    JobPanicked,
}

impl From<rusqlite::Error> for StorageError {
    fn from(err: rusqlite::Error) -> StorageError {
        StorageError::Sqlite(err.to_string())
    }
}

/// Holds the data directory for one engine: while it exists no other engine (in this or
/// another process) can open the directory. It is an exclusive SQLite lock, which the OS
/// releases when the process dies, so a `kill -9` never leaves a stale lock behind.
#[derive(Debug)]
pub struct DataDirLock {
    _connection: Connection,
}

impl DataDirLock {
    pub fn acquire(dir: &Path) -> Result<DataDirLock, StorageError> {
        let open = |reason: String| StorageError::Open {
            dir: dir.to_owned(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| open(e.to_string()))?;
        let connection = Connection::open(dir.join(LOCK_FILE)).map_err(|e| open(e.to_string()))?;
        // Fail at once when held, rather than after rusqlite's default 5 s busy wait.
        connection
            .busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| open(e.to_string()))?;
        connection
            .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
            .map_err(|err| match err.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    StorageError::Locked {
                        dir: dir.to_owned(),
                    }
                }
                _ => open(err.to_string()),
            })?;
        Ok(DataDirLock {
            _connection: connection,
        })
    }
}

/// What a write job reports to the writer: keep its changes or roll them back, and how to
/// answer once the commit outcome is known.
struct JobOutcome {
    keep: bool,
    answer: Box<dyn FnOnce(Result<(), StorageError>) + Send>,
}

type Job = Box<dyn FnOnce(&Connection) -> JobOutcome + Send>;

#[derive(Debug)]
pub struct Storage {
    path: PathBuf,
    writer: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

impl Storage {
    /// Open (creating if needed) the database in `dir` and start the writer.
    pub fn open(dir: &Path) -> Result<Storage, StorageError> {
        let path = dir.join(DATABASE_FILE);
        let connection = Connection::open(&path).map_err(|e| StorageError::Open {
            dir: dir.to_owned(),
            reason: e.to_string(),
        })?;
        // WAL with synchronous=FULL: each commit fsyncs the WAL before we acknowledge, so an
        // acknowledged write survives not only kill -9 (NORMAL would do for that) but also an
        // OS crash or power loss. Group commit amortises that fsync over concurrent writers.
        connection.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )?;
        connection.execute_batch(SCHEMA)?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let writer_thread = std::thread::Builder::new()
            .name("outboxctl-storage-writer".into())
            .spawn(move || run_writer(connection, receiver))
            .map_err(|e| StorageError::Open {
                dir: dir.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Storage {
            path,
            writer: Mutex::new(Some(sender)),
            writer_thread: Mutex::new(Some(writer_thread)),
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Run `job` inside the next group commit; its result is returned only once the commit
    /// is durable. If the job fails, its changes are rolled back and its error returned.
    pub async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let boxed: Job = Box::new(move |connection: &Connection| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| job(connection)))
                .unwrap_or_else(|_| Err(E::from(StorageError::JobPanicked)));
            let keep = result.is_ok();
            JobOutcome {
                keep,
                answer: Box::new(move |commit: Result<(), StorageError>| {
                    let out = match (result, commit) {
                        (Ok(value), Ok(())) => Ok(value),
                        (Ok(_), Err(err)) => Err(E::from(err)),
                        (Err(err), _) => Err(err),
                    };
                    let _ = reply.send(out);
                }),
            }
        });
        let sent = self
            .writer
            .lock()
            .map_err(|_| StorageError::WriterStopped)?
            .as_ref()
            .map(|sender| sender.send(boxed).is_ok())
            .unwrap_or(false);
        if !sent {
            return Err(E::from(StorageError::WriterStopped));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(StorageError::WriterStopped)))
    }

    /// Create a service's tables if missing (`CREATE TABLE IF NOT EXISTS …` statements),
    /// so each service module owns its part of the schema.
    pub async fn ensure_schema(&self, statements: &'static str) -> Result<(), StorageError> {
        self.write(move |connection: &Connection| -> Result<(), StorageError> {
            connection.execute_batch(statements)?;
            Ok(())
        })
        .await
    }

    /// Run a read-only `job` on a pooled reader connection (off the async threads).
    pub async fn read<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let path = self.path.clone();
        let task = tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().ok().and_then(|mut pool| pool.pop());
            let connection = match pooled {
                Some(connection) => connection,
                None => open_reader(&path).map_err(E::from)?,
            };
            let result = job(&connection);
            if let Ok(mut pool) = readers.lock() {
                pool.push(connection);
            }
            result
        });
        task.await
            .unwrap_or_else(|_| Err(E::from(StorageError::JobPanicked)))
    }

    /// Stop the writer after the requests already queued, and wait for it.
    pub fn close(&self) {
        if let Ok(mut writer) = self.writer.lock() {
            writer.take();
        }
        if let Some(thread) = self.writer_thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
        if let Ok(mut pool) = self.readers.lock() {
            pool.clear();
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_reader(path: &Path) -> Result<Connection, StorageError> {
    let connection = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.execute_batch("PRAGMA busy_timeout = 5000;")?;
    Ok(connection)
}

fn run_writer(mut connection: Connection, mut receiver: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut answers = Vec::with_capacity(group.len());
        let commit = (|| -> Result<(), StorageError> {
            let transaction = connection.transaction()?;
            for job in group.drain(..) {
                transaction.execute_batch("SAVEPOINT request")?;
                let outcome = job(&transaction);
                if outcome.keep {
                    transaction.execute_batch("RELEASE request")?;
                } else {
                    transaction.execute_batch("ROLLBACK TO request; RELEASE request")?;
                }
                answers.push(outcome.answer);
            }
            transaction.commit()?;
            Ok(())
        })();
        if let Err(err) = &commit {
            tracing::error!(error = %err, "group commit failed; its requests are answered with an error");
        }
        // Jobs that never ran (the group failed before reaching them) drop their reply
        // channel, which their callers see as a storage error.
        for answer in answers {
            answer(commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failed_jobs_roll_back_only_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let ok = storage.write(|c: &Connection| -> Result<(), StorageError> {
            c.execute("INSERT INTO tables VALUES ('a', '{}')", [])?;
            Ok(())
        });
        let failing = storage.write(|c: &Connection| -> Result<(), StorageError> {
            c.execute("INSERT INTO tables VALUES ('b', '{}')", [])?;
            Err(StorageError::Sqlite("refused".into()))
        });
        let (ok, failing) = tokio::join!(ok, failing);
        ok.unwrap();
        assert!(failing.is_err());
        storage
            .ensure_schema("CREATE TABLE IF NOT EXISTS extra (id INTEGER PRIMARY KEY);")
            .await
            .unwrap();
        storage
            .write(|c: &Connection| -> Result<usize, StorageError> {
                Ok(c.execute("INSERT INTO extra (id) VALUES (1)", [])?)
            })
            .await
            .unwrap();
        let names = storage
            .read(|c: &Connection| -> Result<Vec<String>, StorageError> {
                let mut statement = c.prepare("SELECT name FROM tables ORDER BY name")?;
                let rows = statement.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(names, vec!["a".to_string()]);
    }

    #[test]
    fn a_second_engine_cannot_take_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            DataDirLock::acquire(dir.path()),
            Err(StorageError::Locked { .. })
        ));
        drop(held);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
