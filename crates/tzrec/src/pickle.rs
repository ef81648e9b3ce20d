//! A small reader of Python pickles (protocols 2 to 5), enough for the two kinds a TorchEasyRec checkpoint holds:
//! `torch.distributed.checkpoint`'s `.metadata` (dataclasses, `torch.Size`, dicts keyed by `MetadataIndex`) and
//! `torch.save`'s `data.pkl` (`_rebuild_tensor_v2` over a persistent storage id). Nothing is executed: a global is
//! kept as its (module, name), a call as the callable and its arguments, an object as its class and state, and the
//! caller interprets the few shapes it expects.
//!
//! No maintained crate fits: serde-pickle refuses persistent ids (`BINPERSID`) and resolves only a fixed set of
//! globals, and candle's reader comes with all of candle-core.
//!
//! The memo holds copies, not shared references: a container mutated after it was memoized and then fetched again
//! would be seen empty. Neither pickle kind above does that (they refetch only strings, classes and tuples).

use std::collections::HashMap;

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Insertion-ordered; keys may be any value (DCP keys `storage_data` by `MetadataIndex` objects).
    Dict(Vec<(Value, Value)>),
    /// A global reference, `module.name`.
    Global {
        module: String,
        name: String,
    },
    /// `callable(*args)` (REDUCE) or `cls.__new__(cls, *args)` (NEWOBJ), with the state BUILD gave it.
    Object {
        callable: Box<Value>,
        args: Vec<Value>,
        state: Option<Box<Value>>,
    },
    /// A persistent id (`torch.save` refers to tensor storages this way).
    PersistentId(Box<Value>),
}

impl Value {
    /// `Some((module, name))` of a global, or of the callable of an object.
    pub fn global(&self) -> Option<(&str, &str)> {
        match self {
            Value::Global { module, name } => Some((module, name)),
            _ => None,
        }
    }

    /// The (module, name) of the class or function that made this object.
    pub fn class(&self) -> Option<(&str, &str)> {
        match self {
            Value::Object { callable, .. } => callable.global(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// Items of a tuple or list.
    pub fn items(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(items) | Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The value of string key `key` in a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The field `key` of an object whose state is a dict (dataclasses; `(None, slots)` states too).
    pub fn field(&self, key: &str) -> Option<&Value> {
        let Value::Object { state: Some(state), .. } = self else { return None };
        match state.as_ref() {
            dict @ Value::Dict(_) => dict.get(key),
            Value::Tuple(parts) => parts.iter().find_map(|part| part.get(key)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {message}")]
pub struct PickleError {
    pub offset: usize,
    pub message: String,
}

enum Slot {
    Value(Value),
    Mark,
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Slot>,
    memo: HashMap<u64, Value>,
}

/// Decodes one pickle.
pub fn parse(bytes: &[u8]) -> Result<Value, PickleError> {
    Machine { bytes, pos: 0, stack: Vec::new(), memo: HashMap::new() }.run()
}

impl<'a> Machine<'a> {
    fn error(&self, message: impl Into<String>) -> PickleError {
        PickleError { offset: self.pos, message: message.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| self.error(format!("truncated: {n} more bytes expected")))?;
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
        Ok(Value::Str(text.to_string()))
    }

    fn push(&mut self, value: Value) {
        self.stack.push(Slot::Value(value));
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        match self.stack.pop() {
            Some(Slot::Value(v)) => Ok(v),
            Some(Slot::Mark) => Err(self.error("a mark where a value was expected")),
            None => Err(self.error("stack underflow")),
        }
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        match self.stack.last_mut() {
            Some(Slot::Value(v)) => Ok(v),
            _ => Err(PickleError { offset: self.pos, message: "no value on the stack".into() }),
        }
    }

    /// The values above the topmost mark, removing them and the mark.
    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let mark = self.stack.iter().rposition(|s| matches!(s, Slot::Mark)).ok_or_else(|| self.error("no mark"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items.into_iter().filter_map(|s| if let Slot::Value(v) = s { Some(v) } else { None }).collect())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let value = self.memo.get(&key).cloned().ok_or_else(|| self.error(format!("memo {key} was never stored")))?;
        self.push(value);
        Ok(())
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let value = self.top()?.clone();
        self.memo.insert(key, value);
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.error("odd number of items for a dict"));
        }
        let pos = self.pos;
        let Value::Dict(entries) = self.top()? else {
            return Err(PickleError { offset: pos, message: "SETITEM(S) on something that is not a dict".into() });
        };
        let mut items = items.into_iter();
        while let (Some(k), Some(v)) = (items.next(), items.next()) {
            match entries.iter_mut().find(|(key, _)| *key == k) {
                Some(entry) => entry.1 = v,
                None => entries.push((k, v)),
            }
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>) -> Result<(), PickleError> {
        let pos = self.pos;
        match self.top()? {
            Value::List(list) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(PickleError { offset: pos, message: "APPEND(S) on something that is not a list".into() }),
        }
    }

    fn run(mut self) -> Result<Value, PickleError> {
        loop {
            let opcode = self.u8()?;
            match opcode {
                0x80 => {
                    let protocol = self.u8()?;
                    if protocol > 5 {
                        return Err(self.error(format!("pickle protocol {protocol} is newer than 5")));
                    }
                }
                0x95 => {
                    self.take(8)?; // FRAME: a length hint only
                }
                b'.' => return self.pop(),
                b'(' => self.stack.push(Slot::Mark),
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(i64::from(v)))
                }
                b'M' => {
                    let v = self.le(2)?;
                    self.push(Value::Int(v as i64))
                }
                b'J' => {
                    let v = self.le(4)? as u32 as i32;
                    self.push(Value::Int(i64::from(v)))
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let v = self.long(n)?;
                    self.push(v)
                }
                0x8b => {
                    let n = self.le(4)? as usize;
                    let v = self.long(n)?;
                    self.push(v)
                }
                b'G' => {
                    let raw = self.take(8)?;
                    let mut be = [0u8; 8];
                    be.copy_from_slice(raw);
                    self.push(Value::Float(f64::from_be_bytes(be)))
                }
                b'X' => {
                    let n = self.le(4)? as usize;
                    let v = self.text(n)?;
                    self.push(v)
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.text(n)?;
                    self.push(v)
                }
                0x8d => {
                    let n = self.le(8)? as usize;
                    let v = self.text(n)?;
                    self.push(v)
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let v = self.take(n)?.to_vec();
                    self.push(Value::Bytes(v))
                }
                b'B' => {
                    let n = self.le(4)? as usize;
                    let v = self.take(n)?.to_vec();
                    self.push(Value::Bytes(v))
                }
                0x8e => {
                    let n = self.le(8)? as usize;
                    let v = self.take(n)?.to_vec();
                    self.push(Value::Bytes(v))
                }
                b')' => self.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Tuple(items))
                }
                0x85..=0x87 => {
                    let n = usize::from(opcode - 0x84);
                    let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                    items.reverse();
                    self.push(Value::Tuple(items))
                }
                b']' => self.push(Value::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(items))
                }
                b'}' => self.push(Value::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Dict(Vec::new()));
                    self.set_items(items)?
                }
                0x8f => self.push(Value::List(Vec::new())), // EMPTY_SET: a list is enough here
                0x90 => {
                    let items = self.pop_mark()?;
                    self.append(items)?
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(items))
                }
                b'a' => {
                    let item = self.pop()?;
                    self.append(vec![item])?
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_items(vec![key, value])?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global { module, name })
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(module), Value::Str(name)) => self.push(Value::Global { module, name }),
                        _ => return Err(self.error("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let args = args.items().map(<[Value]>::to_vec).ok_or_else(|| self.error("REDUCE args"))?;
                    self.push(Value::Object { callable: Box::new(callable), args, state: None })
                }
                0x81 => {
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let args = args.items().map(<[Value]>::to_vec).ok_or_else(|| self.error("NEWOBJ args"))?;
                    self.push(Value::Object { callable: Box::new(class), args, state: None })
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let args = args.items().map(<[Value]>::to_vec).ok_or_else(|| self.error("NEWOBJ_EX args"))?;
                    self.push(Value::Object { callable: Box::new(class), args, state: None })
                }
                b'b' => {
                    let new_state = self.pop()?;
                    let pos = self.pos;
                    match self.top()? {
                        Value::Object { state, .. } => *state = Some(Box::new(new_state)),
                        _ => return Err(PickleError { offset: pos, message: "BUILD on a non-object".into() }),
                    }
                }
                b'Q' => {
                    let id = self.pop()?;
                    self.push(Value::PersistentId(Box::new(id)))
                }
                b'P' => {
                    let id = self.line()?;
                    self.push(Value::PersistentId(Box::new(Value::Str(id))))
                }
                b'q' => {
                    let key = u64::from(self.u8()?);
                    self.memo_put(key)?
                }
                b'r' => {
                    let key = self.le(4)?;
                    self.memo_put(key)?
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    self.memo_put(key)?
                }
                b'h' => {
                    let key = u64::from(self.u8()?);
                    self.memo_get(key)?
                }
                b'j' => {
                    let key = self.le(4)?;
                    self.memo_get(key)?
                }
                b'0' => {
                    self.pop()?;
                }
                b'2' => {
                    let top = self.top()?.clone();
                    self.push(top)
                }
                other => return Err(self.error(format!("unsupported pickle opcode 0x{other:02x}"))),
            }
        }
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

#[cfg(test)]
mod tests;
