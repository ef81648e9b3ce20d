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

use super::golden::GoldenSet;
use super::integrity::{self, IntegrityError, Mismatch};

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
    /// sha256 (hex) of model.safetensors, checked before the weights are used (`super::integrity`).
    pub weights_sha256: String,
    /// `GoldenSet::content_sha256` of `golden/` (absent in checkpoints written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_sha256: Option<String>,
    /// Optimizer state file, relative to the checkpoint folder.
    pub optimizer_state: Option<String>,
    pub plec_version: String,
    /// Where the weights came from when plec did not train them (`plec import`: the TorchEasyRec checkpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

/// `CheckpointMeta::weights_sha256` of a weights file: its sha256 as lowercase hex, read in a stream.
pub fn weights_sha256(path: &Path) -> std::io::Result<String> {
    integrity::file_sha256(path)
}

/// Refuses a weights file whose sha256 is not the one `meta.json` (at `meta_path`) records.
pub fn check_weights(meta_path: &Path, meta: &CheckpointMeta, weights: &Path) -> Result<(), IntegrityError> {
    let actual = integrity::checked_file_sha256(weights)?;
    if actual == meta.weights_sha256 {
        return Ok(());
    }
    Err(Mismatch {
        path: weights.to_path_buf(),
        what: "the weights file".into(),
        recorded_in: format!("{} (`weights_sha256`)", meta_path.display()),
        recorded: meta.weights_sha256.clone(),
        actual,
        remedy: integrity::CHECKPOINT_REMEDY,
    }
    .into())
}

/// Refuses a golden set whose content hash is not the one `meta.json` records (a checkpoint that records none
/// passes: it was written before the hash was).
pub fn check_golden(
    meta_path: &Path,
    meta: &CheckpointMeta,
    golden_dir: &Path,
    set: &GoldenSet,
) -> Result<(), IntegrityError> {
    let Some(recorded) = &meta.golden_sha256 else { return Ok(()) };
    let actual = set.content_sha256();
    if &actual == recorded {
        return Ok(());
    }
    Err(Mismatch {
        path: golden_dir.to_path_buf(),
        what: "the golden set".into(),
        recorded_in: format!("{} (`golden_sha256`)", meta_path.display()),
        recorded: recorded.clone(),
        actual,
        remedy: integrity::CHECKPOINT_REMEDY,
    }
    .into())
}

/// Reads a checkpoint folder's `meta.json`.
pub fn read_meta(dir: &Path) -> Result<CheckpointMeta, MetaError> {
    let path = dir.join(META_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| MetaError::Io { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|source| MetaError::Json { path, source })
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a plec checkpoint's meta.json: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
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
