//! Finding a TorchEasyRec checkpoint and reading the tensors a config's plec model needs from it, checked both
//! ways: every plec parameter found with its shape, every checkpoint tensor used (BatchNorm's step counters
//! aside).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plec_spec::ModelSpec;

use crate::dcp::{Checkpoint, Item, METADATA_FILE};
use crate::error::{ImportError, NameProblem};
use crate::names::{tzrec_keys, MODEL_PREFIX, UNUSED_BUFFER};
use crate::torch_save::Tensor;

/// TorchEasyRec's checkpoint folder prefix (`model_dir/model.ckpt-<step>/`) and its model-state subfolder.
pub const CKPT_PREFIX: &str = "model.ckpt-";
pub const MODEL_STATE_DIR: &str = "model";

/// The tensors of a checkpoint under plec's names.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The DCP directory read (`.../model.ckpt-<step>/model`).
    pub source: PathBuf,
    /// The step in the folder name (0 when it has none).
    pub step: u64,
    /// The prefix the keys carried (`model.` from TrainWrapper, or none).
    pub prefix: String,
    /// plec name -> tensor, f32.
    pub tensors: BTreeMap<String, Tensor>,
    /// TorchEasyRec keys of tensors stored in more than one chunk (sharded by several ranks), with the count.
    pub sharded: Vec<(String, usize)>,
    /// Checkpoint tensors left unread on purpose (BatchNorm step counters).
    pub skipped: Vec<String>,
}

fn step_of(folder: &Path) -> Option<u64> {
    folder.file_name()?.to_str()?.strip_prefix(CKPT_PREFIX)?.parse().ok()
}

/// The DCP directory and step that `path` names: a model_dir (its newest `model.ckpt-<step>`), one
/// `model.ckpt-<step>` folder, or its `model/` folder.
pub fn locate(path: &Path) -> Result<(PathBuf, u64), ImportError> {
    if path.join(METADATA_FILE).is_file() {
        let step = path.parent().and_then(step_of).unwrap_or(0);
        return Ok((path.to_path_buf(), step));
    }
    let state = path.join(MODEL_STATE_DIR);
    if state.join(METADATA_FILE).is_file() {
        return Ok((state, step_of(path).unwrap_or(0)));
    }
    let entries = std::fs::read_dir(path).map_err(|_| ImportError::NotFound(path.to_path_buf()))?;
    let newest = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|folder| folder.join(MODEL_STATE_DIR).join(METADATA_FILE).is_file())
        .filter_map(|folder| step_of(&folder).map(|step| (step, folder)))
        .max();
    match newest {
        Some((step, folder)) => Ok((folder.join(MODEL_STATE_DIR), step)),
        None => Err(ImportError::NotFound(path.to_path_buf())),
    }
}

/// Reads the checkpoint at `path` (see [`locate`]) for the model `spec` describes.
pub fn import(path: &Path, spec: &ModelSpec) -> Result<Imported, ImportError> {
    let (source, step) = locate(path)?;
    let checkpoint = Checkpoint::open(&source)?;
    let keys = tzrec_keys(spec);
    let prefix = detect_prefix(&checkpoint, &keys);
    let mut problems = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    let mut wanted = Vec::new();
    for param in spec.params() {
        let Some(key) = keys.get(&param.name) else {
            // Every parameter has a key by construction (tests check it); say so rather than skip.
            problems.push(NameProblem::Missing { plec: param.name.clone(), tzrec: "?".into(), expected: param.shape });
            continue;
        };
        let key = format!("{prefix}{key}");
        // Claimed even when it does not fit, so it is reported once (as the misfit, not also as unused).
        if checkpoint.items.contains_key(&key) {
            used.insert(key.clone());
        }
        match checkpoint.items.get(&key) {
            None => problems.push(NameProblem::Missing { plec: param.name, tzrec: key, expected: param.shape }),
            Some(Item::Bytes) => problems.push(NameProblem::NotATensor { plec: param.name, tzrec: key }),
            Some(Item::Tensor(info)) if info.shape != param.shape => problems.push(NameProblem::WrongShape {
                plec: param.name,
                tzrec: key.clone(),
                expected: param.shape,
                found: info.shape.clone(),
            }),
            Some(Item::Tensor(_)) => wanted.push((param.name, key)),
        }
    }
    let mut skipped = Vec::new();
    for (key, item) in &checkpoint.items {
        if used.contains(key) {
            continue;
        }
        // A BatchNorm's step counter sits beside the running mean plec reads.
        let counter_of_used_norm =
            key.strip_suffix(UNUSED_BUFFER).is_some_and(|module| used.contains(&format!("{module}running_mean")));
        if counter_of_used_norm {
            skipped.push(key.clone());
            continue;
        }
        let shape = match item {
            Item::Tensor(info) => info.shape.clone(),
            Item::Bytes => Vec::new(),
        };
        problems.push(NameProblem::Unused { tzrec: key.clone(), shape });
    }
    if !problems.is_empty() {
        return Err(ImportError::Mismatch { path: source, problems });
    }
    let mut tensors = BTreeMap::new();
    let mut sharded = Vec::new();
    for (plec_name, key) in wanted {
        if let Some(Item::Tensor(info)) = checkpoint.items.get(&key) {
            if info.chunks.len() > 1 {
                sharded.push((key.clone(), info.chunks.len()));
            }
        }
        let tensor = checkpoint.read(&key)?;
        let bad = tensor.values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            problems.push(NameProblem::NotFinite { plec: plec_name.clone(), tzrec: key, count: bad });
        }
        tensors.insert(plec_name, tensor);
    }
    if !problems.is_empty() {
        return Err(ImportError::Mismatch { path: source, problems });
    }
    Ok(Imported { source, step, prefix: prefix.to_string(), tensors, sharded, skipped })
}

/// `model.` when the checkpoint was saved through TrainWrapper (TorchEasyRec's training), none when a bare model's
/// state dict was saved: whichever finds more of the expected keys.
fn detect_prefix(checkpoint: &Checkpoint, keys: &BTreeMap<String, String>) -> &'static str {
    let found = |prefix: &str| keys.values().filter(|k| checkpoint.items.contains_key(&format!("{prefix}{k}"))).count();
    if found("") > found(MODEL_PREFIX) {
        ""
    } else {
        MODEL_PREFIX
    }
}
