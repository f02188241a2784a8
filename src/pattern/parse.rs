//! Turns pattern text into branches of field tests, with EventBridge's validation rules,
//! reasons and error positions. A `$or` multiplies the pattern into branches (one per
//! alternative, crossed with the fields around it), so a branch is a plain AND of fields
//! and the pattern is the OR of its branches. Fields are read in text order; a later field
//! with the same path replaces an earlier one, and repeated objects merge, as in
//! EventBridge.

use std::collections::BTreeMap;

use super::cidr::IpRange;
use super::error::PatternError;
use super::number;
use super::operator::Operator;
use super::pattern_json::{Kind, Node};
use super::wildcard::Wildcard;

mod anything_but;
mod numeric;

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
pub(super) type Members = [(String, Node)];

const OR: &str = "$or";

/// Each `$or` multiplies the branches of the fields around it, so a few hundred characters
/// of sibling `$or`s would expand into millions of branches. outboxctl refuses patterns
/// past this many branches (its own limit: EventBridge does not document one), which
/// still allows ten two-way `$or`s in one pattern.
pub(crate) const MAX_BRANCHES: usize = 1024;

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

pub(super) struct Parser<'s> {
    source: &'s str,
}

impl Parser<'_> {
    /// An error where EventBridge's reader stands at byte `offset`.
    pub(super) fn fail<T>(
        &self,
        cause: impl Into<String>,
        offset: usize,
    ) -> Result<T, PatternError> {
        Err(PatternError::at(cause, self.source, offset))
    }

    /// The "one key only" check after an operator: the reader stands just inside the
    /// second key's value.
    pub(super) fn one_key(&self, members: &Members, cause: &str) -> Result<(), PatternError> {
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
            if rules.len() > MAX_BRANCHES {
                return self.fail(
                    format!(
                        "The {OR} conditions combine into more than {MAX_BRANCHES} alternatives; split the pattern into several rules."
                    ),
                    value.token_end(),
                );
            }
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

    pub(super) fn string_operand<'v>(
        &self,
        value: &'v Node,
        cause: &str,
    ) -> Result<&'v str, PatternError> {
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
}

/// A pattern number's text as exact matching compares it (serde_json's rendering, so it
/// agrees with event numbers read through `serde_json::Value`).
fn canonical_number(text: &str) -> String {
    serde_json::from_str::<serde_json::Number>(text)
        .map(|n| n.to_string())
        .unwrap_or_else(|_| text.to_string())
}
