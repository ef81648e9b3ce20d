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
    #[error("cannot read model {path}: {source}")]
    ModelFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model {path}: {message}")]
    Metadata { path: PathBuf, message: String },
    #[error(transparent)]
    Integrity(#[from] plec_spec::artifact::integrity::IntegrityError),
    #[error("model {path}: cannot read metadata: {source}")]
    MetadataRead {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
    #[error("model {path}: `{}` is not a valid signature: {source}", plec_spec::artifact::signature::SIGNATURE_KEY)]
    Signature {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("model {path}: ONNX Runtime cannot create a session: {source}")]
    Session {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
    #[error("model {path}: ONNX Runtime failed to run: {source}")]
    Run {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
    /// An input tensor ONNX Runtime cannot take.
    #[error("model {path}: ONNX Runtime failed to run: input `{input}`: {source}")]
    RunInput {
        path: PathBuf,
        input: String,
        #[source]
        source: ort::Error,
    },
    #[error("model {path}: output `{output}`: {message}")]
    Output { path: PathBuf, output: String, message: String },
    /// An output ONNX Runtime cannot hand over as float32.
    #[error("model {path}: output `{output}`: {source}")]
    OutputTensor {
        path: PathBuf,
        output: String,
        #[source]
        source: ort::Error,
    },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Device(#[from] DeviceError),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
