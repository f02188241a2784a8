//! Typed reads from one YAML mapping, each recording a positioned problem instead of
//! stopping, so that `validate` reports everything at once. Keys that no read asked for
//! are reported as unknown, with a suggestion when one is close.

use super::diagnostic::Diagnostic;
use super::model::Spanned;
use super::yaml::{Node, Scalar, Span};

/// Collects the problems of one decode.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Diagnostic>);

impl Problems {
    pub fn at(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.0.push(Diagnostic::new(span, message).help(help));
    }
}

/// The keys of one mapping, read one by one.
pub struct Fields<'n> {
    /// Dotted path of the mapping, for messages (`pipe`, `rules.new_orders`).
    pub path: String,
    pub span: Span,
    entries: &'n [(Node, Node)],
    asked: Vec<&'static str>,
}

impl<'n> Fields<'n> {
    /// Open a mapping; `null` (a key with nothing after it) counts as an empty mapping.
    pub fn open(node: &'n Node, path: &str, problems: &mut Problems) -> Option<Fields<'n>> {
        let entries: &'n [(Node, Node)] = match (node.as_mapping(), node.scalar()) {
            (Some(entries), _) => entries,
            (None, Some(Scalar::Null)) => &[],
            _ if path.is_empty() => {
                problems.at(
                    node.span,
                    format!(
                        "a blueprint must be a mapping of keys to values, found {}",
                        node.kind()
                    ),
                    "start from `outboxctl init`: `name:`, `queues:`, `rules:` and the other sections at the left margin",
                );
                return None;
            }
            _ => {
                problems.at(
                    node.span,
                    format!(
                        "`{path}` must be a mapping of keys to values, found {}",
                        node.kind()
                    ),
                    "write it as `key: value` lines indented under it",
                );
                return None;
            }
        };
        Some(Fields {
            path: path.to_string(),
            span: node.span,
            entries,
            asked: Vec::new(),
        })
    }

    /// A mapping with no keys, standing for a section the blueprint leaves out.
    pub fn empty(path: &str) -> Fields<'static> {
        Fields {
            path: path.to_string(),
            span: Span::default(),
            entries: &[],
            asked: Vec::new(),
        }
    }

    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value of `key`, remembering that the key is known. A key with nothing after it
    /// (`null`) reads as absent: it takes its default, as YAML writers expect.
    pub fn get(&mut self, key: &'static str) -> Option<&'n Node> {
        if !self.asked.contains(&key) {
            self.asked.push(key);
        }
        self.entries
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
            .filter(|v| v.scalar() != Some(Scalar::Null))
    }

    /// All entries, for mappings whose keys are user-chosen names (queues, rules, tags).
    pub fn entries(&self) -> &'n [(Node, Node)] {
        self.entries
    }

    /// Report every key nothing asked for. Call after all reads.
    pub fn finish(self, problems: &mut Problems) {
        for (key, _) in self.entries {
            let name = key.text().unwrap_or_default();
            if self.asked.contains(&name) {
                continue;
            }
            let help = match suggest(name, &self.asked) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("valid keys here: {}", self.asked.join(", ")),
            };
            let place = if self.path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{}`", self.path)
            };
            problems.at(key.span, format!("unknown key `{name}` {place}"), help);
        }
    }

    pub fn string(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
    ) -> Option<Spanned<String>> {
        let node = self.get(key)?;
        match node.scalar() {
            Some(Scalar::Str(s)) => Some(Spanned {
                value: s.to_string(),
                span: node.span,
            }),
            _ => {
                problems.at(
                    node.span,
                    format!(
                        "`{}` must be a string, found {}",
                        self.key_path(key),
                        node.kind()
                    ),
                    "quote the value if it should be text",
                );
                None
            }
        }
    }

    pub fn string_or(
        &mut self,
        key: &'static str,
        default: &str,
        problems: &mut Problems,
    ) -> String {
        self.string(key, problems)
            .map_or_else(|| default.to_string(), |s| s.value)
    }

    pub fn bool_or(&mut self, key: &'static str, default: bool, problems: &mut Problems) -> bool {
        let Some(node) = self.get(key) else {
            return default;
        };
        match node.scalar() {
            Some(Scalar::Bool(b)) => b,
            _ => {
                problems.at(
                    node.span,
                    format!(
                        "`{}` must be true or false, found {}",
                        self.key_path(key),
                        node.kind()
                    ),
                    "write `true` or `false` (YAML 1.2: `yes`/`no` are strings)",
                );
                default
            }
        }
    }

    /// A whole number in `min..=max`; `why` explains the limit in the help line.
    pub fn number_or(
        &mut self,
        key: &'static str,
        range: (u32, u32),
        default: u32,
        why: &str,
        problems: &mut Problems,
    ) -> u32 {
        let Some(node) = self.get(key) else {
            return default;
        };
        let (min, max) = range;
        let path = self.key_path(key);
        match node.scalar() {
            Some(Scalar::Int(n)) if (i64::from(min)..=i64::from(max)).contains(&n) => n as u32,
            Some(Scalar::Int(n)) => {
                problems.at(
                    node.span,
                    format!("`{path}` must be between {min} and {max}, found {n}"),
                    why,
                );
                default
            }
            _ => {
                problems.at(
                    node.span,
                    format!(
                        "`{path}` must be a whole number between {min} and {max}, found {}",
                        node.kind()
                    ),
                    why,
                );
                default
            }
        }
    }

    /// One of a fixed set of words.
    pub fn choice_or<T: Copy>(
        &mut self,
        key: &'static str,
        options: &[(&str, T)],
        default: T,
        problems: &mut Problems,
    ) -> T {
        let Some(node) = self.get(key) else {
            return default;
        };
        let text = match node.scalar() {
            Some(Scalar::Str(s)) => s,
            _ => node.text().unwrap_or_default(),
        };
        if let Some((_, value)) = options.iter().find(|(name, _)| *name == text) {
            return *value;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let help = match suggest_ignoring_case(text, &names) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("use one of: {}", names.join(", ")),
        };
        problems.at(
            node.span,
            format!("`{}` cannot be `{text}`", self.key_path(key)),
            help,
        );
        default
    }
}

/// The closest candidate within a small edit distance.
pub fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), *c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

fn suggest_ignoring_case<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let upper = name.to_ascii_uppercase().replace('-', "_");
    let lower = name.to_ascii_lowercase().replace('-', "_");
    candidates
        .iter()
        .find(|c| **c == upper || **c == lower)
        .copied()
        .or_else(|| suggest(name, candidates))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["batch_size", "batching_window_seconds", "max_retries"];
        assert_eq!(suggest("batch_sise", &keys), Some("batch_size"));
        assert_eq!(suggest("max_retry", &keys), Some("max_retries"));
        assert_eq!(suggest("colour", &keys), None);
    }
}
