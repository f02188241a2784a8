//! Turns pattern text into branches of field tests, with EventBridge's validation rules,
//! reasons and error positions. A `$or` multiplies the pattern into branches (one per
//! alternative, crossed with the fields around it), so a branch is a plain AND of fields
//! and the pattern is the OR of its branches. Fields are read in text order; a later field
//! with the same path replaces an earlier one, and repeated objects merge, as in
//! EventBridge.

use std::collections::BTreeMap;

use super::cidr::IpRange;
use super::error::PatternError;
use super::number::{self, NumberError};
use super::operator::{AnythingBut, Bound, NumericRange, Operator};
use super::pattern_json::{Kind, Node};
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
type Members = [(String, Node)];

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

/// Parse a whole pattern (`source` is its text, `root` its parsed tree). Like
/// EventBridge, `{}` is refused; a rule without a pattern is `EventPattern::match_all`.
pub(crate) fn parse_pattern(source: &str, root: &Node) -> Result<Vec<Branch>, PatternError> {
    let parser = Parser { source };
    let Kind::Object(members) = &root.kind else {
        return parser.fail("Filter is not an object", root.token_end());
    };
    let mut rules: Rules = Vec::new();
    parser.object(&mut rules, "", members, root.end, false)?;
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

struct Parser<'s> {
    source: &'s str,
}

impl Parser<'_> {
    /// An error where EventBridge's reader stands at byte `offset`.
    fn fail<T>(&self, cause: impl Into<String>, offset: usize) -> Result<T, PatternError> {
        Err(PatternError::at(cause, self.source, offset))
    }

    /// The "one key only" check after an operator: the reader stands just inside the
    /// second key's value.
    fn one_key(&self, members: &Members, cause: &str) -> Result<(), PatternError> {
        match members.get(1) {
            Some((_, extra)) => self.fail(cause, extra.token_end()),
            None => Ok(()),
        }
    }

    fn object(
        &self,
        rules: &mut Rules,
        path: &str,
        members: &Members,
        end: usize,
        inside_or: bool,
    ) -> Result<(), PatternError> {
        if members.is_empty() {
            return self.fail("Empty objects are not allowed", end);
        }
        for (step, value) in members {
            if step == OR {
                self.or(rules, path, value)?;
                continue;
            }
            if inside_or && RESERVED_IN_OR.contains(&step.as_str()) {
                return self.fail(
                    format!("{step} is Ruler reserved fieldName which cannot be used inside {OR}."),
                    value.token_end(),
                );
            }
            match &value.kind {
                Kind::Object(inner) => {
                    self.object(rules, &extend(path, step), inner, value.end, inside_or)?
                }
                Kind::Array(values) => {
                    let field = self.field(extend(path, step), values, value.end)?;
                    if rules.is_empty() {
                        rules.push(BTreeMap::new());
                    }
                    for rule in rules.iter_mut() {
                        rule.insert(field.path.clone(), field.clone());
                    }
                }
                _ => {
                    return self.fail(
                        format!("\"{step}\" must be an object or an array"),
                        value.token_end(),
                    );
                }
            }
        }
        Ok(())
    }

    fn or(&self, rules: &mut Rules, path: &str, value: &Node) -> Result<(), PatternError> {
        let before = std::mem::take(rules);
        let Kind::Array(alternatives) = &value.kind else {
            return self.fail(
                format!("It must be an Array followed with {OR}."),
                value.token_end(),
            );
        };
        for alternative in alternatives {
            let Kind::Object(members) = &alternative.kind else {
                return self.fail(
                    format!("Only JSON object is allowed in array of {OR} relationship."),
                    alternative.token_end(),
                );
            };
            let mut branch_rules = before.clone();
            if branch_rules.is_empty() {
                branch_rules.push(BTreeMap::new());
            }
            self.object(&mut branch_rules, path, members, alternative.end, true)?;
            rules.extend(branch_rules);
        }
        if alternatives.len() < 2 {
            return self.fail(
                format!("There must have at least 2 Objects in {OR} relationship."),
                value.end,
            );
        }
        Ok(())
    }

    fn field(&self, path: String, values: &[Node], end: usize) -> Result<Field, PatternError> {
        let mut field = Field {
            path,
            operators: Vec::new(),
            absent_ok: false,
        };
        for value in values {
            match &value.kind {
                Kind::Object(expression) => match self.expression(expression, value.end)? {
                    Some(operator) => field.operators.push(operator),
                    None => field.absent_ok = true,
                },
                Kind::Str(text) => field.operators.push(match IpRange::single(text) {
                    Some(range) => Operator::ExactIp(range),
                    None => Operator::ExactString(text.clone()),
                }),
                Kind::Num(text) => field.operators.push(Operator::ExactNumber {
                    micros: number::micros(text).ok(),
                    text: canonical_number(text),
                }),
                Kind::Bool(b) => field.operators.push(Operator::ExactBool(*b)),
                Kind::Null => field.operators.push(Operator::ExactNull),
                Kind::Array(_) => {
                    return self.fail(
                        "Match value must be String, number, true, false, or null",
                        value.token_end(),
                    );
                }
            }
        }
        if values.is_empty() {
            return self.fail("Empty arrays are not allowed", end);
        }
        Ok(field)
    }

    fn string_operand<'v>(&self, value: &'v Node, cause: &str) -> Result<&'v str, PatternError> {
        match &value.kind {
            Kind::Str(s) => Ok(s),
            _ => self.fail(cause, value.token_end()),
        }
    }

    /// One `{operator: operand}` object ending at `end`. `Ok(None)` is `{"exists": false}`.
    fn expression(&self, members: &Members, end: usize) -> Result<Option<Operator>, PatternError> {
        const ONE_KEY: &str = "Only one key allowed in match expression";
        const TOO_MANY: &str = "Too many elements in numeric expression";
        let Some((name, operand)) = members.first() else {
            return self.fail("Match expression name not found", end);
        };
        let operator = match name.as_str() {
            "prefix" | "suffix" => {
                let is_prefix = name == "prefix";
                if let Kind::Object(inner) = &operand.kind {
                    let folded = self.affix_ignore_case(inner, operand.end, is_prefix)?;
                    self.one_key(members, ONE_KEY)?;
                    if is_prefix {
                        Operator::PrefixIgnoreCase(folded)
                    } else {
                        Operator::SuffixIgnoreCase(folded)
                    }
                } else {
                    let cause = format!("{name} match pattern must be a string");
                    let text = self.string_operand(operand, &cause)?.to_string();
                    self.one_key(members, ONE_KEY)?;
                    if is_prefix {
                        Operator::Prefix(text)
                    } else {
                        Operator::Suffix(text)
                    }
                }
            }
            "numeric" => {
                let Kind::Array(terms) = &operand.kind else {
                    return self.fail("Value of numeric must be an array.", operand.token_end());
                };
                let range = self.numeric(terms, operand.end)?;
                self.one_key(members, TOO_MANY)?;
                Operator::Numeric(range)
            }
            "anything-but" => {
                let anything_but = self.anything_but(operand)?;
                self.one_key(members, TOO_MANY)?;
                Operator::AnythingBut(anything_but)
            }
            "exists" => {
                let Kind::Bool(exists) = operand.kind else {
                    return self.fail(
                        "exists match pattern must be either true or false.",
                        operand.token_end(),
                    );
                };
                self.one_key(members, ONE_KEY)?;
                return Ok(exists.then_some(Operator::Exists));
            }
            "cidr" => {
                // AWS's cause here really does say "prefix".
                let text = self.string_operand(operand, "prefix match pattern must be a string")?;
                // EventBridge reports CIDR problems without a position.
                let range = IpRange::parse_cidr(text).map_err(PatternError::new)?;
                self.one_key(members, ONE_KEY)?;
                Operator::Cidr(range)
            }
            "equals-ignore-case" => {
                let text = self
                    .string_operand(operand, "equals-ignore-case match pattern must be a string")?;
                self.one_key(members, ONE_KEY)?;
                Operator::EqualsIgnoreCase(text.to_lowercase())
            }
            "wildcard" => {
                let text =
                    self.string_operand(operand, "wildcard match pattern must be a string")?;
                let wildcard =
                    Wildcard::parse(text).or_else(|cause| self.fail(cause, operand.end))?;
                self.one_key(members, ONE_KEY)?;
                Operator::Wildcard(wildcard)
            }
            other => {
                return self.fail(
                    format!("Unrecognized match type {other}"),
                    operand.token_end(),
                );
            }
        };
        Ok(Some(operator))
    }

    /// The `{"equals-ignore-case": "x"}` inside `prefix` or `suffix`, lower-cased.
    fn affix_ignore_case(
        &self,
        inner: &Members,
        end: usize,
        is_prefix: bool,
    ) -> Result<String, PatternError> {
        let kind = if is_prefix { "Prefix" } else { "Suffix" };
        let Some((name, operand)) = inner.first() else {
            return self.fail(format!("{kind} expression name not found"), end);
        };
        if name != "equals-ignore-case" {
            return self.fail(
                format!("Unsupported {} pattern: {name}", kind.to_lowercase()),
                operand.token_end(),
            );
        }
        let text =
            self.string_operand(operand, "equals-ignore-case match pattern must be a string")?;
        self.one_key(inner, "Only one key allowed in match expression")?;
        Ok(text.to_lowercase())
    }

    /// A number operand: its value in millionths. EventBridge checks the range only after
    /// the whole `numeric` list, so the position is the list's end.
    fn micros(&self, text: &str, offset: usize) -> Result<i64, PatternError> {
        number::micros(text).or_else(|e: NumberError| self.fail(e.reason(), offset))
    }

    fn numeric(&self, terms: &[Node], end: usize) -> Result<NumericRange, PatternError> {
        // Where the reader stands after the i-th member (or at the end of the list).
        let at = |i: usize| terms.get(i).map_or(end, Node::token_end);
        let number_at = |i: usize| match terms.get(i).map(|t| &t.kind) {
            Some(Kind::Num(text)) => Some(text.as_str()),
            _ => None,
        };
        let operator = match terms.first().map(|t| &t.kind) {
            Some(Kind::Str(op)) => op.as_str(),
            _ => {
                let text = terms.first().map_or("]".to_string(), Node::token_text);
                return self.fail(format!("Invalid member in numeric match: {text}"), at(0));
            }
        };
        let operand = |i: usize, op: &str| match number_at(i) {
            Some(text) => Ok(text),
            None => {
                let name = if op == "=" { "equals" } else { op };
                self.fail(format!("Value of {name} must be numeric"), at(i))
            }
        };
        match operator {
            "=" | "<" | "<=" => {
                let text = operand(1, operator)?;
                if terms.len() > 2 {
                    return self.fail("Too many elements in numeric expression", at(2));
                }
                let micros = self.micros(text, end)?;
                let bound = Bound {
                    micros,
                    inclusive: operator != "<",
                };
                Ok(match operator {
                    "=" => NumericRange {
                        lower: Some(bound),
                        upper: Some(bound),
                    },
                    _ => NumericRange {
                        lower: None,
                        upper: Some(bound),
                    },
                })
            }
            ">" | ">=" => {
                let bottom_text = operand(1, operator)?;
                let lower_inclusive = operator == ">=";
                let Some(second) = terms.get(2) else {
                    let micros = self.micros(bottom_text, end)?;
                    return Ok(NumericRange {
                        lower: Some(Bound {
                            micros,
                            inclusive: lower_inclusive,
                        }),
                        upper: None,
                    });
                };
                let Kind::Str(top_operator) = &second.kind else {
                    return self.fail(
                        format!("Bad value in numeric range: {}", second.token_text()),
                        second.token_end(),
                    );
                };
                if top_operator != "<" && top_operator != "<=" {
                    return self.fail(
                        format!("Bad numeric range operator: {top_operator}"),
                        second.end,
                    );
                }
                let top_text = operand(3, top_operator)?;
                if terms.len() > 4 {
                    return self.fail("Too many terms in numeric range expression", at(4));
                }
                let bottom = self.micros(bottom_text, end)?;
                let top = self.micros(top_text, end)?;
                if bottom >= top {
                    return self.fail("Bottom must be less than top", end);
                }
                Ok(NumericRange {
                    lower: Some(Bound {
                        micros: bottom,
                        inclusive: lower_inclusive,
                    }),
                    upper: Some(Bound {
                        micros: top,
                        inclusive: top_operator == "<=",
                    }),
                })
            }
            other => self.fail(
                format!("Unrecognized numeric range operator: {other}"),
                terms[0].end,
            ),
        }
    }

    fn anything_but(&self, operand: &Node) -> Result<AnythingBut, PatternError> {
        let (form, value) = match &operand.kind {
            Kind::Object(inner) => {
                let Some((name, value)) = inner.first() else {
                    return self.fail("Anything-But expression name not found", operand.end);
                };
                let known = ["equals-ignore-case", "prefix", "suffix", "wildcard"];
                if !known.contains(&name.as_str()) {
                    return self.fail(
                        format!("Unsupported anything-but pattern: {name}"),
                        value.token_end(),
                    );
                }
                (Some((name.as_str(), inner)), value)
            }
            _ => (None, operand),
        };
        if !matches!(value.kind, Kind::Array(_) | Kind::Str(_) | Kind::Num(_)) {
            return self.fail(
                "Value of anything-but must be an array or single string/number value.",
                value.token_end(),
            );
        }
        let Some((name, inner)) = form else {
            return self.anything_but_values(value);
        };
        let items: Vec<&Node> = match &value.kind {
            Kind::Array(items) => items.iter().collect(),
            _ => vec![value],
        };
        let mut texts = Vec::with_capacity(items.len());
        for item in items {
            let Kind::Str(text) = &item.kind else {
                let cause = match name {
                    "equals-ignore-case" => {
                        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
                    }
                    "wildcard" => "wildcard match pattern must be a string",
                    _ => "prefix/suffix match pattern must be a string",
                };
                return self.fail(cause, item.token_end());
            };
            if text.is_empty() && (name == "prefix" || name == "suffix") {
                return self.fail("Null prefix/suffix not allowed", item.end);
            }
            texts.push(text.clone());
        }
        let anything_but = match name {
            "equals-ignore-case" => {
                AnythingBut::IgnoreCase(texts.iter().map(|t| t.to_lowercase()).collect())
            }
            "prefix" => AnythingBut::Prefixes(texts),
            "suffix" => AnythingBut::Suffixes(texts),
            _ => {
                // Checked once the list (or the single string) has been read whole.
                let position = value.end;
                let mut wildcards = Vec::with_capacity(texts.len());
                for text in &texts {
                    wildcards.push(Wildcard::parse(text).or_else(|c| self.fail(c, position))?);
                }
                AnythingBut::Wildcards(wildcards)
            }
        };
        self.one_key(inner, "Too many elements in numeric expression")?;
        Ok(anything_but)
    }

    /// `anything-but` with a plain value or list: all strings or all numbers.
    fn anything_but_values(&self, value: &Node) -> Result<AnythingBut, PatternError> {
        match &value.kind {
            Kind::Str(text) => Ok(AnythingBut::Strings(vec![text.clone()])),
            // EventBridge reports a bad single number without a position.
            Kind::Num(text) => Ok(AnythingBut::Numbers(vec![
                number::micros(text).map_err(|e| PatternError::new(e.reason()))?,
            ])),
            Kind::Array(items) => {
                let mut strings = Vec::new();
                let mut numbers = Vec::new();
                for item in items {
                    match &item.kind {
                        Kind::Str(text) => strings.push(text.clone()),
                        Kind::Num(text) => numbers.push(self.micros(text, item.end)?),
                        _ => {
                            return self.fail(
                                "Inside anything but list, start|null|boolean is not supported.",
                                item.token_end(),
                            );
                        }
                    }
                }
                match (strings.is_empty(), numbers.is_empty()) {
                    (false, true) => Ok(AnythingBut::Strings(strings)),
                    (true, false) => Ok(AnythingBut::Numbers(numbers)),
                    _ => self.fail(
                        "Inside anything but list, either all values are number or string, mixed type is not supported",
                        value.end,
                    ),
                }
            }
            _ => self.fail(
                "Value of anything-but must be an array or single string/number value.",
                value.token_end(),
            ),
        }
    }
}

/// A pattern number's text as exact matching compares it (serde_json's rendering, so it
/// agrees with event numbers read through `serde_json::Value`).
fn canonical_number(text: &str) -> String {
    serde_json::from_str::<serde_json::Number>(text)
        .map(|n| n.to_string())
        .unwrap_or_else(|_| text.to_string())
}
