//! Item writes: PutItem, UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems.
//! Each request is one storage job, so its item changes and stream records commit together
//! or not at all.

use std::collections::HashSet;

use rusqlite::OptionalExtension;

use super::DynamoDb;
use super::attribute_value::Item;
use super::error::{CancellationReason, DynamoError};
use super::expression::{Update, project};
use super::write::{self, ItemWrite, WriteOp, WriteOutcome};

/// The ReturnValues parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    pub fn parse(text: Option<&str>) -> Result<ReturnValues, DynamoError> {
        Ok(match text.unwrap_or("NONE") {
            "NONE" => ReturnValues::None,
            "ALL_OLD" => ReturnValues::AllOld,
            "UPDATED_OLD" => ReturnValues::UpdatedOld,
            "ALL_NEW" => ReturnValues::AllNew,
            "UPDATED_NEW" => ReturnValues::UpdatedNew,
            other => {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
                )));
            }
        })
    }
}

/// The most members of one TransactWriteItems request.
pub const MAX_TRANSACT_ITEMS: usize = 100;
/// The most members of one BatchWriteItem request.
pub const MAX_BATCH_WRITE: usize = 25;

impl DynamoDb {
    /// Run one item write; answers the item as ReturnValues asks.
    pub async fn write_item(
        &self,
        write: ItemWrite,
        return_values: ReturnValues,
    ) -> Result<Option<Item>, DynamoError> {
        let only_old = matches!(write.op, WriteOp::Put { .. } | WriteOp::Delete { .. });
        if only_old && !matches!(return_values, ReturnValues::None | ReturnValues::AllOld) {
            return Err(DynamoError::validation(
                "Return values set to invalid value",
            ));
        }
        let update_paths = match &write.op {
            WriteOp::Update {
                update: Some(update),
                ..
            } => Some(update.clone()),
            _ => None,
        };
        let (now, region) = (self.clock.now_ms(), self.region.clone());
        let outcome = self
            .storage
            .write(move |conn| write::apply(conn, &write, &region, now))
            .await?;
        self.streams.notify();
        Ok(returned(outcome, return_values, update_paths.as_ref()))
    }

    /// BatchWriteItem: puts and deletes without conditions, applied together.
    pub async fn batch_write(&self, writes: Vec<ItemWrite>) -> Result<(), DynamoError> {
        check_count(writes.len(), MAX_BATCH_WRITE, "requestItems")?;
        let (now, region) = (self.clock.now_ms(), self.region.clone());
        self.storage
            .write(move |conn| -> Result<(), DynamoError> {
                reject_duplicates(
                    conn,
                    &writes,
                    "Provided list of item keys contains duplicates",
                )?;
                for write in &writes {
                    write::apply(conn, write, &region, now)?;
                }
                Ok(())
            })
            .await?;
        self.streams.notify();
        Ok(())
    }

    /// TransactWriteItems: every condition is checked first; if any fails nothing is
    /// written and each member gets its cancellation reason.
    ///
    /// With an idempotency token, a repeat of the same request within 10 minutes succeeds
    /// without writing again; the same token with a different request is refused.
    pub async fn transact_write(
        &self,
        writes: Vec<ItemWrite>,
        idempotency: Option<IdempotencyToken>,
    ) -> Result<(), DynamoError> {
        check_count(writes.len(), MAX_TRANSACT_ITEMS, "transactItems")?;
        let (now, region) = (self.clock.now_ms(), self.region.clone());
        self.storage
            .write(move |conn| -> Result<(), DynamoError> {
                if let Some(token) = &idempotency
                    && token.seen_before(conn, now)?
                {
                    return Ok(());
                }
                reject_duplicates(
                    conn,
                    &writes,
                    "Transaction request cannot include multiple operations on one item",
                )?;
                let reasons: Vec<CancellationReason> = writes
                    .iter()
                    .map(|write| match write::plan(conn, write) {
                        Ok(_) => Ok(CancellationReason::none()),
                        Err(DynamoError::ConditionalCheckFailed { item }) => {
                            Ok(CancellationReason {
                                code: "ConditionalCheckFailed".into(),
                                message: Some("The conditional request failed".into()),
                                item,
                            })
                        }
                        Err(DynamoError::Validation(message)) => Ok(CancellationReason {
                            code: "ValidationError".into(),
                            message: Some(message),
                            item: None,
                        }),
                        Err(other) => Err(other),
                    })
                    .collect::<Result<_, _>>()?;
                if reasons.iter().any(|r| r.code != "None") {
                    return Err(DynamoError::TransactionCanceled { reasons });
                }
                for write in &writes {
                    write::apply(conn, write, &region, now)?;
                }
                if let Some(token) = &idempotency {
                    token.remember(conn, now)?;
                }
                Ok(())
            })
            .await?;
        self.streams.notify();
        Ok(())
    }
}

/// How long TransactWriteItems remembers a ClientRequestToken.
const IDEMPOTENCY_WINDOW_MS: i64 = 10 * 60 * 1000;

/// A TransactWriteItems `ClientRequestToken` with a fingerprint of its request.
#[derive(Debug, Clone)]
pub struct IdempotencyToken {
    pub token: String,
    /// Equal for identical requests.
    pub fingerprint: String,
}

impl IdempotencyToken {
    /// True when this token already committed the same request within the window; an
    /// error when it committed a different one.
    fn seen_before(&self, conn: &rusqlite::Connection, now_ms: i64) -> Result<bool, DynamoError> {
        let previous: Option<String> = conn
            .query_row(
                "SELECT fingerprint FROM transaction_tokens WHERE token = ?1 AND created_ms > ?2",
                rusqlite::params![self.token, now_ms - IDEMPOTENCY_WINDOW_MS],
                |r| r.get(0),
            )
            .optional()?;
        match previous {
            None => Ok(false),
            Some(fingerprint) if fingerprint == self.fingerprint => Ok(true),
            Some(_) => Err(DynamoError::IdempotentParameterMismatch(
                "The request uses the same client token as a previous, but non-identical request: use a new ClientRequestToken for a different transaction".into(),
            )),
        }
    }

    fn remember(&self, conn: &rusqlite::Connection, now_ms: i64) -> Result<(), DynamoError> {
        conn.execute(
            "DELETE FROM transaction_tokens WHERE created_ms <= ?1",
            [now_ms - IDEMPOTENCY_WINDOW_MS],
        )?;
        conn.execute(
            "INSERT OR REPLACE INTO transaction_tokens (token, fingerprint, created_ms) VALUES (?1, ?2, ?3)",
            rusqlite::params![self.token, self.fingerprint, now_ms],
        )?;
        Ok(())
    }
}

fn check_count(count: usize, max: usize, member: &str) -> Result<(), DynamoError> {
    if count == 0 || count > max {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length between 1 and {max} (got {count})"
        )));
    }
    Ok(())
}

/// Batches and transactions may touch each item only once.
fn reject_duplicates(
    conn: &rusqlite::Connection,
    writes: &[ItemWrite],
    message: &str,
) -> Result<(), DynamoError> {
    let mut seen = HashSet::new();
    for write in writes {
        let (table, key) = write::target(conn, write)?;
        if !seen.insert((table.name, key.pk, key.sk)) {
            return Err(DynamoError::validation(message));
        }
    }
    Ok(())
}

fn returned(
    outcome: WriteOutcome,
    return_values: ReturnValues,
    update: Option<&Update>,
) -> Option<Item> {
    let updated = |item: Option<Item>| -> Option<Item> {
        let paths: Vec<_> = update
            .map(|u| u.paths().cloned().collect())
            .unwrap_or_default();
        item.map(|i| project(&i, &paths)).filter(|i| !i.is_empty())
    };
    match return_values {
        ReturnValues::None => None,
        ReturnValues::AllOld => outcome.old,
        ReturnValues::AllNew => outcome.new,
        ReturnValues::UpdatedOld => updated(outcome.old),
        ReturnValues::UpdatedNew => updated(outcome.new),
    }
}
