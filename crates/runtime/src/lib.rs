//! plec's runtime: loads a compiled PLE model (one ONNX file) into ONNX Runtime through `ort`, checks raw inputs
//! against the model's feature signature, and runs it safely from many threads. Also: synthetic benchmark inputs,
//! NVIDIA Triton model repositories.

pub mod bench;
pub mod device;
pub mod dylib;
pub mod error;
pub mod model;
pub mod options;
mod pool;
pub mod predict;
pub mod synthetic;
pub mod tensor;
pub mod triton;
pub mod validate;

pub use device::{Device, DeviceError, DeviceReport};
pub use error::{Result, RuntimeError};
pub use model::{BareRunner, GateOutput, IntegrityReport, Model};
pub use options::{IntegrityCheck, OptimizationLevel, RunOptions};
pub use tensor::{OutputTensor, Outputs, RawData, RawInputs, RawTensor};
pub use validate::{BadValue, InputError};
