//! The one grammar of `--device`: `cpu`, `cuda`, `cuda:N`, `tensorrt` (or `trt`) and `tensorrt:N`, any case. The
//! trainer (libtorch: cpu and cuda) and the runtime (ONNX Runtime's providers) each say which they can use.

use std::fmt;
use std::str::FromStr;

/// Where a model trains or runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(u32),
    TensorRt(u32),
}

impl Device {
    /// The cargo feature of plec-runtime that compiles the provider in (`None` for CPU).
    pub fn cargo_feature(self) -> Option<&'static str> {
        match self {
            Device::Cpu => None,
            Device::Cuda(_) => Some("cuda"),
            Device::TensorRt(_) => Some("tensorrt"),
        }
    }

    /// ONNX Runtime's name for the provider.
    pub fn provider_name(self) -> &'static str {
        match self {
            Device::Cpu => "CPUExecutionProvider",
            Device::Cuda(_) => "CUDAExecutionProvider",
            Device::TensorRt(_) => "TensorrtExecutionProvider",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
            Device::TensorRt(n) => write!(f, "tensorrt:{n}"),
        }
    }
}

/// A `--device` value outside the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device `{text}`: expected cpu, cuda, cuda:N, tensorrt or tensorrt:N")]
pub struct UnknownDevice {
    pub text: String,
}

impl FromStr for Device {
    type Err = UnknownDevice;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || UnknownDevice { text: text.to_string() };
        let (kind, index) = match text.split_once(':') {
            Some((kind, index)) => (kind, Some(index.parse::<u32>().map_err(|_| bad())?)),
            None => (text, None),
        };
        match (kind.to_ascii_lowercase().as_str(), index) {
            ("cpu", None) => Ok(Device::Cpu),
            ("cuda", index) => Ok(Device::Cuda(index.unwrap_or(0))),
            ("tensorrt" | "trt", index) => Ok(Device::TensorRt(index.unwrap_or(0))),
            _ => Err(bad()),
        }
    }
}
