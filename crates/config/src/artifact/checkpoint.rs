//! The checkpoint layout that `plec train` writes and `plec compile` reads (no libtorch needed to read it).
//!
//! ```text
//! <model_dir>/pipeline.config                 the config the run was started with
//! <model_dir>/ckpt-<step>/model.safetensors   f32 tensors named by `super::names` (parameters and BN buffers)
//! <model_dir>/ckpt-<step>/meta.json           CheckpointMeta
//! <model_dir>/ckpt-<step>/optimizer.safetensors  optimizer state (trainer-private)
//! <model_dir>/ckpt-<step>/golden/test_data_set_0/{input,output}_<i>.pb   golden set (ONNX backend-test layout)
//! <model_dir>/eval_result.txt                 one JSON object per evaluation
//! ```
//! A checkpoint folder is complete once `meta.json` exists: writers write everything else first and rename the
//! folder into place last, so a half-written checkpoint is never visible under its final name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "pipeline.config";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const META_FILE: &str = "meta.json";
pub const GOLDEN_DIR: &str = "golden";
pub const EVAL_RESULT_FILE: &str = "eval_result.txt";
const PREFIX: &str = "ckpt-";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub step: u64,
    /// Samples seen so far (resuming continues the data stream from here).
    pub samples: u64,
    pub epoch: u64,
    /// sha256 (hex) of the canonical model structure (`ModelSpec::structure_hash`): a checkpoint is refused by a
    /// config whose structure differs.
    pub structure_hash: String,
    /// sha256 (hex) of model.safetensors.
    pub weights_sha256: String,
    /// Optimizer state file, relative to the checkpoint folder.
    pub optimizer_state: Option<String>,
    pub plec_version: String,
    /// Where the weights came from when plec did not train them (`plec import`: the TorchEasyRec checkpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

/// `CheckpointMeta::weights_sha256` of a weights file: its sha256 as lowercase hex, read in a stream.
pub fn weights_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

pub fn checkpoint_dir(model_dir: &Path, step: u64) -> PathBuf {
    model_dir.join(format!("{PREFIX}{step}"))
}

/// Complete checkpoints in `model_dir`, oldest first, as (step, folder).
pub fn list_checkpoints(model_dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    if !model_dir.is_dir() {
        return Ok(found);
    }
    for entry in std::fs::read_dir(model_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(step) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)).and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        if entry.path().join(META_FILE).is_file() {
            found.push((step, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The newest complete checkpoint in `model_dir`, if any.
pub fn latest_checkpoint(model_dir: &Path) -> std::io::Result<Option<PathBuf>> {
    Ok(list_checkpoints(model_dir)?.pop().map(|(_, path)| path))
}
