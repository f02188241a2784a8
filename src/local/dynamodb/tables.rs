//! Table lifecycle: CreateTable, DescribeTable, ListTables, UpdateTable (streams on and
//! off, billing, deletion protection) and DeleteTable.

use std::collections::BTreeMap;

use rusqlite::params;

use super::DynamoDb;
use super::error::DynamoError;
use super::index::{MAX_GLOBAL_INDEXES, MAX_LOCAL_INDEXES, SecondaryIndex};
use super::table::{KeyAttribute, TableMeta, check_table_name};
use super::write::{load_table, save_table};
use crate::local::streams::{self, ACCOUNT_ID};

#[derive(Debug, Clone)]
pub struct CreateTableInput {
    pub name: String,
    pub hash_key: String,
    pub range_key: Option<String>,
    pub attribute_definitions: Vec<KeyAttribute>,
    pub billing_mode: String,
    pub read_capacity: i64,
    pub write_capacity: i64,
    /// `Some(view type)` when the stream is enabled.
    pub stream_view_type: Option<String>,
    pub deletion_protection: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateTableInput {
    pub name: String,
    /// `Some(Some(view))` enables a stream, `Some(None)` disables it.
    pub stream: Option<Option<String>>,
    pub billing_mode: Option<String>,
    pub capacity: Option<(i64, i64)>,
    pub deletion_protection: Option<bool>,
}

/// A table with its live numbers, for DescribeTable and friends.
#[derive(Debug, Clone)]
pub struct TableDescription {
    pub meta: TableMeta,
    pub status: &'static str,
    pub item_count: i64,
    pub size_bytes: i64,
}

pub const STREAM_VIEW_TYPES: [&str; 4] =
    ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"];

fn check_view_type(view: &str) -> Result<(), DynamoError> {
    if !STREAM_VIEW_TYPES.contains(&view) {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{view}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]"
        )));
    }
    Ok(())
}

impl DynamoDb {
    /// CreateTable without secondary indexes.
    pub async fn create_table(
        &self,
        input: CreateTableInput,
    ) -> Result<TableDescription, DynamoError> {
        self.create_table_with_indexes(input, Vec::new()).await
    }

    /// CreateTable with global and local secondary indexes.
    pub async fn create_table_with_indexes(
        &self,
        input: CreateTableInput,
        indexes: Vec<SecondaryIndex>,
    ) -> Result<TableDescription, DynamoError> {
        check_table_name(&input.name)?;
        let defined = |name: &str| -> Result<KeyAttribute, DynamoError> {
            input.attribute_definitions.iter().find(|a| a.name == name).cloned().ok_or_else(|| {
                DynamoError::validation(format!(
                    "One or more parameter values were invalid: Some index key attribute have no definition; add `{name}` to AttributeDefinitions"
                ))
            })
        };
        let hash_key = defined(&input.hash_key)?;
        let range_key = input.range_key.as_deref().map(defined).transpose()?;
        for attribute in &input.attribute_definitions {
            if !matches!(attribute.kind.as_str(), "S" | "N" | "B") {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                    attribute.kind
                )));
            }
            let used = attribute.name == hash_key.name
                || range_key.as_ref().is_some_and(|r| r.name == attribute.name)
                || indexes
                    .iter()
                    .any(|i| i.key_attributes().any(|k| k.name == attribute.name));
            if !used {
                return Err(DynamoError::validation(
                    "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
                ));
            }
        }
        if let Some(view) = &input.stream_view_type {
            check_view_type(view)?;
        }
        check_indexes(&indexes, &hash_key, range_key.as_ref())?;
        let now = self.clock.now_ms();
        let region = self.region.clone();
        let description = self
            .storage
            .write(move |conn| -> Result<TableDescription, DynamoError> {
                if load_table(conn, &input.name).is_ok() {
                    return Err(DynamoError::ResourceInUse(format!(
                        "Table already exists: {}",
                        input.name
                    )));
                }
                let view_type = input.stream_view_type.clone();
                let mut meta = TableMeta {
                    arn: format!(
                        "arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{}",
                        input.name
                    ),
                    name: input.name,
                    id: uuid::Uuid::new_v4().to_string(),
                    created_ms: now,
                    hash_key,
                    range_key,
                    attribute_definitions: input.attribute_definitions,
                    billing_mode: input.billing_mode,
                    read_capacity: input.read_capacity,
                    write_capacity: input.write_capacity,
                    stream: None,
                    deletion_protection: input.deletion_protection,
                    ttl_attribute: None,
                    tags: input.tags,
                    indexes,
                };
                if let Some(view) = view_type {
                    meta.stream = Some(streams::create_stream(conn, &meta, &view, &region, now)?);
                }
                save_table(conn, &meta)?;
                // AWS answers CREATING and turns ACTIVE shortly after; here creation is done.
                Ok(TableDescription {
                    meta,
                    status: "ACTIVE",
                    item_count: 0,
                    size_bytes: 0,
                })
            })
            .await?;
        Ok(description)
    }

    pub async fn describe_table(&self, name: String) -> Result<TableDescription, DynamoError> {
        self.storage
            .read(move |conn| -> Result<TableDescription, DynamoError> {
                let meta = load_table(conn, &name)?;
                let (item_count, size_bytes): (i64, i64) = conn.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(item)), 0) FROM items WHERE table_name = ?1",
                    [&name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                Ok(TableDescription { meta, status: "ACTIVE", item_count, size_bytes })
            })
            .await
    }

    /// Table names in order, after `start` (exclusive), at most `limit`; plus the last name
    /// when more remain.
    pub async fn list_tables(
        &self,
        start: Option<String>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), DynamoError> {
        if !(1..=100).contains(&limit) {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100"
            )));
        }
        self.storage
            .read(
                move |conn| -> Result<(Vec<String>, Option<String>), DynamoError> {
                    let mut statement = conn.prepare(
                        "SELECT name FROM tables WHERE name > ?1 ORDER BY name LIMIT ?2",
                    )?;
                    let names: Vec<String> = statement
                        .query_map(params![start.unwrap_or_default(), limit as i64 + 1], |r| {
                            r.get(0)
                        })?
                        .collect::<Result<_, _>>()?;
                    let more = names.len() > limit;
                    let names: Vec<String> = names.into_iter().take(limit).collect();
                    let last = if more { names.last().cloned() } else { None };
                    Ok((names, last))
                },
            )
            .await
    }

    pub async fn update_table(
        &self,
        input: UpdateTableInput,
    ) -> Result<TableDescription, DynamoError> {
        if let Some(Some(view)) = &input.stream {
            check_view_type(view)?;
        }
        let now = self.clock.now_ms();
        let region = self.region.clone();
        let result = self
            .storage
            .write(move |conn| -> Result<TableDescription, DynamoError> {
                let mut meta = load_table(conn, &input.name)?;
                match &input.stream {
                    Some(Some(view)) => {
                        if meta.enabled_stream().is_some() {
                            return Err(DynamoError::validation(format!("Table already has an enabled stream: {}", meta.arn)));
                        }
                        meta.stream = Some(streams::create_stream(conn, &meta, view, &region, now)?);
                    }
                    Some(None) => {
                        let Some(stream) = meta.stream.as_mut().filter(|s| s.enabled) else {
                            return Err(DynamoError::validation(format!(
                                "Table {} does not have a stream enabled; there is nothing to disable",
                                meta.name
                            )));
                        };
                        streams::disable_stream(conn, &stream.arn, now)?;
                        stream.enabled = false;
                    }
                    None => {}
                }
                if let Some(mode) = input.billing_mode {
                    meta.billing_mode = mode;
                }
                if let Some((read, write)) = input.capacity {
                    meta.read_capacity = read;
                    meta.write_capacity = write;
                }
                if let Some(protection) = input.deletion_protection {
                    meta.deletion_protection = protection;
                }
                save_table(conn, &meta)?;
                Ok(TableDescription { meta, status: "ACTIVE", item_count: 0, size_bytes: 0 })
            })
            .await?;
        Ok(result)
    }

    pub async fn delete_table(&self, name: String) -> Result<TableDescription, DynamoError> {
        let now = self.clock.now_ms();
        self.storage
            .write(move |conn| -> Result<TableDescription, DynamoError> {
                let meta = load_table(conn, &name)?;
                if meta.deletion_protection {
                    return Err(DynamoError::validation(format!(
                        "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first (UpdateTable --no-deletion-protection-enabled) to delete {name}"
                    )));
                }
                // The stream stays readable for 24 hours after the table is gone, as on AWS.
                if let Some(stream) = meta.enabled_stream() {
                    streams::disable_stream(conn, &stream.arn, now)?;
                }
                conn.execute("DELETE FROM items WHERE table_name = ?1", [&name])?;
                conn.execute("DELETE FROM tables WHERE name = ?1", [&name])?;
                Ok(TableDescription { meta, status: "DELETING", item_count: 0, size_bytes: 0 })
            })
            .await
    }
}

/// The most tags one resource may carry.
const MAX_TAGS: usize = 50;

/// Tag keys and values as DynamoDB limits them.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), DynamoError> {
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: tag key `{key}` must be 1 to 128 characters and its value at most 256"
            )));
        }
        if key.starts_with("aws:") {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: tag key `{key}` uses the reserved prefix aws:"
            )));
        }
    }
    Ok(())
}

impl DynamoDb {
    /// The table an ARN names, for the tagging actions.
    fn table_of_arn<'a>(&self, arn: &'a str) -> Result<&'a str, DynamoError> {
        let prefix = format!("arn:aws:dynamodb:{}:{ACCOUNT_ID}:table/", self.region);
        arn.strip_prefix(&prefix)
            .filter(|name| !name.contains('/'))
            .ok_or_else(|| {
                DynamoError::ResourceNotFound(format!(
                    "Requested resource not found: ResourcArn: {arn} not found (expected {prefix}<table name>)"
                ))
            })
    }

    /// TagResource (`Some` tags to add) or UntagResource (keys to remove).
    pub async fn change_tags(
        &self,
        arn: String,
        add: BTreeMap<String, String>,
        remove: Vec<String>,
    ) -> Result<(), DynamoError> {
        check_tags(&add)?;
        let name = self.table_of_arn(&arn)?.to_owned();
        self.storage
            .write(move |conn| -> Result<(), DynamoError> {
                let mut meta = load_table(conn, &name)?;
                meta.tags.extend(add);
                for key in &remove {
                    meta.tags.remove(key);
                }
                if meta.tags.len() > MAX_TAGS {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: a table can have at most {MAX_TAGS} tags"
                    )));
                }
                save_table(conn, &meta)
            })
            .await
    }

    pub async fn list_tags(&self, arn: String) -> Result<BTreeMap<String, String>, DynamoError> {
        let name = self.table_of_arn(&arn)?.to_owned();
        self.storage
            .read(move |conn| Ok(load_table(conn, &name)?.tags))
            .await
    }
}

/// The rules CreateTable applies to secondary indexes.
fn check_indexes(
    indexes: &[SecondaryIndex],
    hash_key: &KeyAttribute,
    range_key: Option<&KeyAttribute>,
) -> Result<(), DynamoError> {
    let invalid = |message: String| {
        DynamoError::validation(format!(
            "One or more parameter values were invalid: {message}"
        ))
    };
    let globals = indexes.iter().filter(|i| i.global).count();
    if globals > MAX_GLOBAL_INDEXES || indexes.len() - globals > MAX_LOCAL_INDEXES {
        return Err(invalid(format!(
            "a table may have at most {MAX_GLOBAL_INDEXES} global and {MAX_LOCAL_INDEXES} local secondary indexes"
        )));
    }
    for (i, index) in indexes.iter().enumerate() {
        if !(3..=255).contains(&index.name.len())
            || !index
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(invalid(format!(
                "index name `{}` must be 3-255 characters of [a-zA-Z0-9_.-]",
                index.name
            )));
        }
        if indexes[..i].iter().any(|other| other.name == index.name) {
            return Err(invalid(format!("Duplicate index name: {}", index.name)));
        }
        if !index.global {
            if index.hash_key.name != hash_key.name {
                return Err(invalid(format!(
                    "Index KeySchema does not have a range key for index: {} (a local secondary index must use the table's partition key `{}`)",
                    index.name, hash_key.name
                )));
            }
            if index.range_key.is_none() || range_key.is_none() {
                return Err(invalid(format!(
                    "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex ({})",
                    index.name
                )));
            }
        }
        match (
            index.projection.as_str(),
            index.non_key_attributes.is_empty(),
        ) {
            ("ALL" | "KEYS_ONLY", true) | ("INCLUDE", false) => {}
            ("INCLUDE", true) => {
                return Err(invalid(format!(
                    "NonKeyAttributes must be given for ProjectionType INCLUDE (index {})",
                    index.name
                )));
            }
            ("ALL" | "KEYS_ONLY", false) => {
                return Err(invalid(format!(
                    "ProjectionType is {}, but NonKeyAttributes is specified (index {})",
                    index.projection, index.name
                )));
            }
            (other, _) => {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"
                )));
            }
        }
    }
    Ok(())
}
