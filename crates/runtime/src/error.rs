//! Errors of the runtime: every message names the file, input, row or device it is about.

use std::path::PathBuf;

use crate::device::DeviceError;
use crate::validate::InputError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "cannot find the ONNX Runtime library ({file}); looked at{}:\n{}\nSet ORT_DYLIB_PATH to the library file, or \
         run scripts/setup (it installs ONNX Runtime 1.31.1 into .native/lib)",
        if *from_variable { " (the file ORT_DYLIB_PATH names)" } else { "" },
        looked_at.iter().map(|p| format!("  {}", p.display())).collect::<Vec<_>>().join("\n")
    )]
    LibraryNotFound { file: String, looked_at: Vec<PathBuf>, from_variable: bool },
    #[error("cannot load the ONNX Runtime library {path}: {message}")]
    LibraryLoad { path: PathBuf, message: String },
    #[error("cannot read model {path}: {message}")]
    ModelFile { path: PathBuf, message: String },
    #[error("model {path}: {message}")]
    Metadata { path: PathBuf, message: String },
    #[error("model {path}: ONNX Runtime cannot create a session: {message}")]
    Session { path: PathBuf, message: String },
    #[error("model {path}: ONNX Runtime failed to run: {message}")]
    Run { path: PathBuf, message: String },
    #[error("model {path}: output `{output}`: {message}")]
    Output { path: PathBuf, output: String, message: String },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Device(#[from] DeviceError),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
