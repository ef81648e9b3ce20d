//! A model's f32 tensors, read from safetensors (a file or a checkpoint folder) and checked against the config's
//! parameters (`ModelSpec::params`), or initialised at random for tests.
//!
//! Tensors are kept as little-endian f32 bytes, the layout of both safetensors and ONNX `raw_data`, so the big
//! embedding tables are read once from disk and moved, not copied, into the compiled model
//! (`crate::compile_owned`).
//!
//! `content_sha256` (stored as `plec.weights_sha256`) hashes, for every tensor sorted by name: the name's UTF-8
//! bytes, a 0 byte, the rank and dims as u64 little-endian, then the data bytes. It identifies the weights whatever
//! file they came from.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use plec_spec::artifact::checkpoint::{self, CheckpointMeta};
pub(crate) use plec_spec::artifact::integrity::hex;
use plec_spec::artifact::names::ParamKind;
use plec_spec::splitmix::SplitMix64;
use plec_spec::ModelSpec;
use sha2::{Digest, Sha256};

use crate::error::{WeightProblem, WeightsError};

/// One f32 tensor, row-major, as little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl Tensor {
    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Tensor {
        let mut data = Vec::with_capacity(values.len() * 4);
        for v in values {
            data.extend_from_slice(&v.to_le_bytes());
        }
        Tensor { shape, data }
    }

    /// The values as f32 (a copy: meant for the small dense tensors).
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Named tensors, sorted by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Weights {
    pub tensors: BTreeMap<String, Tensor>,
}

/// Whether [`Weights::load_with`] checks a checkpoint's weights against the sha256 its `meta.json` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCheck {
    Check,
    Skip,
}

/// How `Weights::random_with` initialises norm parameters and BatchNorm statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormInit {
    /// PyTorch's defaults: scale 1, shift 0, running mean 0, running variance 1.
    Default,
    /// Random values, so that tests see BatchNorm folding and LayerNorm affine parameters do something.
    Random,
}

impl Weights {
    /// Reads weights from a safetensors file, a checkpoint folder (`ckpt-<step>/`) or a model folder (its latest
    /// checkpoint), and checks them against `spec`: every problem is reported, not just the first.
    /// A checkpoint's weights file must have the sha256 its `meta.json` records.
    pub fn load(path: &Path, spec: &ModelSpec) -> Result<Weights, WeightsError> {
        Weights::load_with(path, spec, HashCheck::Check)
    }

    /// As [`Weights::load`]; `HashCheck::Skip` reads weights whose file differs from the recorded sha256 (for a
    /// user who must, and says so: the caller should warn).
    pub fn load_with(path: &Path, spec: &ModelSpec, hash: HashCheck) -> Result<Weights, WeightsError> {
        let resolved = checkpoint::resolve(path)?;
        let file = resolved.weights;
        if let Some(meta_path) = &resolved.meta {
            let meta = check_meta(meta_path, &file, spec)?;
            if hash == HashCheck::Check {
                checkpoint::check_weights(meta_path, &meta, &file)?;
            }
        }
        let weights = Weights::read_safetensors(&file)?;
        let problems = weights.problems(spec);
        if problems.is_empty() {
            Ok(weights)
        } else {
            Err(WeightsError::Mismatch { path: file, problems })
        }
    }

    /// Reads every tensor of a safetensors file without checking it against a config. Each tensor is read
    /// straight into its own buffer (the file is never held in memory as a whole).
    pub fn read_safetensors(path: &Path) -> Result<Weights, WeightsError> {
        let io = |source| WeightsError::Io { path: path.to_path_buf(), source };
        let format = |message: String| WeightsError::Format { path: path.to_path_buf(), message };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut len_bytes = [0u8; 8];
        file.read_exact(&mut len_bytes).map_err(|e| format(format!("no header length ({e})")))?;
        let header_len = u64::from_le_bytes(len_bytes);
        if header_len > 100_000_000 || 8 + header_len > file_len {
            return Err(format(format!("header length {header_len} does not fit a {file_len}-byte file")));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header).map_err(io)?;
        let entries: BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|e| format(format!("bad header JSON: {e}")))?;
        let data_start = 8 + header_len;
        let mut infos = Vec::new();
        for (name, value) in entries {
            if name == "__metadata__" {
                continue;
            }
            let info: safetensors::tensor::TensorInfo =
                serde_json::from_value(value).map_err(|e| format(format!("tensor `{name}`: {e}")))?;
            infos.push((name, info));
        }
        // Read in file order: sequential I/O.
        infos.sort_by_key(|(_, info)| info.data_offsets.0);
        let mut tensors = BTreeMap::new();
        let mut wrong_dtype = Vec::new();
        let mut previous_end = 0;
        for (name, info) in infos {
            let (begin, end) = info.data_offsets;
            if info.dtype != safetensors::Dtype::F32 {
                wrong_dtype.push(WeightProblem::WrongDtype { name, dtype: format!("{:?}", info.dtype) });
                continue;
            }
            // Checked before allocating: sizes fit the file, and no two tensors share bytes (so the tensors
            // together never exceed the file).
            let numel = info.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).unwrap_or(usize::MAX);
            let bytes = numel.checked_mul(4);
            if end < begin || Some(end - begin) != bytes || data_start.saturating_add(end as u64) > file_len {
                return Err(format(format!(
                    "tensor `{name}`: data offsets {begin}..{end} do not hold {numel} f32 values inside the file"
                )));
            }
            if begin < previous_end {
                return Err(format(format!("tensor `{name}`: data offsets {begin}..{end} overlap another tensor's")));
            }
            previous_end = end;
            let mut data = vec![0u8; end - begin];
            file.seek(SeekFrom::Start(data_start + begin as u64)).map_err(io)?;
            file.read_exact(&mut data).map_err(io)?;
            tensors.insert(name, Tensor { shape: info.shape, data });
        }
        if !wrong_dtype.is_empty() {
            return Err(WeightsError::Mismatch { path: path.to_path_buf(), problems: wrong_dtype });
        }
        Ok(Weights { tensors })
    }

    /// Missing, unexpected and wrong-shape tensors compared with `spec.params()`, sorted by name.
    pub fn problems(&self, spec: &ModelSpec) -> Vec<WeightProblem> {
        let expected: BTreeMap<String, Vec<usize>> = spec.params().into_iter().map(|p| (p.name, p.shape)).collect();
        let mut problems = Vec::new();
        for (name, shape) in &expected {
            match self.tensors.get(name) {
                None => problems.push(WeightProblem::Missing { name: name.clone(), expected: shape.clone() }),
                Some(t) if &t.shape != shape => problems.push(WeightProblem::WrongShape {
                    name: name.clone(),
                    expected: shape.clone(),
                    found: t.shape.clone(),
                }),
                Some(_) => {}
            }
        }
        for (name, t) in &self.tensors {
            if !expected.contains_key(name) {
                problems.push(WeightProblem::Unexpected { name: name.clone(), shape: t.shape.clone() });
            }
        }
        problems.sort_by(|a, b| problem_name(a).cmp(problem_name(b)));
        problems
    }

    /// Deterministic PyTorch-default-like initialisation (see `plec_spec::artifact::names::ParamKind`).
    pub fn random(spec: &ModelSpec, seed: u64) -> Weights {
        Weights::random_with(spec, seed, NormInit::Default)
    }

    /// Like `random`, choosing how norm parameters are set. Each tensor's values depend only on `seed` and its
    /// name, not on the order of parameters.
    pub fn random_with(spec: &ModelSpec, seed: u64, norms: NormInit) -> Weights {
        let mut tensors = BTreeMap::new();
        for param in spec.params() {
            let mut rng = SplitMix64::new(seed ^ fnv1a(param.name.as_bytes()));
            let n = param.numel();
            let bound = |fan_in: usize| 1.0 / (fan_in.max(1) as f32).sqrt();
            let (lo, hi) = match (param.kind, norms) {
                (ParamKind::Embedding | ParamKind::LinearWeight | ParamKind::LinearBias, _) => {
                    (-bound(param.fan_in), bound(param.fan_in))
                }
                (ParamKind::NormWeight | ParamKind::RunningVar, NormInit::Default) => (1.0, 1.0),
                (ParamKind::NormBias | ParamKind::RunningMean, NormInit::Default) => (0.0, 0.0),
                (ParamKind::NormWeight, NormInit::Random) => (0.5, 1.5),
                (ParamKind::NormBias | ParamKind::RunningMean, NormInit::Random) => (-0.5, 0.5),
                (ParamKind::RunningVar, NormInit::Random) => (0.5, 2.0),
            };
            let mut data = Vec::with_capacity(n * 4);
            for _ in 0..n {
                let v = if lo == hi { lo } else { lo + (hi - lo) * unit(&mut rng) };
                data.extend_from_slice(&v.to_le_bytes());
            }
            tensors.insert(param.name, Tensor { shape: param.shape, data });
        }
        Weights { tensors }
    }

    /// Writes the tensors as a safetensors file (F32, sorted by name).
    pub fn save_safetensors(&self, path: &Path) -> Result<(), WeightsError> {
        let views = self.tensors.iter().map(|(name, t)| (name.as_str(), View(t)));
        safetensors::serialize_to_file(views, None, path)
            .map_err(|source| WeightsError::Write { path: path.to_path_buf(), source })
    }

    /// sha256 (hex) of the tensors' names, shapes and values (see the module docs).
    pub fn content_sha256(&self) -> String {
        let mut hasher = Sha256::new();
        for (name, tensor) in &self.tensors {
            hash_tensor(&mut hasher, name, &tensor.shape, &tensor.data);
        }
        hex(&hasher.finalize())
    }

    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    /// Total bytes of tensor data.
    pub fn byte_size(&self) -> usize {
        self.tensors.values().map(|t| t.data.len()).sum()
    }
}

pub(crate) fn hash_tensor(hasher: &mut Sha256, name: &str, shape: &[usize], data: &[u8]) {
    hasher.update(name.as_bytes());
    hasher.update([0u8]);
    hasher.update((shape.len() as u64).to_le_bytes());
    for &d in shape {
        hasher.update((d as u64).to_le_bytes());
    }
    hasher.update(data);
}

fn problem_name(p: &WeightProblem) -> &str {
    match p {
        WeightProblem::Missing { name, .. }
        | WeightProblem::Unexpected { name, .. }
        | WeightProblem::WrongShape { name, .. }
        | WeightProblem::WrongDtype { name, .. } => name,
    }
}

/// Refuses a checkpoint whose recorded structure hash is not the config's, saying which parameters differ.
fn check_meta(meta_path: &Path, weights_file: &Path, spec: &ModelSpec) -> Result<CheckpointMeta, WeightsError> {
    let meta = checkpoint::read_meta_file(meta_path)?;
    let expected = spec.structure_hash();
    if meta.structure_hash == expected {
        return Ok(meta);
    }
    let detail = match Weights::read_safetensors(weights_file) {
        Ok(weights) => {
            let problems = weights.problems(spec);
            if problems.is_empty() {
                "; every parameter name and shape agrees, so the difference is in the features, transforms or \
                 outputs"
                    .to_string()
            } else {
                let shown: String = problems.iter().take(10).map(|p| format!("\n  {p}")).collect();
                let more = problems.len().saturating_sub(10);
                let more = if more > 0 { format!("\n  ... and {more} more") } else { String::new() };
                format!("; parameters that differ:{shown}{more}")
            }
        }
        Err(e) => format!("; its weights cannot be read either: {e}"),
    };
    Err(WeightsError::OtherConfig { path: meta_path.to_path_buf(), expected, found: meta.structure_hash, detail })
}

struct View<'a>(&'a Tensor);

impl safetensors::View for View<'_> {
    fn dtype(&self) -> safetensors::Dtype {
        safetensors::Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.0.data)
    }
    fn data_len(&self) -> usize {
        self.0.data.len()
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Uniform in [0, 1) from the top 24 bits.
fn unit(rng: &mut SplitMix64) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
}
