//! plec's compiler: a validated `ModelSpec` and its weights -> one self-contained ONNX model that takes raw
//! feature values (docs/semantics.md), plus a deterministic text dump of any such model.
//!
//! ```text
//! Weights::load(path, &spec) --compile(&spec, &weights, &options)--> CompiledModel --write--> model.onnx
//!                                                                                     \--dump--> text
//! ```

pub mod calibration;
pub mod dump;
pub mod error;
mod lower;
pub mod model;
pub mod opset;
pub mod options;
pub mod quantize;
mod static_int8;
#[doc(hidden)]
pub mod weights;

pub use calibration::{ActivationRange, Calibration};
pub use error::{CompileError, WeightProblem, WeightsError};
pub use lower::{calibration_model, compile, compile_owned, meta, DenseKind, DenseLayer, GRAPH_NAME, PRODUCER};
pub use model::{check_writable, read_model, CompiledModel, WriteSummary};
pub use onnx_protobuf;
pub use options::{
    CompileOptions, Int8Options, Layout, TableScale, DEFAULT_OPSET, MAX_OPSET, MIN_INT8_EXPERT_WEIGHTS,
    MIN_INT8_TABLE_ELEMENTS, MIN_INT8_WEIGHTS, MIN_OPSET, SEQUENCE_MIN_OPSET,
};
pub use plec_spec::artifact::precision::Precision;
pub use quantize::Int8Report;
pub use weights::{HashCheck, NormInit, Tensor, Weights};
