//! Parser and evaluator tests against the behaviour documented for DynamoDB expressions.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::local::dynamodb::attribute_value::{Item, item_from_json};
use crate::local::dynamodb::error::DynamoError;

fn item(value: serde_json::Value) -> Item {
    item_from_json(&value).unwrap()
}

fn placeholders(names: &[(&str, &str)], values: serde_json::Value) -> Placeholders {
    let names: BTreeMap<String, String> = names
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Placeholders::new(names, item(values))
}

fn check(expression: &str, values: serde_json::Value, subject: &Item) -> Result<bool, DynamoError> {
    let mut p = placeholders(&[("#s", "status")], values);
    let condition = parse_condition(expression, "ConditionExpression", &mut p)?;
    evaluate(&condition, subject)
}

fn message(err: DynamoError) -> String {
    err.to_string()
}

#[test]
fn conditions_follow_dynamodb_semantics() {
    let order = item(json!({
        "pk": {"S": "order#1"}, "amount": {"N": "12.5"}, "#s": {"S": "x"}, "status": {"S": "NEW"},
        "tags": {"SS": ["a", "b"]}, "entries": {"L": [{"M": {"sku": {"S": "p1"}}}, {"N": "2"}]},
        "meta": {"M": {"deep": {"M": {"flag": {"BOOL": true}}}}}
    }));
    let values = json!({":t": {"N": "10"}, ":u": {"N": "20.0"}, ":new": {"S": "NEW"}, ":a": {"S": "a"},
        ":p": {"S": "ord"}, ":sku": {"S": "p1"}, ":two": {"N": "2"}, ":ss": {"S": "SS"}});
    let cases = [
        (
            "amount BETWEEN :t AND :u AND #s = :new AND contains(tags, :a) AND begins_with(pk, :p) AND entries[0].sku = :sku AND size(entries) = :two AND attribute_type(tags, :ss) AND attribute_exists(meta.deep.flag)",
            true,
        ),
        (
            "#s IN (:a, :new) AND NOT attribute_exists(nope) AND attribute_not_exists(entries[5])",
            true,
        ),
        (
            "(amount > :u OR amount < :t) AND :t = :t AND :u = :u AND :new = :new AND :a = :a AND :p = :p AND :sku = :sku AND :two = :two AND :ss = :ss",
            false,
        ),
        (
            "absent <> :t AND :u = :u AND :new = :new AND :a = :a AND :p = :p AND :sku = :sku AND :two = :two AND :ss = :ss",
            true,
        ),
        (
            "(absent < :t OR amount < :new) AND :u = :u AND :a = :a AND :p = :p AND :sku = :sku AND :two = :two AND :ss = :ss",
            false,
        ),
    ];
    for (expression, expected) in cases {
        assert_eq!(
            check(expression, values.clone(), &order).unwrap(),
            expected,
            "{expression}"
        );
    }
}

#[test]
fn placeholders_must_be_defined_and_used() {
    let subject = Item::new();
    let err = message(check("#nope = :v", json!({":v": {"S": "x"}}), &subject).unwrap_err());
    assert!(err.contains("attribute name: #nope"), "{err}");
    let err = message(check("#s = :absent", json!({}), &subject).unwrap_err());
    assert!(err.contains("attribute value: :absent"), "{err}");

    let mut p = placeholders(
        &[("#a", "a")],
        json!({":x": {"S": "x"}, ":unused": {"S": "y"}}),
    );
    parse_condition("#a = :x", "ConditionExpression", &mut p).unwrap();
    let err = message(p.check_all_used().unwrap_err());
    assert_eq!(
        err,
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"
    );
}

#[test]
fn reserved_words_and_syntax_errors_are_reported() {
    let err = message(check("status = :v", json!({":v": {"S": "x"}}), &Item::new()).unwrap_err());
    assert_eq!(
        err,
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    );
    let err = message(check("a = = :v", json!({":v": {"S": "x"}}), &Item::new()).unwrap_err());
    assert!(
        err.starts_with("Invalid ConditionExpression: Syntax error; token: \"=\""),
        "{err}"
    );
    let err = message(check("frobnicate(a)", json!({}), &Item::new()).unwrap_err());
    assert!(
        err.contains("Invalid function name; function: frobnicate"),
        "{err}"
    );
}

fn update(
    expression: &str,
    values: serde_json::Value,
    subject: &Item,
) -> Result<Item, DynamoError> {
    let mut p = placeholders(&[], values);
    let update = parse_update(expression, &mut p)?;
    apply_update(&update, subject)
}

#[test]
fn updates_apply_every_action() {
    let subject = item(json!({
        "pk": {"S": "k"}, "count": {"N": "1"}, "parts": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]},
        "tags": {"SS": ["x", "y"]}, "labels": {"SS": ["x", "y"]}, "gone": {"S": "bye"}, "m": {"M": {"nested": {"N": "1"}}}
    }));
    let values = json!({":one": {"N": "1"}, ":zero": {"N": "0"}, ":more": {"L": [{"S": "d"}]},
        ":tags": {"SS": ["z"]}, ":drop": {"SS": ["x"]}, ":v": {"S": "new"}});
    let out = update(
        "SET #c = #c + :one, fresh = if_not_exists(fresh, :zero), parts = list_append(parts, :more), m.nested = m.nested - :one, m.added = :v \
         REMOVE gone, parts[0] ADD tags :tags, counter2 :one DELETE tags :drop"
            .replace("#c", "count")
            .as_str(),
        values,
        &subject,
    );
    // `count` is reserved, so the plain name fails exactly as on AWS.
    assert!(message(out.unwrap_err()).contains("reserved keyword: count"));

    let values = json!({":one": {"N": "1"}, ":zero": {"N": "0"}, ":more": {"L": [{"S": "d"}]},
        ":tags": {"SS": ["z"]}, ":drop": {"SS": ["x"]}, ":v": {"S": "new"}});
    let mut p = placeholders(&[("#c", "count")], values);
    let parsed = parse_update(
        "SET #c = #c + :one, fresh = if_not_exists(fresh, :zero), parts = list_append(parts, :more), m.nested = m.nested - :one, m.added = :v \
         REMOVE gone ADD tags :tags, counter2 :one DELETE labels :drop",
        &mut p,
    )
    .unwrap();
    let out = apply_update(&parsed, &subject).unwrap();
    assert_eq!(
        crate::local::dynamodb::attribute_value::item_to_json(&out),
        json!({
            "count": {"N": "2"}, "counter2": {"N": "1"}, "fresh": {"N": "0"},
            "parts": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "d"}]},
            "m": {"M": {"added": {"S": "new"}, "nested": {"N": "0"}}}, "pk": {"S": "k"},
            "labels": {"SS": ["y"]}, "tags": {"SS": ["x", "y", "z"]}
        })
    );
}

#[test]
fn update_errors_match_dynamodb() {
    let subject = item(
        json!({"pk": {"S": "k"}, "s": {"S": "text"}, "parts": {"L": [{"S": "a"}, {"S": "b"}]}}),
    );
    let err = message(
        update(
            "SET a = absent + :one",
            json!({":one": {"N": "1"}}),
            &subject,
        )
        .unwrap_err(),
    );
    assert_eq!(
        err,
        "The provided expression refers to an attribute that does not exist in the item"
    );
    let err =
        message(update("SET s = s + :one", json!({":one": {"N": "1"}}), &subject).unwrap_err());
    assert_eq!(
        err,
        "An operand in the update expression has an incorrect data type"
    );
    let err = message(
        update(
            "SET nope.deeper = :one",
            json!({":one": {"N": "1"}}),
            &subject,
        )
        .unwrap_err(),
    );
    assert_eq!(
        err,
        "The document path provided in the update expression is invalid for update"
    );
    let err = message(
        update(
            "SET a = :one REMOVE a",
            json!({":one": {"N": "1"}}),
            &subject,
        )
        .unwrap_err(),
    );
    assert!(err.contains("Two document paths overlap"), "{err}");
    let err = message(
        update(
            "SET a = :one SET b = :one",
            json!({":one": {"N": "1"}}),
            &subject,
        )
        .unwrap_err(),
    );
    assert!(
        err.contains("\"SET\" section can only be used once"),
        "{err}"
    );
    let out = update("REMOVE parts[0], parts[1]", json!({}), &subject).unwrap();
    assert_eq!(
        out.get("parts"),
        Some(&crate::local::dynamodb::attribute_value::AttributeValue::L(
            vec![]
        ))
    );
}

#[test]
fn projection_keeps_nested_shape() {
    let subject = item(
        json!({"a": {"M": {"b": {"S": "x"}, "c": {"S": "y"}}}, "l": {"L": [{"S": "0"}, {"S": "1"}]}, "z": {"S": "z"}}),
    );
    let mut p = placeholders(&[], json!({}));
    let paths = parse_projection("a.b, l[1], nope", &mut p).unwrap();
    assert_eq!(
        crate::local::dynamodb::attribute_value::item_to_json(&project(&subject, &paths)),
        json!({"a": {"M": {"b": {"S": "x"}}}, "l": {"L": [{"S": "1"}]}})
    );
}
