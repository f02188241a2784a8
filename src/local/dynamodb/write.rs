//! The one path every item write takes (PutItem, UpdateItem, DeleteItem, batch and
//! transaction members): load the table and the current item, check the condition,
//! compute the new item, store it and append its stream record, all inside the caller's
//! write transaction.

use rusqlite::{Connection, OptionalExtension, params};

use super::attribute_value::{Item, check_item_size, item_from_json, item_to_json};
use super::error::DynamoError;
use super::expression::{Condition, Update, apply_update, evaluate};
use super::table::{StorageKey, TableMeta};
use crate::local::streams;

/// What a write does to its item.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Put {
        item: Item,
    },
    Update {
        key: Item,
        update: Option<Update>,
    },
    Delete {
        key: Item,
    },
    /// TransactWriteItems' ConditionCheck: only the condition, no change.
    Check {
        key: Item,
    },
}

/// One item write with its condition.
#[derive(Debug, Clone)]
pub struct ItemWrite {
    pub table: String,
    pub op: WriteOp,
    pub condition: Option<Condition>,
    /// ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub return_old_on_failure: bool,
}

/// The item before and after a write.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub old: Option<Item>,
    pub new: Option<Item>,
}

pub fn load_table(conn: &Connection, name: &str) -> Result<TableMeta, DynamoError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT description FROM tables WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    let text = text.ok_or_else(|| DynamoError::table_not_found(name))?;
    serde_json::from_str(&text)
        .map_err(|e| DynamoError::Internal(format!("corrupt table definition `{name}`: {e}")))
}

pub fn save_table(conn: &Connection, table: &TableMeta) -> Result<(), DynamoError> {
    let text = serde_json::to_string(table).map_err(|e| DynamoError::Internal(e.to_string()))?;
    conn.execute(
        "INSERT OR REPLACE INTO tables (name, description) VALUES (?1, ?2)",
        params![table.name, text],
    )?;
    Ok(())
}

pub fn parse_stored_item(text: &str) -> Result<Item, DynamoError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| DynamoError::Internal(format!("corrupt stored item: {e}")))?;
    item_from_json(&value)
}

/// The JSON path of one attribute's `kind` member in a stored item, for SQLite's
/// `json_extract` (used to narrow candidates before the exact check in Rust).
pub fn json_path(attribute: &str, kind: &str) -> String {
    format!(
        "$.\"{}\".{kind}",
        attribute.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

pub fn load_item(
    conn: &Connection,
    table: &str,
    key: &StorageKey,
) -> Result<Option<Item>, DynamoError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT item FROM items WHERE table_name = ?1 AND pk = ?2 AND sk = ?3")?
        .query_row(params![table, key.pk, key.sk], |r| r.get(0))
        .optional()?;
    text.as_deref().map(parse_stored_item).transpose()
}

fn key_of(table: &TableMeta, op: &WriteOp) -> Result<StorageKey, DynamoError> {
    match op {
        WriteOp::Put { item } => table.key_of_item(item),
        WriteOp::Update { key, .. } | WriteOp::Delete { key } | WriteOp::Check { key } => {
            table.key_from_param(key)
        }
    }
}

/// The table and key a write targets (validated), for duplicate detection.
pub fn target(
    conn: &Connection,
    write: &ItemWrite,
) -> Result<(TableMeta, StorageKey), DynamoError> {
    let table = load_table(conn, &write.table)?;
    let key = key_of(&table, &write.op)?;
    Ok((table, key))
}

/// Check the write's condition and compute the new item, without storing anything.
pub fn plan(
    conn: &Connection,
    write: &ItemWrite,
) -> Result<(TableMeta, StorageKey, WriteOutcome), DynamoError> {
    let (table, key) = target(conn, write)?;
    let old = load_item(conn, &table.name, &key)?;
    if let Some(condition) = &write.condition {
        let subject = old.clone().unwrap_or_default();
        if !evaluate(condition, &subject)? {
            let item = if write.return_old_on_failure {
                old
            } else {
                None
            };
            return Err(DynamoError::ConditionalCheckFailed { item });
        }
    }
    let new = match &write.op {
        WriteOp::Put { item } => Some(item.clone()),
        WriteOp::Delete { .. } => None,
        WriteOp::Check { .. } => old.clone(),
        WriteOp::Update { update, .. } => {
            let base = old.clone().unwrap_or_else(|| key.key.clone());
            match update {
                Some(update) => {
                    if let Some(path) = update.paths().find(|p| table.is_key_attribute(p.root())) {
                        return Err(DynamoError::validation(format!(
                            "One or more parameter values were invalid: Cannot update attribute {}. This attribute is part of the key",
                            path.root()
                        )));
                    }
                    Some(apply_update(update, &base)?)
                }
                None => Some(base),
            }
        }
    };
    if let Some(new) = &new {
        check_item_size(new)?;
        for index in &table.indexes {
            index.check_item(new)?;
        }
    }
    Ok((table, key, WriteOutcome { old, new }))
}

/// Plan and store one write, with its stream record.
pub fn apply(
    conn: &Connection,
    write: &ItemWrite,
    region: &str,
    now_ms: i64,
) -> Result<WriteOutcome, DynamoError> {
    let (table, key, outcome) = plan(conn, write)?;
    if !matches!(write.op, WriteOp::Check { .. }) {
        store(conn, &table, &key, &outcome, region, now_ms, false)?;
    }
    Ok(outcome)
}

/// Store the outcome of a write (or of a TTL expiry) and append its stream record.
pub fn store(
    conn: &Connection,
    table: &TableMeta,
    key: &StorageKey,
    outcome: &WriteOutcome,
    region: &str,
    now_ms: i64,
    by_ttl: bool,
) -> Result<(), DynamoError> {
    if outcome.old == outcome.new {
        return Ok(());
    }
    match &outcome.new {
        Some(item) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO items (table_name, pk, sk, item) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                table.name,
                key.pk,
                key.sk,
                item_to_json(item).to_string()
            ])?;
        }
        None => {
            conn.prepare_cached("DELETE FROM items WHERE table_name = ?1 AND pk = ?2 AND sk = ?3")?
                .execute(params![table.name, key.pk, key.sk])?;
        }
    }
    let change = streams::ItemChange {
        keys: &key.key,
        old: outcome.old.as_ref(),
        new: outcome.new.as_ref(),
        by_ttl,
    };
    streams::append_record(conn, table, change, region, now_ms)
}
