//! DynamoDB's typed values (`{"S": "x"}`, `{"N": "1"}`, …) as a Rust enum, with the
//! conversions to and from the wire JSON, the validation DynamoDB applies to them, the
//! item size arithmetic behind the 400 KB limit and the ordering used by sort keys.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::error::DynamoError;
use super::number::Number;

/// An item (or a key, or an image): attribute name → value.
pub type Item = BTreeMap<String, AttributeValue>;

/// The largest item DynamoDB stores.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
    M(Item),
    L(Vec<AttributeValue>),
    Null,
    Bool(bool),
}

impl AttributeValue {
    /// The type descriptor as DynamoDB spells it (`S`, `SS`, `BOOL`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Null => "NULL",
            AttributeValue::Bool(_) => "BOOL",
        }
    }

    /// Parse wire JSON, with DynamoDB's validation messages.
    pub fn from_json(value: &Value) -> Result<AttributeValue, DynamoError> {
        let object = value.as_object().ok_or_else(|| {
            DynamoError::validation(
                "Supplied AttributeValue is not an object; expected e.g. {\"S\": \"text\"}",
            )
        })?;
        let mut entries = object.iter().filter(|(_, v)| !v.is_null());
        let (Some((kind, inner)), None) = (entries.next(), entries.next()) else {
            return Err(DynamoError::validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            ));
        };
        let text = |v: &Value| -> Result<String, DynamoError> {
            v.as_str().map(str::to_owned).ok_or_else(|| {
                DynamoError::validation(format!(
                    "Supplied AttributeValue of type {kind} must be a string"
                ))
            })
        };
        let binary = |v: &Value| -> Result<Vec<u8>, DynamoError> {
            BASE64.decode(text(v)?).map_err(|_| {
                DynamoError::validation(format!(
                    "Supplied AttributeValue of type {kind} is not valid base64"
                ))
            })
        };
        let list = |v: &Value| -> Result<Vec<Value>, DynamoError> {
            v.as_array().cloned().ok_or_else(|| {
                DynamoError::validation(format!(
                    "Supplied AttributeValue of type {kind} must be a list"
                ))
            })
        };
        let value = match kind.as_str() {
            "S" => AttributeValue::S(text(inner)?),
            "N" => AttributeValue::N(Number::parse(&text(inner)?)?),
            "B" => AttributeValue::B(binary(inner)?),
            "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or_else(|| {
                DynamoError::validation(
                    "Supplied AttributeValue of type BOOL must be true or false",
                )
            })?),
            "NULL" => {
                if inner != &Value::Bool(true) {
                    return Err(DynamoError::validation(
                        "One or more parameter values were invalid: Null attribute value types must have the value of true",
                    ));
                }
                AttributeValue::Null
            }
            "SS" => AttributeValue::Ss(unique_set(
                list(inner)?.iter().map(text).collect::<Result<_, _>>()?,
            )?),
            "NS" => AttributeValue::Ns(unique_set(
                list(inner)?
                    .iter()
                    .map(|v| Number::parse(&text(v)?).map_err(DynamoError::from))
                    .collect::<Result<_, _>>()?,
            )?),
            "BS" => AttributeValue::Bs(unique_set(
                list(inner)?.iter().map(binary).collect::<Result<_, _>>()?,
            )?),
            "L" => AttributeValue::L(
                list(inner)?
                    .iter()
                    .map(AttributeValue::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            "M" => AttributeValue::M(item_from_json(inner)?),
            other => {
                return Err(DynamoError::validation(format!(
                    "Supplied AttributeValue has unknown data type `{other}`; use one of S, N, B, SS, NS, BS, M, L, NULL, BOOL"
                )));
            }
        };
        Ok(value)
    }

    pub fn to_json(&self) -> Value {
        let (kind, inner) = match self {
            AttributeValue::S(s) => ("S", Value::String(s.clone())),
            AttributeValue::N(n) => ("N", Value::String(n.to_string())),
            AttributeValue::B(b) => ("B", Value::String(BASE64.encode(b))),
            AttributeValue::Ss(v) => ("SS", v.iter().map(|s| Value::String(s.clone())).collect()),
            AttributeValue::Ns(v) => (
                "NS",
                v.iter().map(|n| Value::String(n.to_string())).collect(),
            ),
            AttributeValue::Bs(v) => (
                "BS",
                v.iter().map(|b| Value::String(BASE64.encode(b))).collect(),
            ),
            AttributeValue::M(m) => ("M", item_to_json(m)),
            AttributeValue::L(l) => ("L", l.iter().map(AttributeValue::to_json).collect()),
            AttributeValue::Null => ("NULL", Value::Bool(true)),
            AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
        };
        let mut object = Map::new();
        object.insert(kind.to_owned(), inner);
        Value::Object(object)
    }

    /// Bytes this value counts towards the item size, following DynamoDB's documented rules.
    pub fn size(&self) -> usize {
        let number = |n: &Number| n.significant_digits().div_ceil(2) + 1;
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => number(n),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
            AttributeValue::Ns(v) => v.iter().map(number).sum(),
            AttributeValue::Bs(v) => v.iter().map(Vec::len).sum(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttributeValue::Null | AttributeValue::Bool(_) => 1,
        }
    }

    /// Order of key values (`S` and `B` by bytes, `N` by value); `None` across types or for
    /// types that have no order.
    pub fn compare(&self, other: &AttributeValue) -> Option<Ordering> {
        match (self, other) {
            (AttributeValue::S(a), AttributeValue::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (AttributeValue::N(a), AttributeValue::N(b)) => Some(a.cmp(b)),
            (AttributeValue::B(a), AttributeValue::B(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Equality as DynamoDB sees it: sets compare without regard to order.
    pub fn same_as(&self, other: &AttributeValue) -> bool {
        fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.len() == b.len() && a.iter().all(|x| b.contains(x))
        }
        match (self, other) {
            (AttributeValue::Ss(a), AttributeValue::Ss(b)) => same_set(a, b),
            (AttributeValue::Ns(a), AttributeValue::Ns(b)) => same_set(a, b),
            (AttributeValue::Bs(a), AttributeValue::Bs(b)) => same_set(a, b),
            (AttributeValue::M(a), AttributeValue::M(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.same_as(w)))
            }
            (AttributeValue::L(a), AttributeValue::L(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (a, b) => a == b,
        }
    }

    /// A stable text form of a key value, used as the storage key.
    pub fn key_text(&self) -> String {
        match self {
            AttributeValue::S(s) => format!("S:{s}"),
            AttributeValue::N(n) => format!("N:{n}"),
            AttributeValue::B(b) => format!("B:{}", BASE64.encode(b)),
            other => format!("{}:{}", other.type_name(), other.to_json()),
        }
    }
}

fn unique_set<T: PartialEq>(values: Vec<T>) -> Result<Vec<T>, DynamoError> {
    if values.is_empty() {
        return Err(DynamoError::validation(
            "One or more parameter values were invalid: An string set  may not be empty",
        ));
    }
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: Input collection contains duplicates",
            ));
        }
    }
    Ok(values)
}

/// Parse a wire item (`{"name": {"S": "x"}, …}`).
pub fn item_from_json(value: &Value) -> Result<Item, DynamoError> {
    let object = value.as_object().ok_or_else(|| {
        DynamoError::validation("Expected a map of attribute names to AttributeValues")
    })?;
    object
        .iter()
        .map(|(name, v)| Ok((name.clone(), AttributeValue::from_json(v)?)))
        .collect()
}

pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// The size of an item as DynamoDB counts it (names plus values).
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value.size())
        .sum()
}

/// Reject items above the 400 KB limit with DynamoDB's message.
pub fn check_item_size(item: &Item) -> Result<(), DynamoError> {
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(DynamoError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_every_type() {
        let wire = json!({
            "s": {"S": "x"}, "n": {"N": "1.5"}, "b": {"B": "AQI="}, "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ=="]}, "m": {"M": {"k": {"NULL": true}}},
            "l": {"L": [{"BOOL": false}]}
        });
        let item = item_from_json(&wire).unwrap();
        assert_eq!(item_to_json(&item), wire);
    }

    #[test]
    fn rejects_invalid_values() {
        for bad in [
            json!({}),
            json!({"S": "a", "N": "1"}),
            json!({"N": "x"}),
            json!({"SS": []}),
            json!({"SS": ["a", "a"]}),
            json!({"Q": "1"}),
        ] {
            assert!(
                matches!(
                    AttributeValue::from_json(&bad),
                    Err(DynamoError::Validation(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn item_size_counts_names_and_values() {
        let item = item_from_json(&json!({"ab": {"S": "xyz"}, "n": {"N": "123"}})).unwrap();
        assert_eq!(item_size(&item), 2 + 3 + 1 + 3);
    }
}
