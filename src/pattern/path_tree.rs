//! The field paths the patterns name, as a tree of path segments. Walking an event along
//! this tree visits only the parts some pattern can look at and skips the rest unread.
//! Dots in pattern keys and in event keys both separate segments, as in EventBridge.

use rustc_hash::FxHashMap;

/// Past this many children a node also keeps a hash index; below it a scan is faster.
const LINEAR_CHILDREN: usize = 8;

/// A key's length and first eight bytes: most keys differ there, so a child is usually
/// found or ruled out without a full string comparison.
#[inline]
fn head(key: &str) -> (usize, u64) {
    let bytes = key.as_bytes();
    let mut word = [0u8; 8];
    let take = bytes.len().min(8);
    word[..take].copy_from_slice(&bytes[..take]);
    (bytes.len(), u64::from_le_bytes(word))
}

#[derive(Debug, Clone)]
struct Child {
    head: (usize, u64),
    name: Box<str>,
    node: u32,
}

#[derive(Debug, Clone, Default)]
struct PathNode {
    children: Vec<Child>,
    index: Option<FxHashMap<Box<str>, u32>>,
    path: Option<u32>,
}

impl PathNode {
    #[inline]
    fn child(&self, segment: &str) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(segment).copied(),
            None => {
                let wanted = head(segment);
                self.children
                    .iter()
                    .find(|c| {
                        c.head == wanted && (segment.len() <= 8 || c.name[8..] == segment[8..])
                    })
                    .map(|c| c.node)
            }
        }
    }

    fn add_child(&mut self, segment: &str, child: u32) {
        self.children.push(Child {
            head: head(segment),
            name: segment.into(),
            node: child,
        });
        if let Some(index) = &mut self.index {
            index.insert(segment.into(), child);
        } else if self.children.len() > LINEAR_CHILDREN {
            let index = self.children.iter().map(|c| (c.name.clone(), c.node));
            self.index = Some(index.collect());
        }
    }
}

/// Segment tree with the path id at each node that ends a pattern path.
#[derive(Debug, Clone)]
pub(crate) struct PathTree {
    nodes: Vec<PathNode>,
    paths: usize,
}

impl Default for PathTree {
    fn default() -> Self {
        PathTree {
            nodes: vec![PathNode::default()],
            paths: 0,
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
        if self.nodes[node].path.replace(id).is_none() {
            self.paths += 1;
        }
    }

    /// The node reached from `node` by an event key (which may itself contain dots).
    #[inline]
    pub(crate) fn descend(&self, node: u32, key: &str) -> Option<u32> {
        // Pattern segments never hold a dot, so only a key that misses can be dotted.
        let direct = self.nodes[node as usize].child(key);
        if direct.is_some() || !key.contains('.') {
            return direct;
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

    /// How many distinct pattern paths the tree holds.
    pub(crate) fn path_count(&self) -> usize {
        self.paths
    }

    pub(crate) fn has_children(&self, node: u32) -> bool {
        !self.nodes[node as usize].children.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_by_segments_and_dotted_keys() {
        let mut tree = PathTree::default();
        tree.insert("detail.customer.id", 0);
        tree.insert("detail.customerIdentifier", 1);
        for i in 0..20 {
            tree.insert(&format!("detail.k{i}"), 2 + i);
        }
        let detail = tree.descend(ROOT, "detail").unwrap();
        let customer = tree.descend(detail, "customer").unwrap();
        assert_eq!(tree.path(tree.descend(customer, "id").unwrap()), Some(0));
        assert_eq!(
            tree.path(tree.descend(ROOT, "detail.customer.id").unwrap()),
            Some(0)
        );
        assert_eq!(
            tree.path(tree.descend(detail, "customerIdentifier").unwrap()),
            Some(1)
        );
        assert_eq!(tree.descend(detail, "customerIdentifieR"), None);
        assert_eq!(tree.path(tree.descend(detail, "k19").unwrap()), Some(21));
        assert_eq!(tree.descend(detail, "k20"), None);
        assert!(tree.has_children(detail));
        assert_eq!(tree.path(customer), None);
    }
}
