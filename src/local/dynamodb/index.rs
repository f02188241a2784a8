//! Secondary indexes (global and local): their definition, the key rules items must meet
//! for them, and the view a Query or Scan reads through one (which items it holds, in what
//! order, with which attributes projected).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::attribute_value::{AttributeValue, Item};
use super::error::DynamoError;
use super::table::{KeyAttribute, TableMeta};

/// The most global secondary indexes a table may have.
pub const MAX_GLOBAL_INDEXES: usize = 20;
/// The most local secondary indexes a table may have.
pub const MAX_LOCAL_INDEXES: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondaryIndex {
    pub name: String,
    /// Global (any partition key) or local (the table's partition key).
    pub global: bool,
    pub hash_key: KeyAttribute,
    pub range_key: Option<KeyAttribute>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    pub non_key_attributes: Vec<String>,
    pub read_capacity: i64,
    pub write_capacity: i64,
}

impl SecondaryIndex {
    pub fn key_attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.hash_key).chain(self.range_key.as_ref())
    }

    pub fn key_schema_json(&self) -> serde_json::Value {
        self.key_attributes()
            .zip(["HASH", "RANGE"])
            .map(|(k, kind)| serde_json::json!({"AttributeName": k.name, "KeyType": kind}))
            .collect()
    }

    /// Index key attributes present in an item must have the declared type and not be empty.
    pub fn check_item(&self, item: &Item) -> Result<(), DynamoError> {
        for key in self.key_attributes() {
            let Some(value) = item.get(&key.name) else {
                continue;
            };
            if value.type_name() != key.kind {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                    key.name,
                    key.kind,
                    value.type_name(),
                    self.name
                )));
            }
            let empty = matches!(value, AttributeValue::S(s) if s.is_empty())
                || matches!(value, AttributeValue::B(b) if b.is_empty());
            if empty {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {}, IndexKey: {}",
                    self.name, key.name
                )));
            }
        }
        Ok(())
    }
}

/// What a Query or Scan reads: the table itself, or one of its indexes.
#[derive(Debug, Clone, Copy)]
pub struct View<'m> {
    pub table: &'m TableMeta,
    pub index: Option<&'m SecondaryIndex>,
}

impl<'m> View<'m> {
    /// The table, or the named index (`ValidationException` when it does not exist).
    pub fn of(table: &'m TableMeta, index: Option<&str>) -> Result<View<'m>, DynamoError> {
        let index =
            match index {
                Some(name) => Some(table.indexes.iter().find(|i| i.name == name).ok_or_else(
                    || {
                        DynamoError::validation(format!(
                            "The table does not have the specified index: {name}"
                        ))
                    },
                )?),
                None => None,
            };
        Ok(View { table, index })
    }

    pub fn hash_key(&self) -> &'m KeyAttribute {
        self.index.map_or(&self.table.hash_key, |i| &i.hash_key)
    }

    pub fn range_key(&self) -> Option<&'m KeyAttribute> {
        match self.index {
            Some(index) => index.range_key.as_ref(),
            None => self.table.range_key.as_ref(),
        }
    }

    /// Indexes are sparse: only items with every index key attribute are in them.
    pub fn holds(&self, item: &Item) -> bool {
        self.index
            .is_none_or(|i| i.key_attributes().all(|k| item.contains_key(&k.name)))
    }

    /// The attributes an index stores for an item (everything for the table and `ALL`).
    pub fn project(&self, item: Item) -> Item {
        let Some(index) = self.index.filter(|i| i.projection != "ALL") else {
            return item;
        };
        item.into_iter()
            .filter(|(name, _)| {
                self.table.is_key_attribute(name)
                    || index.key_attributes().any(|k| &k.name == name)
                    || index.non_key_attributes.contains(name)
            })
            .collect()
    }

    /// Whether the view stores every attribute (what `Select: ALL_ATTRIBUTES` needs).
    pub fn projects_all(&self) -> bool {
        self.index.is_none_or(|i| i.projection == "ALL")
    }

    /// LastEvaluatedKey: the table's key plus the index's key attributes.
    pub fn key_of(&self, item: &Item) -> Item {
        let mut key = self.table.key_only(item);
        if let Some(index) = self.index {
            for attribute in index.key_attributes() {
                if let Some(value) = item.get(&attribute.name) {
                    key.insert(attribute.name.clone(), value.clone());
                }
            }
        }
        key
    }

    /// Order within a partition: by the view's sort key, ties by the table's key.
    pub fn compare(&self, a: &Item, b: &Item) -> Ordering {
        let sort = |item: &Item| self.range_key().and_then(|r| item.get(&r.name)).cloned();
        let by_sort = match (sort(a), sort(b)) {
            (Some(x), Some(y)) => x.compare(&y).unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        };
        by_sort.then_with(|| {
            let text = |item: &Item| {
                self.table
                    .key_attributes()
                    .map(|k| {
                        item.get(&k.name)
                            .map(AttributeValue::key_text)
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
            };
            text(a).cmp(&text(b))
        })
    }

    /// An ExclusiveStartKey for this view: the table's key plus, for an index, its keys.
    pub fn check_start_key(&self, start: &Item) -> Result<(), DynamoError> {
        let invalid = || {
            DynamoError::validation(
                "The provided starting key is invalid: The provided key element does not match the schema",
            )
        };
        let expected: Vec<&KeyAttribute> = self
            .table
            .key_attributes()
            .chain(self.index.into_iter().flat_map(|i| i.key_attributes()))
            .collect();
        for attribute in &expected {
            match start.get(&attribute.name) {
                Some(value) if value.type_name() == attribute.kind => {}
                _ => return Err(invalid()),
            }
        }
        if start
            .keys()
            .any(|name| !expected.iter().any(|a| &a.name == name))
        {
            return Err(invalid());
        }
        Ok(())
    }
}
