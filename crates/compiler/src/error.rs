//! Errors of the compiler: weights that do not fit the config, options it cannot honour, files it cannot write.

use std::path::PathBuf;

/// One problem with a weights file, naming the tensor and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightProblem {
    Missing { name: String, expected: Vec<usize> },
    Unexpected { name: String, shape: Vec<usize> },
    WrongShape { name: String, expected: Vec<usize>, found: Vec<usize> },
    WrongDtype { name: String, dtype: String },
}

impl std::fmt::Display for WeightProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeightProblem::Missing { name, expected } => {
                write!(f, "missing tensor `{name}` (expected shape {expected:?})")
            }
            WeightProblem::Unexpected { name, shape } => {
                write!(f, "unexpected tensor `{name}` of shape {shape:?}: the config has no such parameter")
            }
            WeightProblem::WrongShape { name, expected, found } => {
                write!(f, "tensor `{name}` has shape {found:?}, the config expects {expected:?}")
            }
            WeightProblem::WrongDtype { name, dtype } => write!(f, "tensor `{name}` has dtype {dtype}, expected F32"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read weights {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Resolve(#[from] plec_spec::artifact::checkpoint::ResolveError),
    #[error("{path} is not a valid safetensors file: {message}")]
    Format { path: PathBuf, message: String },
    #[error(transparent)]
    Meta(#[from] plec_spec::artifact::checkpoint::MetaError),
    #[error(transparent)]
    Integrity(#[from] plec_spec::artifact::integrity::IntegrityError),
    #[error("weights {path} do not fit the config ({} problem{}):{}", problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Mismatch { path: PathBuf, problems: Vec<WeightProblem> },
    #[error(
        "checkpoint {path} was trained from a different model structure (structure_hash {found}, the config's \
             is {expected}){detail}"
    )]
    OtherConfig { path: PathBuf, expected: String, found: String, detail: String },
    #[error("cannot write weights {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: safetensors::SafeTensorError,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error("opset {0} is not supported: plec emits ai.onnx opsets {min}..={max}", min = crate::opset::MIN_OPSET,
        max = crate::opset::MAX_OPSET)]
    UnsupportedOpset(i64),
    #[error(
        "opset {opset} cannot compile sequence feature `{feature}`: sequence inputs are split inside the graph by \
         StringSplit, which needs ai.onnx opset {min} or newer (leave --opset out or pass {min} or {max})",
        min = crate::opset::SEQUENCE_MIN_OPSET, max = crate::opset::MAX_OPSET
    )]
    SequenceOpset { opset: i64, feature: String },
    #[error("feature `{feature}`: {message}")]
    Feature { feature: String, message: String },
    #[error(transparent)]
    InvalidSpec(#[from] plec_spec::SpecError),
    /// A parameter `--precision int8` cannot store as int8.
    #[error("cannot quantize `{tensor}` to int8: {message}")]
    Quantize { tensor: String, message: String },
    /// A graph the lowering itself got wrong (a plec bug, never the input's fault).
    #[error("internal error while lowering the model: {0}")]
    Internal(String),
    #[error("cannot serialize the model's {what} as JSON: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot serialize the model: {0}")]
    Serialize(#[source] protobuf::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The model's protobuf encoding failing while it is written to `path`.
    #[error("cannot write {path}: {source}")]
    WriteProto {
        path: PathBuf,
        #[source]
        source: protobuf::Error,
    },
    /// An output path that is a folder.
    #[error("cannot write {0}: is a folder")]
    WriteFolder(PathBuf),
    #[error("the model is {size} bytes, over protobuf's 2 GB limit: compile with external data (--external-data)")]
    TooLarge { size: u64 },
    #[error("cannot read ONNX model {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read ONNX model {path}: not an ONNX model: {source}")]
    NotOnnx {
        path: PathBuf,
        #[source]
        source: protobuf::Error,
    },
}
