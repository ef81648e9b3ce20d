//! Optimizers: row-sparse for embedding tables, PyTorch-semantics for dense parameters, and gradient clipping.

pub mod clip;
pub mod dense;
pub mod sparse;

pub use dense::DenseOpt;
pub use sparse::SparseOpt;
