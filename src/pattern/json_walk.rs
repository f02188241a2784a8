//! Flattens an event straight from its JSON text, decoding only the values at paths some
//! pattern names and skipping everything else. This is the fast path of
//! [`super::Matcher::matches_json`]: no `serde_json::Value` is built, and the ends of strings
//! and of skipped objects and arrays come from a [`StructuralIndex`] of the text rather than
//! from reading it byte by byte. Objects and arrays that only states reached later look
//! into are put [`Aside`] and walked if one of those states is reached.

use std::borrow::Cow;
use std::cell::Cell;

use thiserror::Error;

use smallvec::SmallVec;

use super::flat_event::{FlatEvent, Membership};
use super::leaf::Leaf;
use super::path_tree::{KeyHead, Node, PathTree, ROOT};
use super::structural::StructuralIndex;

/// An event that is not a well-formed JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("event is not valid JSON at byte {offset}: {reason}")]
pub struct EventJsonError {
    pub offset: usize,
    pub reason: &'static str,
}

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// The leaves of `text` that the automaton's start state can test, and the values put
/// aside for states reached later.
pub(crate) fn flatten<'t, 'a>(
    tree: &'t PathTree,
    text: &'a str,
) -> Result<(FlatEvent<'a>, Aside<'t, 'a>), Halt> {
    let index = StructuralIndex::build(text.as_bytes());
    if index.unterminated() {
        return Err(Halt::Invalid(EventJsonError {
            offset: text.len(),
            reason: "unterminated string",
        }));
    }
    let mut flat = FlatEvent::new(tree.path_count());
    let mut walker = Walker::new(tree, &index, text, &mut flat, true);
    match walker.event() {
        Ok(()) if walker.repeated_key => Err(Halt::RepeatedKey),
        Ok(()) => {
            let regions = std::mem::take(&mut walker.put_aside);
            let pending = regions.len();
            let aside = Aside {
                tree,
                text,
                index,
                regions,
                pending,
            };
            Ok((flat, aside))
        }
        Err(Failed) => Err(Halt::Invalid(walker.failure.into_inner())),
    }
}

/// Objects and arrays at lazy path-tree nodes (see [`PathTree::is_lazy`]), skipped by the
/// first walk and walked only when a state the event reaches asks for a path inside them.
/// Arrays of line items are most of an order event, and most rules that look into them
/// first test a field outside (a tier, a status), which most events fail.
pub(crate) struct Aside<'t, 'a> {
    tree: &'t PathTree,
    text: &'a str,
    index: StructuralIndex,
    regions: SmallVec<[Region; 2]>,
    /// Regions not walked yet.
    pending: usize,
}

/// One value put aside.
struct Region {
    node: u32,
    /// Its node's lazy root: the regions of one root are walked together.
    root: u32,
    depth: usize,
    at: usize,
    /// The arrays the value sits in, as the walk left them.
    trail: SmallVec<[Membership; 2]>,
    walked: bool,
}

/// Why matching cannot go on from the text walk.
#[derive(Debug)]
pub(crate) enum Halt {
    /// Some object may repeat a key, which the walk cannot settle as it goes: event-ruler,
    /// EventBridge's matcher, keeps only the last of repeated keys ("When duplicate keys
    /// are passed Ruler will only consider the final value in the document order"). Such
    /// an event is rare (event-ruler calls it invalid), so it is parsed whole instead.
    RepeatedKey,
    /// The text is not valid JSON where the walk read it.
    Invalid(EventJsonError),
}

impl<'a> Aside<'_, 'a> {
    /// Whether some value is still put aside.
    #[inline(always)]
    pub(crate) fn pending(&self) -> bool {
        self.pending != 0
    }

    /// Walk, into `flat`, every value put aside that may hold leaves at `path`. Most
    /// paths a state tests are not lazy: that answer is inline, the walk is not.
    #[inline(always)]
    pub(crate) fn walk_for(&mut self, flat: &mut FlatEvent<'a>, path: u32) -> Result<(), Halt> {
        match self.tree.lazy_root_of_path(path) {
            Some(root) => self.walk_root(flat, root),
            None => Ok(()),
        }
    }

    /// Walk the values put aside under lazy node `root`.
    #[inline(never)]
    fn walk_root(&mut self, flat: &mut FlatEvent<'a>, root: u32) -> Result<(), Halt> {
        let Aside {
            tree,
            text,
            index,
            regions,
            pending,
        } = self;
        for region in regions.iter_mut().filter(|r| !r.walked && r.root == root) {
            region.walked = true;
            *pending -= 1;
            flat.reopen(&region.trail);
            let mut walker = Walker::new(tree, index, text, flat, false);
            let walked = walker.member(region.node, region.depth, region.at);
            if walked.is_err() {
                return Err(Halt::Invalid(walker.failure.into_inner()));
            }
            if walker.repeated_key {
                return Err(Halt::RepeatedKey);
            }
        }
        flat.reopen(&[]);
        Ok(())
    }
}

/// The event parsed whole, for the rare event the walk leaves to it.
pub(crate) fn parse(text: &str) -> Result<serde_json::Value, EventJsonError> {
    serde_json::from_str(text).map_err(|error| {
        let line_start: usize = text
            .split_inclusive('\n')
            .take(error.line().saturating_sub(1))
            .map(str::len)
            .sum();
        EventJsonError {
            offset: (line_start + error.column().saturating_sub(1)).min(text.len()),
            reason: "not valid JSON",
        }
    })
}

/// The byte at `at`, or 0 past the end (which no JSON token starts with).
#[inline(always)]
fn byte(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

/// The first byte at or after `at` that is not whitespace.
#[inline(always)]
fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    // Tokens mostly follow no whitespace or a single space: settle those in one or two
    // comparisons (every whitespace byte is at most b' ').
    if byte(bytes, at) > b' ' {
        return at;
    }
    if byte(bytes, at) == b' ' && byte(bytes, at + 1) > b' ' {
        return at + 1;
    }
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The walker stopped at malformed JSON; what and where are in [`Walker::failure`]. Kept
/// apart from the error itself so that every `Result` on the hot path fits in a register.
struct Failed;

struct Walker<'t, 'f, 'a> {
    tree: &'t PathTree,
    index: &'t StructuralIndex,
    bytes: &'a [u8],
    text: &'a str,
    /// The byte being decoded, inside a string with escapes (the rest of the walk passes
    /// positions along instead).
    pos: usize,
    flat: &'f mut FlatEvent<'a>,
    /// Why the walk stopped, once it has.
    failure: Cell<EventJsonError>,
    /// Some object may repeat a key (see [`Walker::object`]).
    repeated_key: bool,
    /// Whether values at lazy nodes are put aside (the first walk) or walked (later).
    lazy: bool,
    put_aside: SmallVec<[Region; 2]>,
}

impl<'t, 'f, 'a> Walker<'t, 'f, 'a> {
    fn new(
        tree: &'t PathTree,
        index: &'t StructuralIndex,
        text: &'a str,
        flat: &'f mut FlatEvent<'a>,
        lazy: bool,
    ) -> Self {
        Walker {
            tree,
            index,
            bytes: text.as_bytes(),
            text,
            pos: 0,
            flat,
            failure: Cell::new(EventJsonError {
                offset: 0,
                reason: "",
            }),
            repeated_key: false,
            lazy,
            put_aside: SmallVec::new(),
        }
    }

    /// Skip the object or array at `at`, at lazy `node`, keeping where it is for later.
    fn put_aside(&mut self, node: u32, depth: usize, at: usize) -> Result<usize, Failed> {
        let end = self
            .index
            .container_end(at)
            .ok_or_else(|| self.fail(at, "unterminated object or array"))?;
        let root = self.tree.lazy_root(node).unwrap_or(node);
        self.put_aside.push(Region {
            node,
            root,
            depth,
            at,
            trail: SmallVec::from_slice(self.flat.open_trail()),
            walked: false,
        });
        Ok(end)
    }

    /// Record why the walk stops at byte `at`.
    #[cold]
    fn fail(&self, at: usize, reason: &'static str) -> Failed {
        let reason = if at >= self.bytes.len() {
            "unexpected end of input"
        } else {
            reason
        };
        self.failure.set(EventJsonError { offset: at, reason });
        Failed
    }

    /// Record why the walk stops at `self.pos` (while decoding a string).
    #[cold]
    fn error(&self, reason: &'static str) -> Failed {
        self.fail(self.pos, reason)
    }

    #[inline(always)]
    fn byte(&self, at: usize) -> u8 {
        byte(self.bytes, at)
    }

    #[inline(always)]
    fn skip_ws(&self, at: usize) -> usize {
        skip_ws(self.bytes, at)
    }

    // Every step below takes the position of its first byte and returns the position just
    // past what it read: the position stays in a register instead of going through memory.

    fn event(&mut self) -> Result<(), Failed> {
        let start = self.skip_ws(0);
        if self.byte(start) != b'{' {
            return Err(self.fail(start, "an event must be a JSON object"));
        }
        let end = self.object(ROOT, 0, start)?;
        let rest = self.skip_ws(end);
        if rest != self.bytes.len() {
            return Err(self.fail(rest, "unexpected text after the event"));
        }
        Ok(())
    }

    /// The object whose `{` is at `at`. Its quotes come from a
    /// [`Quotes`](super::structural::Quotes) cursor: the end of a key, and where a string
    /// value starts and ends, are bit operations on a register, so each member does not
    /// wait for the bytes of the one before to be read. Those bytes (`:`, `,`,
    /// whitespace) are checked all the same, beside the cursor.
    fn object(&mut self, node: u32, depth: usize, at: usize) -> Result<usize, Failed> {
        if depth > MAX_DEPTH {
            return Err(self.fail(at, "nesting is too deep"));
        }
        // Copies of the walker's shared parts: they stay in registers across the calls
        // below, which could otherwise change them as far as the compiler knows.
        let (bytes, index, tree) = (self.bytes, self.index, self.tree);
        let here = tree.node(node);
        let first = skip_ws(bytes, at + 1);
        match byte(bytes, first) {
            b'}' => return Ok(first + 1),
            b'"' => {}
            _ => return Err(self.fail(first, "expected a key")),
        }
        let mut quotes = index.quotes_from(first + 1);
        let mut open = first;
        // The path-tree children met so far, one bit each by their rank among siblings. A
        // bit met twice means a repeated key, or (past 64 children, or for a dotted key,
        // which reaches a grandchild) two keys sharing a bit; either way the event goes to
        // the exact reading (see `Halt::RepeatedKey`).
        let mut seen = 0u64;
        loop {
            // Every opening quote has a closing one: `flatten` refused unterminated text.
            let close = index
                .next_quote(&mut quotes)
                .ok_or_else(|| self.fail(open, "unterminated string"))?;
            let child = self.key(here, open, close)?;
            if let Some(child) = child {
                let bit = 1u64 << (tree.rank(child) % 64);
                self.repeated_key |= seen & bit != 0;
                seen |= bit;
            }
            let value = self.colon(bytes, close + 1)?;
            let end = if byte(bytes, value) == b'"' {
                // Only `:` and whitespace lie between: the next quote opens this value.
                debug_assert_eq!(index.next_quote(&mut quotes.clone()), Some(value));
                index.pass_quote(&mut quotes);
                let value_close = index
                    .next_quote(&mut quotes)
                    .ok_or_else(|| self.fail(value, "unterminated string"))?;
                if let Some(path) = child.and_then(|child| tree.path(child)) {
                    self.string_leaf(path, value, value_close)?;
                }
                value_close + 1
            } else {
                let end = match child {
                    Some(child) => self.member(child, depth + 1, value)?,
                    None => self.skip_value(value)?,
                };
                quotes = index.quotes_from(end);
                end
            };
            let separator = skip_ws(bytes, end);
            match byte(bytes, separator) {
                b',' => {
                    let next = skip_ws(bytes, separator + 1);
                    if byte(bytes, next) != b'"' {
                        return Err(self.fail(next, "expected a key"));
                    }
                    // Only `,` and whitespace lie between: the next quote is this one. Its
                    // place is taken from the cursor, not from `next`, so that the key's
                    // bytes can be read without waiting for the bytes before them.
                    let key_open = index.next_quote(&mut quotes);
                    debug_assert_eq!(key_open, Some(next));
                    open = key_open.unwrap_or(next);
                }
                b'}' => return Ok(separator + 1),
                _ => return Err(self.fail(separator, "expected `,` or `}`")),
            }
        }
    }

    /// The value after the `:` that should follow a key ending at `at` in `bytes`.
    #[inline(always)]
    fn colon(&self, bytes: &[u8], at: usize) -> Result<usize, Failed> {
        let at = skip_ws(bytes, at);
        if byte(bytes, at) != b':' {
            return Err(self.fail(at, "expected `:`"));
        }
        Ok(skip_ws(bytes, at + 1))
    }

    /// The string leaf whose quotes are at `open` and `close`, stored at `path`.
    #[inline(always)]
    fn string_leaf(&mut self, path: u32, open: usize, close: usize) -> Result<(), Failed> {
        if self.index.is_plain(open + 1, close) {
            self.flat.push_str(path, &self.text[open + 1..close]);
        } else {
            let text = self.unescaped_string(open)?;
            self.flat.push(path, Leaf::Str(text));
        }
        Ok(())
    }

    /// The array whose `[` is at `at`.
    fn array(&mut self, node: u32, depth: usize, at: usize) -> Result<usize, Failed> {
        if depth > MAX_DEPTH {
            return Err(self.fail(at, "nesting is too deep"));
        }
        let array = self.flat.new_array(node);
        let mut at = self.skip_ws(at + 1);
        if self.byte(at) == b']' {
            return Ok(at + 1);
        }
        let mut index = 0u32;
        loop {
            let container = matches!(self.byte(at), b'{' | b'[');
            if container {
                self.flat.enter(array, index);
            }
            at = self.member(node, depth + 1, at)?;
            if container {
                self.flat.leave();
            }
            index += 1;
            at = self.skip_ws(at);
            match self.byte(at) {
                b',' => at = self.skip_ws(at + 1),
                b']' => return Ok(at + 1),
                _ => return Err(self.fail(at, "expected `,` or `]`")),
            }
        }
    }

    /// The value at `at`, which sits at path-tree `node`.
    fn member(&mut self, node: u32, depth: usize, at: usize) -> Result<usize, Failed> {
        let first = self.byte(at);
        match first {
            b'{' | b'[' if self.lazy && self.tree.is_lazy(node) => {
                return self.put_aside(node, depth, at);
            }
            b'{' if self.tree.has_children(node) => return self.object(node, depth, at),
            b'[' => return self.array(node, depth, at),
            _ => {}
        }
        let Some(path) = self.tree.path(node) else {
            return self.skip_value(at);
        };
        // Each leaf is built where it is stored: built here and moved, the Cow inside was
        // written and read back in halves, which stalled the CPU on every leaf.
        match first {
            b'{' => self.skip_value(at),
            b'"' => {
                let close = self
                    .index
                    .string_end(at + 1)
                    .ok_or_else(|| self.fail(at, "unterminated string"))?;
                self.string_leaf(path, at, close)?;
                Ok(close + 1)
            }
            b't' => {
                let end = self.literal(at, "true")?;
                self.flat.push(path, Leaf::Bool(true));
                Ok(end)
            }
            b'f' => {
                let end = self.literal(at, "false")?;
                self.flat.push(path, Leaf::Bool(false));
                Ok(end)
            }
            b'n' => {
                let end = self.literal(at, "null")?;
                self.flat.push(path, Leaf::Null);
                Ok(end)
            }
            _ => {
                let end = self.number(at)?;
                self.flat.push_number(path, &self.text[at..end]);
                Ok(end)
            }
        }
    }

    /// Skip the value at `at`, which no pattern looks into, checking only that it is
    /// closed: strings and containers end where the structural index says.
    #[inline]
    fn skip_value(&self, at: usize) -> Result<usize, Failed> {
        match self.byte(at) {
            b'"' => match self.index.string_end(at + 1) {
                Some(end) => Ok(end + 1),
                None => Err(self.fail(at, "unterminated string")),
            },
            b'{' | b'[' => self
                .index
                .container_end(at)
                .ok_or_else(|| self.fail(at, "unterminated object or array")),
            b't' => self.literal(at, "true"),
            b'f' => self.literal(at, "false"),
            b'n' => self.literal(at, "null"),
            _ => self.number(at),
        }
    }

    /// Just past the literal `word` at `at`.
    fn literal(&self, at: usize, word: &'static str) -> Result<usize, Failed> {
        if self.bytes[at..].starts_with(word.as_bytes()) {
            Ok(at + word.len())
        } else {
            Err(self.fail(at, "unknown literal"))
        }
    }

    /// Just past the number at `at`.
    #[inline]
    fn number(&self, at: usize) -> Result<usize, Failed> {
        let mut end = at;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(end) {
            end += 1;
        }
        if end == at {
            return Err(self.fail(at, "expected a value"));
        }
        Ok(end)
    }

    /// The path-tree child that the key whose quotes are at `open` and `close` leads to
    /// from `node`.
    #[inline(always)]
    fn key(&mut self, node: Node<'_>, open: usize, close: usize) -> Result<Option<u32>, Failed> {
        let (bytes, index) = (self.bytes, self.index);
        let start = open + 1;
        if index.is_plain(start, close) {
            let head = || KeyHead::within(bytes, start, close);
            return Ok(node.descend(&bytes[start..close], head));
        }
        let key = self.unescaped_string(open)?;
        Ok(node.descend(key.as_bytes(), || KeyHead::of(key.as_bytes())))
    }

    /// The string whose `"` is at `at`, which has escapes (or a control character, an
    /// error), decoded; `self.pos` ends just past its closing quote.
    #[cold]
    #[inline(never)]
    fn unescaped_string(&mut self, at: usize) -> Result<Cow<'a, str>, Failed> {
        let start = at + 1;
        self.pos = at;
        let end = self
            .index
            .string_end(start)
            .ok_or_else(|| self.error("unterminated string"))?;
        let mut owned = String::with_capacity(end - start);
        self.pos = start;
        while self.pos < end {
            let run = self.bytes[self.pos..end]
                .iter()
                .position(|&b| b == b'\\' || b < 0x20)
                .map_or(end, |at| self.pos + at);
            owned.push_str(&self.text[self.pos..run]);
            self.pos = run;
            if run < end {
                if self.bytes[run] != b'\\' {
                    return Err(self.error("control character in string"));
                }
                let escaped = self.escape()?;
                owned.push(escaped);
            }
        }
        self.pos = end + 1;
        Ok(Cow::Owned(owned))
    }

    /// One escape sequence at `\`.
    fn escape(&mut self) -> Result<char, Failed> {
        let code = self.bytes.get(self.pos + 1).copied();
        self.pos += 2;
        Ok(match code {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let high = self.hex4()?;
                if (0xD800..0xDC00).contains(&high) {
                    if self.bytes.get(self.pos) != Some(&b'\\')
                        || self.bytes.get(self.pos + 1) != Some(&b'u')
                    {
                        return Err(self.error("unpaired surrogate"));
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.error("unpaired surrogate"));
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    char::from_u32(code).ok_or_else(|| self.error("bad unicode escape"))?
                } else {
                    char::from_u32(high).ok_or_else(|| self.error("unpaired surrogate"))?
                }
            }
            _ => return Err(self.error("bad escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, Failed> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("bad unicode escape"))?;
        let value =
            u32::from_str_radix(digits, 16).map_err(|_| self.error("bad unicode escape"))?;
        self.pos += 4;
        Ok(value)
    }
}
