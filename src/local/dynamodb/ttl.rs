//! Time to Live: UpdateTimeToLive, DescribeTimeToLive and the sweeper that deletes expired
//! items. TTL deletions write REMOVE stream records carrying the service `userIdentity`,
//! as on AWS, so outbox consumers (and pipe filters) can tell expiry from a user delete.

use rusqlite::params;

use super::DynamoDb;
use super::attribute_value::AttributeValue;
use super::error::DynamoError;
use super::number::Number;
use super::write::{WriteOutcome, json_path, load_table, parse_stored_item, save_table, store};

/// DynamoDB ignores TTL values more than five years in the past (they are likely not
/// epoch seconds).
const MAX_PAST_SECONDS: i64 = 5 * 365 * 24 * 60 * 60;

impl DynamoDb {
    /// Enable or disable TTL on `attribute`; answers the specification as set.
    pub async fn update_time_to_live(
        &self,
        table: String,
        attribute: String,
        enabled: bool,
    ) -> Result<(String, bool), DynamoError> {
        if attribute.is_empty() || attribute.len() > 255 {
            return Err(DynamoError::validation(
                "1 validation error detected: Value at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255",
            ));
        }
        self.storage
            .write(move |conn| -> Result<(String, bool), DynamoError> {
                let mut meta = load_table(conn, &table)?;
                match (&meta.ttl_attribute, enabled) {
                    (Some(_), true) => return Err(DynamoError::validation("TimeToLive is already enabled")),
                    (None, false) => return Err(DynamoError::validation("TimeToLive is already disabled")),
                    (Some(current), false) if *current != attribute => {
                        return Err(DynamoError::validation(format!(
                            "TimeToLive is enabled on attribute `{current}`, not `{attribute}`; disable it with that attribute name"
                        )));
                    }
                    _ => {}
                }
                meta.ttl_attribute = enabled.then(|| attribute.clone());
                save_table(conn, &meta)?;
                Ok((attribute, enabled))
            })
            .await
    }

    /// The TTL attribute, when TTL is enabled.
    pub async fn describe_time_to_live(
        &self,
        table: String,
    ) -> Result<Option<String>, DynamoError> {
        self.storage
            .read(move |conn| Ok(load_table(conn, &table)?.ttl_attribute))
            .await
    }

    /// Delete every item whose TTL attribute (a number of epoch seconds) is in the past.
    /// Returns how many were deleted.
    pub async fn expire_items(&self) -> Result<usize, DynamoError> {
        let (now_ms, region) = (self.clock.now_ms(), self.region.clone());
        let now_seconds = now_ms / 1000;
        let expired = self
            .storage
            .write(move |conn| -> Result<usize, DynamoError> {
                let tables: Vec<String> = {
                    let mut statement = conn.prepare("SELECT name FROM tables")?;
                    statement.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
                };
                let (now, oldest) = (Number::from_i64(now_seconds), Number::from_i64(now_seconds - MAX_PAST_SECONDS));
                let mut expired = 0;
                for name in tables {
                    let meta = load_table(conn, &name)?;
                    let Some(attribute) = meta.ttl_attribute.clone() else { continue };
                    // SQLite narrows the candidates; the exact decimal comparison decides.
                    let path = json_path(&attribute, "N");
                    let candidates: Vec<String> = {
                        let mut statement = conn.prepare(
                            "SELECT item FROM items WHERE table_name = ?1 AND CAST(json_extract(item, ?2) AS REAL) <= ?3",
                        )?;
                        statement.query_map(params![name, path, now_seconds as f64 + 1.0], |r| r.get(0))?.collect::<Result<_, _>>()?
                    };
                    for text in candidates {
                        let item = parse_stored_item(&text)?;
                        let due = matches!(item.get(&attribute), Some(AttributeValue::N(at)) if *at <= now && *at >= oldest);
                        if !due {
                            continue;
                        }
                        let key = meta.key_of_item(&item)?;
                        let outcome = WriteOutcome { old: Some(item), new: None };
                        store(conn, &meta, &key, &outcome, &region, now_ms, true)?;
                        expired += 1;
                    }
                }
                Ok(expired)
            })
            .await?;
        if expired > 0 {
            self.streams.notify();
        }
        Ok(expired)
    }
}
