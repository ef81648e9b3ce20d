//! Turns the arena the opcodes left into a [`Value`], building each node once and sharing it where it is used
//! again. Refused: a container that holds itself, nesting deeper than [`MAX_DEPTH`], and a value that would hold
//! more than the budget's values if each shared part were written out where it is used (a consumer walking,
//! comparing or printing the value does that much work).

use std::sync::Arc;

use super::machine::{Id, Made, Node};
use super::value::{PickleError, Value, MAX_DEPTH};

enum State {
    Unbuilt,
    Building,
    /// The value, its size with shared parts counted at each use, and its height (levels below it).
    Built(Value, u64, usize),
}

struct Builder<'a> {
    arena: &'a [Made],
    states: Vec<State>,
    budget: u64,
}

/// The value of node `root`, within `budget` values.
pub(super) fn build(arena: &[Made], root: Id, budget: u64) -> Result<Value, PickleError> {
    let mut builder = Builder { arena, states: (0..arena.len()).map(|_| State::Unbuilt).collect(), budget };
    Ok(builder.node(root, 0)?.0)
}

impl Builder<'_> {
    fn error(&self, id: Id, message: String) -> PickleError {
        PickleError { offset: self.arena[id].offset, message }
    }

    fn too_deep(&self, id: Id) -> PickleError {
        self.error(id, format!("values nest deeper than {MAX_DEPTH} levels (the limit)"))
    }

    /// The value of `id` at nesting level `depth`, its size and height.
    fn node(&mut self, id: Id, depth: usize) -> Result<(Value, u64, usize), PickleError> {
        if depth > MAX_DEPTH {
            return Err(self.too_deep(id));
        }
        match &self.states[id] {
            State::Built(value, size, height) => {
                if depth + height > MAX_DEPTH {
                    return Err(self.too_deep(id));
                }
                return Ok((value.clone(), *size, *height));
            }
            State::Building => return Err(self.error(id, "a container holds itself (a cycle)".into())),
            State::Unbuilt => {}
        }
        self.states[id] = State::Building;
        let mut parts = Parts { size: 1, height: 0 };
        let arena = self.arena;
        let value = match &arena[id].node {
            Node::Leaf(value) => value.clone(),
            Node::Tuple(items) => Value::Tuple(self.items(items, depth, &mut parts)?),
            Node::List(items) => Value::List(self.items(items, depth, &mut parts)?),
            Node::Dict { entries, .. } => {
                let mut out = Vec::with_capacity(entries.len());
                for &(k, v) in entries {
                    let key = self.part(k, depth, &mut parts)?;
                    let value = self.part(v, depth, &mut parts)?;
                    out.push((key, value));
                }
                Value::Dict(out.into())
            }
            &Node::Object { callable, args, state } => {
                let callable = Arc::new(self.part(callable, depth, &mut parts)?);
                // The machine made sure `args` is a tuple or list; its items become the arguments.
                let args = match self.part(args, depth, &mut parts)? {
                    Value::Tuple(items) | Value::List(items) => items,
                    _ => Arc::from([]),
                };
                let state = match state {
                    Some(state) => Some(Arc::new(self.part(state, depth, &mut parts)?)),
                    None => None,
                };
                Value::Object { callable, args, state }
            }
            &Node::PersistentId(inner) => Value::PersistentId(Arc::new(self.part(inner, depth, &mut parts)?)),
        };
        if parts.size > self.budget {
            return Err(self.error(
                id,
                format!(
                    "the value made here holds more than {} values when its shared parts are counted at each use \
                     (the limit for a file of this size)",
                    self.budget
                ),
            ));
        }
        self.states[id] = State::Built(value.clone(), parts.size, parts.height);
        Ok((value, parts.size, parts.height))
    }

    /// A part of a container at `depth`, counted into `parts`.
    fn part(&mut self, id: Id, depth: usize, parts: &mut Parts) -> Result<Value, PickleError> {
        let (value, size, height) = self.node(id, depth + 1)?;
        parts.size = parts.size.saturating_add(size);
        parts.height = parts.height.max(height + 1);
        Ok(value)
    }

    fn items(&mut self, items: &[Id], depth: usize, parts: &mut Parts) -> Result<Arc<[Value]>, PickleError> {
        items.iter().map(|&item| self.part(item, depth, parts)).collect()
    }
}

/// What a node's parts add up to so far.
struct Parts {
    size: u64,
    height: usize,
}
