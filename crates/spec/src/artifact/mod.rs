//! The artifact formats every plec crate shares: what one stage writes and the next reads, with no libtorch, ONNX
//! or ONNX Runtime types in them.
//!
//! - [`names`]: the dotted parameter names (tch VarStore path = safetensors key = ONNX initializer name);
//! - [`checkpoint`]: the checkpoint folder layout and its `meta.json`;
//! - [`signature`]: a compiled model's inputs and outputs (`plec.signature` metadata);
//! - [`tensor`]: named, typed, row-major tensors (raw graph inputs and outputs);
//! - [`golden`]: golden sets (ONNX backend-test `.pb` files, `plec.golden` metadata) and their comparison, within
//!   the bounds of [`tolerance`];
//! - [`integrity`]: the content hashes recorded with checkpoints and models, and their checks;
//! - [`precision`]: the arithmetic precision a model was compiled at (`plec.precision` metadata).

pub mod checkpoint;
pub mod golden;
pub mod integrity;
pub mod names;
pub mod precision;
pub mod signature;
pub mod tensor;
pub mod tolerance;
pub mod wire;
