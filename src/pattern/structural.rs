//! Stage one of reading an event, after simdjson: one pass over the text, 64 bytes at a
//! time, marks every quote that opens or closes a string and every bracket outside strings.
//! The walker then finds a string's end, or the end of an object it skips, by looking at
//! these bits instead of at bytes: skipping the parts of an event no pattern names is most
//! of the matching work, and here it costs a few instructions per 64 bytes.
//!
//! On x86_64 each block is classified in one step with AVX-512BW where the CPU has it,
//! else 32 bytes at a time with AVX2; elsewhere a byte table does the same job, slower.

/// What one 64-byte block holds: bit `i` stands for byte `64 * block + i`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Block {
    /// Quotes that open or close a string (escaped quotes are not marked).
    quotes: u64,
    /// `{`, `[`, `}` and `]` outside strings.
    brackets: u64,
    /// `{` and `[` outside strings (a subset of `brackets`).
    opens: u64,
    /// Backslashes and bytes below 0x20 inside strings: a string with either needs a
    /// closer look (unescaping, or refusing a control character JSON forbids there).
    specials: u64,
}

/// The bytes of one block, before string boundaries are known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RawMasks {
    quotes: u64,
    backslashes: u64,
    opens: u64,
    closes: u64,
    controls: u64,
}

/// A cursor over the quotes of the text from some position on: the bits of the current
/// block not yet passed, in a register. Stepping from quote to quote is then a bit
/// operation rather than a load that waits for the previous position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quotes {
    block: usize,
    bits: u64,
}

/// The structural bits of one event text.
#[derive(Debug, Default)]
pub(crate) struct StructuralIndex {
    blocks: Vec<Block>,
    /// No string of the text has a backslash or a control character: every string is
    /// plain, which is most events, and nothing needs checking per string.
    all_plain: bool,
    /// The text ends inside a string.
    unterminated: bool,
}

thread_local! {
    /// The block buffer of the last index this thread dropped: matching one event after
    /// another then allocates no new buffer.
    static SPARE_BLOCKS: std::cell::Cell<Vec<Block>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Drop for StructuralIndex {
    fn drop(&mut self) {
        let blocks = std::mem::take(&mut self.blocks);
        // During thread teardown the spare may already be gone; then the buffer is freed.
        let _ = SPARE_BLOCKS.try_with(|spare| spare.set(blocks));
    }
}

impl StructuralIndex {
    pub(crate) fn build(bytes: &[u8]) -> StructuralIndex {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("pclmulqdq") {
            if std::arch::is_x86_feature_detected!("avx512bw") {
                // SAFETY: the CPU has just been seen to support AVX-512BW and PCLMULQDQ.
                return unsafe { avx512::build(bytes) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has just been seen to support AVX2 and PCLMULQDQ.
                return unsafe { avx2::build(bytes) };
            }
        }
        StructuralIndex::build_with(bytes, classify_bytes, prefix_xor)
    }

    /// The index, classifying each block with `classify` and finding string interiors with
    /// `prefix_xor`. Always inlined, so that each caller gets a loop compiled for its own
    /// instruction set.
    #[inline(always)]
    fn build_with(
        bytes: &[u8],
        classify: impl Fn(&[u8; 64]) -> RawMasks,
        prefix_xor: impl Fn(u64) -> u64,
    ) -> StructuralIndex {
        let mut blocks = SPARE_BLOCKS.take();
        blocks.clear();
        blocks.reserve(bytes.len().div_ceil(64));
        let mut carry = Carry::default();
        let mut specials = 0;
        let mut chunks = bytes.chunks_exact(64);
        for chunk in &mut chunks {
            let chunk: &[u8; 64] = chunk.try_into().expect("chunks_exact yields 64 bytes");
            let block = carry.block(classify(chunk), &prefix_xor);
            specials |= block.specials;
            blocks.push(block);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Spaces are nothing to every mask, so padding with them changes no bit.
            let mut padded = [b' '; 64];
            padded[..rest.len()].copy_from_slice(rest);
            let block = carry.block(classify(&padded), &prefix_xor);
            specials |= block.specials;
            blocks.push(block);
        }
        StructuralIndex {
            blocks,
            all_plain: specials == 0,
            unterminated: carry.in_string,
        }
    }

    /// The first marked position at or after `from` in the mask `pick` selects.
    #[inline(always)]
    fn next(&self, from: usize, pick: impl Fn(&Block) -> u64) -> Option<usize> {
        let mut at = from / 64;
        let mut bits = pick(self.blocks.get(at)?) & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                return Some(at * 64 + bits.trailing_zeros() as usize);
            }
            at += 1;
            bits = pick(self.blocks.get(at)?);
        }
    }

    /// The quote that closes the string whose contents start at `from`.
    #[inline(always)]
    pub(crate) fn string_end(&self, from: usize) -> Option<usize> {
        self.next(from, |b| b.quotes)
    }

    /// The end of the string whose contents start at `from` if it is plain (no backslash,
    /// no control character): then its closing quote is the first quote or special byte.
    #[inline(always)]
    pub(crate) fn plain_string_end(&self, from: usize) -> Option<usize> {
        let stop = self.next(from, |b| b.quotes | b.specials)?;
        (self.blocks[stop / 64].quotes >> (stop % 64) & 1 == 1).then_some(stop)
    }

    /// The quotes at or after `from`.
    #[inline(always)]
    pub(crate) fn quotes_from(&self, from: usize) -> Quotes {
        let block = from / 64;
        let bits = self
            .blocks
            .get(block)
            .map_or(0, |b| b.quotes & (!0u64 << (from % 64)));
        Quotes { block, bits }
    }

    /// The next quote of `quotes`, which then moves past it.
    #[inline(always)]
    pub(crate) fn next_quote(&self, quotes: &mut Quotes) -> Option<usize> {
        while quotes.bits == 0 {
            quotes.block += 1;
            quotes.bits = self.blocks.get(quotes.block)?.quotes;
        }
        let at = quotes.block * 64 + quotes.bits.trailing_zeros() as usize;
        quotes.bits &= quotes.bits - 1;
        Some(at)
    }

    /// Move `quotes` past its next quote, whose place the caller already knows.
    #[inline(always)]
    pub(crate) fn pass_quote(&self, quotes: &mut Quotes) {
        while quotes.bits == 0 {
            quotes.block += 1;
            match self.blocks.get(quotes.block) {
                Some(block) => quotes.bits = block.quotes,
                None => return,
            }
        }
        quotes.bits &= quotes.bits - 1;
    }

    /// Whether the string from `from` up to its closing quote at `end` is plain (no
    /// backslash, no control character).
    #[inline(always)]
    pub(crate) fn is_plain(&self, from: usize, end: usize) -> bool {
        if self.all_plain {
            return true;
        }
        if from / 64 == end / 64 {
            let span = (!0u64 << (from % 64)) & !(!0u64 << (end % 64));
            self.blocks[end / 64].specials & span == 0
        } else {
            self.plain_string_end(from) == Some(end)
        }
    }

    /// Just past the bracket that closes the object or array opening at `from`, or `None`
    /// if it never closes. Brackets are counted, not paired by kind: this is for skipping.
    pub(crate) fn container_end(&self, from: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut at = from / 64;
        let first = self.blocks.get(at)?;
        let mut brackets = first.brackets & (!0u64 << (from % 64));
        let mut opens = first.opens;
        loop {
            while brackets != 0 {
                let bit = brackets.trailing_zeros();
                brackets &= brackets - 1;
                if opens >> bit & 1 == 1 {
                    depth += 1;
                } else {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(at * 64 + bit as usize + 1);
                    }
                }
            }
            at += 1;
            let block = self.blocks.get(at)?;
            brackets = block.brackets;
            opens = block.opens;
        }
    }

    /// Whether the text ends inside a string.
    pub(crate) fn unterminated(&self) -> bool {
        self.unterminated
    }
}

/// What one block passes to the next: an open string, a pending escape.
#[derive(Debug, Default)]
struct Carry {
    in_string: bool,
    escape_next: bool,
}

impl Carry {
    #[inline(always)]
    fn block(&mut self, raw: RawMasks, prefix_xor: &impl Fn(u64) -> u64) -> Block {
        let escaped = self.escaped(raw.backslashes);
        let quotes = raw.quotes & !escaped;
        // Bit i is set when an odd number of quotes sit at or before i: inside a string,
        // counting its opening quote but not its closing one.
        let inside = prefix_xor(quotes) ^ if self.in_string { !0 } else { 0 };
        self.in_string = inside >> 63 == 1;
        let outside = !inside;
        let opens = raw.opens & outside;
        Block {
            quotes,
            brackets: opens | (raw.closes & outside),
            opens,
            specials: (raw.backslashes | raw.controls) & inside,
        }
    }

    /// Bytes that follow an unescaped backslash. Backslashes are rare in events, so this
    /// walks them one by one.
    fn escaped(&mut self, backslashes: u64) -> u64 {
        let mut escaped = u64::from(self.escape_next);
        self.escape_next = false;
        let mut bits = backslashes;
        while bits != 0 {
            let bit = bits.trailing_zeros();
            bits &= bits - 1;
            if escaped >> bit & 1 == 1 {
                continue;
            }
            if bit == 63 {
                self.escape_next = true;
            } else {
                escaped |= 1 << (bit + 1);
            }
        }
        escaped
    }
}

/// Bit `i` of the result is the parity of bits `0..=i`: the portable way, six shifts.
#[inline]
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// Bit flags of [`CLASSES`].
const QUOTE: u8 = 1;
const BACKSLASH: u8 = 2;
const OPEN: u8 = 4;
const CLOSE: u8 = 8;
const CONTROL: u8 = 16;

const CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        classes[byte] = CONTROL;
        byte += 1;
    }
    classes[b'"' as usize] = QUOTE;
    classes[b'\\' as usize] = BACKSLASH;
    classes[b'{' as usize] = OPEN;
    classes[b'[' as usize] = OPEN;
    classes[b'}' as usize] = CLOSE;
    classes[b']' as usize] = CLOSE;
    classes
};

/// The portable classification, one byte at a time.
#[cfg_attr(
    target_arch = "x86_64",
    allow(dead_code, reason = "tests compare SSE2 with it")
)]
fn classify_bytes(chunk: &[u8; 64]) -> RawMasks {
    let mut masks = RawMasks::default();
    for (i, &byte) in chunk.iter().enumerate() {
        let class = CLASSES[byte as usize];
        let bit = 1u64 << i;
        let flag = |f: u8| if class & f != 0 { bit } else { 0 };
        masks.quotes |= flag(QUOTE);
        masks.backslashes |= flag(BACKSLASH);
        masks.opens |= flag(OPEN);
        masks.closes |= flag(CLOSE);
        masks.controls |= flag(CONTROL);
    }
    masks
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x, _mm_set1_epi8,
    };

    /// [`super::prefix_xor`] in one carry-less multiplication by all ones, as simdjson does.
    #[target_feature(enable = "pclmulqdq")]
    pub(super) fn prefix_xor(bits: u64) -> u64 {
        let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, bits as i64), _mm_set1_epi8(-1), 0);
        _mm_cvtsi128_si64(product) as u64
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };

    use super::{RawMasks, StructuralIndex, clmul};

    #[target_feature(enable = "avx2,pclmulqdq")]
    pub(super) fn build(bytes: &[u8]) -> StructuralIndex {
        StructuralIndex::build_with(
            bytes,
            |chunk| classify(chunk),
            |bits| clmul::prefix_xor(bits),
        )
    }

    #[target_feature(enable = "avx2")]
    fn mask(equal: __m256i, lane: usize) -> u64 {
        u64::from(_mm256_movemask_epi8(equal) as u32) << (lane * 32)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn classify(chunk: &[u8; 64]) -> RawMasks {
        let splat = |byte: u8| _mm256_set1_epi8(byte as i8);
        let mut masks = RawMasks::default();
        for (lane, part) in chunk.chunks_exact(32).enumerate() {
            // SAFETY: `part` is 32 readable bytes and this load has no alignment
            // requirement.
            let bytes = unsafe { _mm256_loadu_si256(part.as_ptr().cast()) };
            // `{` and `[` differ only in bit 0x20, as do `}` and `]`.
            let folded = _mm256_or_si256(bytes, splat(0x20));
            masks.quotes |= mask(_mm256_cmpeq_epi8(bytes, splat(b'"')), lane);
            masks.backslashes |= mask(_mm256_cmpeq_epi8(bytes, splat(b'\\')), lane);
            masks.opens |= mask(_mm256_cmpeq_epi8(folded, splat(b'{')), lane);
            masks.closes |= mask(_mm256_cmpeq_epi8(folded, splat(b'}')), lane);
            let below_space = _mm256_cmpeq_epi8(_mm256_min_epu8(bytes, splat(0x1f)), bytes);
            masks.controls |= mask(below_space, lane);
        }
        masks
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::{
        _mm512_cmpeq_epi8_mask, _mm512_loadu_si512, _mm512_min_epu8, _mm512_or_si512,
        _mm512_set1_epi8,
    };

    use super::{RawMasks, StructuralIndex, clmul};

    #[target_feature(enable = "avx512bw,pclmulqdq")]
    pub(super) fn build(bytes: &[u8]) -> StructuralIndex {
        StructuralIndex::build_with(
            bytes,
            |chunk| classify(chunk),
            |bits| clmul::prefix_xor(bits),
        )
    }

    /// A whole block at once: AVX-512 comparisons give the 64-bit masks directly.
    #[target_feature(enable = "avx512bw")]
    pub(super) fn classify(chunk: &[u8; 64]) -> RawMasks {
        // SAFETY: `chunk` is 64 readable bytes and this load has no alignment requirement.
        let bytes = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
        let eq = |vector, byte: u8| _mm512_cmpeq_epi8_mask(vector, _mm512_set1_epi8(byte as i8));
        // `{` and `[` differ only in bit 0x20, as do `}` and `]`.
        let folded = _mm512_or_si512(bytes, _mm512_set1_epi8(0x20));
        RawMasks {
            quotes: eq(bytes, b'"'),
            backslashes: eq(bytes, b'\\'),
            opens: eq(folded, b'{'),
            closes: eq(folded, b'}'),
            controls: _mm512_cmpeq_epi8_mask(_mm512_min_epu8(bytes, _mm512_set1_epi8(0x1f)), bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(text: &str) -> StructuralIndex {
        StructuralIndex::build(text.as_bytes())
    }

    #[test]
    fn finds_string_ends_past_escaped_quotes_and_block_edges() {
        for pad in 0..70 {
            let text = format!(r#"{}"ab\"c\\" "#, " ".repeat(pad));
            let index = index(&text);
            let end = index.string_end(pad + 1).unwrap();
            assert_eq!(&text[end..], r#"" "#, "pad {pad}");
            assert_eq!(index.plain_string_end(pad + 1), None);
            assert_eq!(index.plain_string_end(end + 2), None);
            assert!(!index.unterminated());
        }
    }

    #[test]
    fn the_quote_cursor_steps_through_every_unescaped_quote_across_block_edges() {
        for pad in 0..140 {
            let text = format!(
                r#"{}{{"k": "v\"w", "long": "{}", "": "\\"}}"#,
                " ".repeat(pad),
                "x".repeat(pad % 67)
            );
            let index = index(&text);
            let expected: Vec<usize> = text
                .char_indices()
                .filter(|&(at, c)| c == '"' && index.string_end(at) == Some(at))
                .map(|(at, _)| at)
                .collect();
            assert_eq!(expected.len(), 12, "{text}");
            let mut quotes = index.quotes_from(pad);
            let stepped: Vec<usize> =
                std::iter::from_fn(|| index.next_quote(&mut quotes)).collect();
            assert_eq!(stepped, expected, "{text}");
            for pair in expected.chunks(2) {
                let plain = !text[pair[0] + 1..pair[1]].contains('\\');
                assert_eq!(index.is_plain(pair[0] + 1, pair[1]), plain, "{text}");
            }
        }
    }

    #[test]
    fn a_backslash_at_a_block_edge_escapes_the_next_block() {
        // The backslash is byte 63, the quote it escapes byte 64.
        let text = format!(r#""{}\"x""#, "a".repeat(62));
        let index = index(&text);
        assert_eq!(index.string_end(1), Some(text.len() - 1));
        let even = format!(r#""{}\\"x""#, "a".repeat(61));
        assert_eq!(index.string_end(1), Some(text.len() - 1));
        assert_eq!(
            StructuralIndex::build(even.as_bytes()).string_end(1),
            Some(64)
        );
    }

    #[test]
    fn skips_containers_ignoring_brackets_in_strings() {
        let text = r#"{"a": "x}\"]", "b": [1, {"c": "\\"}], "d": {}} tail"#;
        let index = index(text);
        assert_eq!(index.container_end(0), Some(text.len() - 5));
        let inner = text.find('[').unwrap();
        assert_eq!(
            &text[inner..index.container_end(inner).unwrap()],
            r#"[1, {"c": "\\"}]"#
        );
        assert_eq!(
            StructuralIndex::build(br#"[1, [2, "]"]"#).container_end(0),
            None
        );
        assert_eq!(StructuralIndex::build(b"[]").container_end(0), Some(2));
        let long = format!(
            "[{}[{}]{}]",
            " ".repeat(70),
            "1, ".repeat(40),
            " ".repeat(70)
        );
        assert_eq!(
            StructuralIndex::build(long.as_bytes()).container_end(0),
            Some(long.len())
        );
    }

    #[test]
    fn marks_control_characters_only_inside_strings() {
        let index = index("{\n\"a\tb\": 1}");
        let end = index.string_end(3).unwrap();
        assert_eq!(index.plain_string_end(3), None);
        assert_eq!(index.plain_string_end(5), Some(end));
        assert!(!index.unterminated());
        assert!(StructuralIndex::build(br#"{"a": "b}"#).unterminated());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn carry_less_prefix_xor_agrees_with_the_shifts() {
        if !std::arch::is_x86_feature_detected!("pclmulqdq") {
            return;
        }
        let mut next = crate::pattern::test_rng::below_from(0x9E37_79B9_7F4A_7C15);
        let words = (0..64).map(|bit| 1u64 << bit).chain([0, !0, 1 << 63 | 1]);
        let random = (0..1_000).map(|_| (next(1 << 32) as u64) << 32 | next(1 << 32) as u64);
        for bits in words.chain(random) {
            // SAFETY: the CPU has just been seen to support PCLMULQDQ.
            assert_eq!(
                unsafe { clmul::prefix_xor(bits) },
                prefix_xor(bits),
                "{bits:#x}"
            );
        }
    }

    #[test]
    fn simd_and_byte_table_agree_on_every_byte() {
        let mut chunk = [0u8; 64];
        for start in (0..256).step_by(64) {
            for (i, byte) in chunk.iter_mut().enumerate() {
                *byte = (start + i) as u8;
            }
            let expected = classify_bytes(&chunk);
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has just been seen to support AVX2.
                assert_eq!(
                    unsafe { avx2::classify(&chunk) },
                    expected,
                    "bytes {start}.."
                );
            }
        }
    }
}
