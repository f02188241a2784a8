//! The intrinsic functions and pseudo parameters: how a template's `Ref`, `Fn::GetAtt`,
//! `Fn::Sub`, … become concrete values. Evaluation is either full (every referenced
//! resource exists: deploy time) or partial (a reference to a resource that does not exist
//! yet stays in template form: change-set time, where AWS shows such values as dynamic).

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::CfnError;
use super::template::Template;

/// What `Ref: AWS::NoValue` evaluates to: a marker that removes the enclosing property.
pub const NO_VALUE: &str = "\u{0}AWS::NoValue";

pub const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::NotificationARNs",
];

/// The values of the pseudo parameters for one stack.
#[derive(Debug, Clone)]
pub struct Pseudo {
    pub account: String,
    pub region: String,
    pub stack_name: String,
    pub stack_id: String,
}

impl Pseudo {
    fn value(&self, name: &str) -> Option<Value> {
        let text = match name {
            "AWS::AccountId" => self.account.as_str(),
            "AWS::Region" => self.region.as_str(),
            "AWS::Partition" => "aws",
            "AWS::StackName" => self.stack_name.as_str(),
            "AWS::StackId" => self.stack_id.as_str(),
            "AWS::URLSuffix" => "amazonaws.com",
            "AWS::NoValue" => NO_VALUE,
            "AWS::NotificationARNs" => return Some(Value::Array(Vec::new())),
            _ => return None,
        };
        Some(Value::String(text.to_owned()))
    }
}

/// The live values of a stack's resources. `None` means "not known yet" (the resource
/// will be created or replaced), which partial evaluation keeps in template form.
pub trait ResourceValues {
    fn reference(&self, logical_id: &str) -> Option<Value>;
    fn attribute(&self, logical_id: &str, attribute: &str) -> Result<Option<Value>, CfnError>;
}

/// For sections where resources may not be referenced (Conditions).
pub struct NoResources;

impl ResourceValues for NoResources {
    fn reference(&self, logical_id: &str) -> Option<Value> {
        let _ = logical_id;
        None
    }
    fn attribute(&self, _: &str, _: &str) -> Result<Option<Value>, CfnError> {
        Ok(None)
    }
}

/// Why evaluation stopped: a real error, or a value that depends on a resource not yet known.
enum Halt {
    Pending,
    Error(CfnError),
}

impl From<CfnError> for Halt {
    fn from(err: CfnError) -> Halt {
        Halt::Error(err)
    }
}

type Eval<T> = Result<T, Halt>;

/// Everything a template expression can refer to.
pub struct Evaluator<'a> {
    pub template: &'a Template,
    pub pseudo: &'a Pseudo,
    pub parameters: &'a Map<String, Value>,
    pub conditions: &'a HashMap<String, bool>,
    pub resources: &'a dyn ResourceValues,
}

impl Evaluator<'_> {
    /// Evaluate fully: every referenced resource must have its value.
    pub fn resolve(&self, value: &Value) -> Result<Value, CfnError> {
        match self.eval(value, false) {
            Ok(v) => Ok(v),
            Err(Halt::Error(err)) => Err(err),
            Err(Halt::Pending) => Err(CfnError::Internal(
                "a value depends on a resource that has not been created; this is an engine bug"
                    .into(),
            )),
        }
    }

    /// Evaluate what can be evaluated; parts that depend on resources without values yet
    /// stay in template form.
    pub fn resolve_partial(&self, value: &Value) -> Result<Value, CfnError> {
        match self.eval(value, true) {
            Ok(v) => Ok(v),
            Err(Halt::Error(err)) => Err(err),
            Err(Halt::Pending) => Ok(value.clone()),
        }
    }

    fn eval(&self, value: &Value, keep_pending: bool) -> Eval<Value> {
        match value {
            Value::Object(map) => {
                if map.len() == 1
                    && let Some((name, args)) = map.iter().next()
                    && (name == "Ref" || name == "Condition" || name.starts_with("Fn::"))
                {
                    return self.function(name, args);
                }
                let mut out = Map::new();
                for (key, child) in map {
                    match self.eval(child, keep_pending) {
                        Ok(Value::String(s)) if s == NO_VALUE => {}
                        Ok(v) => {
                            out.insert(key.clone(), v);
                        }
                        Err(Halt::Pending) if keep_pending => {
                            out.insert(key.clone(), child.clone());
                        }
                        Err(halt) => return Err(halt),
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for child in items {
                    match self.eval(child, keep_pending) {
                        Ok(Value::String(s)) if s == NO_VALUE => {}
                        Ok(v) => out.push(v),
                        Err(Halt::Pending) if keep_pending => out.push(child.clone()),
                        Err(halt) => return Err(halt),
                    }
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn strict(&self, value: &Value) -> Eval<Value> {
        self.eval(value, false)
    }

    fn function(&self, name: &str, args: &Value) -> Eval<Value> {
        match name {
            "Ref" => self.reference(args),
            "Condition" => {
                let name = args.as_str().ok_or_else(|| {
                    CfnError::template("Template error: Condition must be a string")
                })?;
                Ok(Value::Bool(self.condition(name)?))
            }
            "Fn::GetAtt" => self.get_att(args),
            "Fn::Sub" => self.sub(args),
            "Fn::Join" => self.join(args),
            "Fn::Select" => self.select(args),
            "Fn::Split" => self.split(args),
            "Fn::If" => self.fn_if(args),
            "Fn::Equals" => {
                let [a, b] = fixed_args::<2>(name, args)?;
                let (a, b) = (self.strict(a)?, self.strict(b)?);
                Ok(Value::Bool(text_of(&a) == text_of(&b)))
            }
            "Fn::Not" => {
                let [c] = fixed_args::<1>(name, args)?;
                Ok(Value::Bool(!self.boolean(name, c)?))
            }
            "Fn::And" | "Fn::Or" => {
                let items = args.as_array().filter(|a| (2..=10).contains(&a.len())).ok_or_else(
                    || CfnError::template(format!("Template error: every {name} object requires a list of at least 2 and at most 10 conditions")),
                )?;
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.boolean(name, item)?);
                }
                Ok(Value::Bool(if name == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                }))
            }
            "Fn::FindInMap" => {
                let [map, top, second] = fixed_args::<3>(name, args)?;
                let (map, top, second) = (
                    self.string(name, map)?,
                    self.string(name, top)?,
                    self.string(name, second)?,
                );
                let found = self
                    .template
                    .mappings
                    .get(&map)
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second))
                    .cloned()
                    .ok_or_else(|| {
                        CfnError::template(format!(
                            "Template error: Unable to get mapping for {map}::{top}::{second}"
                        ))
                    })?;
                Ok(found)
            }
            "Fn::Base64" => {
                let text = self.string(name, args)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                ))
            }
            "Fn::GetAZs" => {
                let region = self.string(name, args)?;
                let region = if region.is_empty() {
                    self.pseudo.region.clone()
                } else {
                    region
                };
                Ok(Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|zone| Value::String(format!("{region}{zone}")))
                        .collect(),
                ))
            }
            other => Err(Halt::Error(CfnError::template(format!(
                "Template error: the local engine does not support the intrinsic function {other}"
            )))),
        }
    }

    fn reference(&self, args: &Value) -> Eval<Value> {
        let target = args.as_str().ok_or_else(|| {
            CfnError::template("Template error: every Ref object must have a single String value.")
        })?;
        if let Some(value) = self.pseudo.value(target) {
            return Ok(value);
        }
        if let Some(value) = self.parameters.get(target) {
            return Ok(value.clone());
        }
        if self.template.resource(target).is_some() {
            return self.resources.reference(target).ok_or(Halt::Pending);
        }
        Err(unresolved(target).into())
    }

    fn get_att(&self, args: &Value) -> Eval<Value> {
        let (resource, attribute) = match args {
            Value::String(text) => text
                .split_once('.')
                .map(|(r, a)| (r.to_owned(), a.to_owned())),
            Value::Array(items) if items.len() == 2 => {
                let attribute = self.strict(&items[1])?;
                items[0]
                    .as_str()
                    .zip(attribute.as_str())
                    .map(|(r, a)| (r.to_owned(), a.to_owned()))
            }
            _ => None,
        }
        .ok_or_else(|| {
            CfnError::template(
                "Template error: every Fn::GetAtt object requires two non-empty parameters",
            )
        })?;
        if self.template.resource(&resource).is_none() {
            return Err(CfnError::template(format!(
                "Template error: instance of Fn::GetAtt references undefined resource {resource}"
            ))
            .into());
        }
        self.resources
            .attribute(&resource, &attribute)?
            .ok_or(Halt::Pending)
    }

    fn sub(&self, args: &Value) -> Eval<Value> {
        let (text, vars) = match args {
            Value::String(text) => (text.as_str(), Map::new()),
            Value::Array(items) if items.len() == 2 => {
                let text = items[0].as_str().ok_or_else(sub_error)?;
                let Value::Object(raw) = &items[1] else {
                    return Err(sub_error().into());
                };
                let mut vars = Map::new();
                for (name, value) in raw {
                    vars.insert(name.clone(), self.strict(value)?);
                }
                (text, vars)
            }
            _ => return Err(sub_error().into()),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                let value = match vars.get(name) {
                    Some(value) => value.clone(),
                    None => match name.split_once('.') {
                        Some((resource, attribute))
                            if self.template.resource(resource).is_some() =>
                        {
                            self.get_att(&Value::Array(vec![
                                Value::String(resource.to_owned()),
                                Value::String(attribute.to_owned()),
                            ]))?
                        }
                        _ => self.reference(&Value::String(name.to_owned()))?,
                    },
                };
                out.push_str(&text_of(&value).ok_or_else(|| {
                    CfnError::template(format!(
                        "Template error: variable {name} in Fn::Sub expression does not resolve to a string"
                    ))
                })?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    fn join(&self, args: &Value) -> Eval<Value> {
        let [delimiter, list] = fixed_args::<2>("Fn::Join", args)?;
        let delimiter = self.string("Fn::Join", delimiter)?;
        let list = self.strict(list)?;
        let items = list.as_array().ok_or_else(|| {
            CfnError::template("Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.")
        })?;
        let parts = items
            .iter()
            .map(|item| {
                text_of(item).ok_or_else(|| {
                    CfnError::template(
                        "Template error: every Fn::Join object requires a list of strings",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::String(parts.join(&delimiter)))
    }

    fn select(&self, args: &Value) -> Eval<Value> {
        let [index, list] = fixed_args::<2>("Fn::Select", args)?;
        let index = self.strict(index)?;
        let index = text_of(&index)
            .and_then(|t| t.parse::<usize>().ok())
            .ok_or_else(|| {
                CfnError::template("Template error: Fn::Select requires a non-negative index")
            })?;
        let list = self.strict(list)?;
        let items = list.as_array().ok_or_else(|| {
            CfnError::template("Template error: Fn::Select requires a list as its second argument")
        })?;
        items.get(index).cloned().ok_or_else(|| {
            CfnError::template(format!(
                "Template error: Fn::Select cannot select nonexistent value at index {index}"
            ))
            .into()
        })
    }

    fn split(&self, args: &Value) -> Eval<Value> {
        let [delimiter, source] = fixed_args::<2>("Fn::Split", args)?;
        let delimiter = self.string("Fn::Split", delimiter)?;
        let source = self.string("Fn::Split", source)?;
        if delimiter.is_empty() {
            return Err(CfnError::template("Template error: Fn::Split delimiter is empty").into());
        }
        Ok(Value::Array(
            source
                .split(delimiter.as_str())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ))
    }

    fn fn_if(&self, args: &Value) -> Eval<Value> {
        let [condition, yes, no] = fixed_args::<3>("Fn::If", args)?;
        let condition = condition.as_str().ok_or_else(|| {
            CfnError::template("Template error: Fn::If requires a condition name first")
        })?;
        if self.condition(condition)? {
            self.strict(yes)
        } else {
            self.strict(no)
        }
    }

    fn condition(&self, name: &str) -> Result<bool, CfnError> {
        self.conditions.get(name).copied().ok_or_else(|| {
            CfnError::template(format!(
                "Template error: unresolved condition dependency {name} in Fn::If"
            ))
        })
    }

    fn boolean(&self, function: &str, value: &Value) -> Eval<bool> {
        match self.strict(value)? {
            Value::Bool(b) => Ok(b),
            Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
            _ => Err(CfnError::template(format!(
                "Template error: every {function} member must be a condition"
            ))
            .into()),
        }
    }

    fn string(&self, function: &str, value: &Value) -> Eval<String> {
        let value = self.strict(value)?;
        text_of(&value).ok_or_else(|| {
            CfnError::template(format!(
                "Template error: {function} expects a string here, found {value}"
            ))
            .into()
        })
    }
}

fn fixed_args<'v, const N: usize>(
    function: &str,
    args: &'v Value,
) -> Result<[&'v Value; N], CfnError> {
    args.as_array()
        .filter(|items| items.len() == N)
        .and_then(|items| items.iter().collect::<Vec<_>>().try_into().ok())
        .ok_or_else(|| {
            CfnError::template(format!(
                "Template error: every {function} object requires a list of {N} parameters"
            ))
        })
}

fn sub_error() -> CfnError {
    CfnError::template(
        "Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string",
    )
}

/// A scalar as the text CloudFormation would substitute.
pub fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn unresolved(names: impl std::fmt::Display) -> CfnError {
    CfnError::template(format!(
        "Unresolved resource dependencies [{names}] in the Resources block of the template"
    ))
}

/// Evaluate every condition of the template (conditions may refer to each other).
pub fn evaluate_conditions(
    template: &Template,
    pseudo: &Pseudo,
    parameters: &Map<String, Value>,
) -> Result<HashMap<String, bool>, CfnError> {
    let mut done = HashMap::new();
    for name in template.conditions.keys() {
        evaluate_condition(
            name,
            template,
            pseudo,
            parameters,
            &mut done,
            &mut HashSet::new(),
        )?;
    }
    Ok(done)
}

fn evaluate_condition(
    name: &str,
    template: &Template,
    pseudo: &Pseudo,
    parameters: &Map<String, Value>,
    done: &mut HashMap<String, bool>,
    visiting: &mut HashSet<String>,
) -> Result<bool, CfnError> {
    if let Some(value) = done.get(name) {
        return Ok(*value);
    }
    let expression = template.conditions.get(name).ok_or_else(|| {
        CfnError::template(format!(
            "Template error: unresolved condition dependency {name}"
        ))
    })?;
    if !visiting.insert(name.to_owned()) {
        return Err(CfnError::template(format!(
            "Circular dependency between conditions: [{name}]"
        )));
    }
    let mut referenced = Vec::new();
    collect_condition_refs(expression, &mut referenced);
    for dependency in referenced {
        evaluate_condition(&dependency, template, pseudo, parameters, done, visiting)?;
    }
    let evaluator = Evaluator {
        template,
        pseudo,
        parameters,
        conditions: done,
        resources: &NoResources,
    };
    let value = match evaluator.eval(expression, false) {
        Ok(Value::Bool(b)) => b,
        Ok(_) => {
            return Err(CfnError::template(format!(
                "Template error: condition {name} must be a condition function (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)"
            )));
        }
        Err(Halt::Error(err)) => return Err(err),
        Err(Halt::Pending) => {
            return Err(CfnError::template(format!(
                "Template error: condition {name} cannot refer to resources"
            )));
        }
    };
    visiting.remove(name);
    done.insert(name.to_owned(), value);
    Ok(value)
}

fn collect_condition_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("Condition")
                && map.len() == 1
            {
                out.push(name.clone());
            }
            map.values().for_each(|v| collect_condition_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_condition_refs(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Known;
    impl ResourceValues for Known {
        fn reference(&self, id: &str) -> Option<Value> {
            (id == "Table").then(|| json!("orders"))
        }
        fn attribute(&self, id: &str, attribute: &str) -> Result<Option<Value>, CfnError> {
            Ok((id == "Table").then(|| json!(format!("arn:{attribute}"))))
        }
    }

    fn template() -> Template {
        Template::parse(
            r#"{"Parameters": {"Env": {"Type": "String", "Default": "dev"}},
                "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                               "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]}},
                "Mappings": {"M": {"dev": {"Size": "1"}}},
                "Resources": {"Table": {"Type": "AWS::DynamoDB::Table"},
                              "Later": {"Type": "AWS::SQS::Queue"}}}"#,
        )
        .unwrap()
    }

    fn check(expression: Value, expected: Value) {
        let template = template();
        let pseudo = Pseudo {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            stack_name: "s".into(),
            stack_id: "arn:stack".into(),
        };
        let parameters: Map<String, Value> =
            [("Env".to_owned(), json!("dev"))].into_iter().collect();
        let conditions = evaluate_conditions(&template, &pseudo, &parameters).unwrap();
        let evaluator = Evaluator {
            template: &template,
            pseudo: &pseudo,
            parameters: &parameters,
            conditions: &conditions,
            resources: &Known,
        };
        assert_eq!(evaluator.resolve_partial(&expression).unwrap(), expected);
    }

    #[test]
    fn functions_evaluate_as_aws_documents() {
        check(
            json!({"Fn::Sub": "${AWS::StackName}-${Env}-${Table}-${Table.Arn}-${!Literal}"}),
            json!("s-dev-orders-arn:Arn-${Literal}"),
        );
        check(
            json!({"Fn::Sub": ["${A}/${AWS::Region}", {"A": {"Ref": "Table"}}]}),
            json!("orders/us-east-1"),
        );
        check(
            json!({"Fn::Join": ["-", ["a", {"Ref": "AWS::AccountId"}]]}),
            json!("a-000000000000"),
        );
        check(
            json!({"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]}),
            json!("b"),
        );
        check(json!({"Fn::If": ["NotProd", "yes", "no"]}), json!("yes"));
        check(
            json!({"A": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}),
            json!({"B": 1}),
        );
        check(
            json!({"Fn::FindInMap": ["M", {"Ref": "Env"}, "Size"]}),
            json!("1"),
        );
        check(
            json!({"Fn::And": [{"Condition": "NotProd"}, {"Fn::Or": [true, false]}]}),
            json!(true),
        );
        check(json!({"Fn::Base64": "hi"}), json!("aGk="));
        check(
            json!({"Fn::GetAZs": ""}),
            json!(["us-east-1a", "us-east-1b", "us-east-1c"]),
        );
    }

    #[test]
    fn values_of_resources_not_created_yet_stay_in_template_form() {
        check(
            json!({"Url": {"Ref": "Later"}, "Arn": {"Fn::GetAtt": ["Table", "Arn"]}}),
            json!({"Url": {"Ref": "Later"}, "Arn": "arn:Arn"}),
        );
    }

    #[test]
    fn unknown_references_are_template_errors() {
        let template = template();
        let pseudo = Pseudo {
            account: "1".into(),
            region: "r".into(),
            stack_name: "s".into(),
            stack_id: "i".into(),
        };
        let evaluator = Evaluator {
            template: &template,
            pseudo: &pseudo,
            parameters: &Map::new(),
            conditions: &HashMap::new(),
            resources: &Known,
        };
        let err = evaluator.resolve(&json!({"Ref": "Nope"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        );
    }
}
