//! Word-at-a-time byte searches for the JSON walker: finding the end of a string or the
//! next structural character eight bytes per step instead of one. Skipping the parts of an
//! event no pattern names is most of the matching work, so this is the hot loop.

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

/// Index of the first `"`, `{`, `}`, `[` or `]` at or after `from`, or `bytes.len()`.
#[inline]
pub(crate) fn structural(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(word) = word_at(bytes, at) {
        // `[`/`{` and `]`/`}` differ only in bit 0x20.
        let folded = word | (ONES * 0x20);
        let hits = equal_bytes(word, b'"') | equal_bytes(folded, b'{') | equal_bytes(folded, b'}');
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && !matches!(bytes[at], b'"' | b'{' | b'}' | b'[' | b']') {
        at += 1;
    }
    at
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
    fn finds_structural_characters_only() {
        for byte in [b'"', b'{', b'}', b'[', b']'] {
            for stop in 0..17 {
                let mut text = vec![b'x'; 17];
                text[stop] = byte;
                assert_eq!(structural(&text, 0), stop);
            }
        }
        // Bytes that equal a bracket only after folding must not stop the scan.
        assert_eq!(structural(b"[]{}", 0), 0);
        assert_eq!(structural(b"\x5a\x7a\x5c\x7c;:,abcdefgh", 0), 15);
    }
}
