//! The `numeric` operator's operand: one comparison or a two-sided range, checked in the
//! order and with the reasons EventBridge uses (member shapes first, then the values'
//! range and precision once the whole list has been read).

use super::Parser;
use crate::pattern::error::PatternError;
use crate::pattern::number::{self, NumberError};
use crate::pattern::operator::{Bound, NumericRange};
use crate::pattern::pattern_json::{Kind, Node};

impl Parser<'_> {
    /// A number operand: its value in millionths. EventBridge checks the range only after
    /// the whole `numeric` list, so the position is the list's end.
    pub(super) fn micros(&self, text: &str, offset: usize) -> Result<i64, PatternError> {
        number::micros(text).or_else(|e: NumberError| self.fail(e.reason(), offset))
    }

    pub(super) fn numeric(&self, terms: &[Node], end: usize) -> Result<NumericRange, PatternError> {
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
}
