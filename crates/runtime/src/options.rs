//! How a model is loaded and run.

use std::path::PathBuf;
use std::str::FromStr;

use crate::device::Device;

/// ONNX Runtime's graph optimisation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptimizationLevel {
    Disable,
    Basic,
    Extended,
    #[default]
    All,
}

impl FromStr for OptimizationLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "disable" | "0" => Ok(OptimizationLevel::Disable),
            "basic" | "1" => Ok(OptimizationLevel::Basic),
            "extended" | "2" => Ok(OptimizationLevel::Extended),
            "all" | "3" => Ok(OptimizationLevel::All),
            _ => Err(format!("unknown optimization level `{text}`: expected disable, basic, extended or all")),
        }
    }
}

impl OptimizationLevel {
    pub(crate) fn to_ort(self) -> ort::session::builder::GraphOptimizationLevel {
        use ort::session::builder::GraphOptimizationLevel as Level;
        match self {
            OptimizationLevel::Disable => Level::Disable,
            OptimizationLevel::Basic => Level::Level1,
            OptimizationLevel::Extended => Level::Level2,
            OptimizationLevel::All => Level::All,
        }
    }
}

/// Whether [`crate::Model::load`] checks the model's content hashes (`plec_spec::artifact::integrity`) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntegrityCheck {
    /// Refuse a model whose graph or external data differs from the sha256 its metadata records.
    #[default]
    Check,
    /// Load without hashing (a model from a trusted, checksummed store; or a model compiled by an older plec).
    Skip,
}

/// Options of [`crate::Model::load`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub device: Device,
    /// Threads ONNX Runtime uses inside one run (`None`: its default, one per physical core).
    pub intra_threads: Option<usize>,
    pub optimization_level: OptimizationLevel,
    /// Write ONNX Runtime's JSON profile with this path prefix (see [`crate::Model::end_profiling`]).
    pub profiling: Option<PathBuf>,
    /// Run on the CPU when `device` cannot be used (reported by [`crate::Model::device_report`]) instead of failing.
    pub fallback_cpu: bool,
    /// Most sessions kept for concurrent callers (`None`: the number of CPUs). Each holds its own copy of the
    /// weights.
    pub max_sessions: Option<usize>,
    pub integrity: IntegrityCheck,
}
