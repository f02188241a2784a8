//! The comparison operators of one pattern field, each tested against one event leaf.
//! The many-rule [`super::Matcher`] indexes most of them (exact values by hash, prefixes by
//! length); the rest are tested here one by one.

use super::cidr::IpRange;
use super::leaf::Leaf;
use super::wildcard::Wildcard;

/// One value test of a pattern field, e.g. `"x"`, `{"prefix": "x"}` or `{"numeric": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Operator {
    ExactString(String),
    /// A number matches by value (when comparable) or by its literal text.
    ExactNumber {
        micros: Option<i64>,
        text: String,
    },
    ExactBool(bool),
    ExactNull,
    /// An exact string that is an IP address matches that address in any spelling.
    ExactIp(IpRange),
    Prefix(String),
    /// Operand stored lower-cased.
    PrefixIgnoreCase(String),
    Suffix(String),
    /// Operand stored lower-cased.
    SuffixIgnoreCase(String),
    /// Operand stored lower-cased.
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Numeric(NumericRange),
    Cidr(IpRange),
    AnythingBut(AnythingBut),
    /// `{"exists": true}`; `{"exists": false}` is a property of the field, not a leaf test.
    Exists,
}

/// `numeric` bounds in millionths; `None` is unbounded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NumericRange {
    pub(crate) lower: Option<Bound>,
    pub(crate) upper: Option<Bound>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Bound {
    pub(crate) micros: i64,
    pub(crate) inclusive: bool,
}

impl NumericRange {
    pub(crate) fn contains(&self, micros: i64) -> bool {
        let above = match self.lower {
            Some(b) if b.inclusive => micros >= b.micros,
            Some(b) => micros > b.micros,
            None => true,
        };
        let below = match self.upper {
            Some(b) if b.inclusive => micros <= b.micros,
            Some(b) => micros < b.micros,
            None => true,
        };
        above && below
    }
}

/// The forms of `anything-but`. A string form matches every leaf that is not a string
/// meeting the condition (numbers, booleans and null included); the number form matches
/// every leaf that is not one of the listed numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<i64>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    /// Lower-cased.
    IgnoreCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

impl AnythingBut {
    fn matches(&self, leaf: &Leaf<'_>) -> bool {
        if let AnythingBut::Numbers(values) = self {
            return match leaf {
                Leaf::Num {
                    micros: Some(m), ..
                } => !values.contains(m),
                _ => true,
            };
        }
        let Some(text) = leaf.as_str() else {
            return true;
        };
        match self {
            AnythingBut::Strings(values) => !values.iter().any(|v| v == text),
            AnythingBut::Prefixes(values) => !values.iter().any(|v| text.starts_with(v.as_str())),
            AnythingBut::Suffixes(values) => !values.iter().any(|v| text.ends_with(v.as_str())),
            AnythingBut::IgnoreCase(values) => {
                let lower = text.to_lowercase();
                !values.contains(&lower)
            }
            AnythingBut::Wildcards(values) => !values.iter().any(|w| w.matches(text)),
            AnythingBut::Numbers(_) => true,
        }
    }
}

impl Operator {
    /// Whether this test accepts one event leaf.
    pub(crate) fn matches(&self, leaf: &Leaf<'_>) -> bool {
        match self {
            Operator::ExactString(s) => leaf.as_str() == Some(s.as_str()),
            Operator::ExactNumber { micros, text } => match leaf {
                Leaf::Num {
                    text: leaf_text,
                    micros: leaf_micros,
                } => (micros.is_some() && micros == leaf_micros) || text.as_str() == leaf_text,
                _ => false,
            },
            Operator::ExactBool(b) => *leaf == Leaf::Bool(*b),
            Operator::ExactNull => *leaf == Leaf::Null,
            Operator::ExactIp(range) | Operator::Cidr(range) => {
                leaf.as_str().is_some_and(|s| range.contains(s))
            }
            Operator::Prefix(p) => leaf.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Operator::Suffix(p) => leaf.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            Operator::PrefixIgnoreCase(p) => leaf
                .as_str()
                .is_some_and(|s| s.to_lowercase().starts_with(p.as_str())),
            Operator::SuffixIgnoreCase(p) => leaf
                .as_str()
                .is_some_and(|s| s.to_lowercase().ends_with(p.as_str())),
            Operator::EqualsIgnoreCase(p) => leaf.as_str().is_some_and(|s| s.to_lowercase() == *p),
            Operator::Wildcard(w) => leaf.as_str().is_some_and(|s| w.matches(s)),
            Operator::Numeric(range) => match leaf {
                Leaf::Num {
                    micros: Some(m), ..
                } => range.contains(*m),
                _ => false,
            },
            Operator::AnythingBut(a) => a.matches(leaf),
            Operator::Exists => true,
        }
    }
}
