//! The `wildcard` operator: `*` matches zero or more characters, `\*` is a literal asterisk
//! and `\\` a literal backslash. EventBridge rejects `**` and any other escape, naming the
//! position in the quoted value (so the first character of the operand is position 1).

/// A parsed wildcard expression: literal pieces separated by `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Wildcard {
    /// Literal pieces; there is a `*` between each two consecutive pieces.
    pieces: Vec<String>,
}

impl Wildcard {
    pub(crate) fn parse(text: &str) -> Result<Wildcard, String> {
        let bytes = text.as_bytes();
        let mut pieces = vec![Vec::new()];
        let mut index = 0;
        while index < bytes.len() {
            // AWS counts positions in the value with its opening quote.
            let position = index + 1;
            match bytes[index] {
                b'*' => {
                    if bytes.get(index + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {position}"));
                    }
                    pieces.push(Vec::new());
                }
                b'\\' => match bytes.get(index + 1) {
                    Some(&next @ (b'*' | b'\\')) => {
                        push_byte(&mut pieces, next);
                        index += 1;
                    }
                    _ => return Err(format!("Invalid escape character at pos {position}")),
                },
                other => push_byte(&mut pieces, other),
            }
            index += 1;
        }
        let pieces = pieces
            .into_iter()
            .map(|piece| String::from_utf8(piece).map_err(|_| "Invalid UTF-8".to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Wildcard { pieces })
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return value.is_empty(),
        };
        let Some(mut remaining) = value.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return remaining.is_empty();
        };
        // Greedy leftmost placement of middle pieces is optimal for `*`-only globs.
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.ends_with(last.as_str())
    }
}

fn push_byte(pieces: &mut [Vec<u8>], byte: u8) {
    if let Some(last) = pieces.last_mut() {
        last.push(byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        Wildcard::parse(pattern).unwrap().matches(value)
    }

    #[test]
    fn star_matches_any_run_of_characters() {
        assert!(matches("*.png", "image.png"));
        assert!(matches("*.png", ".png"));
        assert!(!matches("*.png", "image.jpg"));
        assert!(matches("arn:aws:s3:::*/lib/*", "arn:aws:s3:::bucket/lib/x"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "acb"));
        assert!(matches("*", ""));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(matches("*ab*ab", "xabab"));
    }

    #[test]
    fn escapes_make_literals() {
        assert!(matches(r"a\*b", "a*b"));
        assert!(!matches(r"a\*b", "axb"));
        assert!(matches(r"a\\*", r"a\anything"));
    }

    #[test]
    fn consecutive_wildcards_and_bad_escapes_are_errors() {
        assert_eq!(
            Wildcard::parse("a**").unwrap_err(),
            "Consecutive wildcard characters at pos 2"
        );
        assert_eq!(
            Wildcard::parse(r"ab\c").unwrap_err(),
            "Invalid escape character at pos 3"
        );
        assert_eq!(
            Wildcard::parse(r"ab\").unwrap_err(),
            "Invalid escape character at pos 3"
        );
    }
}
