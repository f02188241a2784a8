//! Many patterns compiled into one automaton, so matching an event costs about the same with
//! ten thousand rules as with one (the aws/event-ruler and quamina design). Each pattern
//! branch is a chain of (field path, value tests) steps in path order; branches that start
//! with the same steps share states. Matching walks from the start state: for each path a
//! state tests, the event's leaves at that path are looked up in the transition's
//! [`ValueIndex`], and the states reached are explored in turn, carrying the array trail so
//! that fields matched inside an array of objects come from one element.

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use smallvec::SmallVec;

use super::event_pattern::EventPattern;
use super::flat_event::{FlatEvent, Membership, Trail, merge_trails};
use super::json_walk::{self, Aside, EventJsonError, Halt};
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
    /// Per state, the one key it accepts when that is all it does, else [`VISIT`]. With
    /// thousands of rules many states reached are such ends, spread over more memory than
    /// the caches hold; this dense list answers for them without touching the state.
    sole_accepts: Vec<u32>,
    /// Per state, the paths it and the states after it test: an array whose node is
    /// above none of them cannot tie any later field to one of its elements.
    futures: Vec<SmallVec<[u32; 2]>>,
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
            sole_accepts: vec![VISIT],
            futures: vec![SmallVec::new()],
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
            let mut on_the_way = Vec::with_capacity(branch.len());
            for field in branch {
                state = self.step(state, field);
                on_the_way.push((state, self.paths[&field.path]));
            }
            // Each state this branch passes may see the paths its later fields test. (The
            // start state needs none: nothing ties its fields together yet.)
            for (at, &(passed, _)) in on_the_way.iter().enumerate() {
                for &(_, path) in &on_the_way[at + 1..] {
                    if !self.futures[passed as usize].contains(&path) {
                        self.futures[passed as usize].push(path);
                    }
                }
            }
            let accepts = &mut self.states[state as usize].accepts;
            if !accepts.contains(&key_index) {
                accepts.push(key_index);
            }
            self.note_shape(state);
        }
    }

    /// Keep `sole_accepts` current after `state` changed.
    fn note_shape(&mut self, state: u32) {
        let State {
            transitions,
            accepts,
        } = &self.states[state as usize];
        self.sole_accepts[state as usize] = match accepts[..] {
            [key] if transitions.is_empty() => key,
            _ => VISIT,
        };
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
        let known = self.states[from as usize]
            .transitions
            .iter()
            .position(|t| t.path == path);
        if known.is_none() && from == 0 {
            self.tree.mark_eager(path);
        }
        let transitions = &mut self.states[from as usize].transitions;
        let at = match known {
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
        self.sole_accepts.push(VISIT);
        self.futures.push(SmallVec::new());
        self.note_shape(from);
        new_state
    }

    /// Keys of all patterns that match a parsed event, in the order they were added.
    pub fn matches(&self, event: &Value) -> Vec<K> {
        let mut flat = value_walk::flatten(&self.tree, event);
        self.keys_for(self.run_parsed(&mut flat))
    }

    /// Like [`Matcher::matches`], straight from the event's JSON text: only the values some
    /// pattern names are decoded. The rest, and values put aside that no state the event
    /// reaches asks for, are skipped and checked only for balanced brackets.
    pub fn matches_json(&self, event: &str) -> Result<Vec<K>, EventJsonError> {
        let walked = json_walk::flatten(&self.tree, event).and_then(|(mut flat, mut aside)| {
            self.run(&mut flat, aside.pending().then_some(&mut aside))
        });
        match walked {
            Ok(accepted) => Ok(self.keys_for(accepted)),
            Err(Halt::RepeatedKey) => Ok(self.matches(&json_walk::parse(event)?)),
            Err(Halt::Invalid(error)) => Err(error),
        }
    }

    fn keys_for(&self, mut accepted: Accepted) -> Vec<K> {
        accepted.sort_unstable();
        accepted.dedup();
        accepted
            .into_iter()
            .map(|i| self.keys[i as usize].clone())
            .collect()
    }

    pub(crate) fn any_match(&self, event: &Value) -> bool {
        let mut flat = value_walk::flatten(&self.tree, event);
        !self.run_parsed(&mut flat).is_empty()
    }

    /// The rules `flat` matches, walking the values in `aside` as states ask for them.
    fn run<'a>(
        &self,
        flat: &mut FlatEvent<'a>,
        aside: Option<&mut Aside<'_, 'a>>,
    ) -> Result<Accepted, Halt> {
        let mut walk = Walk::new(flat, aside);
        self.visit(0, &[], &mut walk);
        match walk.halt {
            Some(halt) => Err(halt),
            None => Ok(walk.accepted),
        }
    }

    /// The rules a parsed event's `flat` matches: nothing is put aside, so nothing halts.
    fn run_parsed(&self, flat: &mut FlatEvent<'_>) -> Accepted {
        let mut walk = Walk::new(flat, None);
        self.visit(0, &[], &mut walk);
        debug_assert!(walk.halt.is_none(), "only values put aside halt a run");
        walk.accepted
    }

    /// Depth-first from `state_id`: a pattern has few fields, so the recursion is shallow.
    fn visit(&self, state_id: u32, membership: &[Membership], walk: &mut Walk<'_, '_, '_, '_>) {
        let state = &self.states[state_id as usize];
        append(&mut walk.accepted, &state.accepts);
        for transition in &state.transitions {
            if let Some(aside) = walk.aside.as_deref_mut()
                && aside.pending()
                && let Err(halt) = aside.walk_for(walk.flat, transition.path)
            {
                walk.halt = Some(halt);
                return;
            }
            let mut group = walk.flat.group(transition.path);
            let several = group.several;
            // Inside an element of a large array, only the leaves in that element (or
            // outside the array) can agree with the trail so far.
            if several
                && !membership.is_empty()
                && let Some(leaves) = self.element_leaves(transition.path, membership, walk)
            {
                for at in leaves {
                    if self.leaf_reaches(transition, at as usize, membership, several, walk) {
                        return;
                    }
                }
                // The path has leaves (several), whichever of them the element holds.
                continue;
            }
            let mut any_leaf = false;
            while let Some(at) = walk.flat.next_in(&mut group) {
                any_leaf = true;
                if self.leaf_reaches(transition, at, membership, several, walk) {
                    return;
                }
            }
            if !any_leaf {
                for &next in &transition.when_absent {
                    self.enter(next, membership, walk);
                    if walk.halt.is_some() {
                        return;
                    }
                }
            }
        }
    }

    /// Enter the states leaf `at` reaches through `transition`, if its trail agrees with
    /// `membership`. Answers whether the walk halted.
    #[inline(always)]
    fn leaf_reaches(
        &self,
        transition: &Transition,
        at: usize,
        membership: &[Membership],
        several: bool,
        walk: &mut Walk<'_, '_, '_, '_>,
    ) -> bool {
        let leaf = walk.flat.leaf(at);
        // This level's reached states sit at walk.reached[base..end]; deeper levels push
        // above `end` and truncate back before returning.
        let base = walk.reached.len();
        transition.index.lookup(&leaf.leaf, &mut walk.reached);
        let end = walk.reached.len();
        if base == end {
            return false;
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
                    return false;
                }
            }
        };
        for at in base..end {
            let next = walk.reached[at];
            if walk.reached[base..at].contains(&next) {
                continue;
            }
            if several && self.branches_on(next) {
                self.enter_once(next, next_membership, walk);
            } else {
                self.enter(next, next_membership, walk);
            }
            if walk.halt.is_some() {
                return true;
            }
        }
        walk.reached.truncate(base);
        false
    }

    /// The leaves at `path` that can agree with `membership` on the element of the
    /// innermost array above `path` it names: those in that element and those outside
    /// the array. `None` when the path has few leaves, or most lie outside the array:
    /// then they are walked in turn.
    #[inline(never)]
    fn element_leaves(
        &self,
        path: u32,
        membership: &[Membership],
        walk: &mut Walk<'_, '_, '_, '_>,
    ) -> Option<SmallVec<[u32; 4]>> {
        let node = self.tree.path_node(path);
        let &(array, index) = membership
            .iter()
            .rev()
            .find(|&&(array, _)| self.tree.is_at_or_below(node, walk.flat.array_node(array)))?;
        let Walk {
            flat, by_element, ..
        } = walk;
        // The path's leaves are all walked by now (`walk_for` ran for this transition), so
        // an index built once serves the rest of the event.
        let indexed = by_element
            .entry((path, array))
            .or_insert_with(|| ByElement::build(flat, path, array));
        match indexed {
            ByElement::Unindexed => None,
            ByElement::Indexed { by_index, outside } => Some(
                by_index
                    .get(&index)
                    .into_iter()
                    .flatten()
                    .chain(outside.iter())
                    .copied()
                    .collect(),
            ),
        }
    }

    /// Whether `state` tests more fields, so that visiting it more than once could
    /// multiply the work (a state that only accepts cannot).
    #[inline(always)]
    fn branches_on(&self, state: u32) -> bool {
        self.sole_accepts[state as usize] == VISIT
            && !self.states[state as usize].transitions.is_empty()
    }

    /// Several leaves (elements of arrays) may reach one state: visit it once per element
    /// of the arrays its later fields look into, or independent arrays would multiply the
    /// visits.
    #[inline(never)]
    fn enter_once(&self, state: u32, membership: &[Membership], walk: &mut Walk<'_, '_, '_, '_>) {
        let tied = self.tied_arrays(state, membership, walk.flat);
        if walk.entered.insert((state, tied.clone())) {
            self.visit(state, &tied, walk);
        }
    }

    /// The part of `membership` that can still tie a field to an array element from
    /// `state` on: the arrays above some path it or a later state tests. Dropping the rest
    /// changes no answer, since no later leaf's trail names those arrays.
    fn tied_arrays(&self, state: u32, membership: &[Membership], flat: &FlatEvent<'_>) -> Trail {
        let futures = &self.futures[state as usize];
        membership
            .iter()
            .copied()
            .filter(|&(array, _)| {
                let node = flat.array_node(array);
                futures
                    .iter()
                    .any(|&path| self.tree.is_at_or_below(self.tree.path_node(path), node))
            })
            .collect()
    }

    /// Reach `state`: a state that only accepts one key is answered from `sole_accepts`.
    #[inline(always)]
    fn enter(&self, state: u32, membership: &[Membership], walk: &mut Walk<'_, '_, '_, '_>) {
        match self.sole_accepts[state as usize] {
            VISIT => self.visit(state, membership, walk),
            key => walk.accepted.push(key),
        }
    }
}

/// In `sole_accepts`: the state must be visited.
const VISIT: u32 = u32::MAX;

/// Paths with fewer leaves than this are walked in turn, never indexed by element.
const INDEXED_FROM: usize = 16;

/// The leaves at one path by the element of one array they sit in. Two fields of one
/// array of `n` elements visit the second field's state once per element; walking all its
/// leaves each time compared `n x n` of them.
enum ByElement {
    /// Few leaves, or many outside the array: the index would not narrow the walk.
    Unindexed,
    Indexed {
        by_index: FxHashMap<u32, SmallVec<[u32; 2]>>,
        /// Leaves not inside the array, which agree with any of its elements.
        outside: SmallVec<[u32; 2]>,
    },
}

impl ByElement {
    fn build(flat: &FlatEvent<'_>, path: u32, array: u32) -> ByElement {
        let mut group = flat.group(path);
        let mut leaves = Vec::new();
        while let Some(at) = flat.next_in(&mut group) {
            leaves.push(at);
        }
        if leaves.len() < INDEXED_FROM {
            return ByElement::Unindexed;
        }
        let mut by_index: FxHashMap<u32, SmallVec<[u32; 2]>> = FxHashMap::default();
        let mut outside = SmallVec::new();
        for at in leaves {
            let element = flat
                .trail(flat.leaf(at))
                .iter()
                .find(|&&(a, _)| a == array)
                .map(|&(_, index)| index);
            match element {
                Some(index) => by_index.entry(index).or_default().push(at as u32),
                None if outside.len() < INDEXED_FROM / 2 => outside.push(at as u32),
                None => return ByElement::Unindexed,
            }
        }
        ByElement::Indexed { by_index, outside }
    }
}

/// Scratch space for one event's walk through the automaton, on the stack: an event
/// reaches few states, and a heap allocation per event would cost more than the walk.
struct Walk<'f, 'r, 't, 'a> {
    flat: &'f mut FlatEvent<'a>,
    /// Values the text walk put aside, walked into `flat` when a state asks for a path in
    /// them.
    aside: Option<&'r mut Aside<'t, 'a>>,
    halt: Option<Halt>,
    accepted: Accepted,
    reached: Reached,
    /// States entered from groups of several leaves, with the array elements they are tied
    /// to (see [`Matcher::tied_arrays`]); empty, and unallocated, for most events.
    entered: FxHashSet<(u32, Trail)>,
    /// Per (path, array), its leaves by element (see [`ByElement`]); empty, and
    /// unallocated, unless two fields of one pattern sit in one array.
    by_element: FxHashMap<(u32, u32), ByElement>,
}

impl<'f, 'r, 't, 'a> Walk<'f, 'r, 't, 'a> {
    fn new(flat: &'f mut FlatEvent<'a>, aside: Option<&'r mut Aside<'t, 'a>>) -> Self {
        Walk {
            flat,
            aside,
            halt: None,
            accepted: SmallVec::new(),
            reached: Reached::new(),
            entered: FxHashSet::default(),
            by_element: FxHashMap::default(),
        }
    }
}

type Accepted = SmallVec<[u32; 16]>;
