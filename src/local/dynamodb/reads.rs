//! Item reads: GetItem, BatchGetItem, Query and Scan, with DynamoDB's paging rules
//! (Limit counts items evaluated before the filter, pages stop at 1 MB, LastEvaluatedKey
//! names where to resume).

use std::cmp::Ordering;

use rusqlite::{Connection, params};

use super::DynamoDb;
use super::attribute_value::{AttributeValue, Item, item_size};
use super::error::DynamoError;
use super::expression::{Comparator, Condition, Operand, Path, PathElement, evaluate, project};
use super::table::TableMeta;
use super::write::{load_item, load_table, parse_stored_item};

/// A page of results stops once it holds this much data.
const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// The most keys of one BatchGetItem request.
pub const MAX_BATCH_GET: usize = 100;
/// The most members of one TransactGetItems request.
pub const MAX_TRANSACT_GET: usize = 100;

#[derive(Debug, Clone)]
pub struct QueryInput {
    pub table: String,
    pub key_condition: Condition,
    pub filter: Option<Condition>,
    pub projection: Option<Vec<Path>>,
    pub count_only: bool,
    pub limit: Option<usize>,
    pub forward: bool,
    pub start_key: Option<Item>,
}

#[derive(Debug, Clone)]
pub struct ScanInput {
    pub table: String,
    pub filter: Option<Condition>,
    pub projection: Option<Vec<Path>>,
    pub count_only: bool,
    pub limit: Option<usize>,
    pub start_key: Option<Item>,
    /// `(Segment, TotalSegments)` for parallel scans.
    pub segment: Option<(u32, u32)>,
}

/// One page of Query or Scan.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub count: usize,
    pub scanned: usize,
    pub last_key: Option<Item>,
}

fn check_limit(limit: Option<usize>) -> Result<(), DynamoError> {
    if limit == Some(0) {
        return Err(DynamoError::validation(
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ));
    }
    Ok(())
}

impl DynamoDb {
    pub async fn get_item(
        &self,
        table: String,
        key: Item,
        projection: Option<Vec<Path>>,
    ) -> Result<Option<Item>, DynamoError> {
        self.storage
            .read(move |conn| -> Result<Option<Item>, DynamoError> {
                let meta = load_table(conn, &table)?;
                let key = meta.key_from_param(&key)?;
                let item = load_item(conn, &table, &key)?;
                Ok(item.map(|i| projected(i, projection.as_deref())))
            })
            .await
    }

    /// BatchGetItem: `(table, keys, projection)` per table; answers items per table.
    pub async fn batch_get(
        &self,
        requests: Vec<(String, Vec<Item>, Option<Vec<Path>>)>,
    ) -> Result<Vec<(String, Vec<Item>)>, DynamoError> {
        let total: usize = requests.iter().map(|(_, keys, _)| keys.len()).sum();
        if total == 0 || total > MAX_BATCH_GET {
            return Err(DynamoError::validation(format!(
                "Too many items requested for the BatchGetItem call: between 1 and {MAX_BATCH_GET} keys are allowed (got {total})"
            )));
        }
        self.storage
            .read(
                move |conn| -> Result<Vec<(String, Vec<Item>)>, DynamoError> {
                    let mut out = Vec::new();
                    for (table, keys, projection) in requests {
                        let meta = load_table(conn, &table)?;
                        let mut seen = Vec::new();
                        let mut items = Vec::new();
                        for key in keys {
                            let key = meta.key_from_param(&key)?;
                            if seen.contains(&(key.pk.clone(), key.sk.clone())) {
                                return Err(DynamoError::validation(
                                    "Provided list of item keys contains duplicates",
                                ));
                            }
                            seen.push((key.pk.clone(), key.sk.clone()));
                            if let Some(item) = load_item(conn, &table, &key)? {
                                items.push(projected(item, projection.as_deref()));
                            }
                        }
                        out.push((table, items));
                    }
                    Ok(out)
                },
            )
            .await
    }

    /// TransactGetItems: all items read from one snapshot, answered in request order.
    pub async fn transact_get(
        &self,
        gets: Vec<(String, Item, Option<Vec<Path>>)>,
    ) -> Result<Vec<Option<Item>>, DynamoError> {
        if gets.is_empty() || gets.len() > MAX_TRANSACT_GET {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length between 1 and {MAX_TRANSACT_GET} (got {})",
                gets.len()
            )));
        }
        self.storage
            .read(move |conn| -> Result<Vec<Option<Item>>, DynamoError> {
                // One read transaction: every item comes from the same committed state.
                let snapshot = conn.unchecked_transaction()?;
                let mut seen = Vec::new();
                let mut out = Vec::with_capacity(gets.len());
                for (table, key, projection) in gets {
                    let meta = load_table(&snapshot, &table)?;
                    let key = meta.key_from_param(&key)?;
                    let identity = (table.clone(), key.pk.clone(), key.sk.clone());
                    if seen.contains(&identity) {
                        return Err(DynamoError::validation(
                            "Transaction request cannot include multiple operations on one item",
                        ));
                    }
                    seen.push(identity);
                    let item = load_item(&snapshot, &table, &key)?;
                    out.push(item.map(|i| projected(i, projection.as_deref())));
                }
                snapshot.commit()?;
                Ok(out)
            })
            .await
    }

    pub async fn query(&self, input: QueryInput) -> Result<Page, DynamoError> {
        check_limit(input.limit)?;
        self.storage.read(move |conn| run_query(conn, input)).await
    }

    pub async fn scan(&self, input: ScanInput) -> Result<Page, DynamoError> {
        check_limit(input.limit)?;
        if let Some((segment, total)) = input.segment
            && (total == 0 || total > 1_000_000 || segment >= total)
        {
            return Err(DynamoError::validation(format!(
                "The Segment parameter is {segment} but TotalSegments is {total}: Segment must be at least 0 and less than TotalSegments (1 to 1000000)"
            )));
        }
        self.storage.read(move |conn| run_scan(conn, input)).await
    }
}

fn projected(item: Item, projection: Option<&[Path]>) -> Item {
    match projection {
        Some(paths) => project(&item, paths),
        None => item,
    }
}

/// The sort key condition of a KeyConditionExpression, split from the partition key part.
struct KeyCondition {
    partition: AttributeValue,
    sort: Option<Condition>,
}

fn key_condition(meta: &TableMeta, condition: &Condition) -> Result<KeyCondition, DynamoError> {
    let unsupported = || DynamoError::validation("Query key condition not supported");
    let mut parts = Vec::new();
    fn flatten<'c>(condition: &'c Condition, out: &mut Vec<&'c Condition>) {
        match condition {
            Condition::And(a, b) => {
                flatten(a, out);
                flatten(b, out);
            }
            other => out.push(other),
        }
    }
    flatten(condition, &mut parts);
    let attribute_of = |operand: &Operand| match operand {
        Operand::Path(Path(elements)) => match elements.as_slice() {
            [PathElement::Attribute(name)] => Some(name.clone()),
            _ => None,
        },
        _ => None,
    };
    let mut partition = None;
    let mut sort = None;
    for part in parts {
        let subject = match part {
            Condition::Compare(_, a, _)
            | Condition::Between(a, _, _)
            | Condition::BeginsWith(a, _) => attribute_of(a),
            _ => None,
        }
        .ok_or_else(unsupported)?;
        if subject == meta.hash_key.name {
            match part {
                Condition::Compare(Comparator::Eq, _, Operand::Value(value))
                    if partition.is_none() =>
                {
                    partition = Some(value.clone());
                }
                _ => return Err(unsupported()),
            }
        } else if meta.range_key.as_ref().is_some_and(|r| r.name == subject) && sort.is_none() {
            if matches!(part, Condition::Compare(Comparator::Ne, ..)) {
                return Err(DynamoError::validation(
                    "Unsupported operator on KeyConditionExpression: operator: <>",
                ));
            }
            sort = Some(part.clone());
        } else {
            return Err(DynamoError::validation(format!(
                "Query condition missed key schema element: {}",
                if partition.is_none() {
                    meta.hash_key.name.clone()
                } else {
                    subject
                }
            )));
        }
    }
    let partition = partition.ok_or_else(|| {
        DynamoError::validation(format!(
            "Query condition missed key schema element: {}",
            meta.hash_key.name
        ))
    })?;
    if let (Some(sort), Some(range)) = (&sort, &meta.range_key) {
        check_sort_operands(sort, &range.kind)?;
    }
    if partition.type_name() != meta.hash_key.kind {
        return Err(DynamoError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ));
    }
    Ok(KeyCondition { partition, sort })
}

/// Sort key values must have the key's type; `begins_with` needs a string or binary key.
fn check_sort_operands(sort: &Condition, kind: &str) -> Result<(), DynamoError> {
    let values: Vec<&AttributeValue> = match sort {
        Condition::Compare(_, _, b) | Condition::BeginsWith(_, b) => vec![b],
        Condition::Between(_, low, high) => vec![low, high],
        _ => Vec::new(),
    }
    .into_iter()
    .filter_map(|operand| match operand {
        Operand::Value(value) => Some(value),
        _ => None,
    })
    .collect();
    if matches!(sort, Condition::BeginsWith(..)) && kind == "N" {
        return Err(DynamoError::validation(
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ));
    }
    if values.iter().any(|v| v.type_name() != kind) {
        return Err(DynamoError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ));
    }
    Ok(())
}

/// Collect items in order until the limit or the page size is reached.
fn paginate(
    meta: &TableMeta,
    rows: impl Iterator<Item = Result<Item, DynamoError>>,
    filter: Option<&Condition>,
    projection: Option<&[Path]>,
    count_only: bool,
    limit: Option<usize>,
) -> Result<Page, DynamoError> {
    let mut page = Page::default();
    let mut bytes = 0;
    for row in rows {
        let item = row?;
        page.scanned += 1;
        bytes += item_size(&item);
        let keep = match filter {
            Some(filter) => evaluate(filter, &item)?,
            None => true,
        };
        let key = meta.key_only(&item);
        if keep {
            page.count += 1;
            if !count_only {
                page.items.push(projected(item, projection));
            }
        }
        if limit.is_some_and(|l| page.scanned >= l) || bytes >= MAX_PAGE_BYTES {
            page.last_key = Some(key);
            break;
        }
    }
    Ok(page)
}

fn run_query(conn: &Connection, input: QueryInput) -> Result<Page, DynamoError> {
    let meta = load_table(conn, &input.table)?;
    let condition = key_condition(&meta, &input.key_condition)?;
    let partition_text = condition.partition.key_text();
    let mut statement =
        conn.prepare_cached("SELECT item FROM items WHERE table_name = ?1 AND pk = ?2")?;
    let mut items: Vec<Item> = statement
        .query_map(params![meta.name, partition_text], |r| {
            r.get::<_, String>(0)
        })?
        .map(|text| parse_stored_item(&text?))
        .collect::<Result<_, DynamoError>>()?;
    if let Some(sort) = &condition.sort {
        let mut kept = Vec::with_capacity(items.len());
        for item in items {
            if evaluate(sort, &item)? {
                kept.push(item);
            }
        }
        items = kept;
    }
    let sort_value = |item: &Item| {
        meta.range_key
            .as_ref()
            .and_then(|r| item.get(&r.name))
            .cloned()
    };
    items.sort_by(|a, b| match (sort_value(a), sort_value(b)) {
        (Some(a), Some(b)) => a.compare(&b).unwrap_or(Ordering::Equal),
        _ => Ordering::Equal,
    });
    if !input.forward {
        items.reverse();
    }
    if let Some(start) = &input.start_key {
        let start = meta.key_from_param(start)?;
        if start.pk != partition_text {
            return Err(DynamoError::validation(
                "The provided starting key is invalid: The provided key element does not match the schema",
            ));
        }
        let start_sort = meta
            .range_key
            .as_ref()
            .and_then(|r| start.key.get(&r.name))
            .cloned();
        items.retain(|item| match (&start_sort, sort_value(item)) {
            (Some(start), Some(value)) => {
                let order = value.compare(start).unwrap_or(Ordering::Equal);
                if input.forward {
                    order == Ordering::Greater
                } else {
                    order == Ordering::Less
                }
            }
            _ => false,
        });
    }
    paginate(
        &meta,
        items.into_iter().map(Ok),
        input.filter.as_ref(),
        input.projection.as_deref(),
        input.count_only,
        input.limit,
    )
}

/// A stable hash of the partition key, to split a parallel scan into segments.
fn segment_of(partition_text: &str, total: u32) -> u32 {
    let hash = partition_text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    (hash % u64::from(total)) as u32
}

fn run_scan(conn: &Connection, input: ScanInput) -> Result<Page, DynamoError> {
    let meta = load_table(conn, &input.table)?;
    let (start_pk, start_sk) = match &input.start_key {
        Some(start) => {
            let key = meta.key_from_param(start)?;
            (key.pk, key.sk)
        }
        None => (String::new(), String::new()),
    };
    let mut statement = conn.prepare_cached(
        "SELECT pk, item FROM items WHERE table_name = ?1 AND (pk, sk) > (?2, ?3) ORDER BY pk, sk",
    )?;
    let rows = statement.query_map(params![meta.name, start_pk, start_sk], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let segment = input.segment;
    let items = rows
        .filter(|row| match (row, segment) {
            (Ok((pk, _)), Some((segment, total))) => segment_of(pk, total) == segment,
            _ => true,
        })
        .map(|row| parse_stored_item(&row?.1));
    paginate(
        &meta,
        items,
        input.filter.as_ref(),
        input.projection.as_deref(),
        input.count_only,
        input.limit,
    )
}
