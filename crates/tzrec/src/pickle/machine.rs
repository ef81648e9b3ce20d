//! The pickle opcodes, run over an arena of nodes: the stack and the memo hold node ids, so a memo fetch or `DUP`
//! shares a node (no copy) and a container filled after it was memoized is filled wherever it is referenced. Each
//! opcode makes at most one node and moves stack entries into containers, so the arena, the stack and every
//! container are bounded by the number of opcodes, hence by the file's size.

use std::collections::HashMap;
use std::sync::Arc;

use super::opcodes as op;
use super::value::{PickleError, Value};

pub(super) type Id = usize;

/// A dict key that dedupes by value (strings and integers: what `get` and Python code look up).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ScalarKey {
    Str(Arc<str>),
    Int(i64),
}

pub(super) enum Node {
    /// A value with no parts to resolve: none, bools, numbers, strings, bytes, globals.
    Leaf(Value),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Dict {
        entries: Vec<(Id, Id)>,
        index: HashMap<ScalarKey, usize>,
    },
    /// `args` is a tuple or list node.
    Object {
        callable: Id,
        args: Id,
        state: Option<Id>,
    },
    PersistentId(Id),
}

/// A node and the offset of the opcode that made it (errors about the value name it).
pub(super) struct Made {
    pub node: Node,
    pub offset: usize,
}

enum Slot {
    Node(Id),
    Mark,
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where the opcode being run starts.
    at: usize,
    arena: Vec<Made>,
    stack: Vec<Slot>,
    memo: HashMap<u64, Id>,
}

/// Runs the opcodes of `bytes` to STOP: the arena and the id of the value returned.
pub(super) fn run(bytes: &[u8]) -> Result<(Vec<Made>, Id), PickleError> {
    let mut machine = Machine { bytes, pos: 0, at: 0, arena: Vec::new(), stack: Vec::new(), memo: HashMap::new() };
    let root = machine.run()?;
    Ok((machine.arena, root))
}

impl<'a> Machine<'a> {
    fn error(&self, message: impl Into<String>) -> PickleError {
        PickleError { offset: self.at, message: message.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| {
            self.error(format!("truncated: {n} more bytes expected, {} left", self.bytes.len() - self.pos))
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, PickleError> {
        Ok(self.take(n)?.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A length field of `n` bytes; checked against the bytes left by [`Machine::take`] before any allocation.
    fn len(&mut self, n: usize) -> Result<usize, PickleError> {
        let len = self.le(n)?;
        usize::try_from(len).map_err(|_| self.error(format!("length {len} does not fit this machine")))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.bytes[self.pos..];
        let len = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.error("unterminated text line"))?;
        let text = String::from_utf8_lossy(&rest[..len]).into_owned();
        self.pos += len + 1;
        Ok(text)
    }

    fn text(&mut self, n: usize) -> Result<Value, PickleError> {
        let raw = self.take(n)?;
        let text = std::str::from_utf8(raw).map_err(|_| self.error("string is not UTF-8"))?;
        Ok(Value::Str(text.into()))
    }

    fn make(&mut self, node: Node) -> Id {
        self.arena.push(Made { node, offset: self.at });
        self.arena.len() - 1
    }

    fn push(&mut self, node: Node) {
        let id = self.make(node);
        self.stack.push(Slot::Node(id));
    }

    fn push_leaf(&mut self, value: Value) {
        self.push(Node::Leaf(value))
    }

    fn pop(&mut self) -> Result<Id, PickleError> {
        match self.stack.pop() {
            Some(Slot::Node(id)) => Ok(id),
            Some(Slot::Mark) => Err(self.error("a mark where a value was expected")),
            None => Err(self.error("stack underflow")),
        }
    }

    fn top(&self) -> Result<Id, PickleError> {
        match self.stack.last() {
            Some(Slot::Node(id)) => Ok(*id),
            _ => Err(self.error("no value on the stack")),
        }
    }

    fn leaf(&self, id: Id) -> Option<&Value> {
        match &self.arena[id].node {
            Node::Leaf(value) => Some(value),
            _ => None,
        }
    }

    /// The values above the topmost mark, removing them and the mark.
    fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let mark = self.stack.iter().rposition(|s| matches!(s, Slot::Mark)).ok_or_else(|| self.error("no mark"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items.into_iter().filter_map(|s| if let Slot::Node(id) = s { Some(id) } else { None }).collect())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let id = *self.memo.get(&key).ok_or_else(|| self.error(format!("memo {key} was never stored")))?;
        self.stack.push(Slot::Node(id));
        Ok(())
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let id = self.top()?;
        self.memo.insert(key, id);
        Ok(())
    }

    fn scalar_key(&self, id: Id) -> Option<ScalarKey> {
        match self.leaf(id)? {
            Value::Str(s) => Some(ScalarKey::Str(s.clone())),
            Value::Int(i) => Some(ScalarKey::Int(*i)),
            _ => None,
        }
    }

    fn set_items(&mut self, items: Vec<Id>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.error("odd number of items for a dict"));
        }
        let dict = self.top()?;
        let keys: Vec<Option<ScalarKey>> = items.iter().step_by(2).map(|&k| self.scalar_key(k)).collect();
        let at = self.at;
        let Node::Dict { entries, index } = &mut self.arena[dict].node else {
            return Err(PickleError { offset: at, message: "SETITEM(S) on something that is not a dict".into() });
        };
        for (pair, key) in items.chunks_exact(2).zip(keys) {
            let (k, v) = (pair[0], pair[1]);
            match key {
                Some(key) => match index.get(&key) {
                    Some(&existing) => entries[existing].1 = v,
                    None => {
                        index.insert(key, entries.len());
                        entries.push((k, v));
                    }
                },
                None => entries.push((k, v)),
            }
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Id>) -> Result<(), PickleError> {
        let list = self.top()?;
        match &mut self.arena[list].node {
            Node::List(list) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(self.error("APPEND(S) on something that is not a list")),
        }
    }

    /// An object node over `callable` and the tuple `args`; `what` names the opcode in errors.
    fn object(&mut self, callable: Id, args: Id, what: &str) -> Result<(), PickleError> {
        if !matches!(self.arena[args].node, Node::Tuple(_) | Node::List(_)) {
            return Err(self.error(format!("{what} arguments are not a tuple")));
        }
        self.push(Node::Object { callable, args, state: None });
        Ok(())
    }

    fn run(&mut self) -> Result<Id, PickleError> {
        loop {
            self.at = self.pos;
            let opcode = self.u8()?;
            if opcode == op::STOP {
                return self.pop();
            }
            let known = self.framing(opcode)?
                || self.scalar(opcode)?
                || self.container(opcode)?
                || self.object_opcode(opcode)?
                || self.memo_opcode(opcode)?;
            if !known {
                return Err(self.error(format!("unsupported pickle opcode 0x{opcode:02x}")));
            }
        }
    }

    /// Protocol, framing and stack bookkeeping; `false` for any other opcode.
    fn framing(&mut self, opcode: u8) -> Result<bool, PickleError> {
        match opcode {
            op::PROTO => {
                let protocol = self.u8()?;
                if protocol > 5 {
                    return Err(self.error(format!("pickle protocol {protocol} is newer than 5")));
                }
            }
            op::FRAME => {
                self.take(8)?; // a length hint only
            }
            op::MARK => self.stack.push(Slot::Mark),
            op::POP => {
                self.pop()?;
            }
            op::DUP => {
                let top = self.top()?;
                self.stack.push(Slot::Node(top))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// None, bools, integers, floats, strings and bytes; `false` for any other opcode.
    fn scalar(&mut self, opcode: u8) -> Result<bool, PickleError> {
        let value = match opcode {
            op::NONE => Value::None,
            op::NEWTRUE => Value::Bool(true),
            op::NEWFALSE => Value::Bool(false),
            op::BININT1 => Value::Int(i64::from(self.u8()?)),
            op::BININT2 => Value::Int(self.le(2)? as i64),
            op::BININT => Value::Int(i64::from(self.le(4)? as u32 as i32)),
            op::LONG1 => {
                let n = self.len(1)?;
                self.long(n)?
            }
            op::LONG4 => {
                let n = self.len(4)?;
                self.long(n)?
            }
            op::BINFLOAT => {
                let mut be = [0u8; 8];
                be.copy_from_slice(self.take(8)?);
                Value::Float(f64::from_be_bytes(be))
            }
            op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                let n = self.len(length_bytes(opcode))?;
                self.text(n)?
            }
            op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8 => {
                let n = self.len(length_bytes(opcode))?;
                Value::Bytes(self.take(n)?.into())
            }
            _ => return Ok(false),
        };
        self.push_leaf(value);
        Ok(true)
    }

    /// Tuples, lists, sets (read as lists) and dicts, and filling them; `false` for any other opcode.
    fn container(&mut self, opcode: u8) -> Result<bool, PickleError> {
        match opcode {
            op::EMPTY_TUPLE => self.push(Node::Tuple(Vec::new())),
            op::TUPLE => {
                let items = self.pop_mark()?;
                self.push(Node::Tuple(items))
            }
            op::TUPLE1..=op::TUPLE3 => {
                let n = usize::from(opcode - op::TUPLE1 + 1);
                let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                self.push(Node::Tuple(items))
            }
            // A set is read as a list: enough for what checkpoints hold.
            op::EMPTY_LIST | op::EMPTY_SET => self.push(Node::List(Vec::new())),
            op::LIST | op::FROZENSET => {
                let items = self.pop_mark()?;
                self.push(Node::List(items))
            }
            op::EMPTY_DICT => self.push(Node::Dict { entries: Vec::new(), index: HashMap::new() }),
            op::DICT => {
                let items = self.pop_mark()?;
                self.push(Node::Dict { entries: Vec::new(), index: HashMap::new() });
                self.set_items(items)?
            }
            op::APPEND => {
                let item = self.pop()?;
                self.append(vec![item])?
            }
            op::APPENDS | op::ADDITEMS => {
                let items = self.pop_mark()?;
                self.append(items)?
            }
            op::SETITEM => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![key, value])?
            }
            op::SETITEMS => {
                let items = self.pop_mark()?;
                self.set_items(items)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Globals, calls, object state and persistent ids (kept, never executed); `false` for any other opcode.
    fn object_opcode(&mut self, opcode: u8) -> Result<bool, PickleError> {
        match opcode {
            op::GLOBAL => {
                let module = self.line()?.into();
                let name = self.line()?.into();
                self.push_leaf(Value::Global { module, name })
            }
            op::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (self.leaf(module), self.leaf(name)) {
                    (Some(Value::Str(module)), Some(Value::Str(name))) => {
                        let global = Value::Global { module: module.clone(), name: name.clone() };
                        self.push_leaf(global)
                    }
                    _ => return Err(self.error("STACK_GLOBAL needs two strings")),
                }
            }
            op::REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                self.object(callable, args, "REDUCE")?
            }
            op::NEWOBJ => {
                let args = self.pop()?;
                let class = self.pop()?;
                self.object(class, args, "NEWOBJ")?
            }
            op::NEWOBJ_EX => {
                let _kwargs = self.pop()?;
                let args = self.pop()?;
                let class = self.pop()?;
                self.object(class, args, "NEWOBJ_EX")?
            }
            op::BUILD => {
                let new_state = self.pop()?;
                let target = self.top()?;
                match &mut self.arena[target].node {
                    Node::Object { state, .. } => *state = Some(new_state),
                    _ => return Err(self.error("BUILD on a non-object")),
                }
            }
            op::BINPERSID => {
                let id = self.pop()?;
                self.push(Node::PersistentId(id))
            }
            op::PERSID => {
                let id = self.line()?;
                let id = self.make(Node::Leaf(Value::Str(id.into())));
                self.push(Node::PersistentId(id))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Memo puts and gets; `false` for any other opcode.
    fn memo_opcode(&mut self, opcode: u8) -> Result<bool, PickleError> {
        match opcode {
            op::BINPUT => {
                let key = u64::from(self.u8()?);
                self.memo_put(key)?
            }
            op::LONG_BINPUT => {
                let key = self.le(4)?;
                self.memo_put(key)?
            }
            op::MEMOIZE => {
                let key = self.memo.len() as u64;
                self.memo_put(key)?
            }
            op::BINGET => {
                let key = u64::from(self.u8()?);
                self.memo_get(key)?
            }
            op::LONG_BINGET => {
                let key = self.le(4)?;
                self.memo_get(key)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// LONG1 / LONG4: a little-endian two's-complement integer of `n` bytes.
    fn long(&mut self, n: usize) -> Result<Value, PickleError> {
        let raw = self.take(n)?;
        if n > 8 {
            return Err(self.error(format!("integer of {n} bytes does not fit 64 bits")));
        }
        let mut value: i64 = 0;
        for (i, &b) in raw.iter().enumerate() {
            value |= i64::from(b) << (8 * i);
        }
        if n > 0 && n < 8 && raw[n - 1] & 0x80 != 0 {
            value -= 1i64 << (8 * n);
        }
        Ok(Value::Int(value))
    }
}

/// The byte count of the length field of a string or bytes opcode.
fn length_bytes(opcode: u8) -> usize {
    match opcode {
        op::SHORT_BINUNICODE | op::SHORT_BINBYTES => 1,
        op::BINUNICODE8 | op::BINBYTES8 => 8,
        _ => 4,
    }
}
