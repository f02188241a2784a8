//! The `anything-but` operator's operand: a value, a list of all strings or all numbers,
//! or `{prefix|suffix|equals-ignore-case|wildcard: value or list}`, with EventBridge's
//! reasons.

use super::Parser;
use crate::pattern::error::PatternError;
use crate::pattern::number;
use crate::pattern::operator::AnythingBut;
use crate::pattern::pattern_json::{Kind, Node};
use crate::pattern::wildcard::Wildcard;

impl Parser<'_> {
    pub(super) fn anything_but(&self, operand: &Node) -> Result<AnythingBut, PatternError> {
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
