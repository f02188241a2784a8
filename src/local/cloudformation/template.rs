//! Templates as CloudFormation reads them: JSON or YAML (with the short-form intrinsic
//! tags such as `!Ref` and `!GetAtt a.b`), normalised into the long JSON form, then split
//! into the sections the engine acts on. Nothing here evaluates anything.

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::CfnError;

/// AWS's limit on a TemplateBody passed inline.
pub const MAX_TEMPLATE_BODY: usize = 51_200;
/// AWS's limit on a template read from S3 through a TemplateURL (1 MB).
pub const MAX_TEMPLATE_URL_BODY: usize = 1_048_576;
/// Top-level sections CloudFormation accepts.
const SECTIONS: [&str; 9] = [
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];
const PARAMETER_TYPES: [&str; 3] = ["String", "Number", "CommaDelimitedList"];

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterDecl {
    pub name: String,
    pub kind: String,
    pub default: Option<String>,
    pub allowed_values: Vec<String>,
    pub description: Option<String>,
    pub no_echo: bool,
}

/// One declared resource, with its properties still in template form.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDecl {
    pub logical_id: String,
    pub type_name: String,
    pub properties: Value,
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    pub deletion_policy: Option<String>,
    pub update_replace_policy: Option<String>,
}

impl ResourceDecl {
    pub fn retained_on_delete(&self) -> bool {
        matches!(
            self.deletion_policy.as_deref(),
            Some("Retain" | "RetainExceptOnCreate")
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputDecl {
    pub name: String,
    pub value: Value,
    pub description: Option<String>,
    pub condition: Option<String>,
    pub export_name: Option<Value>,
}

/// A parsed template in long form.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub description: Option<String>,
    pub parameters: Vec<ParameterDecl>,
    pub mappings: Map<String, Value>,
    pub conditions: Map<String, Value>,
    pub resources: Vec<ResourceDecl>,
    pub outputs: Vec<OutputDecl>,
}

impl Template {
    /// Parse a template body: JSON when it starts with `{`, YAML otherwise.
    pub fn parse(body: &str) -> Result<Template, CfnError> {
        let document = if body.trim_start().starts_with('{') {
            serde_json::from_str(body)
                .map_err(|e| CfnError::template(format!("JSON not well-formed. ({e})")))?
        } else {
            parse_yaml(body)?
        };
        Template::from_value(&document)
    }

    pub fn from_value(document: &Value) -> Result<Template, CfnError> {
        let Value::Object(top) = document else {
            return Err(CfnError::template(
                "template format error: template must be a mapping",
            ));
        };
        if top.contains_key("Transform") {
            return Err(CfnError::template(
                "Transforms are not supported by the local engine",
            ));
        }
        if let Some(unknown) = top.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            return Err(CfnError::template(format!(
                "Invalid template property or properties [{unknown}]"
            )));
        }
        if let Some(version) = top.get("AWSTemplateFormatVersion")
            && version.as_str() != Some("2010-09-09")
        {
            return Err(CfnError::template(format!(
                "{version} is not a supported value for AWSTemplateFormatVersion."
            )));
        }
        let section = |name: &str| -> Result<Map<String, Value>, CfnError> {
            match top.get(name) {
                None => Ok(Map::new()),
                Some(Value::Object(map)) => Ok(map.clone()),
                Some(_) => Err(CfnError::template(format!(
                    "Every {name} object must be an object"
                ))),
            }
        };
        let resources_section = section("Resources")?;
        if resources_section.is_empty() {
            return Err(CfnError::template(
                "At least one Resources member must be defined.",
            ));
        }
        let parameters = section("Parameters")?
            .iter()
            .map(|(name, decl)| parse_parameter(name, decl))
            .collect::<Result<_, _>>()?;
        let resources = resources_section
            .iter()
            .map(|(id, decl)| parse_resource(id, decl))
            .collect::<Result<_, _>>()?;
        let outputs = section("Outputs")?
            .iter()
            .map(|(name, decl)| parse_output(name, decl))
            .collect::<Result<_, _>>()?;
        Ok(Template {
            description: top
                .get("Description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters,
            mappings: section("Mappings")?,
            conditions: section("Conditions")?,
            resources,
            outputs,
        })
    }

    pub fn resource(&self, logical_id: &str) -> Option<&ResourceDecl> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }

    pub fn parameter(&self, name: &str) -> Option<&ParameterDecl> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_parameter(name: &str, decl: &Value) -> Result<ParameterDecl, CfnError> {
    let Value::Object(decl) = decl else {
        return Err(CfnError::template(format!(
            "Every Parameters object must contain a Type member. Parameter `{name}` is not an object."
        )));
    };
    let kind = decl.get("Type").and_then(Value::as_str).ok_or_else(|| {
        CfnError::template(format!(
            "Every Parameters object must contain a Type member. `{name}` has none."
        ))
    })?;
    if !PARAMETER_TYPES.contains(&kind) && !kind.starts_with("AWS::") && !kind.starts_with("List<")
    {
        return Err(CfnError::template(format!(
            "Unrecognized parameter type: {kind}"
        )));
    }
    let allowed_values = match decl.get("AllowedValues") {
        None => Vec::new(),
        Some(Value::Array(values)) => values.iter().filter_map(scalar_text).collect(),
        Some(_) => {
            return Err(CfnError::template(format!(
                "Every AllowedValues member must be a list; `{name}` has another value"
            )));
        }
    };
    Ok(ParameterDecl {
        name: name.to_owned(),
        kind: kind.to_owned(),
        default: decl.get("Default").and_then(scalar_text),
        allowed_values,
        description: decl
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        no_echo: decl
            .get("NoEcho")
            .is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true")),
    })
}

fn parse_resource(logical_id: &str, decl: &Value) -> Result<ResourceDecl, CfnError> {
    if logical_id.is_empty() || !logical_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(CfnError::template(format!(
            "Resource name {logical_id} is non alphanumeric."
        )));
    }
    let Value::Object(decl) = decl else {
        return Err(CfnError::template(format!(
            "[/Resources/{logical_id}] Every Resources object must contain a Type member."
        )));
    };
    let type_name = decl.get("Type").and_then(Value::as_str).ok_or_else(|| {
        CfnError::template(format!(
            "[/Resources/{logical_id}] Every Resources object must contain a Type member."
        ))
    })?;
    let properties = match decl.get("Properties") {
        None => Value::Object(Map::new()),
        Some(Value::Object(p)) => Value::Object(p.clone()),
        Some(_) => {
            return Err(CfnError::template(format!(
                "[/Resources/{logical_id}/Properties] Properties must be an object"
            )));
        }
    };
    let depends_on = match decl.get("DependsOn") {
        None => Vec::new(),
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    CfnError::template(format!(
                        "[/Resources/{logical_id}/DependsOn] DependsOn must be a string or a list of strings"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(CfnError::template(format!(
                "[/Resources/{logical_id}/DependsOn] DependsOn must be a string or a list of strings"
            )));
        }
    };
    let policy = |key: &str| -> Result<Option<String>, CfnError> {
        match decl.get(key) {
            None => Ok(None),
            Some(Value::String(p))
                if matches!(
                    p.as_str(),
                    "Delete" | "Retain" | "RetainExceptOnCreate" | "Snapshot"
                ) =>
            {
                Ok(Some(p.clone()))
            }
            Some(other) => Err(CfnError::template(format!(
                "Unrecognized {key} {other} for resource {logical_id}"
            ))),
        }
    };
    Ok(ResourceDecl {
        logical_id: logical_id.to_owned(),
        type_name: type_name.to_owned(),
        properties,
        depends_on,
        condition: decl
            .get("Condition")
            .and_then(Value::as_str)
            .map(str::to_owned),
        deletion_policy: policy("DeletionPolicy")?,
        update_replace_policy: policy("UpdateReplacePolicy")?,
    })
}

fn parse_output(name: &str, decl: &Value) -> Result<OutputDecl, CfnError> {
    let value = decl.get("Value").cloned().ok_or_else(|| {
        CfnError::template(format!(
            "Every Outputs member must contain a Value object; `{name}` has none"
        ))
    })?;
    Ok(OutputDecl {
        name: name.to_owned(),
        value,
        description: decl
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        condition: decl
            .get("Condition")
            .and_then(Value::as_str)
            .map(str::to_owned),
        export_name: decl.get("Export").and_then(|e| e.get("Name")).cloned(),
    })
}

/// Parse a YAML template into long-form JSON: `!Ref x` → `{"Ref": "x"}`,
/// `!GetAtt a.b` → `{"Fn::GetAtt": ["a", "b"]}`, `!Condition c` → `{"Condition": "c"}`,
/// every other `!Name v` → `{"Fn::Name": v}`.
pub fn parse_yaml(source: &str) -> Result<Value, CfnError> {
    let mut builder = YamlBuilder::default();
    Parser::new_from_str(source)
        .load(&mut builder, false)
        .map_err(|err| {
            CfnError::template(format!(
                "YAML not well-formed. (line {}, column {}): {}",
                err.marker().line(),
                err.marker().col() + 1,
                err.info()
            ))
        })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root.unwrap_or(Value::Object(Map::new())))
}

enum Open {
    Sequence(Option<String>, Vec<Value>),
    Mapping(Option<String>, Map<String, Value>, Option<String>),
}

#[derive(Default)]
struct YamlBuilder {
    stack: Vec<Open>,
    root: Option<Value>,
    error: Option<CfnError>,
}

/// The short-form function a `!Tag` names, if it is one.
fn short_form(tag: &Option<yaml_rust2::parser::Tag>) -> Option<String> {
    let tag = tag.as_ref()?;
    (tag.handle == "!").then(|| tag.suffix.clone())
}

fn apply_tag(tag: Option<String>, value: Value) -> Result<Value, CfnError> {
    let Some(tag) = tag else {
        return Ok(value);
    };
    let long = match tag.as_str() {
        "Ref" => ("Ref".to_owned(), value),
        "Condition" => ("Condition".to_owned(), value),
        "GetAtt" => {
            let value = match value {
                Value::String(text) => match text.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![
                        Value::String(resource.to_owned()),
                        Value::String(attribute.to_owned()),
                    ]),
                    None => {
                        return Err(CfnError::template(format!(
                            "Template error: every Fn::GetAtt object requires two non-empty parameters; `!GetAtt {text}` has no `.attribute`"
                        )));
                    }
                },
                other => other,
            };
            ("Fn::GetAtt".to_owned(), value)
        }
        "Sub" | "Join" | "Select" | "Split" | "If" | "Equals" | "Not" | "And" | "Or"
        | "FindInMap" | "Base64" | "GetAZs" | "ImportValue" | "Cidr" | "Length"
        | "ToJsonString" => (format!("Fn::{tag}"), value),
        other => {
            return Err(CfnError::template(format!(
                "unknown YAML tag `!{other}`; CloudFormation's short forms are !Ref, !GetAtt, !Sub, !Join, !Select, !Split, !If, !Equals, !Not, !And, !Or, !Condition, !FindInMap, !Base64, !GetAZs"
            )));
        }
    };
    let mut map = Map::new();
    map.insert(long.0, long.1);
    Ok(Value::Object(map))
}

fn plain_scalar(text: &str) -> Value {
    match text {
        "~" | "null" | "Null" | "NULL" | "" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    let numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(f) if numeric => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_owned())),
        _ => Value::String(text.to_owned()),
    }
}

impl YamlBuilder {
    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Open::Sequence(_, items)) => items.push(value),
            Some(Open::Mapping(_, entries, pending)) => match pending.take() {
                None => {
                    let key = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    *pending = Some(key);
                }
                Some(key) => {
                    entries.insert(key, value);
                }
            },
        }
    }

    fn fail(&mut self, error: CfnError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
}

impl MarkedEventReceiver for YamlBuilder {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        match event {
            Event::Scalar(text, style, _, tag) => {
                let value = if tag.is_some() || style != TScalarStyle::Plain {
                    Value::String(text)
                } else {
                    plain_scalar(&text)
                };
                match apply_tag(short_form(&tag), value) {
                    Ok(value) => self.push(value),
                    Err(err) => {
                        self.fail(err);
                        self.push(Value::Null);
                    }
                }
            }
            Event::SequenceStart(_, tag) => self
                .stack
                .push(Open::Sequence(short_form(&tag), Vec::new())),
            Event::MappingStart(_, tag) => {
                self.stack
                    .push(Open::Mapping(short_form(&tag), Map::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (tag, value) = match self.stack.pop() {
                    Some(Open::Sequence(tag, items)) => (tag, Value::Array(items)),
                    Some(Open::Mapping(tag, entries, _)) => (tag, Value::Object(entries)),
                    None => return,
                };
                match apply_tag(tag, value) {
                    Ok(value) => self.push(value),
                    Err(err) => {
                        self.fail(err);
                        self.push(Value::Null);
                    }
                }
            }
            Event::Alias(_) => {
                self.fail(CfnError::template("YAML aliases are not supported"));
                self.push(Value::Null);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let yaml = r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-orders"
      Arn: !GetAtt Other.Arn
      List: !GetAtt [Other, StreamArn]
      Joined: !Join [",", [!Ref A, !Select [0, !Split [",", "a,b"]]]]
      Cond: !If [IsProd, !Ref "AWS::NoValue", 'x']
      Nested: !Not [!Equals [!Ref Env, prod]]
      Number: 5
      Quoted: "5"
"#;
        let value = parse_yaml(yaml).unwrap();
        let props = &value["Resources"]["Table"]["Properties"];
        assert_eq!(
            props["TableName"],
            json!({"Fn::Sub": "${AWS::StackName}-orders"})
        );
        assert_eq!(props["Arn"], json!({"Fn::GetAtt": ["Other", "Arn"]}));
        assert_eq!(props["List"], json!({"Fn::GetAtt": ["Other", "StreamArn"]}));
        assert_eq!(
            props["Joined"],
            json!({"Fn::Join": [",", [{"Ref": "A"}, {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}]]})
        );
        assert_eq!(
            props["Cond"],
            json!({"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]})
        );
        assert_eq!(
            props["Nested"],
            json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "Env"}, "prod"]}]})
        );
        assert_eq!(props["Number"], json!(5));
        assert_eq!(props["Quoted"], json!("5"));
    }

    #[test]
    fn sections_are_checked() {
        let err = Template::parse(r#"{"Resources": {}}"#).unwrap_err();
        assert!(err.to_string().contains("At least one Resources member"));
        let err = Template::parse(r#"{"Resource": {"A": {"Type": "X"}}}"#).unwrap_err();
        assert!(
            err.to_string().contains("Invalid template property"),
            "{err}"
        );
        let err = Template::parse("Resources:\n  A:\n    Properties: {}\n").unwrap_err();
        assert!(err.to_string().contains("Type member"), "{err}");
    }

    #[test]
    fn parameters_conditions_outputs_are_read() {
        let template = Template::parse(
            "Parameters:\n  Env:\n    Type: String\n    Default: dev\n    AllowedValues: [dev, prod]\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\nResources:\n  G:\n    Type: AWS::Logs::LogGroup\n    DeletionPolicy: Retain\nOutputs:\n  Name:\n    Value: !Ref G\n",
        )
        .unwrap();
        assert_eq!(template.parameters[0].default.as_deref(), Some("dev"));
        assert_eq!(template.parameters[0].allowed_values, vec!["dev", "prod"]);
        assert!(template.conditions.contains_key("IsProd"));
        assert!(template.resources[0].retained_on_delete());
        assert_eq!(template.outputs[0].value, json!({"Ref": "G"}));
    }
}
