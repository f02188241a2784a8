//! Strings to values by hash, for the value tests of one automaton transition. Keys of up
//! to 22 bytes (ids, statuses, SKUs: almost all) sit inside the table's entry, so a probe
//! that meets its key compares it there, a few word comparisons, instead of following a
//! pointer to a separate allocation. With thousands of rules those allocations are spread
//! over more memory than the caches hold, and each pointer followed was a cache miss.

use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::FxHasher;

/// Keys up to this many bytes are stored inline (with their length, 23 bytes in all).
const INLINE: usize = 22;

#[derive(Debug, Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(text: &[u8]) -> Key {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text);
                Key::Inline { len, bytes }
            }
            _ => Key::Heap(text.into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(key) => key,
        }
    }

    #[inline(always)]
    fn is(&self, text: &[u8]) -> bool {
        match self {
            Key::Inline { len, bytes } => {
                usize::from(*len) == text.len() && same_short(bytes, text)
            }
            Key::Heap(key) => **key == *text,
        }
    }
}

/// Whether `text` (at most [`INLINE`] bytes) equals the start of `stored`, compared in at
/// most three word loads per side that overlap as the length needs.
#[inline(always)]
fn same_short(stored: &[u8; INLINE], text: &[u8]) -> bool {
    let n = text.len();
    let word = |bytes: &[u8], at: usize| {
        u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
    };
    let half = |bytes: &[u8], at: usize| {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
    };
    match n {
        16.. => {
            word(stored, 0) == word(text, 0)
                && word(stored, 8) == word(text, 8)
                && word(stored, n - 8) == word(text, n - 8)
        }
        8.. => word(stored, 0) == word(text, 0) && word(stored, n - 8) == word(text, n - 8),
        4.. => half(stored, 0) == half(text, 0) && half(stored, n - 4) == half(text, n - 4),
        _ => stored[..n].iter().zip(text).all(|(a, b)| a == b),
    }
}

#[inline]
fn hash(text: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(text);
    hasher.finish()
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StrTable<V> {
    table: HashTable<(Key, V)>,
}

impl<V: Default> StrTable<V> {
    /// The value for `key`, added as `V::default()` if absent.
    pub(crate) fn entry(&mut self, key: &str) -> &mut V {
        let key = key.as_bytes();
        let entry = self.table.entry(
            hash(key),
            |(stored, _)| stored.is(key),
            |(stored, _)| hash(stored.bytes()),
        );
        &mut entry
            .or_insert_with(|| (Key::new(key), V::default()))
            .into_mut()
            .1
    }
}

impl<V> StrTable<V> {
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        let key = key.as_bytes();
        self.table
            .find(hash(key), |(stored, _)| stored.is(key))
            .map(|(_, value)| value)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_of_every_length_and_only_them() {
        let keys: Vec<String> = (0..40)
            .map(|n| "k".repeat(n))
            .chain((0..40).map(|n| format!("{n:0>width$}", width = n % 30)))
            .collect();
        let mut table = StrTable::<Vec<usize>>::default();
        for (at, key) in keys.iter().enumerate() {
            table.entry(key).push(at);
        }
        for key in &keys {
            let found = table
                .get(key)
                .unwrap_or_else(|| panic!("{key:?} is missing"));
            assert!(found.iter().all(|&at| keys[at] == *key), "{key:?}");
        }
        for absent in [
            "kx",
            "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
            "x0000000000000000000",
            "00000000000000000000000000000000x",
        ] {
            assert_eq!(table.get(absent), None, "{absent}");
        }
    }

    #[test]
    fn short_comparison_sees_every_byte() {
        for n in 0..=INLINE {
            let text: Vec<u8> = (0..n as u8).map(|b| b'a' + b).collect();
            let Key::Inline { bytes, .. } = Key::new(&text) else {
                panic!("{n} bytes are inline")
            };
            assert!(same_short(&bytes, &text));
            for at in 0..n {
                let mut other = text.clone();
                other[at] ^= 1;
                assert!(!same_short(&bytes, &other), "byte {at} of {n}");
            }
        }
    }
}
