//! Stacks in the engine's SQLite database: one row per stack holding its JSON document
//! (status, resources, events, change sets), written through the storage's group commit
//! after every transition, so a restarted engine knows every stack and its resources.

use std::sync::Arc;

use rusqlite::params;

use super::error::CfnError;
use super::stack::Stack;
use crate::local::storage::Storage;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cfn_stacks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    document TEXT NOT NULL
);";

#[derive(Debug, Clone)]
pub struct StackStore {
    storage: Arc<Storage>,
}

impl StackStore {
    /// Create the table if needed and load every stack, oldest first.
    pub async fn open(storage: Arc<Storage>) -> Result<(StackStore, Vec<Stack>), CfnError> {
        storage
            .write(|conn| -> Result<(), CfnError> {
                conn.execute_batch(SCHEMA)
                    .map_err(|e| CfnError::Internal(e.to_string()))
            })
            .await?;
        let stacks = storage
            .read(|conn| -> Result<Vec<Stack>, CfnError> {
                let internal = |e: rusqlite::Error| CfnError::Internal(e.to_string());
                let mut statement = conn
                    .prepare("SELECT document FROM cfn_stacks ORDER BY rowid")
                    .map_err(internal)?;
                let documents: Vec<String> = statement
                    .query_map([], |row| row.get(0))
                    .map_err(internal)?
                    .collect::<Result<_, _>>()
                    .map_err(internal)?;
                documents
                    .iter()
                    .map(|d| {
                        serde_json::from_str(d).map_err(|e| {
                            CfnError::Internal(format!("a stored stack cannot be read: {e}"))
                        })
                    })
                    .collect()
            })
            .await?;
        Ok((StackStore { storage }, stacks))
    }

    pub async fn save(&self, stack: &Stack) -> Result<(), CfnError> {
        let document = serde_json::to_string(stack)
            .map_err(|e| CfnError::Internal(format!("cannot serialise stack: {e}")))?;
        let (id, name) = (stack.id.clone(), stack.name.clone());
        self.storage
            .write(move |conn| -> Result<(), CfnError> {
                conn.execute(
                    "INSERT INTO cfn_stacks (id, name, document) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET document = excluded.document",
                    params![id, name, document],
                )
                .map_err(|e| CfnError::Internal(e.to_string()))?;
                Ok(())
            })
            .await
    }
}
