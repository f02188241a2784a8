//! The field paths the patterns name, as a tree of path segments. Walking an event along
//! this tree visits only the parts some pattern can look at and skips the rest unread.
//! Dots in pattern keys and in event keys both separate segments, as in EventBridge.

/// A key's length and first eight bytes (zero-padded): most keys differ there, so a child
/// is usually found or ruled out without a full string comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyHead {
    len: usize,
    word: u64,
}

impl KeyHead {
    pub(crate) fn of(key: &[u8]) -> KeyHead {
        KeyHead::within(key, 0, key.len())
    }

    /// The head of the key at `start..end` of `text`, read as one word where the text is
    /// long enough (a short copy followed by a wide read would stall the CPU here).
    #[inline]
    pub(crate) fn within(text: &[u8], start: usize, end: usize) -> KeyHead {
        let len = end - start;
        let word = match text.get(start..).and_then(<[u8]>::first_chunk::<8>) {
            Some(first) if len >= 8 => u64::from_le_bytes(*first),
            Some(first) => u64::from_le_bytes(*first) & ((1u64 << (8 * len)) - 1),
            None => text[start..end]
                .iter()
                .enumerate()
                .fold(0, |word, (i, &byte)| word | u64::from(byte) << (8 * i)),
        };
        KeyHead { len, word }
    }

    /// Where the key starts probing a node's slot table of `2^bits` slots.
    #[inline]
    fn slot(self, bits: u32) -> usize {
        let mixed = (self.word ^ self.len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - bits)) as usize
    }
}

#[derive(Debug, Clone)]
struct Child {
    head: KeyHead,
    name: Box<str>,
    node: u32,
}

/// One node: a key is first checked against a one-word filter of its children's lengths
/// and first bytes, then found through a small open-addressing table of their key heads
/// (one multiply and usually one comparison, however many children), kept at most half
/// full so that a miss ends at an empty slot quickly.
#[derive(Debug, Clone)]
struct PathNode {
    children: Vec<Child>,
    /// Index into `children` plus one; zero is an empty slot.
    slots: Vec<u32>,
    slot_bits: u32,
    /// The children that have children themselves: the only ones a dotted event key
    /// (`"a.b"`) can start with.
    branches: Vec<(Box<str>, u32)>,
    /// Bit `n` is set when some branch's name is `n` bytes long (`long_branch` when one is
    /// 64 or longer): a key can only be dotted into a branch if it has a dot there.
    branch_lengths: u64,
    long_branch: bool,
    /// The length of the shortest branch name (`usize::MAX` without branches): a key no
    /// longer than it cannot be dotted.
    shortest_branch: usize,
    /// One bit per child, chosen by its name's length and first byte: most keys of an
    /// event miss every child, and this rules them out before any hashing.
    filter: u64,
    path: Option<u32>,
    /// This node's place among its parent's children.
    rank: u32,
    parent: u32,
    /// How many paths at or below this node the automaton's start state tests. Where
    /// there are none the node is *lazy*: only some states reached later look below it,
    /// so a walk may put its value aside until one of them asks (see [`PathTree::is_lazy`]).
    eager_below: u32,
}

/// A key's bit in [`PathNode::filter`].
#[inline(always)]
fn filter_bit(key: &[u8]) -> u64 {
    let first = key.first().map_or(0, |&byte| u32::from(byte));
    1u64 << ((first + key.len() as u32 * 37) & 63)
}

impl Default for PathNode {
    fn default() -> Self {
        PathNode {
            children: Vec::new(),
            slots: vec![0; 4],
            slot_bits: 2,
            branches: Vec::new(),
            branch_lengths: 0,
            long_branch: false,
            shortest_branch: usize::MAX,
            filter: 0,
            path: None,
            rank: 0,
            parent: ROOT,
            eager_below: 0,
        }
    }
}

impl PathNode {
    #[inline(always)]
    fn child(&self, segment: &[u8], head: KeyHead) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut at = head.slot(self.slot_bits);
        loop {
            let child = self
                .children
                .get((self.slots[at] as usize).checked_sub(1)?)?;
            if child.head == head && (head.len <= 8 || child.name.as_bytes()[8..] == segment[8..]) {
                return Some(child.node);
            }
            at = (at + 1) & mask;
        }
    }

    /// Whether `key` has a dot just past the length of some branch's name.
    #[inline(always)]
    fn may_be_dotted(&self, key: &[u8]) -> bool {
        if key.len() <= self.shortest_branch {
            return false;
        }
        if self.long_branch {
            return true;
        }
        let shorter = 1u64.checked_shl(key.len() as u32).map_or(!0, |bit| bit - 1);
        let mut lengths = self.branch_lengths & shorter;
        while lengths != 0 {
            if key[lengths.trailing_zeros() as usize] == b'.' {
                return true;
            }
            lengths &= lengths - 1;
        }
        false
    }

    fn add_child(&mut self, segment: &str, child: u32) {
        self.filter |= filter_bit(segment.as_bytes());
        self.children.push(Child {
            head: KeyHead::of(segment.as_bytes()),
            name: segment.into(),
            node: child,
        });
        if self.children.len() * 2 > self.slots.len() {
            self.slot_bits += 1;
            self.slots = vec![0; 1 << self.slot_bits];
            for at in 0..self.children.len() {
                self.place(at);
            }
        } else {
            self.place(self.children.len() - 1);
        }
    }

    fn place(&mut self, child: usize) {
        let mask = self.slots.len() - 1;
        let mut at = self.children[child].head.slot(self.slot_bits);
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = child as u32 + 1;
    }
}

/// One node of a [`PathTree`].
#[derive(Clone, Copy)]
pub(crate) struct Node<'t> {
    tree: &'t PathTree,
    here: &'t PathNode,
}

impl Node<'_> {
    /// The child an event key (which may itself contain dots) leads to; `head` gives the
    /// key's [`KeyHead`], asked for only if some child may match.
    #[inline(always)]
    pub(crate) fn descend(self, key: &[u8], head: impl FnOnce() -> KeyHead) -> Option<u32> {
        if self.here.filter & filter_bit(key) != 0
            && let Some(child) = self.here.child(key, head())
        {
            return Some(child);
        }
        if self.here.may_be_dotted(key) {
            return self.tree.descend_dotted(self.here, key);
        }
        None
    }
}

/// Segment tree with the path id at each node that ends a pattern path.
#[derive(Debug, Clone)]
pub(crate) struct PathTree {
    nodes: Vec<PathNode>,
    /// The node of each path id.
    path_nodes: Vec<u32>,
}

impl Default for PathTree {
    fn default() -> Self {
        PathTree {
            nodes: vec![PathNode::default()],
            path_nodes: Vec::new(),
        }
    }
}

pub(crate) const ROOT: u32 = 0;

impl PathTree {
    pub(crate) fn insert(&mut self, path: &str, id: u32) {
        let mut node = ROOT as usize;
        let mut segments = path.split('.').peekable();
        while let Some(segment) = segments.next() {
            let bytes = segment.as_bytes();
            let next = match self.nodes[node].child(bytes, KeyHead::of(bytes)) {
                Some(child) => child as usize,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(PathNode {
                        rank: self.nodes[node].children.len() as u32,
                        parent: node as u32,
                        ..PathNode::default()
                    });
                    self.nodes[node].add_child(segment, child as u32);
                    child
                }
            };
            let branches = &mut self.nodes[node].branches;
            if segments.peek().is_some() && !branches.iter().any(|&(_, b)| b as usize == next) {
                branches.push((segment.into(), next as u32));
                let parent = &mut self.nodes[node];
                parent.shortest_branch = parent.shortest_branch.min(segment.len());
                match 1u64.checked_shl(segment.len() as u32) {
                    Some(bit) => self.nodes[node].branch_lengths |= bit,
                    None => self.nodes[node].long_branch = true,
                }
            }
            node = next;
        }
        self.nodes[node].path = Some(id);
        let at = id as usize;
        if self.path_nodes.len() <= at {
            self.path_nodes.resize(at + 1, ROOT);
        }
        self.path_nodes[at] = node as u32;
    }

    /// Note that the automaton's start state tests path `id` (inserted before): the nodes
    /// on its way are no longer lazy.
    pub(crate) fn mark_eager(&mut self, id: u32) {
        let mut node = self.path_nodes[id as usize];
        loop {
            self.nodes[node as usize].eager_below += 1;
            if node == ROOT {
                return;
            }
            node = self.nodes[node as usize].parent;
        }
    }

    /// Whether no path the start state tests lies at or below `node`: a walk can put the
    /// node's value aside, to be walked only if a state reached later asks for a path
    /// below it.
    #[inline(always)]
    pub(crate) fn is_lazy(&self, node: u32) -> bool {
        self.nodes[node as usize].eager_below == 0
    }

    /// The topmost lazy node above or at `node`, if `node` is lazy. Values put aside at
    /// nodes with the same lazy root are walked together when a path below it is asked for.
    pub(crate) fn lazy_root(&self, mut node: u32) -> Option<u32> {
        if !self.is_lazy(node) {
            return None;
        }
        while node != ROOT && self.is_lazy(self.nodes[node as usize].parent) {
            node = self.nodes[node as usize].parent;
        }
        Some(node)
    }

    /// Whether `node` is `ancestor` or below it.
    pub(crate) fn is_at_or_below(&self, mut node: u32, ancestor: u32) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            if node == ROOT {
                return false;
            }
            node = self.nodes[node as usize].parent;
        }
    }

    /// The node path `id` ends at.
    pub(crate) fn path_node(&self, id: u32) -> u32 {
        self.path_nodes[id as usize]
    }

    /// How many paths the tree holds (their ids are below this).
    pub(crate) fn path_count(&self) -> usize {
        self.path_nodes.len()
    }

    /// The lazy root of path `id`'s node, if it is lazy.
    #[inline]
    pub(crate) fn lazy_root_of_path(&self, id: u32) -> Option<u32> {
        self.lazy_root(self.path_nodes[id as usize])
    }

    /// The node reached from `node` by an event key (which may itself contain dots);
    /// `head` gives the key's [`KeyHead`], asked for only if some child may match.
    #[inline(always)]
    pub(crate) fn descend(
        &self,
        node: u32,
        key: &[u8],
        head: impl FnOnce() -> KeyHead,
    ) -> Option<u32> {
        self.node(node).descend(key, head)
    }

    /// Node `node`, looked up once for all the keys of an object.
    #[inline(always)]
    pub(crate) fn node(&self, node: u32) -> Node<'_> {
        Node {
            tree: self,
            here: &self.nodes[node as usize],
        }
    }

    /// Pattern segments never hold a dot, so only a key that misses can be dotted, and then
    /// only if it starts with a branch's name and a dot.
    #[inline(never)]
    fn descend_dotted(&self, here: &PathNode, key: &[u8]) -> Option<u32> {
        here.branches.iter().find_map(|(name, branch)| {
            let rest = key.strip_prefix(name.as_bytes())?.strip_prefix(b".")?;
            self.descend(*branch, rest, || KeyHead::of(rest))
        })
    }

    pub(crate) fn path(&self, node: u32) -> Option<u32> {
        self.nodes[node as usize].path
    }

    /// The place of `node` among its parent's children: siblings differ here, so a walk
    /// can tell a repeated key from two different ones.
    pub(crate) fn rank(&self, node: u32) -> u32 {
        self.nodes[node as usize].rank
    }

    pub(crate) fn has_children(&self, node: u32) -> bool {
        !self.nodes[node as usize].children.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descend(tree: &PathTree, node: u32, key: &str) -> Option<u32> {
        tree.descend(node, key.as_bytes(), || KeyHead::of(key.as_bytes()))
    }

    #[test]
    fn key_heads_agree_wherever_the_key_sits() {
        let text = b"{\"id\": 1, \"customerIdentifier\": 2, \"tier\"";
        for (start, end) in [(2, 4), (12, 30), (text.len() - 5, text.len() - 1)] {
            let key = std::str::from_utf8(&text[start..end]).unwrap();
            assert_eq!(
                KeyHead::within(text, start, end),
                KeyHead::of(key.as_bytes()),
                "{key}"
            );
        }
    }

    #[test]
    fn finds_paths_by_segments_and_dotted_keys() {
        let mut tree = PathTree::default();
        tree.insert("detail.customer.id", 0);
        tree.insert("detail.customerIdentifier", 1);
        for i in 0..20 {
            tree.insert(&format!("detail.k{i}"), 2 + i);
        }
        let detail = descend(&tree, ROOT, "detail").unwrap();
        let customer = descend(&tree, detail, "customer").unwrap();
        assert_eq!(tree.path(descend(&tree, customer, "id").unwrap()), Some(0));
        assert_eq!(
            tree.path(descend(&tree, ROOT, "detail.customer.id").unwrap()),
            Some(0)
        );
        assert_eq!(
            tree.path(descend(&tree, detail, "customerIdentifier").unwrap()),
            Some(1)
        );
        assert_eq!(descend(&tree, detail, "customerIdentifieR"), None);
        assert_eq!(tree.path(descend(&tree, detail, "k19").unwrap()), Some(21));
        assert_eq!(descend(&tree, detail, "k20"), None);
        assert!(tree.has_children(detail));
        assert_eq!(tree.path(customer), None);
    }
}
