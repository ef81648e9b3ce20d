//! `plec datagen` (cargo feature `data`): generated data sets for tests and experiments, and converters.
//!
//! - [`taobao`]: click / buy rows with the schema of `examples/ple_taobao.config`.
//! - [`synthetic`]: the MMoE paper's two regression tasks with a chosen correlation.
//! - [`census`]: UCI Census-Income (KDD) -> Parquet splits and the PLE paper's census configs.
//!
//! Generators use their own PRNG ([`rng`]): a seed gives the same files on every machine and version.

pub mod rng;
pub mod taobao;
mod write;

pub use write::{Chunk, ChunkWriter, OutputFormat};

#[cfg(test)]
mod taobao_tests;
