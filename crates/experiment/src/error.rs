//! What stops an experiment: the trainer's errors, and arms whose configs do not load.

use std::path::PathBuf;

use plec_trainer::TrainError;

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("data: {0}")]
    Data(#[from] plec_data::DataError),
    /// An arm's config (`path`: where it came from) that does not load.
    #[error("{path}: {source}")]
    ArmConfig {
        path: PathBuf,
        #[source]
        source: plec_config::ConfigError,
    },
    /// A config generated from the synthetic experiment's model shape options that does not load.
    #[error("{arm}.config, generated from the model shape options: {source}")]
    GeneratedConfig {
        arm: String,
        #[source]
        source: plec_config::ConfigError,
    },
    /// Options or earlier runs that do not fit together.
    #[error("{0}")]
    Config(String),
    /// Runs that finished without what the experiment needs (no evaluation to compare).
    #[error("data: {0}")]
    Unusable(String),
}

pub type Result<T, E = ExperimentError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>, source: std::io::Error) -> ExperimentError {
    TrainError::Io { path: path.into(), source }.into()
}

/// A file that is unusable for `message` (not an I/O failure: that is [`io_err`]).
pub(crate) fn file_err(path: impl Into<PathBuf>, message: impl Into<String>) -> ExperimentError {
    TrainError::File { path: path.into(), message: message.into() }.into()
}
