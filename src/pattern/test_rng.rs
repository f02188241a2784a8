//! A small deterministic generator for the generated-input tests, so a failure names an
//! input that the next run produces again.

/// A picker of numbers below `n`: xorshift64 from `seed`.
pub(crate) fn below_from(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
