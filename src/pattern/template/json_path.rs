//! The JSON paths templates use: `$`, `$.a.b`, `$.items[0]` and `$['key with.dots']`.
//! (EventBridge InputPathsMap values and Pipes `<$.…>` placeholders.)

use serde_json::Value;

use super::placeholder::TemplateError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
    /// Whether a key was written `['key']` (EventBridge InputPathsMap refuses that).
    bracket_keys: bool,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, TemplateError> {
        let bad = |why: &str| TemplateError::BadPath {
            path: text.to_string(),
            reason: why.to_string(),
        };
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| bad("a JSON path starts with `$`"))?;
        let bytes = rest.as_bytes();
        let mut steps = Vec::new();
        let mut bracket_keys = false;
        let mut at = 0;
        while at < bytes.len() {
            match bytes[at] {
                b'.' => {
                    let start = at + 1;
                    let end = rest[start..]
                        .find(['.', '['])
                        .map_or(rest.len(), |i| start + i);
                    if start == end {
                        return Err(bad("empty key after `.`"));
                    }
                    steps.push(Step::Key(rest[start..end].to_string()));
                    at = end;
                }
                b'[' => {
                    let close = rest[at..]
                        .find(']')
                        .map(|i| at + i)
                        .ok_or_else(|| bad("`[` without `]`"))?;
                    let inner = &rest[at + 1..close];
                    let quoted = inner.len() >= 2
                        && ((inner.starts_with('\'') && inner.ends_with('\''))
                            || (inner.starts_with('"') && inner.ends_with('"')));
                    if quoted {
                        bracket_keys = true;
                        steps.push(Step::Key(inner[1..inner.len() - 1].to_string()));
                    } else {
                        let index = inner
                            .parse()
                            .map_err(|_| bad("inside `[ ]` put an index or a quoted key"))?;
                        steps.push(Step::Index(index));
                    }
                    at = close + 1;
                }
                _ => return Err(bad("expected `.` or `[` after `$`")),
            }
        }
        Ok(JsonPath {
            text: text.to_string(),
            steps,
            bracket_keys,
        })
    }

    /// The value at this path, if there is one.
    pub fn resolve<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.steps
            .iter()
            .try_fold(value, |current, step| match step {
                Step::Key(key) => current.get(key.as_str()),
                Step::Index(index) => current.get(*index),
            })
    }

    /// The path's keys, in order, when it has no array index.
    pub fn keys(&self) -> Option<Vec<&str>> {
        self.steps
            .iter()
            .map(|step| match step {
                Step::Key(key) => Some(key.as_str()),
                Step::Index(_) => None,
            })
            .collect()
    }

    /// Whether a key is written in bracket notation (`$['a']`).
    pub fn has_bracket_keys(&self) -> bool {
        self.bracket_keys
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_keys_indexes_and_quoted_keys() {
        let event = json!({"detail": {"items": [{"sku": "A"}], "a.b": 1}});
        let at = |p: &str| JsonPath::parse(p).unwrap().resolve(&event).cloned();
        assert_eq!(at("$.detail.items[0].sku"), Some(json!("A")));
        assert_eq!(at("$.detail['a.b']"), Some(json!(1)));
        assert_eq!(at("$"), Some(event.clone()));
        assert_eq!(at("$.detail.missing"), None);
    }

    #[test]
    fn malformed_paths_say_why() {
        for bad in ["detail", "$.", "$[x]", "$.a[0", "$x"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
