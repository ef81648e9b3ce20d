//! A small reader of Python pickles (protocols 2 to 5), enough for the two kinds a TorchEasyRec checkpoint holds:
//! `torch.distributed.checkpoint`'s `.metadata` (dataclasses, `torch.Size`, dicts keyed by `MetadataIndex`) and
//! `torch.save`'s `data.pkl` (`_rebuild_tensor_v2` over a persistent storage id). Nothing is executed: a global is
//! kept as its (module, name), a call as the callable and its arguments, an object as its class and state, and the
//! caller interprets the few shapes it expects.
//!
//! No maintained crate fits: serde-pickle refuses persistent ids (`BINPERSID`) and resolves only a fixed set of
//! globals, and candle's reader comes with all of candle-core.
//!
//! Pickles come from other teams and companies, so a file must not make the reader (or whoever walks its result)
//! do more work than its size justifies. The opcodes run over an arena ([`machine`]): the memo and `DUP` share a
//! node instead of copying it (each opcode makes at most one node, so the arena, the stack and every container
//! stay within the file's size), and a container filled after it was memoized is seen filled wherever it is
//! referenced. The result is then built once per node ([`build`]) into [`Value`]s whose parts are shared
//! ([`Arc`]), refusing cycles, nesting deeper than [`MAX_DEPTH`], and values that would hold more than
//! [`value_budget`] values if each shared part were written out where it is used — what a consumer that walks,
//! compares or prints the value does. A 285-byte pickle that nests a memoized list in itself 40 times (2^40
//! values when walked) is refused at its first level past the budget.

mod build;
mod machine;
mod opcodes;
mod value;

pub use value::{value_budget, PickleError, Value, MAX_DEPTH, MIN_VALUE_BUDGET, VALUES_PER_BYTE};

/// Decodes one pickle.
pub fn parse(bytes: &[u8]) -> Result<Value, PickleError> {
    let (arena, root) = machine::run(bytes)?;
    build::build(&arena, root, value_budget(bytes.len()))
}

#[cfg(test)]
mod tests;
