//! The value tests of one automaton transition (one state, one field path), indexed so the
//! cost of testing a leaf does not grow with the number of rules: exact values and
//! equals-ignore-case by hash, prefixes and suffixes by one hash probe per distinct operand
//! length, and only the operators that cannot be hashed (numeric ranges, CIDR blocks,
//! wildcards, anything-but) tested one by one, each distinct operator once.

use rustc_hash::FxHashMap;
use smallvec::{SmallVec, smallvec};

use super::leaf::Leaf;
use super::operator::Operator;
use super::str_table::StrTable;

/// States reached by one operand value: almost always one, kept inline so that a hit costs
/// no second trip to memory (with thousands of rules that trip is a cache miss).
type Targets = SmallVec<[u32; 2]>;

/// The states one lookup reaches, appended to the caller's list: kept on the stack, as an
/// event reaches few states.
pub(crate) type Reached = SmallVec<[u32; 32]>;

/// Append `targets` to `out`. SmallVec's `extend_from_slice` is a general insert (reserve,
/// then move the tail), which costs more than these lists of zero or one state.
#[inline(always)]
pub(crate) fn append<A: smallvec::Array<Item = u32>>(out: &mut SmallVec<A>, targets: &[u32]) {
    for &target in targets {
        out.push(target);
    }
}

#[derive(Debug, Clone, Default)]
struct Affixes {
    by_operand: StrTable<Targets>,
    /// Distinct operand lengths, ascending.
    lengths: Vec<Length>,
}

/// The operands of one length: which bytes they start and end with. A value whose byte
/// where an operand would end (for a prefix) or start (for a suffix) is none of theirs
/// matches none of them, and is ruled out without hashing. Prefixes tend to end in a
/// separator (`customer42@`, `arn:aws:s3:::bucket/`), so for most lengths tried the
/// probe is skipped.
#[derive(Debug, Clone)]
struct Length {
    len: usize,
    firsts: ByteSet,
    lasts: ByteSet,
}

#[derive(Debug, Clone, Copy, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    #[inline(always)]
    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] >> (byte & 63) & 1 != 0
    }
}

impl Affixes {
    fn add(&mut self, operand: &str, target: u32) {
        self.by_operand.entry(operand).push(target);
        let len = operand.len();
        let at = match self.lengths.binary_search_by_key(&len, |l| l.len) {
            Ok(at) => at,
            Err(at) => {
                let (firsts, lasts) = (ByteSet::default(), ByteSet::default());
                self.lengths.insert(at, Length { len, firsts, lasts });
                at
            }
        };
        if let (Some(&first), Some(&last)) = (operand.as_bytes().first(), operand.as_bytes().last())
        {
            self.lengths[at].firsts.insert(first);
            self.lengths[at].lasts.insert(last);
        }
    }

    fn prefixes_of(&self, value: &str, out: &mut Reached) {
        let bytes = value.as_bytes();
        for length in &self.lengths {
            let len = length.len;
            if len > value.len() {
                break;
            }
            if len > 0 && !length.lasts.contains(bytes[len - 1]) {
                continue;
            }
            if let Some(targets) = value.get(..len).and_then(|p| self.by_operand.get(p)) {
                append(out, targets);
            }
        }
    }

    fn suffixes_of(&self, value: &str, out: &mut Reached) {
        let bytes = value.as_bytes();
        for length in &self.lengths {
            let len = length.len;
            if len > value.len() {
                break;
            }
            let start = value.len() - len;
            if len > 0 && !length.firsts.contains(bytes[start]) {
                continue;
            }
            if let Some(targets) = value.get(start..).and_then(|s| self.by_operand.get(s)) {
                append(out, targets);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }
}

/// The tests of one transition. Exact strings are what almost every rule uses, so they sit
/// in the transition itself; everything else is boxed. With thousands of rules the
/// transitions are spread over more memory than the CPU caches hold, and each cache line
/// a lookup touches is another wait.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueIndex {
    strings: StrTable<Targets>,
    other: Option<Box<OtherTests>>,
}

#[derive(Debug, Clone, Default)]
struct OtherTests {
    numbers: FxHashMap<i64, Targets>,
    number_texts: FxHashMap<Box<str>, Targets>,
    trues: Targets,
    falses: Targets,
    nulls: Targets,
    folded: FxHashMap<Box<str>, Targets>,
    prefixes: Affixes,
    suffixes: Affixes,
    folded_prefixes: Affixes,
    folded_suffixes: Affixes,
    any: Targets,
    scanned: Vec<(Operator, Targets)>,
    scanned_at: FxHashMap<Operator, usize>,
}

impl ValueIndex {
    pub(crate) fn add(&mut self, operator: &Operator, target: u32) {
        match operator {
            Operator::ExactString(s) => self.strings.entry(s).push(target),
            other => self.other.get_or_insert_default().add(other, target),
        }
    }

    /// Append the states this leaf leads to (possibly with repeats).
    #[inline]
    pub(crate) fn lookup(&self, leaf: &Leaf<'_>, out: &mut Reached) {
        if let Leaf::Str(text) = leaf
            && !self.strings.is_empty()
            && let Some(targets) = self.strings.get(text.as_ref())
        {
            append(out, targets);
        }
        if let Some(other) = &self.other {
            other.lookup(leaf, out);
        }
    }
}

impl OtherTests {
    fn add(&mut self, operator: &Operator, target: u32) {
        match operator {
            Operator::ExactNumber { micros, text } => {
                if let Some(m) = micros {
                    self.numbers.entry(*m).or_default().push(target);
                }
                self.number_texts
                    .entry(text.as_str().into())
                    .or_default()
                    .push(target);
            }
            Operator::ExactBool(true) => self.trues.push(target),
            Operator::ExactBool(false) => self.falses.push(target),
            Operator::ExactNull => self.nulls.push(target),
            Operator::EqualsIgnoreCase(s) => self
                .folded
                .entry(s.as_str().into())
                .or_default()
                .push(target),
            Operator::Prefix(s) => self.prefixes.add(s, target),
            Operator::Suffix(s) => self.suffixes.add(s, target),
            Operator::PrefixIgnoreCase(s) => self.folded_prefixes.add(s, target),
            Operator::SuffixIgnoreCase(s) => self.folded_suffixes.add(s, target),
            Operator::Exists => self.any.push(target),
            other => match self.scanned_at.get(other) {
                Some(&at) => self.scanned[at].1.push(target),
                None => {
                    self.scanned_at.insert(other.clone(), self.scanned.len());
                    self.scanned.push((other.clone(), smallvec![target]));
                }
            },
        }
    }

    fn lookup(&self, leaf: &Leaf<'_>, out: &mut Reached) {
        match leaf {
            Leaf::Str(text) => {
                self.prefixes.prefixes_of(text, out);
                self.suffixes.suffixes_of(text, out);
                let folding = !self.folded.is_empty()
                    || !self.folded_prefixes.is_empty()
                    || !self.folded_suffixes.is_empty();
                if folding {
                    let lower = text.to_lowercase();
                    if let Some(targets) = self.folded.get(lower.as_str()) {
                        append(out, targets);
                    }
                    self.folded_prefixes.prefixes_of(&lower, out);
                    self.folded_suffixes.suffixes_of(&lower, out);
                }
            }
            Leaf::Num { text, micros } => {
                if let Some(targets) = micros.and_then(|m| self.numbers.get(&m)) {
                    append(out, targets);
                }
                if let Some(targets) = self.number_texts.get(text.as_ref()) {
                    append(out, targets);
                }
            }
            Leaf::Bool(true) => append(out, &self.trues),
            Leaf::Bool(false) => append(out, &self.falses),
            Leaf::Null => append(out, &self.nulls),
        }
        append(out, &self.any);
        for (operator, targets) in &self.scanned {
            if operator.matches(leaf) {
                append(out, targets);
            }
        }
    }
}
