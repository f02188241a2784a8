//! Turns pattern JSON into branches of field tests, with EventBridge's validation rules and
//! reasons. A `$or` multiplies the pattern into branches (one per alternative, crossed with
//! the fields around it), so a branch is a plain AND of fields and the pattern is the OR of
//! its branches. Later fields with the same path replace earlier ones, as in EventBridge.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::cidr::IpRange;
use super::error::PatternError;
use super::number::{self, NumberError};
use super::operator::{AnythingBut, Bound, NumericRange, Operator};
use super::wildcard::Wildcard;

/// One field of a branch: the event leaves at `path` must pass one of `operators`, or, when
/// `absent_ok` (`{"exists": false}`), there may be no leaf at `path` at all.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub(crate) path: String,
    pub(crate) operators: Vec<Operator>,
    pub(crate) absent_ok: bool,
}

/// Fields that must all hold, sorted by path.
pub(crate) type Branch = Vec<Field>;

type Rules = Vec<BTreeMap<String, Field>>;

const OR: &str = "$or";

/// Names that cannot be field names inside `$or` (they read as operators there).
const RESERVED_IN_OR: &[&str] = &[
    "equals",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
];

fn fail<T>(reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError::new(reason))
}

/// Parse a whole pattern. Like EventBridge, `{}` is refused ("Empty objects are not
/// allowed"); a rule or archive without a pattern is [`super::EventPattern::match_all`].
pub(crate) fn parse_pattern(value: &Value) -> Result<Vec<Branch>, PatternError> {
    let Value::Object(object) = value else {
        return fail("Filter is not an object");
    };
    let mut rules: Rules = Vec::new();
    parse_object(&mut rules, "", object, false)?;
    Ok(rules
        .into_iter()
        .map(|rule| rule.into_values().collect())
        .collect())
}

fn extend(path: &str, step: &str) -> String {
    if path.is_empty() {
        step.to_string()
    } else {
        format!("{path}.{step}")
    }
}

fn parse_object(
    rules: &mut Rules,
    path: &str,
    object: &Map<String, Value>,
    inside_or: bool,
) -> Result<(), PatternError> {
    if object.is_empty() {
        return fail("Empty objects are not allowed");
    }
    for (step, value) in object {
        if step == OR {
            parse_or(rules, path, value)?;
            continue;
        }
        if inside_or && RESERVED_IN_OR.contains(&step.as_str()) {
            return fail(format!(
                "{step} is Ruler reserved fieldName which cannot be used inside {OR}."
            ));
        }
        match value {
            Value::Object(inner) => parse_object(rules, &extend(path, step), inner, inside_or)?,
            Value::Array(values) => {
                let field = parse_field(extend(path, step), values)?;
                if rules.is_empty() {
                    rules.push(BTreeMap::new());
                }
                for rule in rules.iter_mut() {
                    rule.insert(field.path.clone(), field.clone());
                }
            }
            _ => return fail(format!("\"{step}\" must be an object or an array")),
        }
    }
    Ok(())
}

fn parse_or(rules: &mut Rules, path: &str, value: &Value) -> Result<(), PatternError> {
    let before = std::mem::take(rules);
    let Value::Array(alternatives) = value else {
        return fail(format!("It must be an Array followed with {OR}."));
    };
    for alternative in alternatives {
        let Value::Object(object) = alternative else {
            return fail(format!(
                "Only JSON object is allowed in array of {OR} relationship."
            ));
        };
        let mut branch_rules = before.clone();
        if branch_rules.is_empty() {
            branch_rules.push(BTreeMap::new());
        }
        parse_object(&mut branch_rules, path, object, true)?;
        rules.extend(branch_rules);
    }
    if alternatives.len() < 2 {
        return fail(format!(
            "There must have at least 2 Objects in {OR} relationship."
        ));
    }
    Ok(())
}

fn parse_field(path: String, values: &[Value]) -> Result<Field, PatternError> {
    let mut field = Field {
        path,
        operators: Vec::new(),
        absent_ok: false,
    };
    for value in values {
        match value {
            Value::Object(expression) => match parse_expression(expression)? {
                Some(operator) => field.operators.push(operator),
                None => field.absent_ok = true,
            },
            Value::String(text) => field.operators.push(match IpRange::single(text) {
                Some(range) => Operator::ExactIp(range),
                None => Operator::ExactString(text.clone()),
            }),
            Value::Number(n) => {
                let text = n.to_string();
                field.operators.push(Operator::ExactNumber {
                    micros: number::micros(&text).ok(),
                    text,
                });
            }
            Value::Bool(b) => field.operators.push(Operator::ExactBool(*b)),
            Value::Null => field.operators.push(Operator::ExactNull),
            Value::Array(_) => {
                return fail("Match value must be String, number, true, false, or null");
            }
        }
    }
    if values.is_empty() {
        return fail("Empty arrays are not allowed");
    }
    Ok(field)
}

/// The text EventBridge's JSON reader shows for a token (used in a few reasons).
fn token_text(value: Option<&Value>) -> String {
    match value {
        None => "]".into(),
        Some(Value::Object(_)) => "{".into(),
        Some(Value::Array(_)) => "[".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn one_key(expression: &Map<String, Value>) -> Result<(), PatternError> {
    if expression.len() > 1 {
        return fail("Only one key allowed in match expression");
    }
    Ok(())
}

fn too_many(expression: &Map<String, Value>) -> Result<(), PatternError> {
    if expression.len() > 1 {
        return fail("Too many elements in numeric expression");
    }
    Ok(())
}

fn string_operand<'v>(value: &'v Value, reason: &str) -> Result<&'v str, PatternError> {
    match value {
        Value::String(s) => Ok(s),
        _ => fail(reason),
    }
}

/// One `{operator: operand}` object. `Ok(None)` is `{"exists": false}`.
fn parse_expression(expression: &Map<String, Value>) -> Result<Option<Operator>, PatternError> {
    let Some((name, operand)) = expression.iter().next() else {
        return fail("Match expression name not found");
    };
    let operator = match name.as_str() {
        "prefix" | "suffix" => {
            let is_prefix = name == "prefix";
            if let Value::Object(inner) = operand {
                let folded = affix_ignore_case(inner, is_prefix)?.to_lowercase();
                one_key(expression)?;
                if is_prefix {
                    Operator::PrefixIgnoreCase(folded)
                } else {
                    Operator::SuffixIgnoreCase(folded)
                }
            } else {
                let text =
                    string_operand(operand, &format!("{name} match pattern must be a string"))?;
                one_key(expression)?;
                if is_prefix {
                    Operator::Prefix(text.to_string())
                } else {
                    Operator::Suffix(text.to_string())
                }
            }
        }
        "numeric" => {
            let Value::Array(terms) = operand else {
                return fail("Value of numeric must be an array.");
            };
            let range = parse_numeric(terms)?;
            too_many(expression)?;
            Operator::Numeric(range)
        }
        "anything-but" => {
            let anything_but = parse_anything_but(operand)?;
            too_many(expression)?;
            Operator::AnythingBut(anything_but)
        }
        "exists" => {
            let exists = match operand {
                Value::Bool(b) => *b,
                _ => return fail("exists match pattern must be either true or false."),
            };
            one_key(expression)?;
            return Ok(exists.then_some(Operator::Exists));
        }
        "cidr" => {
            // AWS's reason here really does say "prefix".
            let text = string_operand(operand, "prefix match pattern must be a string")?;
            let range = IpRange::parse_cidr(text).map_err(PatternError::new)?;
            one_key(expression)?;
            Operator::Cidr(range)
        }
        "equals-ignore-case" => {
            let text =
                string_operand(operand, "equals-ignore-case match pattern must be a string")?;
            one_key(expression)?;
            Operator::EqualsIgnoreCase(text.to_lowercase())
        }
        "wildcard" => {
            let text = string_operand(operand, "wildcard match pattern must be a string")?;
            let wildcard = Wildcard::parse(text).map_err(PatternError::new)?;
            one_key(expression)?;
            Operator::Wildcard(wildcard)
        }
        other => return fail(format!("Unrecognized match type {other}")),
    };
    Ok(Some(operator))
}

/// The `{"equals-ignore-case": "x"}` inside `prefix` or `suffix`.
fn affix_ignore_case(inner: &Map<String, Value>, is_prefix: bool) -> Result<String, PatternError> {
    let kind = if is_prefix { "Prefix" } else { "Suffix" };
    let Some((name, operand)) = inner.iter().next() else {
        return fail(format!("{kind} expression name not found"));
    };
    if name != "equals-ignore-case" {
        return fail(format!(
            "Unsupported {} pattern: {name}",
            kind.to_lowercase()
        ));
    }
    let text = string_operand(operand, "equals-ignore-case match pattern must be a string")?;
    one_key(inner)?;
    Ok(text.to_string())
}

fn pattern_micros(text: &str) -> Result<i64, PatternError> {
    number::micros(text).map_err(|e: NumberError| PatternError::new(e.reason()))
}

fn numeric_operand(value: Option<&Value>, operator: &str) -> Result<i64, PatternError> {
    match value {
        Some(Value::Number(n)) => pattern_micros(&n.to_string()),
        _ => {
            let name = if operator == "=" { "equals" } else { operator };
            fail(format!("Value of {name} must be numeric"))
        }
    }
}

fn parse_numeric(terms: &[Value]) -> Result<NumericRange, PatternError> {
    let operator = match terms.first() {
        Some(Value::String(op)) => op.as_str(),
        other => {
            return fail(format!(
                "Invalid member in numeric match: {}",
                token_text(other)
            ));
        }
    };
    let exactly = |micros| Bound {
        micros,
        inclusive: true,
    };
    match operator {
        "=" | "<" | "<=" => {
            let micros = numeric_operand(terms.get(1), operator)?;
            if terms.len() > 2 {
                return fail("Too many elements in numeric expression");
            }
            Ok(match operator {
                "=" => NumericRange {
                    lower: Some(exactly(micros)),
                    upper: Some(exactly(micros)),
                },
                _ => NumericRange {
                    lower: None,
                    upper: Some(Bound {
                        micros,
                        inclusive: operator == "<=",
                    }),
                },
            })
        }
        ">" | ">=" => {
            let bottom = numeric_operand(terms.get(1), operator)?;
            let lower = Some(Bound {
                micros: bottom,
                inclusive: operator == ">=",
            });
            let Some(second) = terms.get(2) else {
                return Ok(NumericRange { lower, upper: None });
            };
            let Value::String(top_operator) = second else {
                return fail(format!(
                    "Bad value in numeric range: {}",
                    token_text(Some(second))
                ));
            };
            if top_operator != "<" && top_operator != "<=" {
                return fail(format!("Bad numeric range operator: {top_operator}"));
            }
            let top = match terms.get(3) {
                Some(Value::Number(n)) => pattern_micros(&n.to_string())?,
                _ => return fail(format!("Value of {top_operator} must be numeric")),
            };
            if terms.len() > 4 {
                return fail("Too many terms in numeric range expression");
            }
            if bottom >= top {
                return fail("Bottom must be less than top");
            }
            Ok(NumericRange {
                lower,
                upper: Some(Bound {
                    micros: top,
                    inclusive: top_operator == "<=",
                }),
            })
        }
        other => fail(format!("Unrecognized numeric range operator: {other}")),
    }
}

fn parse_anything_but(operand: &Value) -> Result<AnythingBut, PatternError> {
    let (form, value) = match operand {
        Value::Object(inner) => {
            let Some((name, value)) = inner.iter().next() else {
                return fail("Anything-But expression name not found");
            };
            if !matches!(
                name.as_str(),
                "equals-ignore-case" | "prefix" | "suffix" | "wildcard"
            ) {
                return fail(format!("Unsupported anything-but pattern: {name}"));
            }
            (Some((name.as_str(), inner)), value)
        }
        other => (None, other),
    };
    if !matches!(value, Value::Array(_) | Value::String(_) | Value::Number(_)) {
        return fail("Value of anything-but must be an array or single string/number value.");
    }
    let Some((name, inner)) = form else {
        return anything_but_values(value);
    };
    let values: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut texts = Vec::with_capacity(values.len());
    for item in values {
        let Value::String(text) = item else {
            return fail(match name {
                "equals-ignore-case" => {
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
                }
                "wildcard" => "wildcard match pattern must be a string",
                _ => "prefix/suffix match pattern must be a string",
            });
        };
        if text.is_empty() && (name == "prefix" || name == "suffix") {
            return fail("Null prefix/suffix not allowed");
        }
        texts.push(text.clone());
    }
    let anything_but = match name {
        "equals-ignore-case" => {
            AnythingBut::IgnoreCase(texts.iter().map(|t| t.to_lowercase()).collect())
        }
        "prefix" => AnythingBut::Prefixes(texts),
        "suffix" => AnythingBut::Suffixes(texts),
        _ => AnythingBut::Wildcards(
            texts
                .iter()
                .map(|t| Wildcard::parse(t).map_err(PatternError::new))
                .collect::<Result<_, _>>()?,
        ),
    };
    too_many(inner)?;
    Ok(anything_but)
}

/// `anything-but` with a plain value or list: all strings or all numbers.
fn anything_but_values(value: &Value) -> Result<AnythingBut, PatternError> {
    match value {
        Value::String(text) => Ok(AnythingBut::Strings(vec![text.clone()])),
        Value::Number(n) => Ok(AnythingBut::Numbers(vec![pattern_micros(&n.to_string())?])),
        Value::Array(items) => {
            let mut strings = Vec::new();
            let mut numbers = Vec::new();
            for item in items {
                match item {
                    Value::String(text) => strings.push(text.clone()),
                    Value::Number(n) => numbers.push(pattern_micros(&n.to_string())?),
                    _ => {
                        return fail(
                            "Inside anything but list, start|null|boolean is not supported.",
                        );
                    }
                }
            }
            match (strings.is_empty(), numbers.is_empty()) {
                (false, true) => Ok(AnythingBut::Strings(strings)),
                (true, false) => Ok(AnythingBut::Numbers(numbers)),
                _ => fail(
                    "Inside anything but list, either all values are number or string, mixed type is not supported",
                ),
            }
        }
        _ => fail("Value of anything-but must be an array or single string/number value."),
    }
}
