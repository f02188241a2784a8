//! EventBridge rule-target `InputTransformer`: `InputPathsMap` (name → JSON path, at most
//! 100) and an `InputTemplate` (at most 8192 characters) using `<name>` and the reserved
//! `<aws.events.*>` variables. Names may not start with `aws.`, which is reserved.

use std::collections::BTreeMap;

use serde_json::Value;

use super::json_path::JsonPath;
use super::placeholder::{self, BareString, Compiled, Slot, TemplateError};

pub const MAX_INPUT_PATHS: usize = 100;
pub const MAX_TRANSFORMER_TEMPLATE_CHARS: usize = 8192;
/// The longest InputPathsMap name.
pub const MAX_PATH_NAME_CHARS: usize = 256;

/// The reserved variables a rule's input template may use.
pub const RULE_VARIABLES: [&str; 5] = [
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

/// What the reserved variables resolve to for one delivery.
#[derive(Debug, Clone, Default)]
pub struct RuleContext {
    pub rule_arn: String,
    pub rule_name: String,
    /// ISO 8601.
    pub ingestion_time: String,
}

/// A validated InputTransformer.
#[derive(Debug, Clone)]
pub struct InputTransformer {
    template: Compiled,
}

impl InputTransformer {
    pub fn new(paths: &BTreeMap<String, String>, template: &str) -> Result<Self, TemplateError> {
        if paths.len() > MAX_INPUT_PATHS {
            return Err(TemplateError::TooManyPaths {
                count: paths.len(),
                max: MAX_INPUT_PATHS,
            });
        }
        let chars = template.chars().count();
        if chars == 0 {
            return Err(TemplateError::Empty);
        }
        if chars > MAX_TRANSFORMER_TEMPLATE_CHARS {
            return Err(TemplateError::TooLong {
                chars,
                max: MAX_TRANSFORMER_TEMPLATE_CHARS,
            });
        }
        let mut parsed = BTreeMap::new();
        for (name, path) in paths {
            parsed.insert(name.as_str(), input_path(name, path)?);
        }
        let is_placeholder = |name: &str| parsed.contains_key(name) || name.starts_with("aws.");
        let pieces = placeholder::split(template, is_placeholder);
        let template = Compiled::build(
            pieces,
            BareString::QuotedInJson,
            |name, quoted| match parsed.get(name) {
                Some(path) => Ok(Slot::Path(path.clone())),
                None => reserved(name, quoted),
            },
        )?;
        Ok(InputTransformer { template })
    }

    /// The text delivered to the target for one event.
    pub fn render(&self, event: &Value, ctx: &RuleContext) -> Result<String, TemplateError> {
        Ok(self
            .template
            .render(event, |name| variable(name, event, ctx)))
    }
}

/// One InputPathsMap entry, checked on its own: its name, and its path in dot notation.
pub fn input_path(name: &str, path: &str) -> Result<JsonPath, TemplateError> {
    check_name(name)?;
    let json_path = JsonPath::parse(path)?;
    if json_path.has_bracket_keys() {
        return Err(TemplateError::BadPath {
            path: path.to_string(),
            reason: "InputPathsMap paths use dot notation (`$.detail.key`), not bracket notation (`$['detail']`)".into(),
        });
    }
    Ok(json_path)
}

fn check_name(name: &str) -> Result<(), TemplateError> {
    let bad = |reason: &str| TemplateError::BadPathName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.to_ascii_lowercase().starts_with("aws.") {
        return Err(bad(
            "names starting with `aws.` are reserved for EventBridge variables",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || name.len() > MAX_PATH_NAME_CHARS || !name.chars().all(allowed) {
        return Err(bad("use 1 to 256 letters, digits, `_` or `-`"));
    }
    Ok(())
}

fn reserved(name: &str, quoted: bool) -> Result<Slot, TemplateError> {
    let Some(variable) = RULE_VARIABLES.iter().find(|v| **v == name) else {
        return Err(TemplateError::UnknownPlaceholder {
            name: name.to_string(),
            reason: format!(
                "is neither an InputPathsMap name nor a reserved variable ({})",
                RULE_VARIABLES.join(", ")
            ),
        });
    };
    if quoted && matches!(*variable, "aws.events.event" | "aws.events.event.json") {
        return Err(TemplateError::QuotedJsonOnly {
            name: name.to_string(),
        });
    }
    Ok(Slot::Variable(variable))
}

fn variable(name: &str, event: &Value, ctx: &RuleContext) -> Value {
    let text = |s: &str| Value::String(s.to_string());
    match name {
        "aws.events.rule-arn" => text(&ctx.rule_arn),
        "aws.events.rule-name" => text(&ctx.rule_name),
        "aws.events.event.ingestion-time" => text(&ctx.ingestion_time),
        // The original event without its `detail`.
        "aws.events.event" => {
            let mut envelope = event.clone();
            if let Value::Object(map) = &mut envelope {
                map.shift_remove("detail");
            }
            envelope
        }
        _ => event.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"version": "0", "id": "e-1", "detail-type": "OrderCreated", "source": "shop",
               "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
               "resources": [], "detail": {"orderId": "o-1", "total": 12.5, "lines": [1, 2]}})
    }

    fn paths(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ctx() -> RuleContext {
        RuleContext {
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/b/r".into(),
            rule_name: "r".into(),
            ingestion_time: "2026-01-01T00:00:01Z".into(),
        }
    }

    #[test]
    fn renders_names_and_reserved_variables() {
        let t = InputTransformer::new(
            &paths(&[("order", "$.detail.orderId"), ("total", "$.detail.total"), ("lines", "$.detail.lines")]),
            r#"{"order": "<order>", "total": <total>, "lines": <lines>, "rule": "<aws.events.rule-name>", "envelope": <aws.events.event>, "full": <aws.events.event.json>}"#,
        )
        .unwrap();
        let out: Value = serde_json::from_str(&t.render(&event(), &ctx()).unwrap()).unwrap();
        assert_eq!(out["order"], "o-1");
        assert_eq!(out["total"], 12.5);
        assert_eq!(out["lines"], json!([1, 2]));
        assert_eq!(out["rule"], "r");
        assert!(out["envelope"].get("detail").is_none());
        assert_eq!(out["envelope"]["id"], "e-1");
        assert_eq!(out["full"], event());
    }

    /// The InputTransformer API reference: "The InputTemplate can also be valid JSON with
    /// variables in quotes or out", `{"myInstance": <instance>, ...}`; its user guide shows
    /// `{"instance" : <instance>}` giving `{"instance" : "i-0123456789"}`.
    #[test]
    fn bare_strings_are_json_strings_in_json_templates() {
        let t = InputTransformer::new(
            &paths(&[("order", "$.detail.orderId"), ("total", "$.detail.total")]),
            r#"{"order": <order>, "total": <total>, "rule": <aws.events.rule-arn>, "says": "<order> is \"<order>\""}"#,
        )
        .unwrap();
        let out: Value = serde_json::from_str(&t.render(&event(), &ctx()).unwrap()).unwrap();
        assert_eq!(out["order"], "o-1");
        assert_eq!(out["total"], 12.5);
        assert_eq!(
            out["rule"],
            "arn:aws:events:us-east-1:123456789012:rule/b/r"
        );
        assert_eq!(out["says"], "o-1 is \"o-1\"");
        let text = InputTransformer::new(&paths(&[("order", "$.detail.orderId")]), "order <order>")
            .unwrap();
        assert_eq!(text.render(&event(), &ctx()).unwrap(), "order o-1");
    }

    #[test]
    fn plain_text_templates() {
        let t = InputTransformer::new(
            &paths(&[("order", "$.detail.orderId")]),
            "\"order <order> created\"",
        )
        .unwrap();
        assert_eq!(t.render(&event(), &ctx()).unwrap(), "\"order o-1 created\"");
    }

    #[test]
    fn invalid_transformers_are_rejected_clearly() {
        let reserved = InputTransformer::new(&paths(&[("aws.x", "$.id")]), "<aws.x>").unwrap_err();
        assert!(matches!(reserved, TemplateError::BadPathName { .. }));
        let undefined =
            InputTransformer::new(&paths(&[]), r#"{"a": <aws.events.nope>}"#).unwrap_err();
        assert!(matches!(
            undefined,
            TemplateError::UnknownPlaceholder { .. }
        ));
        let spaced = InputTransformer::new(&paths(&[("a b", "$.id")]), "<a b>").unwrap_err();
        assert!(matches!(spaced, TemplateError::BadPathName { .. }));
        let brackets = InputTransformer::new(&paths(&[("a", "$['detail']")]), "<a>").unwrap_err();
        assert!(brackets.to_string().contains("dot notation"), "{brackets}");
        assert_eq!(
            InputTransformer::new(&paths(&[]), "").unwrap_err(),
            TemplateError::Empty
        );
        let bad_path = InputTransformer::new(&paths(&[("a", "detail.x")]), "<a>").unwrap_err();
        assert!(matches!(bad_path, TemplateError::BadPath { .. }));
        let not_json =
            InputTransformer::new(&paths(&[("a", "$.id")]), r#"{"a": <a> "b"}"#).unwrap_err();
        assert!(matches!(not_json, TemplateError::NotJson { .. }));
        let quoted =
            InputTransformer::new(&paths(&[]), r#"{"e": "<aws.events.event>"}"#).unwrap_err();
        assert!(matches!(quoted, TemplateError::QuotedJsonOnly { .. }));
        let many: BTreeMap<String, String> = (0..=MAX_INPUT_PATHS)
            .map(|i| (format!("p{i}"), "$.id".to_string()))
            .collect();
        assert!(matches!(
            InputTransformer::new(&many, "x").unwrap_err(),
            TemplateError::TooManyPaths {
                count: 101,
                max: 100
            }
        ));
    }
}
