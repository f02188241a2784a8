//! One leaf value of an event (string, number, boolean or null), as the matchers see it.
//! EventBridge matches only leaves: objects and arrays are structure, never values.

use std::borrow::Cow;

use super::number;

/// A leaf value, borrowed from the event where possible.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Leaf<'a> {
    Str(Cow<'a, str>),
    /// A number keeps its literal text (for exact matching of numbers EventBridge cannot
    /// compare, such as account ids) and its value in millionths when comparable.
    Num {
        text: Cow<'a, str>,
        micros: Option<i64>,
    },
    Bool(bool),
    Null,
}

impl<'a> Leaf<'a> {
    #[inline]
    pub(crate) fn number(text: Cow<'a, str>) -> Leaf<'a> {
        let micros = number::micros(&text).ok();
        Leaf::Num { text, micros }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Leaf::Str(text) => Some(text),
            _ => None,
        }
    }

    /// A leaf from a `serde_json` scalar; `None` for objects and arrays.
    pub(crate) fn from_value(value: &'a serde_json::Value) -> Option<Leaf<'a>> {
        match value {
            serde_json::Value::String(text) => Some(Leaf::Str(Cow::Borrowed(text))),
            serde_json::Value::Number(n) => Some(Leaf::number(Cow::Owned(n.to_string()))),
            serde_json::Value::Bool(b) => Some(Leaf::Bool(*b)),
            serde_json::Value::Null => Some(Leaf::Null),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => None,
        }
    }
}
