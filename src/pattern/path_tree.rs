//! The field paths the patterns name, as a tree of path segments. Walking an event along
//! this tree visits only the parts some pattern can look at and skips the rest unread.
//! Dots in pattern keys and in event keys both separate segments, as in EventBridge.

use rustc_hash::FxHashMap;

/// Past this many children a node also keeps a hash index; below it a scan is faster.
const LINEAR_CHILDREN: usize = 8;

#[derive(Debug, Clone, Default)]
struct PathNode {
    children: Vec<(Box<str>, u32)>,
    index: Option<FxHashMap<Box<str>, u32>>,
    path: Option<u32>,
}

impl PathNode {
    #[inline]
    fn child(&self, segment: &str) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(segment).copied(),
            None => self
                .children
                .iter()
                .find(|(name, _)| name.len() == segment.len() && **name == *segment)
                .map(|(_, child)| *child),
        }
    }

    fn add_child(&mut self, segment: &str, child: u32) {
        self.children.push((segment.into(), child));
        if let Some(index) = &mut self.index {
            index.insert(segment.into(), child);
        } else if self.children.len() > LINEAR_CHILDREN {
            self.index = Some(self.children.iter().cloned().collect());
        }
    }
}

/// Segment tree with the path id at each node that ends a pattern path.
#[derive(Debug, Clone)]
pub(crate) struct PathTree {
    nodes: Vec<PathNode>,
}

impl Default for PathTree {
    fn default() -> Self {
        PathTree {
            nodes: vec![PathNode::default()],
        }
    }
}

pub(crate) const ROOT: u32 = 0;

impl PathTree {
    pub(crate) fn insert(&mut self, path: &str, id: u32) {
        let mut node = ROOT as usize;
        for segment in path.split('.') {
            let next = match self.nodes[node].child(segment) {
                Some(child) => child as usize,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(PathNode::default());
                    self.nodes[node].add_child(segment, child as u32);
                    child
                }
            };
            node = next;
        }
        self.nodes[node].path = Some(id);
    }

    /// The node reached from `node` by an event key (which may itself contain dots).
    #[inline]
    pub(crate) fn descend(&self, node: u32, key: &str) -> Option<u32> {
        if !key.contains('.') {
            return self.nodes[node as usize].child(key);
        }
        let mut node = node;
        for segment in key.split('.') {
            node = self.nodes[node as usize].child(segment)?;
        }
        Some(node)
    }

    pub(crate) fn path(&self, node: u32) -> Option<u32> {
        self.nodes[node as usize].path
    }

    pub(crate) fn has_children(&self, node: u32) -> bool {
        !self.nodes[node as usize].children.is_empty()
    }
}
