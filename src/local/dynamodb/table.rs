//! A table's definition (key schema, billing, stream settings) as stored, and the key
//! rules DynamoDB applies to items and `Key` parameters.

use serde::{Deserialize, Serialize};

use super::attribute_value::{AttributeValue, Item};
use super::error::DynamoError;

/// One key attribute: its name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    pub name: String,
    pub kind: String,
}

/// The stream currently or last attached to a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStream {
    pub arn: String,
    pub label: String,
    pub view_type: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    pub arn: String,
    pub id: String,
    pub created_ms: i64,
    pub hash_key: KeyAttribute,
    pub range_key: Option<KeyAttribute>,
    pub attribute_definitions: Vec<KeyAttribute>,
    pub billing_mode: String,
    pub read_capacity: i64,
    pub write_capacity: i64,
    pub stream: Option<TableStream>,
    pub deletion_protection: bool,
    /// The TTL attribute, when TimeToLive is enabled.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// Resource tags (key → value).
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Global and local secondary indexes.
    #[serde(default)]
    pub indexes: Vec<super::index::SecondaryIndex>,
}

/// An item's primary key in the two text columns the storage indexes by.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageKey {
    pub pk: String,
    pub sk: String,
    /// Just the key attributes, as an item.
    pub key: Item,
}

impl TableMeta {
    pub fn key_attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.hash_key).chain(self.range_key.as_ref())
    }

    /// `KeySchema` as the APIs print it.
    pub fn key_schema_json(&self) -> serde_json::Value {
        std::iter::once((&self.hash_key, "HASH"))
            .chain(self.range_key.as_ref().map(|r| (r, "RANGE")))
            .map(|(k, kind)| serde_json::json!({"AttributeName": k.name, "KeyType": kind}))
            .collect()
    }

    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.key_attributes().any(|k| k.name == name)
    }

    pub fn enabled_stream(&self) -> Option<&TableStream> {
        self.stream.as_ref().filter(|s| s.enabled)
    }

    /// The key of a full item (PutItem, BatchWriteItem, TransactWriteItems Put).
    pub fn key_of_item(&self, item: &Item) -> Result<StorageKey, DynamoError> {
        let mut key = Item::new();
        for attribute in self.key_attributes() {
            let value = item.get(&attribute.name).ok_or_else(|| {
                DynamoError::validation(format!(
                    "One or more parameter values were invalid: Missing the key {} in the item",
                    attribute.name
                ))
            })?;
            check_key_value(attribute, value)?;
            key.insert(attribute.name.clone(), value.clone());
        }
        Ok(self.storage_key(key))
    }

    /// A `Key` parameter: exactly the key attributes, with the right types.
    pub fn key_from_param(&self, key: &Item) -> Result<StorageKey, DynamoError> {
        let mismatch =
            || DynamoError::validation("The provided key element does not match the schema");
        if key.len() != self.key_attributes().count() {
            return Err(mismatch());
        }
        for attribute in self.key_attributes() {
            let value = key.get(&attribute.name).ok_or_else(mismatch)?;
            if value.type_name() != attribute.kind {
                return Err(mismatch());
            }
            check_key_value(attribute, value)?;
        }
        Ok(self.storage_key(key.clone()))
    }

    fn storage_key(&self, key: Item) -> StorageKey {
        let text = |attribute: Option<&KeyAttribute>| {
            attribute
                .and_then(|a| key.get(&a.name))
                .map(AttributeValue::key_text)
                .unwrap_or_default()
        };
        StorageKey {
            pk: text(Some(&self.hash_key)),
            sk: text(self.range_key.as_ref()),
            key,
        }
    }

    /// Only the key attributes of an item (for LastEvaluatedKey and stream `Keys`).
    pub fn key_only(&self, item: &Item) -> Item {
        self.key_attributes()
            .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
            .collect()
    }
}

fn check_key_value(attribute: &KeyAttribute, value: &AttributeValue) -> Result<(), DynamoError> {
    if value.type_name() != attribute.kind {
        return Err(DynamoError::validation(format!(
            "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
            attribute.name,
            attribute.kind,
            value.type_name()
        )));
    }
    let empty = matches!(value, AttributeValue::S(s) if s.is_empty())
        || matches!(value, AttributeValue::B(b) if b.is_empty());
    if empty {
        return Err(DynamoError::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {}",
            if attribute.kind == "S" {
                "string"
            } else {
                "binary"
            },
            attribute.name
        )));
    }
    Ok(())
}

/// DynamoDB's table name rule.
pub fn check_table_name(name: &str) -> Result<(), DynamoError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=255).contains(&name.len()) || !valid_chars {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
        )));
    }
    Ok(())
}
