//! Evaluating parsed expressions against an item: conditions and filters, updates (which
//! produce the new item) and projections, with DynamoDB's rules for missing attributes
//! and mismatched types.

use std::cmp::Ordering;

use super::ast::{Comparator, Condition, Operand, Path, PathElement, SetValue, Update};
use crate::local::dynamodb::attribute_value::{AttributeValue, Item};
use crate::local::dynamodb::error::DynamoError;
use crate::local::dynamodb::number::Number;

/// The value at `path`, if there is one.
pub fn resolve<'i>(item: &'i Item, path: &Path) -> Option<&'i AttributeValue> {
    let mut elements = path.0.iter();
    let mut current = match elements.next()? {
        PathElement::Attribute(name) => item.get(name)?,
        PathElement::Index(_) => return None,
    };
    for element in elements {
        current = match (element, current) {
            (PathElement::Attribute(name), AttributeValue::M(map)) => map.get(name)?,
            (PathElement::Index(i), AttributeValue::L(list)) => list.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

fn operand_value(item: &Item, operand: &Operand) -> Option<AttributeValue> {
    match operand {
        Operand::Path(path) => resolve(item, path).cloned(),
        Operand::Value(value) => Some(value.clone()),
        Operand::Size(path) => {
            let size = match resolve(item, path)? {
                AttributeValue::S(s) => s.len(),
                AttributeValue::B(b) => b.len(),
                AttributeValue::Ss(v) => v.len(),
                AttributeValue::Ns(v) => v.len(),
                AttributeValue::Bs(v) => v.len(),
                AttributeValue::M(m) => m.len(),
                AttributeValue::L(l) => l.len(),
                _ => return None,
            };
            Some(AttributeValue::N(Number::from_i64(size as i64)))
        }
    }
}

const TYPE_NAMES: [&str; 10] = ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

/// Evaluate a condition or filter; a missing attribute makes comparisons false.
pub fn evaluate(condition: &Condition, item: &Item) -> Result<bool, DynamoError> {
    Ok(match condition {
        Condition::And(a, b) => evaluate(a, item)? && evaluate(b, item)?,
        Condition::Or(a, b) => evaluate(a, item)? || evaluate(b, item)?,
        Condition::Not(inner) => !evaluate(inner, item)?,
        Condition::AttributeExists(path) => resolve(item, path).is_some(),
        Condition::AttributeNotExists(path) => resolve(item, path).is_none(),
        Condition::AttributeType(path, expected) => {
            let expected = match operand_value(item, expected) {
                Some(AttributeValue::S(name)) if TYPE_NAMES.contains(&name.as_str()) => name,
                other => {
                    return Err(DynamoError::validation(format!(
                        "Invalid ConditionExpression: Invalid attribute type name found in type function; type: {}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}",
                        other.map(|v| v.to_json().to_string()).unwrap_or_default()
                    )));
                }
            };
            resolve(item, path).is_some_and(|v| v.type_name() == expected)
        }
        Condition::BeginsWith(a, b) => match (operand_value(item, a), operand_value(item, b)) {
            (Some(AttributeValue::S(a)), Some(AttributeValue::S(b))) => a.starts_with(&b),
            (Some(AttributeValue::B(a)), Some(AttributeValue::B(b))) => a.starts_with(&b),
            _ => false,
        },
        Condition::Contains(a, b) => match (operand_value(item, a), operand_value(item, b)) {
            (Some(AttributeValue::S(a)), Some(AttributeValue::S(b))) => a.contains(&b),
            (Some(AttributeValue::B(a)), Some(AttributeValue::B(b))) => {
                b.is_empty() || a.windows(b.len()).any(|w| w == b.as_slice())
            }
            (Some(AttributeValue::Ss(set)), Some(AttributeValue::S(b))) => set.contains(&b),
            (Some(AttributeValue::Ns(set)), Some(AttributeValue::N(b))) => set.contains(&b),
            (Some(AttributeValue::Bs(set)), Some(AttributeValue::B(b))) => set.contains(&b),
            (Some(AttributeValue::L(list)), Some(b)) => list.iter().any(|v| v.same_as(&b)),
            _ => false,
        },
        Condition::Compare(comparator, a, b) => compare(
            *comparator,
            operand_value(item, a).as_ref(),
            operand_value(item, b).as_ref(),
        ),
        Condition::Between(value, low, high) => {
            let (value, low, high) = (
                operand_value(item, value),
                operand_value(item, low),
                operand_value(item, high),
            );
            if let (Some(l), Some(h)) = (&low, &high)
                && l.compare(h) == Some(Ordering::Greater)
            {
                return Err(DynamoError::validation(format!(
                    "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                    l.to_json(),
                    h.to_json()
                )));
            }
            compare(Comparator::Ge, value.as_ref(), low.as_ref())
                && compare(Comparator::Le, value.as_ref(), high.as_ref())
        }
        Condition::In(value, options) => {
            let value = operand_value(item, value);
            options.iter().any(|option| {
                compare(
                    Comparator::Eq,
                    value.as_ref(),
                    operand_value(item, option).as_ref(),
                )
            })
        }
    })
}

fn compare(comparator: Comparator, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    match comparator {
        Comparator::Eq => matches!((a, b), (Some(a), Some(b)) if a.same_as(b)),
        Comparator::Ne => !matches!((a, b), (Some(a), Some(b)) if a.same_as(b)),
        _ => {
            let Some(order) = a.zip(b).and_then(|(a, b)| a.compare(b)) else {
                return false;
            };
            match comparator {
                Comparator::Lt => order == Ordering::Less,
                Comparator::Le => order != Ordering::Greater,
                Comparator::Gt => order == Ordering::Greater,
                _ => order != Ordering::Less,
            }
        }
    }
}

fn wrong_type() -> DynamoError {
    DynamoError::validation("An operand in the update expression has an incorrect data type")
}

fn invalid_path() -> DynamoError {
    DynamoError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}

fn set_value(item: &Item, value: &SetValue) -> Result<AttributeValue, DynamoError> {
    Ok(match value {
        SetValue::Value(v) => v.clone(),
        SetValue::Path(path) => resolve(item, path).cloned().ok_or_else(|| {
            DynamoError::validation(
                "The provided expression refers to an attribute that does not exist in the item",
            )
        })?,
        SetValue::IfNotExists(path, fallback) => match resolve(item, path) {
            Some(existing) => existing.clone(),
            None => set_value(item, fallback)?,
        },
        SetValue::ListAppend(a, b) => match (set_value(item, a)?, set_value(item, b)?) {
            (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                a.extend(b);
                AttributeValue::L(a)
            }
            _ => return Err(wrong_type()),
        },
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            match (set_value(item, a)?, set_value(item, b)?) {
                (AttributeValue::N(a), AttributeValue::N(b)) => {
                    AttributeValue::N(if matches!(value, SetValue::Plus(..)) {
                        a.add(&b)?
                    } else {
                        a.sub(&b)?
                    })
                }
                _ => return Err(wrong_type()),
            }
        }
    })
}

/// The container that holds the last element of `path`, for writing.
fn parent_mut<'i>(
    item: &'i mut Item,
    path: &Path,
) -> Result<Option<&'i mut AttributeValue>, DynamoError> {
    let elements = &path.0[..path.0.len() - 1];
    let Some((PathElement::Attribute(first), rest)) = elements.split_first() else {
        return Ok(None);
    };
    let mut current = item.get_mut(first).ok_or_else(invalid_path)?;
    for element in rest {
        current = match (element, current) {
            (PathElement::Attribute(name), AttributeValue::M(map)) => {
                map.get_mut(name).ok_or_else(invalid_path)?
            }
            (PathElement::Index(i), AttributeValue::L(list)) => {
                list.get_mut(*i).ok_or_else(invalid_path)?
            }
            _ => return Err(invalid_path()),
        };
    }
    Ok(Some(current))
}

fn write_at(item: &mut Item, path: &Path, value: AttributeValue) -> Result<(), DynamoError> {
    let last = path.0.last().ok_or_else(invalid_path)?;
    match (parent_mut(item, path)?, last) {
        (None, PathElement::Attribute(name)) => {
            item.insert(name.clone(), value);
        }
        (Some(AttributeValue::M(map)), PathElement::Attribute(name)) => {
            map.insert(name.clone(), value);
        }
        (Some(AttributeValue::L(list)), PathElement::Index(i)) => {
            if *i < list.len() {
                list[*i] = value;
            } else {
                list.push(value);
            }
        }
        _ => return Err(invalid_path()),
    }
    Ok(())
}

fn remove_at(item: &mut Item, path: &Path) -> Result<(), DynamoError> {
    let Some(last) = path.0.last() else {
        return Ok(());
    };
    let parent = match parent_mut(item, path) {
        Ok(parent) => parent,
        Err(_) => return Ok(()),
    };
    match (parent, last) {
        (None, PathElement::Attribute(name)) => {
            item.remove(name);
        }
        (Some(AttributeValue::M(map)), PathElement::Attribute(name)) => {
            map.remove(name);
        }
        (Some(AttributeValue::L(list)), PathElement::Index(i)) if *i < list.len() => {
            list.remove(*i);
        }
        _ => {}
    }
    Ok(())
}

fn add_to(
    existing: Option<&AttributeValue>,
    value: &AttributeValue,
) -> Result<AttributeValue, DynamoError> {
    fn union<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        let mut out = a.to_vec();
        out.extend(b.iter().filter(|x| !a.contains(x)).cloned());
        out
    }
    Ok(match (existing, value) {
        (
            None,
            AttributeValue::N(_)
            | AttributeValue::Ss(_)
            | AttributeValue::Ns(_)
            | AttributeValue::Bs(_),
        ) => value.clone(),
        (Some(AttributeValue::N(a)), AttributeValue::N(b)) => AttributeValue::N(a.add(b)?),
        (Some(AttributeValue::Ss(a)), AttributeValue::Ss(b)) => AttributeValue::Ss(union(a, b)),
        (Some(AttributeValue::Ns(a)), AttributeValue::Ns(b)) => AttributeValue::Ns(union(a, b)),
        (Some(AttributeValue::Bs(a)), AttributeValue::Bs(b)) => AttributeValue::Bs(union(a, b)),
        (None, other) => {
            return Err(DynamoError::validation(format!(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: {}",
                other.type_name()
            )));
        }
        _ => return Err(wrong_type()),
    })
}

/// The set left after DELETE, or `None` when it became empty (the attribute goes away).
fn delete_from(
    existing: &AttributeValue,
    value: &AttributeValue,
) -> Result<Option<AttributeValue>, DynamoError> {
    fn minus<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        a.iter().filter(|x| !b.contains(x)).cloned().collect()
    }
    let left = match (existing, value) {
        (AttributeValue::Ss(a), AttributeValue::Ss(b)) => AttributeValue::Ss(minus(a, b)),
        (AttributeValue::Ns(a), AttributeValue::Ns(b)) => AttributeValue::Ns(minus(a, b)),
        (AttributeValue::Bs(a), AttributeValue::Bs(b)) => AttributeValue::Bs(minus(a, b)),
        _ => return Err(wrong_type()),
    };
    let empty = matches!(&left, AttributeValue::Ss(v) if v.is_empty())
        || matches!(&left, AttributeValue::Ns(v) if v.is_empty())
        || matches!(&left, AttributeValue::Bs(v) if v.is_empty());
    Ok(if empty { None } else { Some(left) })
}

/// Apply an update to `item` (the current item, or just the key for a new one). All SET
/// operands are read from the item as it was before the update, as DynamoDB does.
pub fn apply_update(update: &Update, item: &Item) -> Result<Item, DynamoError> {
    let values: Vec<AttributeValue> = update
        .set
        .iter()
        .map(|(_, value)| set_value(item, value))
        .collect::<Result<_, _>>()?;
    let mut out = item.clone();
    for ((path, _), value) in update.set.iter().zip(values) {
        write_at(&mut out, path, value)?;
    }
    // Remove list elements from the highest index down so earlier removals do not shift later ones.
    let mut removals: Vec<&Path> = update.remove.iter().collect();
    removals.sort_by(|a, b| b.0.cmp_indexes(&a.0));
    for path in removals {
        remove_at(&mut out, path)?;
    }
    for (path, value) in &update.add {
        let added = add_to(resolve(&out, path), value)?;
        write_at(&mut out, path, added)?;
    }
    for (path, value) in &update.delete {
        if !matches!(
            value,
            AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
        ) {
            return Err(DynamoError::validation(format!(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: {}",
                value.type_name()
            )));
        }
        if let Some(existing) = resolve(&out, path) {
            match delete_from(existing, value)? {
                Some(left) => write_at(&mut out, path, left)?,
                None => remove_at(&mut out, path)?,
            }
        }
    }
    Ok(out)
}

trait IndexOrder {
    fn cmp_indexes(&self, other: &Self) -> Ordering;
}

impl IndexOrder for Vec<PathElement> {
    /// Orders paths by their list indexes (attribute steps compare equal).
    fn cmp_indexes(&self, other: &Self) -> Ordering {
        for (a, b) in self.iter().zip(other) {
            if let (PathElement::Index(a), PathElement::Index(b)) = (a, b)
                && a != b
            {
                return a.cmp(b);
            }
        }
        Ordering::Equal
    }
}

/// Keep only the projected paths, nesting them as they were in the item.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut out = Item::new();
    for path in paths {
        let Some(value) = resolve(item, path) else {
            continue;
        };
        insert_projected(&mut out, &path.0, value.clone());
    }
    out
}

fn insert_projected(out: &mut Item, elements: &[PathElement], value: AttributeValue) {
    let Some((PathElement::Attribute(first), rest)) = elements.split_first() else {
        return;
    };
    if rest.is_empty() {
        out.insert(first.clone(), value);
        return;
    }
    let template = match rest[0] {
        PathElement::Attribute(_) => AttributeValue::M(Item::new()),
        PathElement::Index(_) => AttributeValue::L(Vec::new()),
    };
    let slot = out.entry(first.clone()).or_insert(template);
    insert_nested(slot, rest, value);
}

fn insert_nested(slot: &mut AttributeValue, elements: &[PathElement], value: AttributeValue) {
    let Some((head, rest)) = elements.split_first() else {
        *slot = value;
        return;
    };
    let template = || match rest.first() {
        Some(PathElement::Index(_)) => AttributeValue::L(Vec::new()),
        _ => AttributeValue::M(Item::new()),
    };
    match (head, slot) {
        (PathElement::Attribute(name), AttributeValue::M(map)) => {
            if rest.is_empty() {
                map.insert(name.clone(), value);
            } else {
                insert_nested(
                    map.entry(name.clone()).or_insert_with(template),
                    rest,
                    value,
                );
            }
        }
        (PathElement::Index(_), AttributeValue::L(list)) => {
            if rest.is_empty() {
                list.push(value);
            } else {
                list.push(template());
                if let Some(last) = list.last_mut() {
                    insert_nested(last, rest, value);
                }
            }
        }
        _ => {}
    }
}
