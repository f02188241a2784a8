//! Request body models: the JSON Schema (draft 4) keywords a model may use on the engine,
//! and validation of a body against them. API Gateway validates with the full draft; the
//! engine refuses a model using any keyword it does not evaluate when the model is
//! created, so a body is never let through by a check the engine skipped. Messages follow
//! the wording API Gateway's validator puts in `$context.error.validationErrorString`.

use serde_json::Value;

/// Keywords the engine evaluates, and those that only annotate.
const EVALUATED: [&str; 13] = [
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "$schema",
];
const ANNOTATIONS: [&str; 3] = ["title", "description", "default"];

/// Refuse a schema that uses a keyword the engine does not evaluate, or that is not an
/// object where draft 4 wants one.
pub fn check(schema: &Value) -> Result<(), String> {
    check_at(schema, "#")
}

fn check_at(schema: &Value, at: &str) -> Result<(), String> {
    let Value::Object(map) = schema else {
        return Err(format!("{at}: a schema must be a JSON object"));
    };
    for (keyword, value) in map {
        if !EVALUATED.contains(&keyword.as_str()) && !ANNOTATIONS.contains(&keyword.as_str()) {
            return Err(format!(
                "{at}: the local engine does not evaluate the JSON Schema keyword `{keyword}`; it supports {}",
                EVALUATED.join(", ")
            ));
        }
        match keyword.as_str() {
            "properties" => {
                let Value::Object(properties) = value else {
                    return Err(format!("{at}/properties: must be an object"));
                };
                for (name, property) in properties {
                    check_at(property, &format!("{at}/properties/{name}"))?;
                }
            }
            "items" | "additionalProperties" if value.is_object() => {
                check_at(value, &format!("{at}/{keyword}"))?;
            }
            "additionalProperties" if !value.is_boolean() => {
                return Err(format!(
                    "{at}/additionalProperties: must be a boolean or a schema"
                ));
            }
            "items" => return Err(format!("{at}/items: must be a schema")),
            "required" | "enum" if value.as_array().is_none_or(|a| a.is_empty()) => {
                return Err(format!("{at}/{keyword}: must be a non-empty array"));
            }
            "minimum" | "maximum" if !value.is_number() => {
                return Err(format!("{at}/{keyword}: must be a number"));
            }
            "minLength" | "maxLength" | "minItems" | "maxItems" if !value.is_u64() => {
                return Err(format!("{at}/{keyword}: must be a non-negative integer"));
            }
            "type" => {
                let names: Vec<&Value> = match value {
                    Value::Array(names) => names.iter().collect(),
                    other => vec![other],
                };
                if let Some(bad) = names.iter().find(|n| !n.as_str().is_some_and(is_type_name)) {
                    return Err(format!("{at}/type: {bad} is not a JSON Schema type"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_type_name(name: &str) -> bool {
    matches!(
        name,
        "object" | "array" | "string" | "number" | "integer" | "boolean" | "null"
    )
}

/// Every way `instance` breaks `schema` (one the engine has checked), in document order;
/// empty when it conforms.
pub fn validate(schema: &Value, instance: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    validate_at(schema, instance, &mut problems);
    problems
}

fn validate_at(schema: &Value, instance: &Value, problems: &mut Vec<String>) {
    let Value::Object(schema) = schema else {
        return;
    };
    if let Some(allowed) = schema.get("type") {
        let names: Vec<&str> = match allowed {
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        if !names.iter().any(|name| has_type(instance, name)) {
            problems.push(format!(
                "instance type ({}) does not match any allowed primitive type (allowed: {})",
                type_of(instance),
                quoted_list(&names)
            ));
            // The other keywords would only repeat the mismatch.
            return;
        }
    }
    if let Some(Value::Array(values)) = schema.get("enum")
        && !values.iter().any(|v| same_value(v, instance))
    {
        problems.push(format!(
            "instance value ({instance}) not found in enum (possible values: {})",
            Value::Array(values.clone())
        ));
    }
    match instance {
        Value::Object(members) => {
            if let Some(Value::Array(required)) = schema.get("required") {
                // Named in sorted order, as API Gateway's validator names them.
                let mut missing: Vec<&str> = required
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|name| !members.contains_key(*name))
                    .collect();
                missing.sort_unstable();
                if !missing.is_empty() {
                    problems.push(format!(
                        "object has missing required properties ({})",
                        quoted_list(&missing)
                    ));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let mut unexpected = Vec::new();
            for (name, value) in members {
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => validate_at(property, value, problems),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => unexpected.push(name.as_str()),
                        Some(extra @ Value::Object(_)) => validate_at(extra, value, problems),
                        _ => {}
                    },
                }
            }
            if !unexpected.is_empty() {
                problems.push(format!(
                    "object instance has properties which are not allowed by the schema: {}",
                    quoted_list(&unexpected)
                ));
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && count < min
            {
                problems.push(format!(
                    "array is too short: must have at least {min} elements but instance has {count} elements"
                ));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && count > max
            {
                problems.push(format!(
                    "array is too long: must have at most {max} elements but instance has {count} elements"
                ));
            }
            if let Some(item) = schema.get("items") {
                for value in items {
                    validate_at(item, value, problems);
                }
            }
        }
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && length < min
            {
                problems.push(format!(
                    "string {instance} is too short (length: {length}, required minimum: {min})"
                ));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && length > max
            {
                problems.push(format!(
                    "string {instance} is too long (length: {length}, maximum allowed: {max})"
                ));
            }
        }
        Value::Number(number) => {
            let found = number.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum")
                && found < min.as_f64().unwrap_or(f64::NEG_INFINITY)
            {
                problems.push(format!(
                    "numeric instance is lower than the required minimum (minimum: {min}, found: {number})"
                ));
            }
            if let Some(max) = schema.get("maximum")
                && found > max.as_f64().unwrap_or(f64::INFINITY)
            {
                problems.push(format!(
                    "numeric instance is greater than the required maximum (maximum: {max}, found: {number})"
                ));
            }
        }
        _ => {}
    }
}

/// Draft 4's types: an integer is a number without a fraction (`1.0` is one).
fn has_type(instance: &Value, name: &str) -> bool {
    match (name, instance) {
        ("object", Value::Object(_))
        | ("array", Value::Array(_))
        | ("string", Value::String(_))
        | ("number", Value::Number(_))
        | ("boolean", Value::Bool(_))
        | ("null", Value::Null) => true,
        ("integer", Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn type_of(instance: &Value) -> &'static str {
    match instance {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    }
}

/// Equal as JSON values: numbers by value, so `1` equals `1.0`.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn quoted_list(names: &[&str]) -> String {
    Value::from(names.to_vec()).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order() -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "title": "Order",
            "type": "object",
            "required": ["status", "total"],
            "properties": {"status": {"type": "string"}, "total": {"type": "number"}},
        })
    }

    #[test]
    fn a_conforming_body_passes_and_extra_members_are_allowed() {
        assert_eq!(check(&order()), Ok(()));
        let body = json!({"status": "NEW", "total": 12.5, "note": "extra"});
        assert_eq!(validate(&order(), &body), Vec::<String>::new());
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        assert_eq!(
            validate(&order(), &json!({"total": "12"})),
            [
                r#"object has missing required properties (["status"])"#,
                r#"instance type (string) does not match any allowed primitive type (allowed: ["number"])"#,
            ]
        );
        assert_eq!(
            validate(&order(), &json!([1])),
            [
                r#"instance type (array) does not match any allowed primitive type (allowed: ["object"])"#
            ]
        );
    }

    #[test]
    fn ranges_lengths_enums_and_closed_objects() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "qty": {"type": "integer", "minimum": 1, "maximum": 9},
                "code": {"type": "string", "minLength": 2, "maxLength": 3},
                "tier": {"enum": ["gold", "silver"]},
                "lines": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            },
        });
        assert_eq!(check(&schema), Ok(()));
        assert_eq!(
            validate(
                &schema,
                &json!({"qty": 2.0, "code": "ab", "tier": "gold", "lines": ["a"]})
            ),
            Vec::<String>::new()
        );
        let problems = validate(
            &schema,
            &json!({"qty": 0, "code": "abcd", "tier": "bronze", "lines": [], "x": 1}),
        );
        assert_eq!(problems.len(), 5, "{problems:?}");
        for expected in [
            "lower than the required minimum (minimum: 1, found: 0)",
            "too long (length: 4, maximum allowed: 3)",
            r#"not found in enum (possible values: ["gold","silver"])"#,
            "at least 1 elements but instance has 0",
            r#"not allowed by the schema: ["x"]"#,
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:?}"
            );
        }
    }

    #[test]
    fn keywords_the_engine_does_not_evaluate_are_refused() {
        let error =
            check(&json!({"type": "object", "properties": {"a": {"pattern": "^x"}}})).unwrap_err();
        assert!(error.starts_with("#/properties/a: "), "{error}");
        assert!(error.contains("`pattern`"), "{error}");
        assert!(check(&json!({"type": "text"})).is_err());
        assert!(check(&json!({"required": []})).is_err());
        assert!(check(&json!([])).is_err());
    }
}
