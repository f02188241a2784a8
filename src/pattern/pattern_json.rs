//! Pattern text read into a tree that remembers where each value sits, so an invalid
//! pattern can be reported at the position EventBridge reports ("at [Source: …; line: 1,
//! column: 18]"). EventBridge reads patterns with a streaming parser; its position for an
//! error is just past the part of the last token it had read: past a bracket, past a whole
//! number or literal, and past only the opening quote of a string whose text it had not
//! needed yet.

/// One JSON value with its byte span in the pattern text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Members in text order; duplicate keys are kept, as the streaming reader sees them.
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Str(String),
    /// The number's literal text.
    Num(String),
    Bool(bool),
    Null,
}

impl Node {
    /// Where the streaming reader stands once it has read this value's first token (for a
    /// string: only its opening quote).
    pub(crate) fn token_end(&self) -> usize {
        match self.kind {
            Kind::Object(_) | Kind::Array(_) | Kind::Str(_) => self.start + 1,
            Kind::Num(_) | Kind::Bool(_) | Kind::Null => self.end,
        }
    }

    /// The token's text as the reader prints it (`{`, `[`, a number, `true`, …).
    pub(crate) fn token_text(&self) -> String {
        match &self.kind {
            Kind::Object(_) => "{".into(),
            Kind::Array(_) => "[".into(),
            Kind::Str(s) | Kind::Num(s) => s.clone(),
            Kind::Bool(b) => b.to_string(),
            Kind::Null => "null".into(),
        }
    }
}

/// Parse pattern text, or say why it is not JSON.
pub(crate) fn parse(text: &str) -> Result<Node, String> {
    let mut reader = Reader { text, pos: 0 };
    let node = reader.value(0)?;
    reader.skip_ws();
    if reader.pos != text.len() {
        return Err(format!("unexpected text at byte {}", reader.pos));
    }
    Ok(node)
}

const MAX_DEPTH: usize = 128;

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.pos))
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return self.fail("nesting too deep");
        }
        self.skip_ws();
        let start = self.pos;
        let kind = match self.bytes().get(self.pos) {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::Str(self.string()?),
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => Kind::Num(self.number()?),
            Some(_) => return self.fail("unexpected character"),
            None => return self.fail("unexpected end of input"),
        };
        Ok(Node {
            kind,
            start,
            end: self.pos,
        })
    }

    fn object(&mut self, depth: usize) -> Result<Kind, String> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.bytes().get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Kind::Object(members));
        }
        loop {
            self.skip_ws();
            if self.bytes().get(self.pos) != Some(&b'"') {
                return self.fail("expected a field name");
            }
            let key = self.string()?;
            self.skip_ws();
            if self.bytes().get(self.pos) != Some(&b':') {
                return self.fail("expected `:`");
            }
            self.pos += 1;
            members.push((key, self.value(depth + 1)?));
            self.skip_ws();
            match self.bytes().get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Kind::Object(members));
                }
                _ => return self.fail("expected `,` or `}`"),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes().get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Kind::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.bytes().get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Kind::Array(items));
                }
                _ => return self.fail("expected `,` or `]`"),
            }
        }
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Kind, String> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(kind)
        } else {
            self.fail("unknown literal")
        }
    }

    fn number(&mut self) -> Result<String, String> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes().get(self.pos)
        {
            self.pos += 1;
        }
        let text = &self.text[start..self.pos];
        // Check the grammar by letting serde_json read it.
        match serde_json::from_str::<serde_json::Number>(text) {
            Ok(_) => Ok(text.to_string()),
            Err(err) => {
                self.pos = start;
                if without_position(&err) == "number out of range" {
                    self.fail("number out of range")
                } else {
                    self.fail("malformed number")
                }
            }
        }
    }

    /// A string at `"`, unescaped; serde_json checks the escapes.
    fn string(&mut self) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.bytes().get(self.pos) {
                Some(b'"') => break,
                Some(b'\\') => self.pos += 2,
                Some(0..=0x1f) => return self.fail("control character in string"),
                Some(_) => self.pos += 1,
                None => return self.fail("unterminated string"),
            }
        }
        self.pos += 1;
        let quoted = self.text.get(start..self.pos).unwrap_or_default();
        serde_json::from_str::<String>(quoted).map_err(|err| {
            // serde_json counts from the string's quote; say where in the pattern it is.
            // (A string holds no raw line break, so its columns are bytes from the quote.)
            let at = start + err.column().saturating_sub(1);
            format!("{} at byte {at}", without_position(&err))
        })
    }
}

/// serde_json's message without its own " at line L column C".
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

/// Line and column (1-based) of a byte offset, counted as EventBridge's reader counts them
/// (columns in UTF-16 units; `\r\n` is one line break).
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    let mut chars = text[..offset.min(text.len())].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                column = 1;
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line += 1;
                column = 1;
            }
            other => column += other.len_utf16(),
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_each_value() {
        let text = r#"{"a": [1, "x", {"b": null}], "c": true}"#;
        let root = parse(text).unwrap();
        let Kind::Object(members) = &root.kind else {
            panic!("not an object")
        };
        let (key, array) = &members[0];
        assert_eq!(key, "a");
        assert_eq!(&text[array.start..array.end], r#"[1, "x", {"b": null}]"#);
        let Kind::Array(items) = &array.kind else {
            panic!("not an array")
        };
        assert_eq!(items[1].token_end(), items[1].start + 1);
        assert_eq!(items[0].token_end(), items[0].end);
        assert_eq!(root.end, text.len());
    }

    #[test]
    fn keeps_duplicate_keys_and_unescapes() {
        let root = parse(r#"{"a": "\u00e9\n", "a": 2}"#).unwrap();
        let Kind::Object(members) = root.kind else {
            panic!("not an object")
        };
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].1.kind, Kind::Str("é\n".into()));
    }

    #[test]
    fn rejects_malformed_json() {
        for bad in [
            "{",
            r#"{"a" 1}"#,
            "[1,]",
            r#"{"a": tru}"#,
            "01x",
            r#""\x""#,
            "{} x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines_and_columns() {
        let text = "{\n  \"a\": [],\r\n  \"é\": 1}";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 2), (2, 1));
        assert_eq!(line_column(text, 11), (2, 10));
        assert_eq!(line_column(text, text.find('1').unwrap()), (3, 8));
    }
}
