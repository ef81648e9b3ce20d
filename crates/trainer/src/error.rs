//! The trainer's errors: each names the file, tensor, row or step it is about and what was expected.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file plec cannot use for a reason of its own (its content, not an I/O failure).
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// A JSON file of a checkpoint that cannot be serialized.
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A checkpoint's golden set that cannot be written.
    #[error("{path}: {source}")]
    Golden {
        path: PathBuf,
        #[source]
        source: plec_spec::artifact::golden::GoldenError,
    },
    /// A chart that cannot be encoded as PNG.
    #[error("{path}: {source}")]
    Png {
        path: PathBuf,
        #[source]
        source: png::EncodingError,
    },
    #[error(transparent)]
    InvalidSpec(#[from] plec_spec::SpecError),
    #[error("libtorch: {}", torch_message(.0))]
    Torch(#[from] tch::TchError),
    /// libtorch failed (out of memory, most often) while doing `during`.
    #[error("libtorch failed {during}: {message}")]
    TorchDuring { during: String, message: String },
    /// A tensor the config or the data sizes could not be allocated.
    #[error("cannot allocate {what} of shape {shape:?} ({}) on {device}: {message}", float32_size(.shape))]
    Allocation { what: String, shape: Vec<i64>, device: String, message: String },
    /// A parameter the model builds is missing from, or extra to, `ModelSpec::params()` (a plec bug).
    #[error("parameter naming mismatch: {0}")]
    Naming(String),
    /// A checkpoint that does not fit the config or is damaged.
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// A checkpoint's tensor file libtorch cannot read.
    #[error("checkpoint {path}: {source}")]
    CheckpointTensors {
        path: PathBuf,
        #[source]
        source: tch::TchError,
    },
    #[error("checkpoint {0}")]
    CheckpointMeta(#[from] plec_spec::artifact::checkpoint::MetaError),
    /// A checkpoint file whose sha256 is not the one its `meta.json` records.
    #[error(transparent)]
    Integrity(#[from] plec_spec::artifact::integrity::IntegrityError),
    /// A checkpoint's training state (step, epoch, optimizer steps) that does not parse.
    #[error("checkpoint {path}: {source}")]
    CheckpointState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
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
    #[error("data: cannot start the data reader thread: {0}")]
    ReaderThread(#[source] std::io::Error),
    /// The data reader thread panicked (a plec bug); without this the batches would just stop, as at the end.
    #[error("the data reader thread panicked: {0}")]
    ReaderPanicked(String),
    /// Training stopped on SIGINT / SIGTERM after a complete step and a checkpoint of it.
    #[error(
        "interrupted at step {step}: last complete checkpoint is {}; rerun the same command to resume",
        checkpoint.display()
    )]
    Interrupted { step: u64, checkpoint: PathBuf },
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>, source: std::io::Error) -> TrainError {
    TrainError::Io { path: path.into(), source }
}

/// A file that is unusable for `message` (not an I/O failure: that is [`io_err`]).
pub(crate) fn file_err(path: impl Into<PathBuf>, message: impl Into<String>) -> TrainError {
    TrainError::File { path: path.into(), message: message.into() }
}

/// A libtorch error without tch's prefix and the C++ backtrace libtorch appends ("Exception raised from ...").
pub fn torch_message(error: &tch::TchError) -> String {
    let text = match error {
        tch::TchError::Torch(text) => text.clone(),
        other => other.to_string(),
    };
    let text = text.split("\nException raised from").next().unwrap_or(&text);
    text.trim().to_string()
}

/// The size of a float32 tensor of `shape`, for messages ("29.1 TiB").
fn float32_size(shape: &[i64]) -> String {
    let bytes = shape.iter().fold(4.0f64, |acc, &d| acc * d.max(0) as f64);
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes as float32")
    } else {
        format!("{value:.1} {} as float32", units[unit])
    }
}

/// An allocation failure naming the tensor (`what`), its shape and the device.
pub(crate) fn alloc_err(
    what: impl Into<String>,
    shape: &[i64],
    device: tch::Device,
    error: tch::TchError,
) -> TrainError {
    TrainError::Allocation {
        what: what.into(),
        shape: shape.to_vec(),
        device: match device {
            tch::Device::Cuda(i) => format!("cuda:{i}"),
            other => format!("{other:?}").to_lowercase(),
        },
        message: torch_message(&error),
    }
}

/// Names what libtorch was doing when a fallible (`f_`) call failed; the innermost description wins.
pub(crate) trait During<T> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> During<T> for std::result::Result<T, tch::TchError> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| TrainError::TorchDuring { during: what(), message: torch_message(&e) })
    }
}

impl<T> During<T> for Result<T> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| match e {
            TrainError::Torch(e) => TrainError::TorchDuring { during: what(), message: torch_message(&e) },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torch_messages_drop_the_cpp_backtrace() {
        let error = tch::TchError::Torch(
            "DefaultCPUAllocator: can't allocate memory\nException raised from malloc at alloc.cpp:1\nframe #0: x"
                .into(),
        );
        assert_eq!(torch_message(&error), "DefaultCPUAllocator: can't allocate memory");
    }

    #[test]
    fn allocation_errors_give_the_size() {
        let error = alloc_err("table `t`", &[1 << 40, 8], tch::Device::Cpu, tch::TchError::Torch("no".into()));
        assert_eq!(
            error.to_string(),
            "cannot allocate table `t` of shape [1099511627776, 8] (32.0 TiB as float32) on cpu: no"
        );
    }
}
