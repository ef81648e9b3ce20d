//! plec's validated model description and the formats its stages share. Plain Rust: the config reader
//! (plec-config) produces a [`ModelSpec`]; the data, trainer, tzrec, compiler and runtime crates consume one and
//! never see the config's protobuf schema.
//!
//! - The model description ([`ModelSpec`] and its parts), [`ModelSpec::check`]'s invariants, [`transform`] (what a
//!   feature's transform computes: raw value -> table row) and [`placement`] (tables and column offsets, the one
//!   rule the reader and the test builder share).
//! - [`artifact`]: the formats the trainer, compiler and runtime exchange (parameter names, checkpoint layout and
//!   resolution, signature, tensors, golden sets, integrity hashes, tolerances).
//! - [`device`]: the one `--device` grammar; [`splitmix`]: the one seeded RNG; `testing`, `test_dir` and `fuzz` (cargo feature `testing`) for every
//!   crate's tests.

pub mod artifact;
mod check;
pub mod device;
#[cfg(any(test, feature = "testing"))]
pub mod fuzz;
mod model;
pub mod placement;
pub mod splitmix;
#[cfg(any(test, feature = "testing"))]
pub mod test_dir;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transform;

pub mod proto;

pub use check::{SpecError, SpecProblem};
pub use model::*;
