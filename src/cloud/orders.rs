//! Test orders: real writes into the stack's table that produce INSERT, MODIFY and REMOVE
//! stream records. Ids sort by creation time, and every order carries `createdAt` in
//! epoch milliseconds so `tail` and `verify` can measure end-to-end latency exactly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::error::explain;
use crate::blueprint::{CREATED_AT_ATTRIBUTE, Key, KeyType, Table};

/// The attribute `--update` stamps.
pub const UPDATED_AT_ATTRIBUTE: &str = "updatedAt";
/// Prefix of generated order ids in an S partition key (the seed design's filter keys on it).
pub const ORDER_PREFIX: &str = "ORDER#";
/// The sort key value of an order item, for tables that have a sort key.
pub const ORDER_SORT_KEY: &str = "ORDER";

/// A value given as `--set name=value`, typed: numbers become N, true/false BOOL, null
/// NULL, anything else S (quote it, `name='"12"'`, to force a string).
pub fn typed(value: &str) -> AttributeValue {
    match value {
        "true" => AttributeValue::Bool(true),
        "false" => AttributeValue::Bool(false),
        "null" => AttributeValue::Null(true),
        _ if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') => {
            AttributeValue::S(value[1..value.len() - 1].to_string())
        }
        _ if value.parse::<f64>().is_ok_and(f64::is_finite) => AttributeValue::N(value.to_string()),
        _ => AttributeValue::S(value.to_string()),
    }
}

/// Parse `name=value`.
pub fn parse_assignment(text: &str) -> Result<(String, AttributeValue), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), typed(value))),
        _ => Err(format!("`{text}` is not `name=value`")),
    }
}

/// A new order id: creation time in milliseconds and a sequence that keeps ids made
/// in the same millisecond in creation order (monotonic within this process), then a
/// random suffix so concurrent senders never collide.
pub fn new_order_id(now_millis: u128) -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let at = u64::try_from(now_millis).unwrap_or(u64::MAX / 1000) * 1000;
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(at.max(last + 1))
        })
        .unwrap_or(0);
    let stamp = at.max(previous + 1);
    let suffix: u16 = rand::random();
    format!("{stamp:019}-{suffix:04x}")
}

pub fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The primary key of order `id` in `table`.
pub fn order_key(table: &Table, id: &str) -> anyhow::Result<HashMap<String, AttributeValue>> {
    let mut key = HashMap::new();
    key.insert(
        table.partition_key.name.clone(),
        partition_value(&table.partition_key, id)?,
    );
    if let Some(sort) = &table.sort_key {
        let value = match sort.kind {
            KeyType::S => AttributeValue::S(ORDER_SORT_KEY.into()),
            KeyType::N => AttributeValue::N("0".into()),
            KeyType::B => AttributeValue::B(Blob::new(ORDER_SORT_KEY)),
        };
        key.insert(sort.name.clone(), value);
    }
    Ok(key)
}

/// An order in the table: the id it goes by and its primary key.
pub struct StoredOrder {
    pub id: String,
    pub key: HashMap<String, AttributeValue>,
}

impl StoredOrder {
    /// Order `id` as `send-test-order` (and `verify`) write it.
    pub fn written(table: &Table, id: &str) -> anyhow::Result<StoredOrder> {
        Ok(StoredOrder {
            id: id.to_string(),
            key: order_key(table, id)?,
        })
    }

    /// The existing order `id`, found in the table. `id` is what `send-test-order`
    /// printed: its own ids leave out the partition key's `ORDER#` prefix, the ingest
    /// API's include theirs, and the API's sort key is the request time rather than
    /// `ORDER`, so the item is looked up by its partition key.
    pub async fn find(
        ddb: &Client,
        table_name: &str,
        table: &Table,
        id: &str,
    ) -> anyhow::Result<StoredOrder> {
        let mut candidates = vec![partition_value(&table.partition_key, id)?];
        match table.partition_key.kind {
            KeyType::S => candidates.push(AttributeValue::S(id.to_string())),
            KeyType::B => candidates.push(AttributeValue::B(Blob::new(id))),
            KeyType::N => {}
        }
        let mut names = HashMap::from([("#pk".to_string(), table.partition_key.name.clone())]);
        let mut projection = "#pk".to_string();
        if let Some(sort) = &table.sort_key {
            names.insert("#sk".to_string(), sort.name.clone());
            projection.push_str(", #sk");
        }
        // Where send-test-order itself would have put the order, should several items share
        // the partition key.
        let written = order_key(table, id)?;
        for candidate in candidates {
            let items = ddb
                .query()
                .table_name(table_name)
                .key_condition_expression("#pk = :pk")
                .set_expression_attribute_names(Some(names.clone()))
                .expression_attribute_values(":pk", candidate)
                .projection_expression(&projection)
                .send()
                .await
                .map_err(|err| explain("dynamodb:Query", err))?
                .items
                .unwrap_or_default();
            let chosen = match &items[..] {
                [] => continue,
                [only] => only.clone(),
                several => {
                    let sort_name = table.sort_key.as_ref().map(|k| k.name.as_str());
                    match several.iter().find(|item| {
                        sort_name.is_some_and(|name| item.get(name) == written.get(name))
                    }) {
                        Some(item) => item.clone(),
                        None => anyhow::bail!(
                            "order `{id}` matches {} items with that partition key; send-test-order \
                             updates and deletes only the orders it can tell apart",
                            several.len()
                        ),
                    }
                }
            };
            return Ok(StoredOrder {
                id: id.to_string(),
                key: chosen,
            });
        }
        anyhow::bail!(
            "order `{id}` does not exist in the table; `send-test-order` prints the ids it creates"
        )
    }
}

fn partition_value(key: &Key, id: &str) -> anyhow::Result<AttributeValue> {
    Ok(match key.kind {
        KeyType::S => AttributeValue::S(format!("{ORDER_PREFIX}{id}")),
        KeyType::B => AttributeValue::B(Blob::new(format!("{ORDER_PREFIX}{id}"))),
        KeyType::N => {
            let digits: String = id.chars().filter(char::is_ascii_digit).collect();
            anyhow::ensure!(
                !digits.is_empty(),
                "order id `{id}` has no digits for the numeric key `{}`",
                key.name
            );
            AttributeValue::N(digits.trim_start_matches('0').to_string())
        }
    })
}

/// A complete new order item.
pub fn new_item(
    table: &Table,
    id: &str,
    created: u128,
    status: &str,
    set: &[(String, AttributeValue)],
) -> anyhow::Result<HashMap<String, AttributeValue>> {
    let mut item = order_key(table, id)?;
    item.insert("status".into(), AttributeValue::S(status.to_string()));
    item.insert(
        CREATED_AT_ATTRIBUTE.into(),
        AttributeValue::N(created.to_string()),
    );
    item.insert(
        "restaurantId".into(),
        AttributeValue::S("restaurant-1".into()),
    );
    item.insert("customerId".into(), AttributeValue::S("customer-1".into()));
    item.insert("total".into(), AttributeValue::N("23.50".into()));
    for (name, value) in set {
        item.insert(name.clone(), value.clone());
    }
    Ok(item)
}

/// Write a new order; refuses to overwrite (the condition), so every write is an INSERT.
pub async fn put(
    ddb: &Client,
    table_name: &str,
    table: &Table,
    item: HashMap<String, AttributeValue>,
) -> anyhow::Result<()> {
    let written = ddb
        .put_item()
        .table_name(table_name)
        .set_item(Some(item.clone()))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", &table.partition_key.name)
        .send()
        .await;
    let Err(err) = written else {
        return Ok(());
    };
    // The id is new, so an item already under it is this write's own: the SDK retried a
    // request whose answer was lost (a dropped connection, an engine restarted), and the
    // first attempt had committed. Only the same item counts as that.
    if super::error::code(&err) == Some("ConditionalCheckFailedException") {
        let key: HashMap<String, AttributeValue> = item
            .iter()
            .filter(|(name, _)| is_key(table, name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let stored = ddb
            .get_item()
            .table_name(table_name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| explain("dynamodb:GetItem", err))?;
        if stored.item.is_some_and(|stored| same_item(&stored, &item)) {
            return Ok(());
        }
    }
    Err(explain("dynamodb:PutItem", err))
}

/// Whether a stored item is the one written: DynamoDB keeps numbers normalized (`23.50`
/// comes back as `23.5`), so numbers compare by value.
fn same_item(
    stored: &HashMap<String, AttributeValue>,
    written: &HashMap<String, AttributeValue>,
) -> bool {
    stored.len() == written.len()
        && written
            .iter()
            .all(|(name, value)| match (stored.get(name), value) {
                (Some(AttributeValue::N(a)), AttributeValue::N(b)) => {
                    a.parse::<f64>().ok() == b.parse::<f64>().ok()
                }
                (Some(other), value) => other == value,
                (None, _) => false,
            })
}

fn is_key(table: &Table, attribute: &str) -> bool {
    attribute == table.partition_key.name
        || table.sort_key.as_ref().is_some_and(|k| k.name == attribute)
}

/// Change an existing order (a MODIFY record): `updatedAt` (epoch ms,
/// given so callers know the new image exactly), its status, and `set` fields.
pub async fn update(
    ddb: &Client,
    table_name: &str,
    table: &Table,
    order: StoredOrder,
    updated_at: u128,
    status: Option<&str>,
    set: &[(String, AttributeValue)],
) -> anyhow::Result<()> {
    let mut assignments = vec!["#updated = :updated".to_string()];
    let mut names = HashMap::from([
        ("#pk".to_string(), table.partition_key.name.clone()),
        ("#updated".to_string(), UPDATED_AT_ATTRIBUTE.to_string()),
    ]);
    let mut values = HashMap::from([(
        ":updated".to_string(),
        AttributeValue::N(updated_at.to_string()),
    )]);
    let mut fields: Vec<(String, AttributeValue)> = set
        .iter()
        .filter(|(name, _)| name != UPDATED_AT_ATTRIBUTE)
        .cloned()
        .collect();
    if let Some(status) = status {
        fields.push(("status".into(), AttributeValue::S(status.to_string())));
    }
    for (i, (name, value)) in fields.into_iter().enumerate() {
        assignments.push(format!("#f{i} = :f{i}"));
        names.insert(format!("#f{i}"), name);
        values.insert(format!(":f{i}"), value);
    }
    ddb.update_item()
        .table_name(table_name)
        .set_key(Some(order.key))
        .update_expression(format!("SET {}", assignments.join(", ")))
        .condition_expression("attribute_exists(#pk)")
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .send()
        .await
        .map_err(|err| not_found(err, &order.id, "dynamodb:UpdateItem"))?;
    Ok(())
}

/// Delete an existing order (a REMOVE record).
pub async fn delete(
    ddb: &Client,
    table_name: &str,
    table: &Table,
    order: StoredOrder,
) -> anyhow::Result<()> {
    ddb.delete_item()
        .table_name(table_name)
        .set_key(Some(order.key))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", &table.partition_key.name)
        .send()
        .await
        .map_err(|err| not_found(err, &order.id, "dynamodb:DeleteItem"))?;
    Ok(())
}

fn not_found<E, R>(
    err: aws_sdk_dynamodb::error::SdkError<E, R>,
    id: &str,
    action: &str,
) -> anyhow::Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if super::error::code(&err) == Some("ConditionalCheckFailedException") {
        anyhow::anyhow!(
            "order `{id}` does not exist in the table; `send-test-order` prints the ids it creates"
        )
    } else {
        explain(action, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_as_a_user_expects() {
        assert_eq!(typed("12"), AttributeValue::N("12".into()));
        assert_eq!(typed("-1.5e3"), AttributeValue::N("-1.5e3".into()));
        assert_eq!(typed("true"), AttributeValue::Bool(true));
        assert_eq!(typed("null"), AttributeValue::Null(true));
        assert_eq!(typed("\"12\""), AttributeValue::S("12".into()));
        assert_eq!(typed("DE"), AttributeValue::S("DE".into()));
        assert_eq!(typed("NaN"), AttributeValue::S("NaN".into()));
        assert!(parse_assignment("novalue").is_err());
    }

    #[test]
    fn ids_sort_by_creation_time_even_within_a_millisecond() {
        let ids: Vec<String> = (0..50).map(|_| new_order_id(1_700_000_000_000)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
        assert!(ids[49] < new_order_id(1_700_000_000_001));
    }
}
