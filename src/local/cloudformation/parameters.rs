//! Parameter values for a stack operation: given values, `UsePreviousValue`, defaults,
//! and the checks CloudFormation applies (unknown names, missing values, AllowedValues,
//! Number), with its messages.

use serde_json::{Map, Value};

use super::error::CfnError;
use super::template::Template;

/// One `Parameters.member.N` of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterInput {
    pub key: String,
    pub value: Option<String>,
    pub use_previous: bool,
}

/// The value of every declared parameter: a string, or a list of strings for list types.
pub fn resolve(
    template: &Template,
    given: &[ParameterInput],
    previous: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, CfnError> {
    let unknown: Vec<&str> = given
        .iter()
        .filter(|p| template.parameter(&p.key).is_none())
        .map(|p| p.key.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(CfnError::validation(format!(
            "Parameters: [{}] do not exist in the template",
            unknown.join(", ")
        )));
    }
    let mut values = Map::new();
    let mut missing = Vec::new();
    for decl in &template.parameters {
        let input = given.iter().find(|p| p.key == decl.name);
        let text = match input {
            Some(p) if p.use_previous => match previous.and_then(|prev| prev.get(&decl.name)) {
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Some(Value::String(s)) => Some(s.clone()),
                _ => {
                    return Err(CfnError::validation(format!(
                        "Invalid input for parameter key {}. Cannot specify usePreviousValue as true for a parameter key not in the previous template",
                        decl.name
                    )));
                }
            },
            Some(p) => p.value.clone(),
            None => decl.default.clone(),
        };
        let Some(text) = text else {
            missing.push(decl.name.clone());
            continue;
        };
        let is_list = decl.kind == "CommaDelimitedList" || decl.kind.starts_with("List<");
        if !decl.allowed_values.is_empty() && !decl.allowed_values.contains(&text) {
            return Err(CfnError::validation(format!(
                "Parameter '{}' must be one of AllowedValues",
                decl.name
            )));
        }
        if decl.kind == "Number" && text.trim().parse::<f64>().is_err() {
            return Err(CfnError::validation(format!(
                "Parameter '{}' must be a number.",
                decl.name
            )));
        }
        let value = if is_list {
            Value::Array(
                text.split(',')
                    .map(|s| Value::String(s.trim().to_owned()))
                    .collect(),
            )
        } else {
            Value::String(text)
        };
        values.insert(decl.name.clone(), value);
    }
    if !missing.is_empty() {
        return Err(CfnError::validation(format!(
            "Parameters: [{}] must have values",
            missing.join(", ")
        )));
    }
    Ok(values)
}

/// A parameter value as DescribeStacks shows it.
pub fn display(value: &Value) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Template {
        Template::parse(
            r#"{"Parameters": {"Env": {"Type": "String", "AllowedValues": ["dev", "prod"]},
                               "Size": {"Type": "Number", "Default": "3"},
                               "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"}},
                "Resources": {"G": {"Type": "AWS::Logs::LogGroup"}}}"#,
        )
        .unwrap()
    }

    fn input(key: &str, value: &str) -> ParameterInput {
        ParameterInput {
            key: key.into(),
            value: Some(value.into()),
            use_previous: false,
        }
    }

    #[test]
    fn values_defaults_and_lists() {
        let values = resolve(&template(), &[input("Env", "prod")], None).unwrap();
        assert_eq!(values["Env"], json!("prod"));
        assert_eq!(values["Size"], json!("3"));
        assert_eq!(values["Zones"], json!(["a", "b"]));
    }

    #[test]
    fn errors_are_worded_as_aws_words_them() {
        let t = template();
        let message = |given: &[ParameterInput]| resolve(&t, given, None).unwrap_err().to_string();
        assert_eq!(message(&[]), "Parameters: [Env] must have values");
        assert_eq!(
            message(&[input("Env", "qa")]),
            "Parameter 'Env' must be one of AllowedValues"
        );
        assert_eq!(
            message(&[input("Env", "dev"), input("Size", "x")]),
            "Parameter 'Size' must be a number."
        );
        assert_eq!(
            message(&[input("Nope", "1")]),
            "Parameters: [Nope] do not exist in the template"
        );
    }
}
