//! Writing imported weights as a plec checkpoint (`plec_spec::artifact::checkpoint`'s layout) in two steps, so
//! the caller can add the golden set that plec's trainer computes from the staged weights before the checkpoint
//! becomes visible: [`stage`] writes `model.safetensors` into a hidden folder, [`Staged::finish`] writes `meta.json`
//! and renames the folder into place.

use std::path::{Path, PathBuf};

use plec_spec::artifact::checkpoint::{self as layout, CheckpointMeta};
use plec_spec::ModelSpec;
use safetensors::{Dtype, View};

use crate::error::ImportError;
use crate::import::Imported;
use crate::torch_save::Tensor;

/// An imported tensor as safetensors F32 (little-endian bytes made when written).
struct F32View<'a>(&'a Tensor);

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        self.0.values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>().into()
    }

    fn data_len(&self) -> usize {
        self.0.values.len() * 4
    }
}

/// A checkpoint written but not yet visible.
#[derive(Debug)]
pub struct Staged {
    /// The hidden folder being filled.
    pub dir: PathBuf,
    /// Its `model.safetensors`.
    pub weights: PathBuf,
    final_dir: PathBuf,
    meta: CheckpointMeta,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io { path: path.to_path_buf(), source }
}

/// Writes `model_dir/pipeline.config` (refusing a folder that holds another config) and the staged weights of
/// checkpoint `ckpt-<step>`.
pub fn stage(
    imported: &Imported,
    spec: &ModelSpec,
    config_text: &str,
    model_dir: &Path,
) -> Result<Staged, ImportError> {
    std::fs::create_dir_all(model_dir).map_err(io(model_dir))?;
    let config_path = model_dir.join(layout::CONFIG_FILE);
    if config_path.is_file() {
        let existing = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
        if existing != config_text {
            return Err(ImportError::Write {
                path: model_dir.to_path_buf(),
                message: format!("it already holds another {}; import into a new folder", layout::CONFIG_FILE),
            });
        }
    } else {
        std::fs::write(&config_path, config_text).map_err(io(&config_path))?;
    }
    let final_dir = layout::checkpoint_dir(model_dir, imported.step);
    let dir = model_dir.join(format!(".ckpt-{}.import-{}", imported.step, std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let weights = dir.join(layout::WEIGHTS_FILE);
    // Streamed: each tensor's bytes exist only while it is written, so a large model is not held twice.
    let views = imported.tensors.iter().map(|(name, tensor)| (name.as_str(), F32View(tensor)));
    safetensors::serialize_to_file(views, None, &weights)
        .map_err(|e| ImportError::Write { path: weights.clone(), message: e.to_string() })?;
    let meta = CheckpointMeta {
        step: imported.step,
        samples: 0,
        epoch: 0,
        structure_hash: spec.structure_hash(),
        weights_sha256: layout::weights_sha256(&weights).map_err(io(&weights))?,
        golden_sha256: None,
        optimizer_state: None,
        plec_version: env!("CARGO_PKG_VERSION").to_string(),
        imported_from: Some(format!("TorchEasyRec checkpoint {}", imported.source.display())),
    };
    Ok(Staged { dir, weights, final_dir, meta })
}

impl Staged {
    /// The folder the golden set goes into.
    pub fn golden_dir(&self) -> PathBuf {
        self.dir.join(layout::GOLDEN_DIR)
    }

    /// Records the golden set written into [`Staged::golden_dir`] (its content hash goes into `meta.json`).
    pub fn set_golden(&mut self, set: &plec_spec::artifact::golden::GoldenSet) {
        self.meta.golden_sha256 = Some(set.content_sha256());
    }

    /// Writes `meta.json` and moves the checkpoint into place (replacing one of the same step); returns its folder.
    pub fn finish(self) -> Result<PathBuf, ImportError> {
        let meta_path = self.dir.join(layout::META_FILE);
        let json = serde_json::to_vec_pretty(&self.meta)
            .map_err(|e| ImportError::Write { path: meta_path.clone(), message: e.to_string() })?;
        std::fs::write(&meta_path, json).map_err(io(&meta_path))?;
        if self.final_dir.exists() {
            std::fs::remove_dir_all(&self.final_dir).map_err(io(&self.final_dir))?;
        }
        std::fs::rename(&self.dir, &self.final_dir).map_err(io(&self.final_dir))?;
        Ok(self.final_dir)
    }

    /// Removes the staged folder (after a failure).
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
