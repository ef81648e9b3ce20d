//! Errors of reading a TorchEasyRec checkpoint: each names the file, and for tensors both names and shapes.

use std::path::PathBuf;

/// One disagreement between the checkpoint and the plec model the config describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    /// A plec parameter whose TorchEasyRec tensor is not in the checkpoint.
    Missing { plec: String, tzrec: String, expected: Vec<usize> },
    /// Both exist with different shapes.
    WrongShape { plec: String, tzrec: String, expected: Vec<usize>, found: Vec<usize> },
    /// The key holds a pickled non-tensor value.
    NotATensor { plec: String, tzrec: String },
    /// A checkpoint tensor no plec parameter reads.
    Unused { tzrec: String, shape: Vec<usize> },
    /// NaN or infinity in a tensor.
    NotFinite { plec: String, tzrec: String, count: usize },
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameProblem::Missing { plec, tzrec, expected } => {
                write!(f, "missing `{tzrec}` (plec `{plec}`, shape {expected:?})")
            }
            NameProblem::WrongShape { plec, tzrec, expected, found } => write!(
                f,
                "`{tzrec}` has shape {found:?}; plec `{plec}` needs {expected:?} (does the config match the one trained?)"
            ),
            NameProblem::NotATensor { plec, tzrec } => {
                write!(f, "`{tzrec}` is not a tensor (plec `{plec}` needs one)")
            }
            NameProblem::Unused { tzrec, shape } => write!(
                f,
                "`{tzrec}` (shape {shape:?}) is used by no parameter of this config (a module plec does not support, \
                 or another config?)"
            ),
            NameProblem::NotFinite { plec, tzrec, count } => {
                write!(f, "`{tzrec}` (plec `{plec}`) holds {count} NaN or infinite values")
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error(
        "no TorchEasyRec checkpoint at {0}: expected a model_dir holding model.ckpt-<step>/ folders, one \
         model.ckpt-<step>/ folder, or its model/ folder (the one with .metadata)"
    )]
    NotFound(PathBuf),
    #[error("TorchEasyRec checkpoint {path} does not fit the config ({} problem{}):{}", problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Mismatch { path: PathBuf, problems: Vec<NameProblem> },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}
