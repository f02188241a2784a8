//! Byte searches for the JSON walker. Skipping the parts of an event no pattern names is
//! most of the matching work, so this is the hot loop: string ends are found eight bytes
//! per step (word-at-a-time), while skipping a whole object or array uses a byte table,
//! which measured faster on events whose strings are short.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `word` equal to `byte` (lowest flagged byte is exact).
#[inline]
fn equal_bytes(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// High bit set in each byte of `word` below 0x20 (lowest flagged byte is exact).
#[inline]
fn control_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES * 0x20) & !word & HIGHS
}

#[inline]
fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// Index of the first `"`, `\` or control character at or after `from`, or `bytes.len()`.
#[inline]
pub(crate) fn string_stop(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(word) = word_at(bytes, at) {
        let hits = equal_bytes(word, b'"') | equal_bytes(word, b'\\') | control_bytes(word);
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && !matches!(bytes[at], b'"' | b'\\' | 0..=0x1f) {
        at += 1;
    }
    at
}

/// Index of the first `"` or `\\` at or after `from`, or `bytes.len()`.
#[inline]
fn quote_or_backslash(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(word) = word_at(bytes, at) {
        let hits = equal_bytes(word, b'"') | equal_bytes(word, b'\\');
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && !matches!(bytes[at], b'"' | b'\\') {
        at += 1;
    }
    at
}

/// Just past the closing quote of a string whose opening quote is at `from - 1`, or
/// `None` if it never closes. Only for skipping: the contents are not checked.
#[inline]
pub(crate) fn string_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        at = quote_or_backslash(bytes, at);
        match bytes.get(at)? {
            b'"' => return Some(at + 1),
            _ => at += 2,
        }
    }
}

/// What a byte means to [`container_end`]: 0 nothing, 1 quote, 2 backslash, 3 opening
/// bracket, 4 closing bracket.
const CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    classes[b'"' as usize] = 1;
    classes[b'\\' as usize] = 2;
    classes[b'{' as usize] = 3;
    classes[b'[' as usize] = 3;
    classes[b'}' as usize] = 4;
    classes[b']' as usize] = 4;
    classes
};

/// Just past the bracket that closes the object or array opening at `from`, or `None` if
/// it never closes. Only for skipping: brackets are counted, not paired by kind. Event
/// strings are short, so a byte table beats word-at-a-time search here.
pub(crate) fn container_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        match (CLASSES[byte as usize], in_string) {
            (0, _) => {}
            (1, _) => in_string = !in_string,
            (2, true) => at += 1,
            (3, false) => depth += 1,
            (4, false) => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_stop_in_every_position() {
        for len in 0..20 {
            for stop in 0..len {
                for byte in [b'"', b'\\', b'\n', 0x1f] {
                    let mut text = vec![b'a'; len];
                    text[stop] = byte;
                    assert_eq!(
                        string_stop(&text, 0),
                        stop,
                        "len {len} stop {stop} byte {byte}"
                    );
                }
            }
            assert_eq!(string_stop(&vec![b'a'; len], 0), len);
        }
        assert_eq!(string_stop(b"\xc3\xa9\xe2\x82\xac\"", 0), 5);
        assert_eq!(string_stop(b"ab\"cd\"", 3), 5);
    }

    #[test]
    fn skips_strings_and_containers() {
        let text = br#"{"a": "x}\"]", "b": [1, {"c": "\\"}], "d": {}} tail"#;
        assert_eq!(container_end(text, 0), Some(text.len() - 5));
        assert_eq!(string_end(br#""ab\"c" rest"#, 1), Some(7));
        assert_eq!(string_end(br#""abc"#, 1), None);
        assert_eq!(container_end(br#"[1, [2, "]"]"#, 0), None);
        assert_eq!(container_end(b"[]", 0), Some(2));
    }
}
