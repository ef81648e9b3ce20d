//! Writing and reading checkpoints in `plec_spec::artifact::checkpoint`'s layout. A checkpoint is written into a hidden
//! temporary folder, every file fsynced, then renamed into place, so a crash never leaves a partial `ckpt-<step>`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use plec_spec::artifact::checkpoint::{self as layout, CheckpointMeta};
use plec_spec::artifact::golden::GoldenSet;
use plec_spec::ModelSpec;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::error::{io_err, During, Result, TrainError};
use crate::model::PleModel;
use crate::optim::{DenseOpt, SparseOpt};

/// Trainer-private state beside the optimizer state: where training stands.
pub const TRAIN_STATE_FILE: &str = "train_state.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub step: u64,
    pub epoch: u64,
    /// Rows of the current epoch already trained on (resuming skips them).
    pub rows_in_epoch: u64,
    /// Rows trained on in total.
    pub samples: u64,
    pub sparse_step: u64,
    pub dense_step: u64,
}

fn sha256_file(path: &Path) -> Result<String> {
    layout::weights_sha256(path).map_err(|e| io_err(path, e))
}

fn fsync(path: &Path) -> Result<()> {
    fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| io_err(path, e))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = fs::File::create(path).map_err(|e| io_err(path, e))?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(|e| io_err(path, e))
}

fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let contiguous: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| {
            let copy = t.f_detach()?.f_to_device(tch::Device::Cpu)?.f_contiguous();
            copy.map(|c| (n.clone(), c)).during(|| format!("copying tensor `{n}` for {}", path.display()))
        })
        .collect::<Result<_>>()?;
    Tensor::write_safetensors(&contiguous, path).during(|| format!("writing {}", path.display()))?;
    fsync(path)
}

pub fn read_tensors(path: &Path) -> Result<BTreeMap<String, Tensor>> {
    let tensors = Tensor::read_safetensors(path)
        .map_err(|source| TrainError::CheckpointTensors { path: path.to_path_buf(), source })?;
    Ok(tensors.into_iter().collect())
}

/// Writes `ckpt-<step>` atomically, with `golden` (the training loop's golden set of this model), and removes the oldest checkpoints beyond `keep_max` (0 keeps all).
pub fn save(
    model_dir: &Path,
    model: &PleModel,
    sparse: &SparseOpt,
    dense: &DenseOpt,
    state: &TrainState,
    keep_max: usize,
    golden: &GoldenSet,
) -> Result<PathBuf> {
    fs::create_dir_all(model_dir).map_err(|e| io_err(model_dir, e))?;
    let final_dir = layout::checkpoint_dir(model_dir, state.step);
    let tmp = model_dir.join(format!(".ckpt-{}.tmp-{}", state.step, std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    let weights = tmp.join(layout::WEIGHTS_FILE);
    let named: Vec<(String, Tensor)> = model.named_tensors().into_iter().collect();
    write_tensors(&weights, &named)?;
    let mut opt_state = sparse.state_tensors();
    opt_state.extend(dense.state_tensors());
    if !opt_state.is_empty() {
        write_tensors(&tmp.join(layout::OPTIMIZER_FILE), &opt_state)?;
    }
    let state_json =
        serde_json::to_vec_pretty(state).map_err(|source| TrainError::Json { path: tmp.clone(), source })?;
    write_file(&tmp.join(TRAIN_STATE_FILE), &state_json)?;
    let golden_dir = tmp.join(layout::GOLDEN_DIR);
    golden.write(&golden_dir).map_err(|source| TrainError::Golden { path: golden_dir.clone(), source })?;
    let meta = CheckpointMeta {
        step: state.step,
        samples: state.samples,
        epoch: state.epoch,
        structure_hash: model.spec.structure_hash(),
        weights_sha256: sha256_file(&weights)?,
        golden_sha256: Some(golden.content_sha256()),
        optimizer_state: if opt_state.is_empty() { None } else { Some(layout::OPTIMIZER_FILE.to_string()) },
        plec_version: env!("CARGO_PKG_VERSION").to_string(),
        imported_from: None,
    };
    let meta_json =
        serde_json::to_vec_pretty(&meta).map_err(|source| TrainError::Json { path: tmp.clone(), source })?;
    write_file(&tmp.join(layout::META_FILE), &meta_json)?;
    fsync(&tmp)?;
    if final_dir.exists() {
        fs::remove_dir_all(&final_dir).map_err(|e| io_err(&final_dir, e))?;
    }
    fs::rename(&tmp, &final_dir).map_err(|e| io_err(&final_dir, e))?;
    fsync(model_dir)?;
    if keep_max > 0 {
        let all = layout::list_checkpoints(model_dir).map_err(|e| io_err(model_dir, e))?;
        for (_, old) in all.iter().take(all.len().saturating_sub(keep_max)) {
            fs::remove_dir_all(old).map_err(|e| io_err(old, e))?;
        }
    }
    Ok(final_dir)
}

/// A model with the weights of the checkpoint folder `dir` (structure hash and weights sha256 checked).
pub fn load_model(spec: &ModelSpec, dir: &Path, device: Device) -> Result<PleModel> {
    let model = PleModel::new(spec, device)?;
    load_weights(dir, &model)?;
    Ok(model)
}

/// A model holding the weights of a safetensors file (every parameter present with its shape), e.g. fixed-seed
/// test weights made without training.
pub fn model_from_weights(spec: &ModelSpec, path: &Path) -> Result<PleModel> {
    let model = PleModel::new(spec, Device::Cpu)?;
    let tensors = read_tensors(path)?;
    model.load_named(&tensors, &path.display().to_string())?;
    Ok(model)
}

/// Reads and checks `meta.json` of a checkpoint folder against `model`'s structure.
pub fn read_meta(dir: &Path, model: &PleModel) -> Result<CheckpointMeta> {
    let meta = layout::read_meta(dir)?;
    if meta.structure_hash != model.spec.structure_hash() {
        return Err(TrainError::Checkpoint {
            path: dir.to_path_buf(),
            message: "it was trained with a different model structure than this config describes".into(),
        });
    }
    Ok(meta)
}

/// Loads a checkpoint's weights into `model` (after checking the structure hash and the weights' sha256).
pub fn load_weights(dir: &Path, model: &PleModel) -> Result<CheckpointMeta> {
    let meta = read_meta(dir, model)?;
    let weights = dir.join(layout::WEIGHTS_FILE);
    layout::check_weights(&dir.join(layout::META_FILE), &meta, &weights)?;
    let tensors = read_tensors(&weights)?;
    model.load_named(&tensors, &weights.display().to_string())?;
    Ok(meta)
}

/// Restores optimizer state and the training position from a checkpoint written by `save`.
pub fn load_training_state(dir: &Path, sparse: &mut SparseOpt, dense: &mut DenseOpt) -> Result<TrainState> {
    let path = dir.join(TRAIN_STATE_FILE);
    let text = fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    let state: TrainState =
        serde_json::from_str(&text).map_err(|source| TrainError::CheckpointState { path: path.clone(), source })?;
    let mut wanted = sparse.state_tensors();
    wanted.extend(dense.state_tensors());
    if !wanted.is_empty() {
        let opt_path = dir.join(layout::OPTIMIZER_FILE);
        let saved = read_tensors(&opt_path)?;
        for (name, target) in &wanted {
            let Some(value) = saved.get(name) else {
                return Err(TrainError::Checkpoint {
                    path: opt_path,
                    message: format!("missing optimizer state `{name}`"),
                });
            };
            if value.size() != target.size() {
                return Err(TrainError::Checkpoint {
                    path: opt_path,
                    message: format!(
                        "optimizer state `{name}` has shape {:?}, expected {:?}",
                        value.size(),
                        target.size()
                    ),
                });
            }
            tch::no_grad(|| target.shallow_clone().f_copy_(&value.f_to_device(target.device())?))
                .during(|| format!("loading optimizer state `{name}` from {}", opt_path.display()))?;
        }
    }
    sparse.step = state.sparse_step;
    dense.step = state.dense_step;
    Ok(state)
}

/// Fine-tuning: copies every tensor of the checkpoint whose name and shape match a model parameter; returns how
/// many were loaded and the names left at their initial values.
pub fn load_partial(dir: &Path, model: &PleModel) -> Result<(usize, Vec<String>)> {
    let weights = dir.join(layout::WEIGHTS_FILE);
    let tensors = read_tensors(&weights)?;
    let mut loaded = 0;
    let mut missing = Vec::new();
    for (name, target) in model.named_tensors() {
        match tensors.get(&name) {
            Some(value) if value.size() == target.size() => {
                tch::no_grad(|| target.shallow_clone().f_copy_(&value.f_to_device(target.device())?))
                    .during(|| format!("loading tensor `{name}` from {}", weights.display()))?;
                loaded += 1;
            }
            _ => missing.push(name),
        }
    }
    Ok((loaded, missing))
}
