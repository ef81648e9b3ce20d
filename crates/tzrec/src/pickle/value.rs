//! What a pickle decodes to, why one is refused, and the limits that bound the work a file may cause.

use std::sync::Arc;

/// Nesting deeper than this is refused (a DCP `.metadata` nests about 12 levels; `data.pkl` about 5).
pub const MAX_DEPTH: usize = 100;

/// The least number of values a pickle may expand to, however small the file.
pub const MIN_VALUE_BUDGET: u64 = 1 << 16;

/// Values a pickle may expand to per byte of file, shared parts counted at each use.
pub const VALUES_PER_BYTE: u64 = 16;

/// The most values the pickle of `len` bytes may expand to: `max(MIN_VALUE_BUDGET, VALUES_PER_BYTE * len)`.
pub fn value_budget(len: usize) -> u64 {
    MIN_VALUE_BUDGET.max(VALUES_PER_BYTE.saturating_mul(len as u64))
}

/// A decoded pickle value. Parts are shared, so cloning one is cheap.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Bytes(Arc<[u8]>),
    Tuple(Arc<[Value]>),
    List(Arc<[Value]>),
    /// Insertion-ordered; keys may be any value (DCP keys `storage_data` by `MetadataIndex` objects). A string or
    /// integer key set twice keeps its last value, as in Python.
    Dict(Arc<[(Value, Value)]>),
    /// A global reference, `module.name`.
    Global {
        module: Arc<str>,
        name: Arc<str>,
    },
    /// `callable(*args)` (REDUCE) or `cls.__new__(cls, *args)` (NEWOBJ), with the state BUILD gave it.
    Object {
        callable: Arc<Value>,
        args: Arc<[Value]>,
        state: Option<Arc<Value>>,
    },
    /// A persistent id (`torch.save` refers to tensor storages this way).
    PersistentId(Arc<Value>),
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

/// Why a pickle was refused; `offset` is the byte of the opcode at fault (the one that made the offending value,
/// for a limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {message}")]
pub struct PickleError {
    pub offset: usize,
    pub message: String,
}
