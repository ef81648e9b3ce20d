//! A `torch.distributed.checkpoint` directory, read without PyTorch (torch 2.x `FileSystemWriter` layout):
//!
//! - `.metadata`: a pickled `Metadata` dataclass. `state_dict_metadata` maps each state-dict key (fqn) to a
//!   `TensorStorageMetadata(properties, size, chunks)` — the global `torch.Size` and the chunks every rank wrote,
//!   each `ChunkStorageMetadata(offsets, sizes)` — or to `BytesStorageMetadata` (a pickled non-tensor).
//!   `storage_data` maps `MetadataIndex(fqn, offset, index)` to `_StorageInfo(relative_path, offset, length)`:
//!   the file (`__<rank>_<n>.distcp`) and byte range holding that chunk.
//! - each chunk's byte range is one `torch.save` archive of the chunk tensor ([`crate::torch_save`]), unless
//!   `_StorageInfo.transform_descriptors` names a transform (compression extensions), which is refused.
//!
//! A table sharded by several ranks (torchrec row-wise, column-wise or table-wise sharding) is one fqn with
//! several chunks; reading it stitches the chunks into the global tensor and checks they cover it exactly once.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::ImportError;
use crate::pickle::{self, Value};
use crate::torch_save::{self, Tensor};

pub const METADATA_FILE: &str = ".metadata";

/// Where one chunk of a tensor lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub offsets: Vec<usize>,
    pub sizes: Vec<usize>,
    pub file: String,
    pub byte_offset: u64,
    pub byte_length: u64,
}

/// A tensor of the checkpoint: its global shape, torch dtype name and chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub chunks: Vec<Chunk>,
}

/// One entry of the saved state dict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Tensor(TensorInfo),
    /// A pickled non-tensor value (`BytesStorageMetadata`).
    Bytes,
}

/// An opened checkpoint directory: the index of its state dict.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub dir: PathBuf,
    pub items: BTreeMap<String, Item>,
}

fn bad(path: &Path, message: impl Into<String>) -> ImportError {
    ImportError::Format { path: path.to_path_buf(), message: message.into() }
}

/// The ints of a `torch.Size` (an object called with one tuple) or a plain tuple.
fn size_of(value: &Value) -> Option<Vec<usize>> {
    let items = match value {
        Value::Object { args, .. } => args.first()?.items()?,
        other => other.items()?,
    };
    items.iter().map(|v| v.as_int().and_then(|i| usize::try_from(i).ok())).collect()
}

impl Checkpoint {
    /// Reads the `.metadata` of the DCP directory `dir`.
    pub fn open(dir: &Path) -> Result<Checkpoint, ImportError> {
        let path = dir.join(METADATA_FILE);
        let bytes = std::fs::read(&path).map_err(|source| ImportError::Io { path: path.clone(), source })?;
        let root = pickle::parse(&bytes).map_err(|e| bad(&path, format!("not a pickle: {e}")))?;
        if root.class().map(|(_, name)| name) != Some("Metadata") {
            return Err(bad(&path, "the pickle is not a torch.distributed.checkpoint Metadata"));
        }
        let state = root.field("state_dict_metadata").ok_or_else(|| bad(&path, "no state_dict_metadata"))?;
        let storage = root.field("storage_data").ok_or_else(|| bad(&path, "no storage_data"))?;
        let Value::Dict(storage) = storage else { return Err(bad(&path, "storage_data is not a dict")) };
        // (fqn, chunk offsets) -> where the chunk is stored.
        let mut locations: BTreeMap<(String, Vec<usize>), (String, u64, u64)> = BTreeMap::new();
        for (index, info) in storage.iter() {
            let fqn =
                index.field("fqn").and_then(Value::as_str).ok_or_else(|| bad(&path, "a MetadataIndex has no fqn"))?;
            let offset = index.field("offset").and_then(size_of).unwrap_or_default();
            if info.field("transform_descriptors").is_some_and(|t| t.items().is_some_and(|t| !t.is_empty())) {
                return Err(bad(
                    &path,
                    format!("`{fqn}` is stored through a transform (compression); save without storage extensions"),
                ));
            }
            let file = info.field("relative_path").and_then(Value::as_str);
            let byte_offset = info.field("offset").and_then(Value::as_int);
            let length = info.field("length").and_then(Value::as_int);
            let (Some(file), Some(byte_offset), Some(length)) = (file, byte_offset, length) else {
                return Err(bad(&path, format!("the storage info of `{fqn}` lacks relative_path, offset or length")));
            };
            let (byte_offset, length) = (byte_offset.max(0) as u64, length.max(0) as u64);
            locations.insert((fqn.to_string(), offset), (file.to_string(), byte_offset, length));
        }
        check_disjoint(&path, &locations)?;
        let Value::Dict(state) = state else { return Err(bad(&path, "state_dict_metadata is not a dict")) };
        let mut items = BTreeMap::new();
        for (key, meta) in state.iter() {
            let fqn = key.as_str().ok_or_else(|| bad(&path, "a state-dict key is not a string"))?.to_string();
            let item = match meta.class().map(|(_, name)| name) {
                Some("BytesStorageMetadata") => Item::Bytes,
                Some("TensorStorageMetadata") => Item::Tensor(tensor_info(&path, &fqn, meta, &locations)?),
                other => return Err(bad(&path, format!("`{fqn}` has storage metadata of unknown kind {other:?}"))),
            };
            items.insert(fqn, item);
        }
        Ok(Checkpoint { dir: dir.to_path_buf(), items })
    }

    /// The state-dict tensor `fqn`, assembled from its chunks.
    pub fn read(&self, fqn: &str) -> Result<Tensor, ImportError> {
        let Some(Item::Tensor(info)) = self.items.get(fqn) else {
            return Err(bad(&self.dir, format!("no tensor `{fqn}`")));
        };
        // Each chunk's claimed elements must fit its byte range, and that range its file, before the tensor is
        // allocated: the ranges are disjoint (checked on open), so the tensor is bounded by the files' sizes.
        for chunk in &info.chunks {
            check_range(&self.dir.join(&chunk.file), fqn, chunk)?;
        }
        let total: usize = info.shape.iter().product();
        let mut values = vec![0f32; total];
        let mut dtype = None;
        for chunk in &info.chunks {
            let path = self.dir.join(&chunk.file);
            let archive = read_range(&path, chunk.byte_offset, chunk.byte_length)?;
            let context = |m: String| bad(&path, format!("`{fqn}` chunk at {:?}: {m}", chunk.offsets));
            let part = torch_save::read_tensor(&archive).map_err(context)?;
            if part.shape != chunk.sizes {
                return Err(context(format!("holds shape {:?}, the metadata says {:?}", part.shape, chunk.sizes)));
            }
            dtype = Some(part.dtype);
            place(&mut values, &info.shape, chunk, &part.values);
        }
        let dtype = dtype.ok_or_else(|| bad(&self.dir, format!("`{fqn}` has no chunks")))?;
        Ok(Tensor { dtype, shape: info.shape.clone(), values })
    }
}

fn tensor_info(
    path: &Path,
    fqn: &str,
    meta: &Value,
    locations: &BTreeMap<(String, Vec<usize>), (String, u64, u64)>,
) -> Result<TensorInfo, ImportError> {
    let shape = meta.field("size").and_then(size_of).ok_or_else(|| bad(path, format!("`{fqn}` has no size")))?;
    if volume(&shape).is_none() {
        return Err(bad(path, format!("`{fqn}` has shape {shape:?}, more elements than this machine can count")));
    }
    // TensorProperties pickles its state as a tuple whose first element is the dtype global.
    let dtype = match meta.field("properties") {
        Some(Value::Object { state: Some(state), .. }) => match state.as_ref() {
            Value::Tuple(parts) => parts.first().and_then(Value::global).map(|(_, name)| name.to_string()),
            dict => dict.get("dtype").and_then(Value::global).map(|(_, name)| name.to_string()),
        },
        _ => None,
    }
    .unwrap_or_else(|| "unknown".into());
    let chunks =
        meta.field("chunks").and_then(Value::items).ok_or_else(|| bad(path, format!("`{fqn}` has no chunks")))?;
    if chunks.len() > MAX_CHUNKS {
        return Err(bad(path, format!("`{fqn}` has {} chunks, more than the limit of {MAX_CHUNKS}", chunks.len())));
    }
    let mut out = Vec::new();
    for chunk in chunks {
        let offsets = chunk.field("offsets").and_then(size_of);
        let sizes = chunk.field("sizes").and_then(size_of);
        let (Some(offsets), Some(sizes)) = (offsets, sizes) else {
            return Err(bad(path, format!("a chunk of `{fqn}` lacks offsets or sizes")));
        };
        if offsets.len() != shape.len() || sizes.len() != shape.len() {
            return Err(bad(path, format!("a chunk of `{fqn}` has rank {}, the tensor {}", sizes.len(), shape.len())));
        }
        if offsets.iter().zip(&sizes).zip(&shape).any(|((o, s), n)| o.checked_add(*s).is_none_or(|end| end > *n)) {
            return Err(bad(
                path,
                format!("chunk {offsets:?} + {sizes:?} of `{fqn}` lies outside its shape {shape:?}"),
            ));
        }
        let (file, byte_offset, byte_length) = locations
            .get(&(fqn.to_string(), offsets.clone()))
            .cloned()
            .ok_or_else(|| bad(path, format!("chunk {offsets:?} of `{fqn}` has no storage entry")))?;
        out.push(Chunk { offsets, sizes, file, byte_offset, byte_length });
    }
    check_coverage(path, fqn, &shape, &out)?;
    Ok(TensorInfo { dtype, shape, chunks: out })
}

/// The chunks must tile the tensor: their volumes add up to it and no two overlap.
fn check_coverage(path: &Path, fqn: &str, shape: &[usize], chunks: &[Chunk]) -> Result<(), ImportError> {
    let total: usize = shape.iter().product();
    // Every chunk lies inside the shape (checked by the caller), so no volume overflows.
    let covered = chunks.iter().fold(0usize, |sum, c| sum.saturating_add(c.sizes.iter().product::<usize>()));
    for (i, a) in chunks.iter().enumerate() {
        for b in &chunks[i + 1..] {
            let overlap = (0..shape.len())
                .all(|d| a.offsets[d] < b.offsets[d] + b.sizes[d] && b.offsets[d] < a.offsets[d] + a.sizes[d]);
            if overlap && a.sizes.iter().chain(&b.sizes).all(|&s| s > 0) {
                return Err(bad(path, format!("chunks {:?} and {:?} of `{fqn}` overlap", a.offsets, b.offsets)));
            }
        }
    }
    if covered != total {
        return Err(bad(
            path,
            format!("the chunks of `{fqn}` cover {covered} of its {total} elements (a rank's shard is missing?)"),
        ));
    }
    Ok(())
}

/// Chunks one tensor may have: `check_coverage` compares every pair (real checkpoints have one per rank).
pub const MAX_CHUNKS: usize = 4096;

/// The fewest bytes one stored element takes (float16 and bfloat16).
const MIN_ELEMENT_BYTES: u64 = 2;

/// The number of elements of `shape`, if it fits a `usize`.
fn volume(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// No two stored byte ranges of one file overlap (DCP writes each item once), so what the index claims is bounded
/// by the sizes of the files it names.
fn check_disjoint(
    path: &Path,
    locations: &BTreeMap<(String, Vec<usize>), (String, u64, u64)>,
) -> Result<(), ImportError> {
    let mut ranges: Vec<(&str, u64, u64, &str)> = locations
        .iter()
        .map(|((fqn, _), (file, offset, length))| (file.as_str(), *offset, *length, fqn.as_str()))
        .collect();
    ranges.sort();
    for pair in ranges.windows(2) {
        let [(file, offset, length, first), (next_file, next_offset, _, second)] = pair else { continue };
        if file == next_file && offset.saturating_add(*length) > *next_offset {
            return Err(bad(
                path,
                format!("the stored bytes of `{first}` and `{second}` overlap in {file} (at byte {next_offset})"),
            ));
        }
    }
    Ok(())
}

/// The chunk's byte range lies inside its file and can hold the elements its sizes claim.
fn check_range(path: &Path, fqn: &str, chunk: &Chunk) -> Result<(), ImportError> {
    let file_len =
        std::fs::metadata(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?.len();
    let end = chunk.byte_offset.saturating_add(chunk.byte_length);
    if end > file_len {
        return Err(bad(
            path,
            format!("bytes {}..{end} lie past the end of the file ({file_len} bytes)", chunk.byte_offset),
        ));
    }
    let elements = volume(&chunk.sizes).map_or(u64::MAX, |n| n as u64);
    if elements.saturating_mul(MIN_ELEMENT_BYTES) > chunk.byte_length {
        return Err(bad(
            path,
            format!(
                "chunk {:?} of `{fqn}` claims {elements} elements, its {} bytes hold fewer",
                chunk.offsets, chunk.byte_length
            ),
        ));
    }
    Ok(())
}

/// Copies a row-major chunk into the row-major global tensor.
fn place(values: &mut [f32], shape: &[usize], chunk: &Chunk, part: &[f32]) {
    let rank = shape.len();
    if rank == 0 {
        if let (Some(v), Some(p)) = (values.first_mut(), part.first()) {
            *v = *p;
        }
        return;
    }
    let row = chunk.sizes[rank - 1];
    if row == 0 {
        return;
    }
    let mut strides = vec![1usize; rank];
    for d in (0..rank - 1).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let mut index = vec![0usize; rank - 1];
    for source in part.chunks_exact(row) {
        let start: usize =
            (0..rank).map(|d| (chunk.offsets[d] + index.get(d).copied().unwrap_or(0)) * strides[d]).sum();
        values[start..start + row].copy_from_slice(source);
        for d in (0..rank - 1).rev() {
            index[d] += 1;
            if index[d] < chunk.sizes[d] {
                break;
            }
            index[d] = 0;
        }
    }
}

fn read_range(path: &Path, offset: u64, length: u64) -> Result<Vec<u8>, ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(length).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 != length {
        return Err(bad(path, format!("bytes {offset}..{} lie past the end of the file", offset + length)));
    }
    Ok(bytes)
}
