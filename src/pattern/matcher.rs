//! Many patterns compiled into one automaton, so matching an event costs about the same with
//! ten thousand rules as with one (the aws/event-ruler and quamina design). Each pattern
//! branch is a chain of (field path, value tests) steps in path order; branches that start
//! with the same steps share states. Matching walks from the start state: for each path a
//! state tests, the event's leaves at that path are looked up in the transition's
//! [`ValueIndex`], and the states reached are explored in turn, carrying the array trail so
//! that fields matched inside an array of objects come from one element.

use rustc_hash::FxHashMap;
use serde_json::Value;
use smallvec::SmallVec;

use super::event_pattern::EventPattern;
use super::flat_event::{FlatEvent, Membership, merge_trails};
use super::json_walk::{self, EventJsonError, Flattened};
use super::operator::Operator;
use super::parse::Field;
use super::path_tree::PathTree;
use super::value_index::{Reached, ValueIndex, append};
use super::value_walk;

/// The shape of one field, for sharing states between patterns.
type FieldShape = (Vec<Operator>, bool);

#[derive(Debug, Clone)]
struct Transition {
    path: u32,
    index: ValueIndex,
    /// States reached when the event has no leaf at `path` (`{"exists": false}`).
    when_absent: Vec<u32>,
}

/// Most states are reached by one rule's own value and test one more field, or none: their
/// one transition and their accepted keys (up to four) sit inline, so reaching such a
/// state costs one trip to memory rather than three.
#[derive(Debug, Clone, Default)]
struct State {
    transitions: SmallVec<[Transition; 1]>,
    /// Keys (by index) whose pattern is complete here.
    accepts: SmallVec<[u32; 4]>,
}

/// Patterns keyed by `K` (a rule id), matched all at once.
#[derive(Debug, Clone)]
pub struct Matcher<K> {
    keys: Vec<K>,
    paths: FxHashMap<String, u32>,
    tree: PathTree,
    states: Vec<State>,
    /// The state each (state, path, field shape) step leads to, so that patterns sharing a
    /// step share its state. Only `add` reads it; matching never does.
    steps: FxHashMap<(u32, u32, FieldShape), u32>,
}

impl<K: Clone> Default for Matcher<K> {
    fn default() -> Self {
        Matcher::new()
    }
}

impl<K: Clone> Matcher<K> {
    pub fn new() -> Self {
        Matcher {
            keys: Vec::new(),
            paths: FxHashMap::default(),
            tree: PathTree::default(),
            states: vec![State::default()],
            steps: FxHashMap::default(),
        }
    }

    /// Add one pattern under `key`. Adding several patterns under equal keys is allowed;
    /// each key is reported once per event.
    pub fn add(&mut self, key: K, pattern: &EventPattern) {
        let key_index = self.keys.len() as u32;
        self.keys.push(key);
        for branch in pattern.branches() {
            let mut state = 0u32;
            for field in branch {
                state = self.step(state, field);
            }
            let accepts = &mut self.states[state as usize].accepts;
            if !accepts.contains(&key_index) {
                accepts.push(key_index);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn path_tree(&self) -> &PathTree {
        &self.tree
    }

    /// Number of patterns added.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn path_id(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.paths.get(path) {
            return id;
        }
        let id = self.paths.len() as u32;
        self.paths.insert(path.to_string(), id);
        self.tree.insert(path, id);
        id
    }

    /// The state after `field` from `from`, creating it unless an equal field is there.
    fn step(&mut self, from: u32, field: &Field) -> u32 {
        let path = self.path_id(&field.path);
        let step = (from, path, (field.operators.clone(), field.absent_ok));
        if let Some(&existing) = self.steps.get(&step) {
            return existing;
        }
        let new_state = self.states.len() as u32;
        let transitions = &mut self.states[from as usize].transitions;
        let at = match transitions.iter().position(|t| t.path == path) {
            Some(at) => at,
            None => {
                transitions.push(Transition {
                    path,
                    index: ValueIndex::default(),
                    when_absent: Vec::new(),
                });
                transitions.len() - 1
            }
        };
        let transition = &mut transitions[at];
        for operator in &field.operators {
            transition.index.add(operator, new_state);
        }
        if field.absent_ok {
            transition.when_absent.push(new_state);
        }
        self.steps.insert(step, new_state);
        self.states.push(State::default());
        new_state
    }

    /// Keys of all patterns that match a parsed event, in the order they were added.
    pub fn matches(&self, event: &Value) -> Vec<K> {
        let flat = value_walk::flatten(&self.tree, event);
        self.keys_for(&flat)
    }

    /// Like [`Matcher::matches`], straight from the event's JSON text: only the values some
    /// pattern names are decoded, the rest is skipped.
    pub fn matches_json(&self, event: &str) -> Result<Vec<K>, EventJsonError> {
        match json_walk::flatten(&self.tree, event)? {
            Flattened::Leaves(flat) => Ok(self.keys_for(&flat)),
            Flattened::RepeatedKey => Ok(self.matches(&json_walk::parse(event)?)),
        }
    }

    fn keys_for(&self, flat: &FlatEvent<'_>) -> Vec<K> {
        let mut accepted = self.run(flat);
        accepted.sort_unstable();
        accepted.dedup();
        accepted
            .into_iter()
            .map(|i| self.keys[i as usize].clone())
            .collect()
    }

    pub(crate) fn any_match(&self, event: &Value) -> bool {
        let flat = value_walk::flatten(&self.tree, event);
        !self.run(&flat).is_empty()
    }

    fn run(&self, flat: &FlatEvent<'_>) -> Accepted {
        let mut walk = Walk {
            flat,
            accepted: SmallVec::new(),
            reached: Reached::new(),
        };
        self.visit(0, &[], &mut walk);
        walk.accepted
    }

    /// Depth-first from `state_id`: a pattern has few fields, so the recursion is shallow.
    fn visit(&self, state_id: u32, membership: &[Membership], walk: &mut Walk<'_, '_>) {
        let state = &self.states[state_id as usize];
        append(&mut walk.accepted, &state.accepts);
        for transition in &state.transitions {
            let mut any_leaf = false;
            for leaf in walk.flat.group(transition.path) {
                any_leaf = true;
                // This level's reached states sit at walk.reached[base..end]; deeper levels
                // push above `end` and truncate back before returning.
                let base = walk.reached.len();
                transition.index.lookup(&leaf.leaf, &mut walk.reached);
                let end = walk.reached.len();
                if base == end {
                    continue;
                }
                let trail = walk.flat.trail(leaf);
                let merged;
                let next_membership = if trail.is_empty() {
                    membership
                } else {
                    match merge_trails(membership, trail) {
                        Some(m) => {
                            merged = m;
                            &merged[..]
                        }
                        None => {
                            walk.reached.truncate(base);
                            continue;
                        }
                    }
                };
                for at in base..end {
                    let next = walk.reached[at];
                    if walk.reached[base..at].contains(&next) {
                        continue;
                    }
                    self.visit(next, next_membership, walk);
                }
                walk.reached.truncate(base);
            }
            if !any_leaf {
                for &next in &transition.when_absent {
                    self.visit(next, membership, walk);
                }
            }
        }
    }
}

/// Scratch space for one event's walk through the automaton, on the stack: an event
/// reaches few states, and a heap allocation per event would cost more than the walk.
struct Walk<'f, 'a> {
    flat: &'f FlatEvent<'a>,
    accepted: Accepted,
    reached: Reached,
}

type Accepted = SmallVec<[u32; 16]>;
