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
    read_meta_file(&dir.join(META_FILE))
}

/// Reads a `meta.json` file (the one reader of it: compile, evaluate, fine-tuning and resuming all come here).
pub fn read_meta_file(path: &Path) -> Result<CheckpointMeta, MetaError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetaError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|source| MetaError::Json { path: path.to_path_buf(), source })
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

/// A checkpoint as a user's path names it, found by the one rule every command uses ([`resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The weights file to read.
    pub weights: PathBuf,
    /// The checkpoint folder holding the weights (`ckpt-<step>/`; for a bare safetensors file, its folder).
    pub dir: PathBuf,
    /// `meta.json` beside the weights, when there is one (a bare safetensors file has none).
    pub meta: Option<PathBuf>,
    /// `golden/` beside the weights, when there is one.
    pub golden: Option<PathBuf>,
    /// `pipeline.config` in the checkpoint folder or the model_dir above it, when there is one.
    pub config: Option<PathBuf>,
}

/// Why a path names no checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot read weights {0}: no such file or folder")]
    NotFound(PathBuf),
    #[error("no checkpoint (ckpt-<step>/ with meta.json) in {0}")]
    NoCheckpoint(PathBuf),
    #[error("cannot read weights {0}: checkpoint has no weights file")]
    NoWeightsFile(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Resolves a safetensors file, a checkpoint folder (one holding `meta.json` or `model.safetensors`) or a model_dir
/// (its newest complete checkpoint) to the checkpoint's files. `train --fine_tune_checkpoint`, `evaluate`,
/// `compile` and `import` all read checkpoints through this.
pub fn resolve(path: &Path) -> Result<Resolved, ResolveError> {
    let weights = if path.is_file() {
        path.to_path_buf()
    } else if !path.is_dir() {
        return Err(ResolveError::NotFound(path.to_path_buf()));
    } else if path.join(WEIGHTS_FILE).is_file() || path.join(META_FILE).is_file() {
        path.join(WEIGHTS_FILE)
    } else {
        let io = |source| ResolveError::Io { path: path.to_path_buf(), source };
        let latest =
            latest_checkpoint(path).map_err(io)?.ok_or_else(|| ResolveError::NoCheckpoint(path.to_path_buf()))?;
        latest.join(WEIGHTS_FILE)
    };
    if !weights.is_file() {
        return Err(ResolveError::NoWeightsFile(weights));
    }
    let dir = weights.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Resolved {
        meta: Some(dir.join(META_FILE)).filter(|p| p.is_file()),
        golden: Some(dir.join(GOLDEN_DIR)).filter(|p| p.is_dir()),
        config: config_in_or_above(&dir, 2),
        weights,
        dir,
    })
}

/// `pipeline.config` in `dir` or one of the `levels - 1` folders above it, nearest first.
pub fn config_in_or_above(dir: &Path, levels: usize) -> Option<PathBuf> {
    dir.ancestors().take(levels).map(|d| d.join(CONFIG_FILE)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    /// A model_dir with a config and complete checkpoints at `steps` (weights, meta, golden), plus a half-written
    /// one (no meta.json) at a later step.
    fn model_dir(steps: &[u64]) -> TestDir {
        let dir = TestDir::new("resolve");
        std::fs::write(dir.join(CONFIG_FILE), "").unwrap();
        for &step in steps {
            let ckpt = checkpoint_dir(&dir, step);
            std::fs::create_dir_all(ckpt.join(GOLDEN_DIR)).unwrap();
            std::fs::write(ckpt.join(WEIGHTS_FILE), "w").unwrap();
            std::fs::write(ckpt.join(META_FILE), "{}").unwrap();
        }
        let partial = checkpoint_dir(&dir, 1000);
        std::fs::create_dir_all(&partial).unwrap();
        std::fs::write(partial.join(WEIGHTS_FILE), "w").unwrap();
        dir
    }

    #[test]
    fn a_model_dir_a_checkpoint_folder_and_its_weights_file_name_the_same_checkpoint() {
        let dir = model_dir(&[2, 10, 9]);
        let newest = checkpoint_dir(&dir, 10);
        let expected = Resolved {
            weights: newest.join(WEIGHTS_FILE),
            dir: newest.clone(),
            meta: Some(newest.join(META_FILE)),
            golden: Some(newest.join(GOLDEN_DIR)),
            config: Some(dir.join(CONFIG_FILE)),
        };
        for path in [dir.to_path_buf(), newest.clone(), newest.join(WEIGHTS_FILE)] {
            assert_eq!(resolve(&path).unwrap(), expected, "{}", path.display());
        }
        let older = resolve(&checkpoint_dir(&dir, 2)).unwrap();
        assert_eq!(older.weights, checkpoint_dir(&dir, 2).join(WEIGHTS_FILE), "an explicit checkpoint is kept");
    }

    #[test]
    fn a_bare_weights_file_has_no_meta_golden_or_config() {
        let dir = TestDir::new("resolve_bare");
        let file = dir.join("w.safetensors");
        std::fs::write(&file, "w").unwrap();
        let resolved = resolve(&file).unwrap();
        assert_eq!((resolved.meta, resolved.golden), (None, None));
        assert_eq!(resolved.dir, dir.to_path_buf());
    }

    #[test]
    fn paths_that_name_no_checkpoint_say_why() {
        let dir = model_dir(&[]);
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        let messages = [dir.join("missing"), dir.to_path_buf(), dir.join("empty")]
            .map(|p| resolve(&p).unwrap_err().to_string().replace(&dir.display().to_string(), "<dir>"));
        assert_eq!(
            messages,
            [
                "cannot read weights <dir>/missing: no such file or folder",
                "no checkpoint (ckpt-<step>/ with meta.json) in <dir>",
                "no checkpoint (ckpt-<step>/ with meta.json) in <dir>/empty",
            ]
        );
        std::fs::create_dir_all(checkpoint_dir(&dir, 3)).unwrap();
        std::fs::write(checkpoint_dir(&dir, 3).join(META_FILE), "{}").unwrap();
        let error = resolve(&dir).unwrap_err().to_string().replace(&dir.display().to_string(), "<dir>");
        assert_eq!(error, "cannot read weights <dir>/ckpt-3/model.safetensors: checkpoint has no weights file");
    }
}
