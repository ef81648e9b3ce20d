//! The trainer's errors: each names the file, tensor, row or step it is about and what was expected.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error(transparent)]
    InvalidSpec(#[from] plec_config::SpecError),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A parameter the model builds is missing from, or extra to, `ModelSpec::params()` (a plec bug).
    #[error("parameter naming mismatch: {0}")]
    Naming(String),
    /// A checkpoint that does not fit the config or is damaged.
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// A batch that does not fit the model (wrong features, labels, widths or values).
    #[error("bad input: {0}")]
    Input(String),
    /// The loss became NaN or infinite.
    #[error("training diverged at step {step}: loss of task `{task}` is {value}")]
    NonFinite { step: u64, task: String, value: f64 },
    /// `--device cuda` without a usable GPU, or another unavailable device.
    #[error("{0}")]
    Device(String),
    #[error("{0}")]
    Config(String),
    #[error("data: {0}")]
    Data(#[from] plec_data::DataError),
    /// Data that reads fine but cannot be used (no rows, no files, no evaluation to compare).
    #[error("data: {0}")]
    Unusable(String),
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>, error: impl std::fmt::Display) -> TrainError {
    TrainError::Io { path: path.into(), message: error.to_string() }
}
