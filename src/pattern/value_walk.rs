//! Flattens an already-parsed `serde_json::Value` event along the path tree.

use serde_json::Value;

use super::flat_event::FlatEvent;
use super::leaf::Leaf;
use super::path_tree::{KeyHead, PathTree, ROOT};

pub(crate) fn flatten<'a>(tree: &PathTree, event: &'a Value) -> FlatEvent<'a> {
    let mut flat = FlatEvent::new(tree.path_count());
    if let Value::Object(_) = event {
        member(tree, ROOT, event, &mut flat);
    }
    flat
}

fn member<'a>(tree: &PathTree, node: u32, value: &'a Value, flat: &mut FlatEvent<'a>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if let Some(next) =
                    tree.descend(node, key.as_bytes(), || KeyHead::of(key.as_bytes()))
                {
                    member(tree, next, child, flat);
                }
            }
        }
        Value::Array(items) => {
            let array = flat.new_array(node);
            for (index, item) in items.iter().enumerate() {
                let container = matches!(item, Value::Object(_) | Value::Array(_));
                if container {
                    flat.enter(array, index as u32);
                }
                member(tree, node, item, flat);
                if container {
                    flat.leave();
                }
            }
        }
        scalar => {
            if let (Some(path), Some(leaf)) = (tree.path(node), Leaf::from_value(scalar)) {
                flat.push(path, leaf);
            }
        }
    }
}
