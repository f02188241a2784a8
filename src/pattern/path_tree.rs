//! The field paths the patterns name, as a tree of path segments. Walking an event along
//! this tree visits only the parts some pattern can look at and skips the rest unread.
//! Dots in pattern keys and in event keys both separate segments, as in EventBridge.

use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Default)]
struct PathNode {
    children: FxHashMap<Box<str>, u32>,
    path: Option<u32>,
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
            let next = match self.nodes[node].children.get(segment) {
                Some(&child) => child as usize,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(PathNode::default());
                    self.nodes[node]
                        .children
                        .insert(segment.into(), child as u32);
                    child
                }
            };
            node = next;
        }
        self.nodes[node].path = Some(id);
    }

    /// The node reached from `node` by an event key (which may itself contain dots).
    pub(crate) fn descend(&self, node: u32, key: &str) -> Option<u32> {
        let mut node = node;
        for segment in key.split('.') {
            node = *self.nodes[node as usize].children.get(segment)?;
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
