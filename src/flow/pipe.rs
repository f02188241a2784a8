//! What an EventBridge Pipe does to one stream record on its way to an event bus:
//! filters (records matching none are dropped), the input template (without one the whole
//! record is the detail), and detail-type and source, each literal or a `$.` path into
//! the record (paths read the record, never the template's output).

use serde_json::Value;

use crate::blueprint::Blueprint;
use crate::pattern::filter::{self, FilterError};
use crate::pattern::template::{JsonPath, PipeContext, PipeInputTemplate, TemplateError};
use crate::pattern::{EventPattern, filter::passes};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("pipe filter: {0}")]
    Filter(#[from] FilterError),
    #[error("pipe input template: {0}")]
    Template(#[from] TemplateError),
    #[error("the {what} path `{path}` finds no text in the record")]
    MissingPath { what: &'static str, path: String },
    #[error("the pipe's output is not a JSON object, so it cannot be an event's detail: {0}")]
    DetailNotObject(String),
}

/// A literal value, or a whole-value JSON path into the record.
#[derive(Debug, Clone)]
enum Field {
    Literal(String),
    Path(JsonPath),
}

impl Field {
    fn new(text: &str) -> Result<Field, FlowError> {
        if text.starts_with("$.") {
            Ok(Field::Path(JsonPath::parse(text)?))
        } else {
            Ok(Field::Literal(text.to_string()))
        }
    }

    fn resolve(&self, record: &Value, what: &'static str) -> Result<String, FlowError> {
        match self {
            Field::Literal(text) => Ok(text.clone()),
            Field::Path(path) => match path.resolve(record) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(Value::Bool(b)) => Ok(b.to_string()),
                _ => Err(FlowError::MissingPath {
                    what,
                    path: path.as_str().to_string(),
                }),
            },
        }
    }
}

/// What the bus receives for one record (one PutEvents entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEntry {
    pub source: String,
    pub detail_type: String,
    /// JSON text of an object.
    pub detail: String,
}

/// One pipe's processing, compiled once.
#[derive(Debug, Clone)]
pub struct PipeProgram {
    filters: Vec<EventPattern>,
    template: Option<PipeInputTemplate>,
    detail_type: Field,
    source: Field,
    context: PipeContext,
}

impl PipeProgram {
    pub fn new(
        filters: &[String],
        input_template: Option<&str>,
        detail_type: &str,
        source: &str,
        context: PipeContext,
    ) -> Result<PipeProgram, FlowError> {
        Ok(PipeProgram {
            filters: filter::parse_pipe_filters(filters)?,
            template: input_template
                .filter(|t| !t.is_empty())
                .map(PipeInputTemplate::parse)
                .transpose()?,
            detail_type: Field::new(detail_type)?,
            source: Field::new(source)?,
            context,
        })
    }

    /// The pipe a blueprint deploys (ARNs left empty: they only fill reserved variables).
    pub fn for_blueprint(bp: &Blueprint) -> Result<PipeProgram, FlowError> {
        let filters: Vec<String> = bp
            .pipe
            .filters
            .iter()
            .map(|f| f.value.to_string())
            .collect();
        let template = bp.pipe.input_template.as_ref().map(|t| t.value.as_str());
        let context = PipeContext {
            pipe_name: bp.pipe_name(),
            ..PipeContext::default()
        };
        PipeProgram::new(
            &filters,
            template,
            &bp.pipe.detail_type.value,
            &bp.pipe.source.value,
            context,
        )
    }

    /// Whether the record passes the filters (no filters: every record passes).
    pub fn passes(&self, record: &Value) -> bool {
        self.filters.is_empty() || passes(&self.filters, record)
    }

    /// The bus entry for a record that passed the filters.
    pub fn entry(&self, record: &Value, ingestion_time: &str) -> Result<BusEntry, FlowError> {
        let detail = match &self.template {
            None => record.to_string(),
            Some(template) => {
                let context = PipeContext {
                    ingestion_time: ingestion_time.to_string(),
                    ..self.context.clone()
                };
                template.render(record, &context)?
            }
        };
        match serde_json::from_str::<Value>(&detail) {
            Ok(Value::Object(_)) => {}
            _ => return Err(FlowError::DetailNotObject(detail)),
        }
        Ok(BusEntry {
            source: self.source.resolve(record, "source")?,
            detail_type: self.detail_type.resolve(record, "detail-type")?,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({"eventName": "INSERT", "eventSource": "aws:dynamodb",
               "dynamodb": {"Keys": {"pk": {"S": "ORDER#1"}}, "NewImage": {"pk": {"S": "ORDER#1"}, "status": {"S": "PLACED"}, "total": {"N": "12.5"}}}})
    }

    #[test]
    fn without_a_template_the_record_is_the_detail() {
        let program =
            PipeProgram::new(&[], None, "$.eventName", "shop", PipeContext::default()).unwrap();
        let entry = program.entry(&record(), "t").unwrap();
        assert_eq!(entry.detail_type, "INSERT");
        assert_eq!(entry.source, "shop");
        assert_eq!(
            serde_json::from_str::<Value>(&entry.detail).unwrap(),
            record()
        );
    }

    #[test]
    fn filters_drop_and_templates_reshape() {
        let filters =
            vec![r#"{"dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}}"#.to_string()];
        let template =
            r#"{"id": "<$.dynamodb.Keys.pk.S>", "total": <$.dynamodb.NewImage.total.N>}"#;
        let program = PipeProgram::new(
            &filters,
            Some(template),
            "OrderChanged",
            "shop",
            PipeContext::default(),
        )
        .unwrap();
        assert!(!program.passes(&record()));
        let entry = program.entry(&record(), "t").unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&entry.detail).unwrap(),
            json!({"id": "ORDER#1", "total": 12.5})
        );
    }

    #[test]
    fn a_missing_path_is_an_error_not_an_empty_field() {
        let program = PipeProgram::new(
            &[],
            None,
            "$.dynamodb.NewImage.kind.S",
            "shop",
            PipeContext::default(),
        )
        .unwrap();
        assert!(matches!(
            program.entry(&record(), "t"),
            Err(FlowError::MissingPath {
                what: "detail-type",
                ..
            })
        ));
    }
}
