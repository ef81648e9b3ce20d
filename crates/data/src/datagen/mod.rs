//! `plec datagen`: generated data sets for tests and experiments, and converters.
//!
//! - [`taobao`]: click / buy rows with the schema of `examples/ple_taobao.config`.
//! - [`synthetic`]: the MMoE paper's two regression tasks with a chosen correlation.
//! - [`schema`]: rows with the columns of any config, for configs without a generator of their own.
//! - [`census`]: UCI Census-Income (KDD) -> Parquet splits and the PLE paper's census configs.
//!
//! Generators use their own PRNG ([`rng`]): a seed gives the same files on every machine and version.

pub mod census;
mod configs;
pub mod rng;
pub mod schema;
mod schema_keys;
mod schema_sequences;
pub mod synthetic;
pub mod taobao;
mod write;

pub use crate::FileFormat;
pub use configs::{write_configs, Architecture, ConfigText, TaskText};
pub use write::{Chunk, ChunkWriter, SplitOptions};

#[cfg(test)]
mod census_tests;
#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod synthetic_tests;
#[cfg(test)]
mod taobao_tests;
