//! Flattens an event straight from its JSON text, decoding only the values at paths some
//! pattern names and skipping everything else. This is the fast path of
//! [`super::Matcher::matches_json`]: no `serde_json::Value` is built, and the ends of strings
//! and of skipped objects and arrays come from a [`StructuralIndex`] of the text rather than
//! from reading it byte by byte.

use std::borrow::Cow;
use std::cell::Cell;

use thiserror::Error;

use super::flat_event::FlatEvent;
use super::leaf::Leaf;
use super::path_tree::{KeyHead, PathTree, ROOT};
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

pub(crate) fn flatten<'a>(tree: &PathTree, text: &'a str) -> Result<FlatEvent<'a>, EventJsonError> {
    let index = StructuralIndex::build(text.as_bytes());
    if index.unterminated() {
        return Err(EventJsonError {
            offset: text.len(),
            reason: "unterminated string",
        });
    }
    let mut walker = Walker {
        tree,
        index: &index,
        bytes: text.as_bytes(),
        text,
        pos: 0,
        flat: FlatEvent::with_capacity(tree.path_count() + 4),
        failure: Cell::new(EventJsonError {
            offset: 0,
            reason: "",
        }),
    };
    match walker.event() {
        Ok(()) => {
            let mut flat = walker.flat;
            flat.finish();
            Ok(flat)
        }
        Err(Failed) => Err(walker.failure.into_inner()),
    }
}

/// The walker stopped at malformed JSON; what and where are in [`Walker::failure`]. Kept
/// apart from the error itself so that every `Result` on the hot path fits in a register.
struct Failed;

struct Walker<'t, 'a> {
    tree: &'t PathTree,
    index: &'t StructuralIndex,
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    flat: FlatEvent<'a>,
    failure: Cell<EventJsonError>,
}

impl<'a> Walker<'_, 'a> {
    /// Record why the walk stops here.
    #[cold]
    fn error(&self, reason: &'static str) -> Failed {
        self.failure.set(EventJsonError {
            offset: self.pos,
            reason,
        });
        Failed
    }

    fn event(&mut self) -> Result<(), Failed> {
        if self.peek()? != b'{' {
            return Err(self.error("an event must be a JSON object"));
        }
        self.object(ROOT, 0)?;
        self.skip_ws();
        if self.pos != self.bytes.len() {
            return Err(self.error("unexpected text after the event"));
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Result<u8, Failed> {
        self.skip_ws();
        self.bytes
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error("unexpected end of input"))
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), Failed> {
        if self.peek()? != byte {
            return Err(self.error(reason));
        }
        self.pos += 1;
        Ok(())
    }

    fn object(&mut self, node: u32, depth: usize) -> Result<(), Failed> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting is too deep"));
        }
        self.expect(b'{', "expected `{`")?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek()? != b'"' {
                return Err(self.error("expected a key"));
            }
            let child = self.key(node)?;
            self.expect(b':', "expected `:`")?;
            match child {
                Some(child) => self.member(child, depth + 1)?,
                None => self.skip_value()?,
            }
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, node: u32, depth: usize) -> Result<(), Failed> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting is too deep"));
        }
        self.expect(b'[', "expected `[`")?;
        let array = self.flat.new_array();
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0u32;
        loop {
            let container = matches!(self.peek()?, b'{' | b'[');
            if container {
                self.flat.enter(array, index);
            }
            self.member(node, depth + 1)?;
            if container {
                self.flat.leave();
            }
            index += 1;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn member(&mut self, node: u32, depth: usize) -> Result<(), Failed> {
        let first = self.peek()?;
        match first {
            b'{' if self.tree.has_children(node) => return self.object(node, depth),
            b'[' => return self.array(node, depth),
            _ => {}
        }
        let Some(path) = self.tree.path(node) else {
            return self.skip_value();
        };
        // Each leaf is built where it is stored: built here and moved, the Cow inside was
        // written and read back in halves, which stalled the CPU on every leaf.
        match first {
            b'{' => self.skip_value()?,
            b'"' => {
                let start = self.pos + 1;
                match self.index.plain_string_end(start) {
                    Some(end) => {
                        self.pos = end + 1;
                        self.flat.push_str(path, &self.text[start..end]);
                    }
                    None => {
                        let text = self.unescaped_string()?;
                        self.flat.push(path, Leaf::Str(text));
                    }
                }
            }
            b't' => {
                self.literal("true")?;
                self.flat.push(path, Leaf::Bool(true));
            }
            b'f' => {
                self.literal("false")?;
                self.flat.push(path, Leaf::Bool(false));
            }
            b'n' => {
                self.literal("null")?;
                self.flat.push(path, Leaf::Null);
            }
            _ => {
                let text = self.number()?;
                self.flat.push_number(path, text);
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static str) -> Result<(), Failed> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("unknown literal"))
        }
    }

    fn number(&mut self) -> Result<&'a str, Failed> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a value"));
        }
        Ok(&self.text[start..self.pos])
    }

    /// The path-tree child that the key at `"` leads to from `node`, if any.
    #[inline]
    fn key(&mut self, node: u32) -> Result<Option<u32>, Failed> {
        let start = self.pos + 1;
        if let Some(end) = self.index.plain_string_end(start) {
            self.pos = end + 1;
            let head = KeyHead::within(self.bytes, start, end);
            return Ok(self.tree.descend(node, &self.bytes[start..end], head));
        }
        let key = self.unescaped_string()?;
        Ok(self
            .tree
            .descend(node, key.as_bytes(), KeyHead::of(key.as_bytes())))
    }

    /// A string with escapes (or a control character, which is an error), decoded.
    #[cold]
    #[inline(never)]
    fn unescaped_string(&mut self) -> Result<Cow<'a, str>, Failed> {
        let start = self.pos + 1;
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

    /// Skip one value no pattern looks into, checking only that it is closed.
    fn skip_value(&mut self) -> Result<(), Failed> {
        match self.peek()? {
            b'"' => {
                let end = self.index.string_end(self.pos + 1);
                self.pos = end.ok_or_else(|| self.error("unterminated string"))? + 1;
                Ok(())
            }
            b'{' | b'[' => {
                self.pos = self
                    .index
                    .container_end(self.pos)
                    .ok_or_else(|| self.error("unterminated object or array"))?;
                Ok(())
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number().map(drop),
        }
    }
}
