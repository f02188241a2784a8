//! JSON documents in the engine's SQLite database, one row per id, written through the
//! storage's group commit: how CloudFormation keeps its stacks (status, resources, events,
//! change sets) and API Gateway its APIs, so a restarted engine knows them all.

use std::sync::Arc;

use rusqlite::params;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::CfnError;
use crate::local::storage::Storage;

#[derive(Debug, Clone)]
pub struct DocumentStore {
    storage: Arc<Storage>,
    table: &'static str,
}

fn internal(err: impl std::fmt::Display) -> CfnError {
    CfnError::Internal(err.to_string())
}

impl DocumentStore {
    /// Create the table if needed and load every document, oldest first.
    pub async fn open<T: DeserializeOwned + Send + 'static>(
        storage: Arc<Storage>,
        table: &'static str,
    ) -> Result<(DocumentStore, Vec<T>), CfnError> {
        storage
            .write(move |conn| -> Result<(), CfnError> {
                conn.execute_batch(&format!(
                    "CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, document TEXT NOT NULL)"
                ))
                .map_err(internal)
            })
            .await?;
        let documents = storage
            .read(move |conn| -> Result<Vec<T>, CfnError> {
                let mut statement = conn
                    .prepare(&format!("SELECT document FROM {table} ORDER BY rowid"))
                    .map_err(internal)?;
                let rows: Vec<String> = statement
                    .query_map([], |row| row.get(0))
                    .map_err(internal)?
                    .collect::<Result<_, _>>()
                    .map_err(internal)?;
                rows.iter()
                    .map(|d| {
                        serde_json::from_str(d).map_err(|e| {
                            internal(format!("a stored document in {table} cannot be read: {e}"))
                        })
                    })
                    .collect()
            })
            .await?;
        Ok((DocumentStore { storage, table }, documents))
    }

    pub async fn save<T: Serialize>(&self, id: &str, document: &T) -> Result<(), CfnError> {
        let document = serde_json::to_string(document).map_err(internal)?;
        let (id, table) = (id.to_owned(), self.table);
        self.storage
            .write(move |conn| -> Result<(), CfnError> {
                conn.execute(
                    &format!(
                        "INSERT INTO {table} (id, document) VALUES (?1, ?2)
                         ON CONFLICT (id) DO UPDATE SET document = excluded.document"
                    ),
                    params![id, document],
                )
                .map_err(internal)?;
                Ok(())
            })
            .await
    }

    pub async fn delete(&self, id: &str) -> Result<(), CfnError> {
        let (id, table) = (id.to_owned(), self.table);
        self.storage
            .write(move |conn| -> Result<(), CfnError> {
                conn.execute(&format!("DELETE FROM {table} WHERE id = ?1"), params![id])
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }
}
