//! An event reduced to what matching needs: the leaves at the field paths some pattern
//! names, sorted by path, each with its "array trail" (which element of which array of
//! objects it sits in). EventBridge requires the fields one pattern matches inside an array
//! of objects to come from the same element; the trails let the matcher check that.

use std::borrow::Cow;

use super::leaf::Leaf;

/// One leaf at a known path.
#[derive(Debug, Clone)]
pub(crate) struct FlatLeaf<'a> {
    pub(crate) path: u32,
    pub(crate) leaf: Leaf<'a>,
    trail_start: u32,
    trail_len: u32,
}

/// `(array id, element index)` for each enclosing array whose element is an object or array.
pub(crate) type Membership = (u32, u32);

/// The flattened event.
#[derive(Debug, Default)]
pub(crate) struct FlatEvent<'a> {
    leaves: Vec<FlatLeaf<'a>>,
    trails: Vec<Membership>,
    open: Vec<Membership>,
    next_array: u32,
    sorted: bool,
}

/// Up to this many leaves, finding a path's leaves by scanning beats sorting.
const SCAN_LEAVES: usize = 24;

impl<'a> FlatEvent<'a> {
    /// An empty event expecting about `leaves` leaves (one allocation instead of several).
    pub(crate) fn with_capacity(leaves: usize) -> FlatEvent<'a> {
        FlatEvent {
            leaves: Vec::with_capacity(leaves),
            ..FlatEvent::default()
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, path: u32, leaf: Leaf<'a>) {
        let trail_start = self.trails.len() as u32;
        self.trails.extend_from_slice(&self.open);
        self.leaves.push(FlatLeaf {
            path,
            leaf,
            trail_start,
            trail_len: self.open.len() as u32,
        });
    }

    #[inline]
    pub(crate) fn push_str(&mut self, path: u32, text: &'a str) {
        self.push(path, Leaf::Str(Cow::Borrowed(text)));
    }

    #[inline]
    pub(crate) fn push_number(&mut self, path: u32, text: &'a str) {
        self.push(path, Leaf::number(Cow::Borrowed(text)));
    }

    /// A fresh id for an array about to be walked.
    pub(crate) fn new_array(&mut self) -> u32 {
        self.next_array += 1;
        self.next_array
    }

    /// Enter element `index` of array `array` (only for object or array elements).
    pub(crate) fn enter(&mut self, array: u32, index: u32) {
        self.open.push((array, index));
    }

    pub(crate) fn leave(&mut self) {
        self.open.pop();
    }

    /// Call once after the walk: many leaves are sorted by path for binary search; a few
    /// are cheaper to scan.
    pub(crate) fn finish(&mut self) {
        self.sorted = self.leaves.len() > SCAN_LEAVES;
        if self.sorted {
            self.leaves.sort_unstable_by_key(|leaf| leaf.path);
        }
    }

    /// The leaves at one path.
    #[inline]
    pub(crate) fn group(&self, path: u32) -> impl Iterator<Item = &FlatLeaf<'a>> {
        let range = if self.sorted {
            let start = self.leaves.partition_point(|leaf| leaf.path < path);
            let end = start + self.leaves[start..].partition_point(|leaf| leaf.path == path);
            &self.leaves[start..end]
        } else {
            &self.leaves[..]
        };
        range.iter().filter(move |leaf| leaf.path == path)
    }

    pub(crate) fn trail(&self, leaf: &FlatLeaf<'_>) -> &[Membership] {
        let start = leaf.trail_start as usize;
        &self.trails[start..start + leaf.trail_len as usize]
    }
}

/// Add a leaf's trail to the trail accumulated so far, or `None` if they disagree on the
/// element of some array.
pub(crate) fn merge_trails(so_far: &[Membership], trail: &[Membership]) -> Option<Vec<Membership>> {
    let mut merged = so_far.to_vec();
    for &(array, index) in trail {
        match so_far.iter().find(|(a, _)| *a == array) {
            Some((_, i)) if *i != index => return None,
            Some(_) => {}
            None => merged.push((array, index)),
        }
    }
    Some(merged)
}
