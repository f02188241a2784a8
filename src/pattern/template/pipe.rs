//! EventBridge Pipes `InputTemplate`: `<$.json.path>` placeholders into the record, plus the
//! reserved `<aws.pipes.*>` variables. At most 8192 characters.

use serde_json::Value;

use super::json_path::JsonPath;
use super::placeholder::{self, BareString, Compiled, Slot, TemplateError};

/// The longest Pipes input template.
pub const MAX_PIPE_TEMPLATE_CHARS: usize = 8192;

/// The reserved variables a pipe's template may use.
pub const PIPE_VARIABLES: [&str; 8] = [
    "aws.pipes.pipe-arn",
    "aws.pipes.pipe-name",
    "aws.pipes.source-arn",
    "aws.pipes.enrichment-arn",
    "aws.pipes.target-arn",
    "aws.pipes.event.ingestion-time",
    "aws.pipes.event",
    "aws.pipes.event.json",
];

/// What the reserved variables resolve to for one record.
#[derive(Debug, Clone, Default)]
pub struct PipeContext {
    pub pipe_arn: String,
    pub pipe_name: String,
    pub source_arn: String,
    pub enrichment_arn: String,
    pub target_arn: String,
    /// ISO 8601.
    pub ingestion_time: String,
}

/// A validated Pipes input template.
#[derive(Debug, Clone)]
pub struct PipeInputTemplate {
    template: Compiled,
}

fn looks_like_placeholder(name: &str) -> bool {
    name.starts_with('$') || name.starts_with("aws.")
}

impl PipeInputTemplate {
    pub fn parse(template: &str) -> Result<PipeInputTemplate, TemplateError> {
        let chars = template.chars().count();
        if chars > MAX_PIPE_TEMPLATE_CHARS {
            return Err(TemplateError::TooLong {
                chars,
                max: MAX_PIPE_TEMPLATE_CHARS,
            });
        }
        let pieces = placeholder::split(template, looks_like_placeholder);
        let template = Compiled::build(pieces, BareString::Raw, slot_for)?;
        Ok(PipeInputTemplate { template })
    }

    /// The placeholders written outside quotes: their values go in as they are, so one that
    /// resolves to a string leaves its text bare in the output.
    pub fn unquoted_placeholders(&self) -> impl Iterator<Item = &str> {
        self.template.unquoted()
    }

    /// The text sent to the target for one record.
    pub fn render(&self, event: &Value, ctx: &PipeContext) -> Result<String, TemplateError> {
        Ok(self
            .template
            .render(event, |name| variable(name, event, ctx)))
    }
}

fn slot_for(name: &str, quoted: bool) -> Result<Slot, TemplateError> {
    if name.starts_with('$') {
        return Ok(Slot::Path(JsonPath::parse(name)?));
    }
    let Some(variable) = PIPE_VARIABLES.iter().find(|v| **v == name) else {
        return Err(TemplateError::UnknownPlaceholder {
            name: name.to_string(),
            reason: format!(
                "is not a Pipes reserved variable (those are {})",
                PIPE_VARIABLES.join(", ")
            ),
        });
    };
    if quoted && *variable == "aws.pipes.event.json" {
        return Err(TemplateError::QuotedJsonOnly {
            name: name.to_string(),
        });
    }
    Ok(Slot::Variable(variable))
}

fn variable(name: &str, event: &Value, ctx: &PipeContext) -> Value {
    let text = |s: &str| Value::String(s.to_string());
    match name {
        "aws.pipes.pipe-arn" => text(&ctx.pipe_arn),
        "aws.pipes.pipe-name" => text(&ctx.pipe_name),
        "aws.pipes.source-arn" => text(&ctx.source_arn),
        "aws.pipes.enrichment-arn" => text(&ctx.enrichment_arn),
        "aws.pipes.target-arn" => text(&ctx.target_arn),
        "aws.pipes.event.ingestion-time" => text(&ctx.ingestion_time),
        // The record itself; as JSON both ways for a JSON source such as a DynamoDB stream.
        _ => event.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({"eventName": "INSERT", "dynamodb": {"NewImage": {
            "orderId": {"S": "o-1"}, "total": {"N": "12.5"}, "note": {"S": "say \"hi\""}}}})
    }

    fn ctx() -> PipeContext {
        PipeContext {
            pipe_arn: "arn:aws:pipes:us-east-1:123456789012:pipe/orders".into(),
            pipe_name: "orders".into(),
            source_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x".into(),
            target_arn: "arn:aws:events:us-east-1:123456789012:event-bus/b".into(),
            ingestion_time: "2026-01-01T00:00:00Z".into(),
            ..PipeContext::default()
        }
    }

    #[test]
    fn renders_paths_and_reserved_variables_with_quoting() {
        let template = PipeInputTemplate::parse(
            r#"{"orderId": "<$.dynamodb.NewImage.orderId.S>", "image": <$.dynamodb.NewImage>, "note": "<$.dynamodb.NewImage.note.S>", "pipe": "<aws.pipes.pipe-name>", "record": <aws.pipes.event.json>}"#,
        )
        .unwrap();
        let out: Value =
            serde_json::from_str(&template.render(&record(), &ctx()).unwrap()).unwrap();
        assert_eq!(out["orderId"], "o-1");
        assert_eq!(out["image"]["total"], json!({"N": "12.5"}));
        assert_eq!(out["note"], "say \"hi\"");
        assert_eq!(out["pipe"], "orders");
        assert_eq!(out["record"], record());
    }

    #[test]
    fn free_text_and_whole_value_templates() {
        let text =
            PipeInputTemplate::parse("Order <$.dynamodb.NewImage.orderId.S> was created").unwrap();
        assert_eq!(
            text.render(&record(), &ctx()).unwrap(),
            "Order o-1 was created"
        );
        let whole = PipeInputTemplate::parse("<$.dynamodb.NewImage>").unwrap();
        let out: Value = serde_json::from_str(&whole.render(&record(), &ctx()).unwrap()).unwrap();
        assert_eq!(out["orderId"]["S"], "o-1");
    }

    #[test]
    fn invalid_templates_are_rejected_clearly() {
        let unknown = PipeInputTemplate::parse(r#"{"a": <aws.pipes.nope>}"#).unwrap_err();
        assert!(matches!(unknown, TemplateError::UnknownPlaceholder { .. }));
        assert!(unknown.to_string().contains("aws.pipes.pipe-arn"));
        assert!(matches!(
            PipeInputTemplate::parse(r#"{"a": <$.x[>}"#).unwrap_err(),
            TemplateError::BadPath { .. }
        ));
        assert!(matches!(
            PipeInputTemplate::parse(r#"{"a": <$.x>,}"#).unwrap_err(),
            TemplateError::NotJson { .. }
        ));
        assert!(matches!(
            PipeInputTemplate::parse(r#"{"a": "<aws.pipes.event.json>"}"#).unwrap_err(),
            TemplateError::QuotedJsonOnly { .. }
        ));
        let long = "x".repeat(MAX_PIPE_TEMPLATE_CHARS + 1);
        assert!(matches!(
            PipeInputTemplate::parse(&long).unwrap_err(),
            TemplateError::TooLong { .. }
        ));
    }

    #[test]
    fn missing_paths_are_null_bare_and_empty_quoted() {
        let template = PipeInputTemplate::parse(r#"{"a": <$.nope>, "b": "<$.nope>"}"#).unwrap();
        assert_eq!(
            template.render(&record(), &ctx()).unwrap(),
            r#"{"a": null, "b": ""}"#
        );
    }
}
