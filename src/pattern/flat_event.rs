//! An event reduced to what matching needs: the leaves at the field paths some pattern
//! names, chained by path, each with its "array trail" (which element of which array of
//! objects it sits in). EventBridge requires the fields one pattern matches inside an array
//! of objects to come from the same element; the trails let the matcher check that.

use std::borrow::Cow;
use std::cell::Cell;

use smallvec::SmallVec;

use super::leaf::Leaf;

/// One leaf at a known path.
#[derive(Debug, Clone)]
pub(crate) struct FlatLeaf<'a> {
    pub(crate) leaf: Leaf<'a>,
    trail_start: u32,
    trail_len: u32,
    /// The next leaf at the same path, or [`NO_LEAF`].
    next: u32,
}

const NO_LEAF: u32 = u32::MAX;

/// The first and last leaf of this event at one path; a head whose stamp is not the
/// event's is left from an earlier event and means none.
#[derive(Debug, Clone, Copy, Default)]
struct Head {
    stamp: u64,
    first: u32,
    last: u32,
}

/// `(array id, element index)` for each enclosing array whose element is an object or array.
pub(crate) type Membership = (u32, u32);

/// The flattened event. Its buffers come from, and go back to, a per-thread spare, so
/// that matching one event after another allocates nothing once they have grown.
#[derive(Debug)]
pub(crate) struct FlatEvent<'a> {
    leaves: Vec<FlatLeaf<'a>>,
    trails: Vec<Membership>,
    open: Vec<Membership>,
    /// The path-tree node of each array met (array id `n` at `n - 1`).
    array_nodes: Vec<u32>,
    /// Per path id, where its leaves are: finding them costs the same however many
    /// leaves the event has, and leaves walked late join their path's chain.
    heads: Vec<Head>,
    stamp: u64,
}

/// The leaves at one path: [`FlatEvent::next_in`] steps through them.
pub(crate) struct Group {
    at: u32,
    /// Whether there is more than one.
    pub(crate) several: bool,
}

/// Every head in `heads` has a stamp no later than `stamp`, which travels with them.
#[derive(Default)]
struct Buffers {
    leaves: Vec<FlatLeaf<'static>>,
    trails: Vec<Membership>,
    open: Vec<Membership>,
    array_nodes: Vec<u32>,
    heads: Vec<Head>,
    /// The stamp of the last event: each event takes the next, which makes every head
    /// left in `heads` stale at once.
    stamp: u64,
}

thread_local! {
    /// The buffers of the last event this thread dropped.
    static SPARE: Cell<Buffers> = const {
        Cell::new(Buffers {
            leaves: Vec::new(),
            trails: Vec::new(),
            open: Vec::new(),
            array_nodes: Vec::new(),
            heads: Vec::new(),
            stamp: 0,
        })
    };
}

/// An empty vector of leaves of any lifetime in the allocation of `leaves`: collecting a
/// vector's own iterator reuses its buffer when the element layouts agree, as here.
fn recycle<'from, 'to>(mut leaves: Vec<FlatLeaf<'from>>) -> Vec<FlatLeaf<'to>> {
    leaves.clear();
    leaves
        .into_iter()
        .map(|_| unreachable!("the vector was just cleared"))
        .collect()
}

impl Drop for FlatEvent<'_> {
    fn drop(&mut self) {
        let buffers = Buffers {
            leaves: recycle(std::mem::take(&mut self.leaves)),
            trails: std::mem::take(&mut self.trails),
            open: std::mem::take(&mut self.open),
            array_nodes: std::mem::take(&mut self.array_nodes),
            heads: std::mem::take(&mut self.heads),
            stamp: self.stamp,
        };
        // During thread teardown the spare may already be gone; then the buffers are freed.
        let _ = SPARE.try_with(|spare| spare.set(buffers));
    }
}

impl<'a> FlatEvent<'a> {
    /// An empty event for leaves at path ids below `paths`.
    pub(crate) fn new(paths: usize) -> FlatEvent<'a> {
        let Buffers {
            leaves,
            mut trails,
            mut open,
            mut array_nodes,
            mut heads,
            stamp,
        } = SPARE.take();
        trails.clear();
        open.clear();
        array_nodes.clear();
        if heads.len() < paths {
            heads.resize(paths, Head::default());
        }
        FlatEvent {
            leaves: recycle(leaves),
            trails,
            open,
            array_nodes,
            heads,
            stamp: stamp + 1,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, path: u32, leaf: Leaf<'a>) {
        self.push_with(path, || leaf);
    }

    #[inline]
    pub(crate) fn push_str(&mut self, path: u32, text: &'a str) {
        self.push_with(path, || Leaf::Str(Cow::Borrowed(text)));
    }

    #[inline]
    pub(crate) fn push_number(&mut self, path: u32, text: &'a str) {
        self.push_with(path, || Leaf::number(Cow::Borrowed(text)));
    }

    /// Add the leaf `make` builds. `Vec::push` holds a leaf built beforehand on the stack
    /// across its growth check, written there in 8-byte pieces and read back 16 bytes at a
    /// time, which the CPU cannot forward from the pending writes: it waits, on every
    /// leaf. Here every call that might grow a buffer comes first, and the leaf is built
    /// in its slot.
    #[inline(always)]
    fn push_with(&mut self, path: u32, make: impl FnOnce() -> Leaf<'a>) {
        let trail_start = self.trails.len() as u32;
        // A trail is a member or two: a loop beats a call to memcpy.
        for &membership in &self.open {
            self.trails.push(membership);
        }
        if self.leaves.len() == self.leaves.capacity() {
            self.leaves.reserve(16);
        }
        let len = self.leaves.len();
        let at = len as u32;
        let head = &mut self.heads[path as usize];
        let before = if head.stamp == self.stamp {
            Some(std::mem::replace(&mut head.last, at))
        } else {
            *head = Head {
                stamp: self.stamp,
                first: at,
                last: at,
            };
            None
        };
        let leaf = FlatLeaf {
            leaf: make(),
            trail_start,
            trail_len: self.open.len() as u32,
            next: NO_LEAF,
        };
        // SAFETY: the capacity exceeds `len`, so the slot is allocated, and it is written
        // whole before the length covers it.
        unsafe {
            self.leaves.as_mut_ptr().add(len).write(leaf);
            self.leaves.set_len(len + 1);
        }
        if let Some(before) = before {
            self.leaves[before as usize].next = at;
        }
    }

    /// A fresh id for an array about to be walked, at path-tree `node`.
    pub(crate) fn new_array(&mut self, node: u32) -> u32 {
        self.array_nodes.push(node);
        self.array_nodes.len() as u32
    }

    /// The path-tree node of an array [`FlatEvent::new_array`] gave `array` to.
    pub(crate) fn array_node(&self, array: u32) -> u32 {
        self.array_nodes[array as usize - 1]
    }

    /// Enter element `index` of array `array` (only for object or array elements).
    pub(crate) fn enter(&mut self, array: u32, index: u32) {
        self.open.push((array, index));
    }

    pub(crate) fn leave(&mut self) {
        self.open.pop();
    }

    /// The arrays (and elements) the walk is inside now.
    pub(crate) fn open_trail(&self) -> &[Membership] {
        &self.open
    }

    /// Resume walking inside `trail`, where a value put aside was met.
    pub(crate) fn reopen(&mut self, trail: &[Membership]) {
        self.open.clear();
        self.open.extend_from_slice(trail);
    }

    /// The leaves at `path`, to step through with [`FlatEvent::next_in`].
    #[inline]
    pub(crate) fn group(&self, path: u32) -> Group {
        let head = self.heads[path as usize];
        if head.stamp == self.stamp {
            Group {
                at: head.first,
                several: head.first != head.last,
            }
        } else {
            Group {
                at: NO_LEAF,
                several: false,
            }
        }
    }

    /// The index of the next leaf of `group`.
    #[inline]
    pub(crate) fn next_in(&self, group: &mut Group) -> Option<usize> {
        let at = group.at;
        if at == NO_LEAF {
            return None;
        }
        group.at = self.leaves[at as usize].next;
        Some(at as usize)
    }

    pub(crate) fn leaf(&self, at: usize) -> &FlatLeaf<'a> {
        &self.leaves[at]
    }

    pub(crate) fn trail(&self, leaf: &FlatLeaf<'_>) -> &[Membership] {
        let start = leaf.trail_start as usize;
        &self.trails[start..start + leaf.trail_len as usize]
    }
}

/// A trail accumulated along a pattern: events rarely nest arrays of objects more than a
/// few deep, so it stays on the stack.
pub(crate) type Trail = SmallVec<[Membership; 4]>;

/// Add a leaf's trail to the trail accumulated so far, or `None` if they disagree on the
/// element of some array.
pub(crate) fn merge_trails(so_far: &[Membership], trail: &[Membership]) -> Option<Trail> {
    let mut merged = Trail::from_slice(so_far);
    for &(array, index) in trail {
        match so_far.iter().find(|(a, _)| *a == array) {
            Some((_, i)) if *i != index => return None,
            Some(_) => {}
            None => merged.push((array, index)),
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycling_keeps_the_allocation() {
        let mut leaves: Vec<FlatLeaf<'static>> = Vec::with_capacity(40);
        leaves.push(FlatLeaf {
            leaf: Leaf::Null,
            trail_start: 0,
            trail_len: 0,
            next: NO_LEAF,
        });
        let pointer = leaves.as_ptr() as usize;
        let text = String::from("short-lived");
        let mut recycled: Vec<FlatLeaf<'_>> = recycle(leaves);
        assert!(recycled.is_empty());
        assert!(recycled.capacity() >= 40);
        assert_eq!(recycled.as_ptr() as usize, pointer);
        recycled.push(FlatLeaf {
            leaf: Leaf::Str(Cow::Borrowed(&text)),
            trail_start: 0,
            trail_len: 0,
            next: NO_LEAF,
        });
        assert_eq!(recycled.len(), 1);
    }
}
