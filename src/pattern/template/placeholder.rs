//! Splitting a template into literal text and `<placeholder>`s, and AWS's quoting rules: a
//! placeholder inside a JSON string gets the value's text (escaped for that string); a bare
//! placeholder gets the value as JSON. A bare string differs between the two services: an
//! EventBridge rule's InputTransformer puts it in quotes when the template is JSON
//! (`{"id": <id>}` gives `{"id": "i-1"}`, as the InputTransformer API reference shows),
//! while a pipe's InputTemplate inserts its raw text, so Pipes templates must quote
//! placeholders that resolve to strings. A missing value is `null` when bare and empty
//! inside quotes.

use serde_json::Value;
use thiserror::Error;

use super::json_path::JsonPath;

/// Why a template or input transformer is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("the input template is {chars} characters long; AWS allows at most {max}")]
    TooLong { chars: usize, max: usize },
    #[error("`{path}` is not a valid JSON path: {reason}")]
    BadPath { path: String, reason: String },
    #[error("the input template uses `<{name}>`, which {reason}")]
    UnknownPlaceholder { name: String, reason: String },
    #[error("`{name}` is not a valid InputPathsMap key: {reason}")]
    BadPathName { name: String, reason: String },
    #[error("InputPathsMap has {count} entries; EventBridge allows at most {max}")]
    TooManyPaths { count: usize, max: usize },
    #[error("the input template is not valid JSON once its placeholders are filled in: {reason}")]
    NotJson { reason: String },
    #[error("`<{name}>` can only be used as a bare JSON value, not inside quotes")]
    QuotedJsonOnly { name: String },
    #[error(
        "`<{name}>` is used as an object key; in a JSON input template placeholders may only be values"
    )]
    PlaceholderAsKey { name: String },
    #[error("the input template is empty; give at least one character")]
    Empty,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Slot { name: String, quoted: bool },
}

/// Split `template`; `is_placeholder` decides which `<…>` are placeholders (others stay text).
pub(crate) fn split(template: &str, is_placeholder: impl Fn(&str) -> bool) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let name = &rest[1..end];
            if is_placeholder(name) {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Slot {
                    name: name.to_string(),
                    quoted: in_string,
                });
                rest = &rest[end + 1..];
                continue;
            }
        }
        if escaped {
            escaped = false;
        } else if c == '\\' && in_string {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

/// How a template puts a string value at a bare placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BareString {
    /// Its raw text (Pipes).
    Raw,
    /// As a JSON string when the template is JSON, else its raw text (EventBridge rules).
    QuotedInJson,
}

/// Insert one value at a placeholder.
fn insert(out: &mut String, value: Option<&Value>, quoted: bool, quote_bare: bool) {
    match (value, quoted) {
        (None, true) => {}
        (None, false) => out.push_str("null"),
        (Some(Value::String(s)), true) => {
            let encoded = Value::String(s.clone()).to_string();
            out.push_str(&encoded[1..encoded.len() - 1]);
        }
        (Some(Value::String(s)), false) if quote_bare => {
            out.push_str(&Value::String(s.clone()).to_string())
        }
        (Some(Value::String(s)), false) => out.push_str(s),
        (Some(other), true) => {
            let encoded = Value::String(other.to_string()).to_string();
            out.push_str(&encoded[1..encoded.len() - 1]);
        }
        (Some(other), false) => out.push_str(&other.to_string()),
    }
}

/// What a placeholder stands for.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    Path(JsonPath),
    Variable(&'static str),
}

/// A validated template: text and resolved placeholders.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pieces: Vec<(Piece, Option<Slot>)>,
    /// Whether a bare string goes in as a JSON string (see [`BareString`]).
    quote_bare: bool,
}

impl Compiled {
    /// Resolve every placeholder with `slot_for(name, quoted)` and check the JSON shape.
    pub(crate) fn build(
        pieces: Vec<Piece>,
        bare_string: BareString,
        mut slot_for: impl FnMut(&str, bool) -> Result<Slot, TemplateError>,
    ) -> Result<Compiled, TemplateError> {
        let is_json = check_json_shape(&pieces)?;
        let mut compiled = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let slot = match &piece {
                Piece::Text(_) => None,
                Piece::Slot { name, quoted } => Some(slot_for(name, *quoted)?),
            };
            compiled.push((piece, slot));
        }
        Ok(Compiled {
            pieces: compiled,
            quote_bare: is_json && bare_string == BareString::QuotedInJson,
        })
    }

    /// The names of the placeholders written outside quotes, in template order.
    pub(crate) fn unquoted(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|(piece, _)| match piece {
            Piece::Slot {
                name,
                quoted: false,
            } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Fill the template for one event; `variable` gives the reserved variables' values.
    pub(crate) fn render(&self, event: &Value, variable: impl Fn(&str) -> Value) -> String {
        let mut out = String::new();
        for (piece, slot) in &self.pieces {
            match (piece, slot) {
                (Piece::Text(text), _) => out.push_str(text),
                (Piece::Slot { quoted, .. }, Some(Slot::Path(path))) => {
                    insert(&mut out, path.resolve(event), *quoted, self.quote_bare)
                }
                (Piece::Slot { quoted, .. }, Some(Slot::Variable(name))) => {
                    insert(&mut out, Some(&variable(name)), *quoted, self.quote_bare)
                }
                (Piece::Slot { .. }, None) => {}
            }
        }
        out
    }
}

/// When the template is meant to be JSON (it starts with `{` or `[`), check that it parses
/// with every placeholder filled by a sample value, and that no placeholder is a key.
/// Answers whether it is meant to be JSON.
fn check_json_shape(pieces: &[Piece]) -> Result<bool, TemplateError> {
    let mut sample = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => sample.push_str(text),
            // Inside quotes the placeholder's own text stands in, so keys can be spotted.
            Piece::Slot { name, quoted: true } => {
                sample.push('<');
                sample.push_str(name);
                sample.push('>');
            }
            Piece::Slot { quoted: false, .. } => sample.push_str("null"),
        }
    }
    let trimmed = sample.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return Ok(false);
    }
    let parsed = serde_json::from_str::<Value>(&sample).map_err(|e| TemplateError::NotJson {
        reason: e.to_string(),
    })?;
    for piece in pieces {
        if let Piece::Slot { name, quoted: true } = piece
            && has_key_containing(&parsed, &format!("<{name}>"))
        {
            return Err(TemplateError::PlaceholderAsKey { name: name.clone() });
        }
    }
    Ok(true)
}

fn has_key_containing(value: &Value, needle: &str) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(key, child)| key.contains(needle) || has_key_containing(child, needle)),
        Value::Array(items) => items.iter().any(|item| has_key_containing(item, needle)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_know_whether_they_are_quoted() {
        let pieces = split(r#"{"a": "<x>", "b": <y>, "c": "say \"<z>"}"#, |_| true);
        let slots: Vec<_> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Slot { name, quoted } => Some((name.as_str(), *quoted)),
                Piece::Text(_) => None,
            })
            .collect();
        assert_eq!(slots, [("x", true), ("y", false), ("z", true)]);
    }

    #[test]
    fn other_angle_brackets_stay_text() {
        let pieces = split("a <b> c", |n| n.starts_with('$'));
        assert_eq!(pieces, [Piece::Text("a <b> c".into())]);
    }

    #[test]
    fn placeholders_cannot_be_keys_of_json_templates() {
        let pieces = split(r#"{"<k>": 1}"#, |_| true);
        assert_eq!(
            check_json_shape(&pieces),
            Err(TemplateError::PlaceholderAsKey { name: "k".into() })
        );
        let fine = split(r#"{"k": "<k>", "text": "say <k>"}"#, |_| true);
        assert_eq!(check_json_shape(&fine), Ok(true));
        let plain = split(r#"<k> is "<k>": done"#, |_| true);
        assert_eq!(check_json_shape(&plain), Ok(false));
    }

    #[test]
    fn values_are_quoted_by_position() {
        let mut out = String::new();
        insert(&mut out, Some(&json!("say \"hi\"")), true, false);
        assert_eq!(out, r#"say \"hi\""#);
        out.clear();
        insert(&mut out, Some(&json!({"a": 1})), false, false);
        assert_eq!(out, r#"{"a":1}"#);
        out.clear();
        insert(&mut out, None, false, false);
        assert_eq!(out, "null");
        out.clear();
        insert(&mut out, Some(&json!("raw")), false, false);
        assert_eq!(out, "raw");
        out.clear();
        insert(&mut out, Some(&json!("say \"hi\"")), false, true);
        assert_eq!(out, r#""say \"hi\"""#);
    }
}
