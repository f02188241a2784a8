//! A YAML tree that remembers where every node came from.
//!
//! serde-based YAML crates lose positions once a value is deserialized, and stop at the
//! first error. Validation must report every problem with its line and column, so the
//! blueprint is first read into this small tree (from yaml-rust2's parser events, which
//! carry positions) and then decoded by hand.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in the blueprint: 1-based line and column, and the length to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

impl Span {
    fn at(mark: Marker, len: usize) -> Span {
        // yaml-rust2 reports 1-based lines and 0-based columns.
        Span {
            line: mark.line(),
            column: mark.col() + 1,
            len: len.max(1),
        }
    }
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written, with whether it was quoted (quoted scalars are always strings).
    Scalar {
        text: String,
        quoted: bool,
    },
    Sequence(Vec<Node>),
    /// Entries in document order; keys are nodes so errors can point at them.
    Mapping(Vec<(Node, Node)>),
}

/// The type a plain scalar resolves to under YAML 1.2's core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Node {
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        match &self.value {
            Value::Scalar { text, quoted: true } => Some(Scalar::Str(text)),
            Value::Scalar {
                text,
                quoted: false,
            } => Some(resolve_plain(text)),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Sequence(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a scalar key or value, whatever type it resolves to.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// What kind of node this is, in words for error messages.
    pub fn kind(&self) -> &'static str {
        match self.scalar() {
            Some(Scalar::Null) => "null",
            Some(Scalar::Bool(_)) => "a boolean",
            Some(Scalar::Int(_)) | Some(Scalar::Float(_)) => "a number",
            Some(Scalar::Str(_)) => "a string",
            None if self.as_sequence().is_some() => "a list",
            None => "a mapping",
        }
    }

    /// Convert to JSON (for event patterns, which users write as YAML mappings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Sequence(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Mapping(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text().unwrap_or_default().to_string(), v.to_json()))
                    .collect(),
            ),
            Value::Scalar { .. } => match self.scalar() {
                Some(Scalar::Null) | None => J::Null,
                Some(Scalar::Bool(b)) => J::Bool(b),
                Some(Scalar::Int(i)) => J::from(i),
                Some(Scalar::Float(f)) => {
                    serde_json::Number::from_f64(f).map_or(J::Null, J::Number)
                }
                Some(Scalar::Str(s)) => J::String(s.to_string()),
            },
        }
    }
}

fn resolve_plain(text: &str) -> Scalar<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Scalar::Int(i);
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(f) if looks_numeric => Scalar::Float(f),
        _ => Scalar::Str(text),
    }
}

/// A YAML syntax error, positioned.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
    /// How to fix it.
    pub help: &'static str,
}

/// Parse one YAML document into a tree. An empty document is an empty mapping; a second
/// document with anything in it (after `---` or `...`) is an error, since only the first
/// would count.
pub fn parse(source: &str) -> Result<Node, SyntaxError> {
    let mut builder = TreeBuilder::default();
    let mut parser = Parser::new_from_str(source);
    // Every document is read, so that a second one is refused rather than ignored.
    let loaded = parser.load(&mut builder, true);
    let second = |span: Span| {
        SyntaxError {
        message: "a second YAML document starts here: a blueprint is one document, and the rest would be ignored".into(),
        span,
        help: "remove the `---` (or `...`) line and merge what follows into the blueprint, or move it to a file of its own",
    }
    };
    if let Err(err) = loaded {
        // Whatever broke the parser lies in the second document: say that first.
        return Err(match builder.second_document {
            Some(span) => second(span),
            None => builder.error.unwrap_or_else(|| SyntaxError {
                message: err.info().to_string(),
                span: Span::at(*err.marker(), 1),
                help: "check indentation and quoting around this point",
            }),
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    if let Some(span) = builder
        .second_document
        .filter(|_| builder.second_has_content)
    {
        return Err(second(span));
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Mapping(Vec::new()),
        span: Span {
            line: 1,
            column: 1,
            len: 1,
        },
    }))
}

/// Folds parser events into nodes with a stack of open collections.
#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Open>,
    root: Option<Node>,
    error: Option<SyntaxError>,
    documents: usize,
    /// Where a second document starts, and whether it holds anything (a trailing `---`
    /// alone is an empty document, and harmless).
    second_document: Option<Span>,
    second_has_content: bool,
}

enum Open {
    Sequence(Span, Vec<Node>),
    Mapping(Span, Vec<(Node, Node)>, Option<Node>),
}

impl TreeBuilder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Sequence(_, items)) => items.push(node),
            Some(Open::Mapping(_, entries, pending_key)) => match pending_key.take() {
                None => {
                    if !matches!(node.value, Value::Scalar { .. }) && self.error.is_none() {
                        self.error = Some(SyntaxError {
                            message: format!(
                                "a key must be a name, not {} (YAML's `? ` complex keys)",
                                node.kind()
                            ),
                            span: node.span,
                            help: "write the key as a plain name",
                        });
                    }
                    *pending_key = Some(node)
                }
                Some(key) => {
                    let duplicate = entries.iter().any(|(existing, _)| {
                        existing.text().is_some() && existing.text() == key.text()
                    });
                    if duplicate && self.error.is_none() {
                        self.error = Some(SyntaxError {
                            message: format!(
                                "duplicate key `{}`: each key may appear once in a mapping",
                                key.text().unwrap_or_default()
                            ),
                            span: key.span,
                            help: "remove one of the two, or merge their values under one key",
                        });
                    }
                    entries.push((key, node));
                }
            },
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if let Event::DocumentStart = event {
            self.documents += 1;
            if self.documents == 2 {
                self.second_document = Some(Span::at(mark, 3));
            }
            return;
        }
        if self.documents > 1 {
            // Only the first document is built; the others only need to be empty.
            let empty = match &event {
                Event::Scalar(text, TScalarStyle::Plain, _, _) => text.is_empty() || text == "~",
                Event::DocumentEnd | Event::StreamEnd => true,
                _ => false,
            };
            self.second_has_content |= !empty;
            return;
        }
        match event {
            Event::Scalar(text, style, _, _) => {
                let quoted = matches!(
                    style,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                );
                let len = text.chars().count() + if quoted { 2 } else { 0 };
                let quoted =
                    quoted || matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                self.push(Node {
                    value: Value::Scalar { text, quoted },
                    span: Span::at(mark, len),
                });
            }
            Event::SequenceStart(..) => self
                .stack
                .push(Open::Sequence(Span::at(mark, 1), Vec::new())),
            Event::MappingStart(..) => {
                self.stack
                    .push(Open::Mapping(Span::at(mark, 1), Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Open::Sequence(span, items)) => Node {
                        value: Value::Sequence(items),
                        span,
                    },
                    Some(Open::Mapping(span, entries, _)) => {
                        // yaml-rust2 marks a block mapping where it recognises the first
                        // key, at that key's colon: point at the first key instead.
                        let span = match entries.first() {
                            Some((key, _))
                                if (key.span.line, key.span.column) < (span.line, span.column) =>
                            {
                                key.span
                            }
                            _ => span,
                        };
                        Node {
                            value: Value::Mapping(entries),
                            span,
                        }
                    }
                    None => return,
                };
                self.push(node);
            }
            Event::Alias(_) if self.error.is_none() => {
                self.error = Some(SyntaxError {
                    message: "YAML aliases (`*name`) are not supported in blueprints: write the value out"
                        .into(),
                    span: Span::at(mark, 1),
                    help: "copy the anchored (`&name`) value to each place that uses it",
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let root = parse("name: shop\ntable:\n  name: orders\n").unwrap();
        let entries = root.as_mapping().unwrap();
        assert_eq!(
            entries[0].0.span,
            Span {
                line: 1,
                column: 1,
                len: 4
            }
        );
        assert_eq!(
            entries[0].1.span,
            Span {
                line: 1,
                column: 7,
                len: 4
            }
        );
        let table = entries[1].1.as_mapping().unwrap();
        assert_eq!(
            table[0].1.span,
            Span {
                line: 3,
                column: 9,
                len: 6
            }
        );
    }

    #[test]
    fn plain_scalars_resolve_by_the_core_schema() {
        let root = parse("a: 10\nb: '10'\nc: yes\nd: true\ne: 2.5\nf: ~\n").unwrap();
        let values: Vec<_> = root
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(_, v)| v.scalar().unwrap())
            .collect();
        assert_eq!(
            values,
            vec![
                Scalar::Int(10),
                Scalar::Str("10"),
                Scalar::Str("yes"),
                Scalar::Bool(true),
                Scalar::Float(2.5),
                Scalar::Null
            ]
        );
    }

    #[test]
    fn block_mappings_start_at_their_first_key() {
        let root = parse("table:\n  encryption: aws_owned\n").unwrap();
        let table = &root.as_mapping().unwrap()[0].1;
        assert_eq!((table.span.line, table.span.column), (2, 3));
        let flow = parse("key: {a: 1}\n").unwrap();
        assert_eq!(flow.as_mapping().unwrap()[0].1.span.column, 6);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.span.line, 2);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\n").unwrap_err();
        assert!(err.span.line >= 1);
    }

    #[test]
    fn converts_to_json() {
        let root = parse("detail:\n  status: [Created, 300, true, null]\n").unwrap();
        assert_eq!(
            root.to_json(),
            serde_json::json!({"detail": {"status": ["Created", 300, true, null]}})
        );
    }

    /// Only the first document would count: a second one with anything in it is refused
    /// at its `---`, even when it is broken YAML; an empty one is harmless.
    #[test]
    fn a_second_document_is_refused_unless_empty() {
        for text in ["name: shop\n---\nqueues: {}\n", "name: shop\n---\nfoo: [\n"] {
            let err = parse(text).unwrap_err();
            assert!(
                err.message.starts_with("a second YAML document"),
                "{text}: {err:?}"
            );
            assert_eq!((err.span.line, err.span.column), (2, 1), "{text}");
        }
        for text in [
            "name: shop\n---\n",
            "name: shop\n...\n",
            "---\nname: shop\n",
        ] {
            let root = parse(text).unwrap();
            assert_eq!(root.as_mapping().unwrap().len(), 1, "{text}");
        }
    }
}
