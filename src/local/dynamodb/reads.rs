//! Item reads: GetItem, BatchGetItem, Query and Scan, with DynamoDB's paging rules
//! (Limit counts items evaluated before the filter, pages stop at 1 MB, LastEvaluatedKey
//! names where to resume).

use std::cmp::Ordering;

use rusqlite::{Connection, params};

use super::DynamoDb;
use super::attribute_value::{AttributeValue, Item, item_size};
use super::error::DynamoError;
use super::expression::{Comparator, Condition, Operand, Path, PathElement, evaluate, project};
use super::index::View;
use super::write::{json_path, load_item, load_table, parse_stored_item};

/// A page of results stops once it holds this much data.
const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// The most keys of one BatchGetItem request.
pub const MAX_BATCH_GET: usize = 100;
/// The most members of one TransactGetItems request.
pub const MAX_TRANSACT_GET: usize = 100;

#[derive(Debug, Clone)]
pub struct QueryInput {
    pub table: String,
    pub index: Option<String>,
    pub consistent_read: bool,
    pub key_condition: Condition,
    pub filter: Option<Condition>,
    pub projection: Option<Vec<Path>>,
    pub select: Select,
    pub limit: Option<usize>,
    pub forward: bool,
    pub start_key: Option<Item>,
}

#[derive(Debug, Clone)]
pub struct ScanInput {
    pub table: String,
    pub index: Option<String>,
    pub consistent_read: bool,
    pub filter: Option<Condition>,
    pub projection: Option<Vec<Path>>,
    pub select: Select,
    pub limit: Option<usize>,
    pub start_key: Option<Item>,
    /// `(Segment, TotalSegments)` for parallel scans.
    pub segment: Option<(u32, u32)>,
}

/// The `Select` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    AllAttributes,
    AllProjectedAttributes,
    SpecificAttributes,
    Count,
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

fn key_condition(view: &View<'_>, condition: &Condition) -> Result<KeyCondition, DynamoError> {
    let (hash_key, range_key) = (view.hash_key(), view.range_key());
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
        if subject == hash_key.name {
            match part {
                Condition::Compare(Comparator::Eq, _, Operand::Value(value))
                    if partition.is_none() =>
                {
                    partition = Some(value.clone());
                }
                _ => return Err(unsupported()),
            }
        } else if range_key.is_some_and(|r| r.name == subject) && sort.is_none() {
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
                    hash_key.name.clone()
                } else {
                    subject
                }
            )));
        }
    }
    let partition = partition.ok_or_else(|| {
        DynamoError::validation(format!(
            "Query condition missed key schema element: {}",
            hash_key.name
        ))
    })?;
    if let (Some(sort), Some(range)) = (&sort, range_key) {
        check_sort_operands(sort, &range.kind)?;
    }
    if partition.type_name() != hash_key.kind {
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

/// How a page presents items: which view they come from, what to keep of them.
struct Presentation<'a> {
    view: View<'a>,
    filter: Option<&'a Condition>,
    projection: Option<&'a [Path]>,
    select: Select,
    limit: Option<usize>,
}

impl Presentation<'_> {
    /// `Select` against the view: ALL_ATTRIBUTES reads the table for a local index, and is
    /// refused for a global index that does not project everything.
    fn check(&self) -> Result<(), DynamoError> {
        if let Some(index) = self.view.index
            && self.select == Select::AllAttributes
            && index.global
            && !self.view.projects_all()
        {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                index.name
            )));
        }
        Ok(())
    }

    /// Collect items in order until the limit or the page size is reached.
    fn paginate(
        &self,
        rows: impl Iterator<Item = Result<Item, DynamoError>>,
    ) -> Result<Page, DynamoError> {
        self.check()?;
        let full_items =
            self.select == Select::AllAttributes && self.view.index.is_some_and(|i| !i.global);
        let mut page = Page::default();
        let mut bytes = 0;
        for row in rows {
            let item = row?;
            let key = self.view.key_of(&item);
            let item = if full_items {
                item
            } else {
                self.view.project(item)
            };
            page.scanned += 1;
            bytes += item_size(&item);
            let keep = match self.filter {
                Some(filter) => evaluate(filter, &item)?,
                None => true,
            };
            if keep {
                page.count += 1;
                if self.select != Select::Count {
                    page.items.push(projected(item, self.projection));
                }
            }
            if self.limit.is_some_and(|l| page.scanned >= l) || bytes >= MAX_PAGE_BYTES {
                page.last_key = Some(key);
                break;
            }
        }
        Ok(page)
    }
}

fn check_consistent_read(view: &View<'_>, consistent_read: bool) -> Result<(), DynamoError> {
    if consistent_read && view.index.is_some_and(|i| i.global) {
        return Err(DynamoError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    Ok(())
}

/// The text a key value has inside stored DynamoDB JSON (`{"N": "<this>"}`).
fn stored_scalar(value: &AttributeValue) -> String {
    match value
        .to_json()
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|v| v.as_str())
    {
        Some(text) => text.to_owned(),
        None => String::new(),
    }
}

fn run_query(conn: &Connection, input: QueryInput) -> Result<Page, DynamoError> {
    let meta = load_table(conn, &input.table)?;
    let view = View::of(&meta, input.index.as_deref())?;
    check_consistent_read(&view, input.consistent_read)?;
    let condition = key_condition(&view, &input.key_condition)?;
    let texts: Vec<String> = match view.index {
        None => {
            let mut statement =
                conn.prepare_cached("SELECT item FROM items WHERE table_name = ?1 AND pk = ?2")?;
            statement
                .query_map(params![meta.name, condition.partition.key_text()], |r| {
                    r.get(0)
                })?
                .collect::<Result<_, _>>()?
        }
        Some(index) => {
            let mut statement = conn.prepare_cached(
                "SELECT item FROM items WHERE table_name = ?1 AND json_extract(item, ?2) = ?3",
            )?;
            statement
                .query_map(
                    params![
                        meta.name,
                        json_path(&index.hash_key.name, &index.hash_key.kind),
                        stored_scalar(&condition.partition)
                    ],
                    |r| r.get(0),
                )?
                .collect::<Result<_, _>>()?
        }
    };
    let mut items = Vec::with_capacity(texts.len());
    for text in texts {
        let item = parse_stored_item(&text)?;
        let in_partition = item.get(&view.hash_key().name) == Some(&condition.partition);
        let in_range = match &condition.sort {
            Some(sort) => evaluate(sort, &item)?,
            None => true,
        };
        if in_partition && in_range && view.holds(&item) {
            items.push(item);
        }
    }
    items.sort_by(|a, b| view.compare(a, b));
    if !input.forward {
        items.reverse();
    }
    if let Some(start) = &input.start_key {
        view.check_start_key(start)?;
        if start.get(&view.hash_key().name) != Some(&condition.partition) {
            return Err(DynamoError::validation(
                "The provided starting key is invalid: The provided key element does not match the schema",
            ));
        }
        items.retain(|item| {
            let order = view.compare(item, start);
            if input.forward {
                order == Ordering::Greater
            } else {
                order == Ordering::Less
            }
        });
    }
    let presentation = Presentation {
        view,
        filter: input.filter.as_ref(),
        projection: input.projection.as_deref(),
        select: input.select,
        limit: input.limit,
    };
    presentation.paginate(items.into_iter().map(Ok))
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
    let view = View::of(&meta, input.index.as_deref())?;
    check_consistent_read(&view, input.consistent_read)?;
    // Scans walk the table in key order; an index scan keeps the items the index holds
    // and resumes from the table key inside its LastEvaluatedKey.
    let (start_pk, start_sk) = match &input.start_key {
        Some(start) => {
            view.check_start_key(start)?;
            let key = meta.key_from_param(&meta.key_only(start))?;
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
        .map(|row| parse_stored_item(&row?.1))
        .filter(|item| item.as_ref().map_or(true, |i| view.holds(i)));
    let presentation = Presentation {
        view,
        filter: input.filter.as_ref(),
        projection: input.projection.as_deref(),
        select: input.select,
        limit: input.limit,
    };
    presentation.paginate(items)
}
