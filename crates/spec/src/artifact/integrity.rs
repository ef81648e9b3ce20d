//! Content hashes recorded when an artifact is written and checked before it is used, so a damaged file is
//! caught before it scores anything (the golden set only sees the embedding rows it looks up).
//!
//! | artifact | recorded | what is hashed |
//! |---|---|---|
//! | checkpoint | `meta.json` `weights_sha256` | `model.safetensors`, the whole file |
//! | checkpoint | `meta.json` `golden_sha256` | the golden set, [`crate::artifact::golden::GoldenSet::content_sha256`] |
//! | model | `plec.graph_sha256` | the graph as written: the bytes of `ModelProto.graph` (field 7) in the file, i.e. every node, attribute, constant and inline initializer |
//! | model | `plec.external_data_sha256` | with `--external-data`: the external data file, the whole file |
//! | model | `plec.golden_sha256` | the golden set the model carries (embedded or beside it) |
//!
//! The graph hash needs no ONNX library to recompute: walk the model file's top-level protobuf fields, take the
//! one length-delimited field numbered 7, hash its payload (`examples/python/plec_predict.py` does it in a few
//! lines). Metadata is outside it: what in the metadata changes behaviour (the signature, the precision) is parsed
//! and checked against the graph when a model is loaded.

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub const GRAPH_SHA256_KEY: &str = "plec.graph_sha256";
pub const EXTERNAL_DATA_SHA256_KEY: &str = "plec.external_data_sha256";
/// The external data file's name (beside the model), for clients that do not walk the initializers.
pub const EXTERNAL_DATA_KEY: &str = "plec.external_data";
pub const GOLDEN_SHA256_KEY: &str = "plec.golden_sha256";

/// `ModelProto` field numbers (onnx/onnx.proto).
const MODEL_GRAPH: u64 = 7;
const MODEL_METADATA_PROPS: u64 = 14;
/// `GraphProto.initializer`, `TensorProto.external_data`, `StringStringEntryProto.{key, value}`.
const GRAPH_INITIALIZER: u64 = 5;
const TENSOR_EXTERNAL_DATA: u64 = 13;
const ENTRY_KEY: u64 = 1;
const ENTRY_VALUE: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    #[error("{0}")]
    Mismatch(Box<Mismatch>),
    #[error(
        "{path}: records no `{key}`: not compiled by plec, compiled by a plec older than its integrity hashes, or \
         the entry is damaged; recompile it with `plec compile`, or load it without the check \
         (--skip-integrity-check)"
    )]
    NotRecorded { path: PathBuf, key: &'static str },
    #[error("{path}: not a valid ONNX file: {message} at byte {offset}")]
    Malformed { path: PathBuf, offset: usize, message: String },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// A file whose hash differs from the recorded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub path: PathBuf,
    /// What was hashed ("the weights file", "the graph (bytes a..b)").
    pub what: String,
    /// Where the hash is recorded.
    pub recorded_in: String,
    pub recorded: String,
    pub actual: String,
    /// What to do about it.
    pub remedy: &'static str,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} has sha256 {}, but {} records {}: the file is damaged or was changed after it was written; {}",
            self.path.display(),
            self.what,
            self.actual,
            self.recorded_in,
            self.recorded,
            self.remedy
        )
    }
}

impl From<Mismatch> for IntegrityError {
    fn from(mismatch: Mismatch) -> IntegrityError {
        IntegrityError::Mismatch(Box::new(mismatch))
    }
}

/// What to do about a damaged model or model file.
pub const MODEL_REMEDY: &str = "copy it again from the `plec compile` output, or recompile it";
/// What to do about a damaged checkpoint.
pub const CHECKPOINT_REMEDY: &str = "copy the checkpoint again from where it was written, or retrain";

/// sha256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// sha256 of a file as lowercase hex, read in a stream.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// [`file_sha256`], a failure naming the file.
pub(crate) fn checked_file_sha256(path: &Path) -> Result<String, IntegrityError> {
    file_sha256(path).map_err(|source| IntegrityError::Io { path: path.to_path_buf(), source })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that only hashes: serializes a message into its sha256 without holding the bytes.
#[derive(Default)]
pub struct Sha256Writer(Sha256);

impl Sha256Writer {
    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

impl Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where the parts an integrity check needs sit in a serialized `ModelProto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLayout {
    /// The payload of the graph field.
    pub graph: Range<usize>,
    /// `metadata_props`, by key (a repeated key keeps its last value, as ONNX Runtime does).
    pub metadata: BTreeMap<String, String>,
    /// Every external data `location` the initializers name, sorted.
    pub external_locations: Vec<String>,
}

impl ModelLayout {
    /// Walks the model's protobuf wire format (no ONNX library needed). A truncated or malformed file is an error
    /// naming the byte where reading stopped.
    pub fn scan(path: &Path, bytes: &[u8]) -> Result<ModelLayout, IntegrityError> {
        let malformed =
            |offset: usize, message: String| IntegrityError::Malformed { path: path.to_path_buf(), offset, message };
        let mut graph = None;
        let mut metadata = BTreeMap::new();
        for field in Fields::new(bytes, 0) {
            let field = field.map_err(|(offset, message)| malformed(offset, message))?;
            match (field.number, &field.value) {
                (MODEL_GRAPH, Value::Bytes(range)) => {
                    if graph.is_some() {
                        return Err(malformed(field.start, "a second graph field".into()));
                    }
                    graph = Some(range.clone());
                }
                (MODEL_METADATA_PROPS, Value::Bytes(range)) => {
                    let (key, value) = entry(bytes, range).map_err(|(offset, message)| malformed(offset, message))?;
                    metadata.insert(key, value);
                }
                _ => {}
            }
        }
        let graph = graph.ok_or_else(|| malformed(bytes.len(), "no graph field".into()))?;
        let mut locations = std::collections::BTreeSet::new();
        for field in Fields::new(&bytes[..graph.end], graph.start) {
            let field = field.map_err(|(offset, message)| malformed(offset, message))?;
            let (GRAPH_INITIALIZER, Value::Bytes(tensor)) = (field.number, &field.value) else { continue };
            for part in Fields::new(&bytes[..tensor.end], tensor.start) {
                let part = part.map_err(|(offset, message)| malformed(offset, message))?;
                let (TENSOR_EXTERNAL_DATA, Value::Bytes(range)) = (part.number, &part.value) else { continue };
                let (key, value) = entry(bytes, range).map_err(|(offset, message)| malformed(offset, message))?;
                if key == "location" {
                    locations.insert(value);
                }
            }
        }
        Ok(ModelLayout { graph, metadata, external_locations: locations.into_iter().collect() })
    }
}

/// What [`check_model`] found: every recorded hash matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIntegrity {
    pub graph_sha256: String,
    /// The external data file and its hash, if the model has one.
    pub external_data: Option<(PathBuf, String)>,
    /// Bytes hashed (graph and external data).
    pub bytes_hashed: u64,
}

impl std::fmt::Display for ModelIntegrity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "graph sha256 {} matches `{GRAPH_SHA256_KEY}`", short(&self.graph_sha256))?;
        if let Some((path, hash)) = &self.external_data {
            write!(f, "; {} sha256 {} matches `{EXTERNAL_DATA_SHA256_KEY}`", path.display(), short(hash))?;
        }
        Ok(())
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Recomputes a model file's graph hash (and its external data file's, resolved beside `path`) and compares
/// them with what its metadata records. A model without the hashes is refused: plec has recorded them since
/// this check exists, so a missing entry means an old or damaged file.
pub fn check_model(path: &Path, bytes: &[u8]) -> Result<ModelIntegrity, IntegrityError> {
    let layout = ModelLayout::scan(path, bytes)?;
    let recorded = |key: &'static str| {
        layout.metadata.get(key).cloned().ok_or_else(|| IntegrityError::NotRecorded { path: path.to_path_buf(), key })
    };
    let expected = recorded(GRAPH_SHA256_KEY)?;
    let graph_sha256 = sha256_hex(&bytes[layout.graph.clone()]);
    if graph_sha256 != expected {
        return Err(Mismatch {
            path: path.to_path_buf(),
            what: format!("the graph (bytes {}..{})", layout.graph.start, layout.graph.end),
            recorded_in: format!("`{GRAPH_SHA256_KEY}`"),
            recorded: expected,
            actual: graph_sha256,
            remedy: MODEL_REMEDY,
        }
        .into());
    }
    let mut bytes_hashed = layout.graph.len() as u64;
    let external_data = match layout.external_locations.as_slice() {
        [] => None,
        [location] => {
            let file = path.parent().unwrap_or(Path::new("")).join(location);
            let expected = recorded(EXTERNAL_DATA_SHA256_KEY)?;
            let actual = checked_file_sha256(&file)?;
            if actual != expected {
                return Err(Mismatch {
                    path: file,
                    what: "the external data".into(),
                    recorded_in: format!("{}'s `{EXTERNAL_DATA_SHA256_KEY}`", path.display()),
                    recorded: expected,
                    actual,
                    remedy: MODEL_REMEDY,
                }
                .into());
            }
            bytes_hashed += std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            Some((file, actual))
        }
        many => {
            return Err(IntegrityError::Malformed {
                path: path.to_path_buf(),
                offset: layout.graph.start,
                message: format!(
                    "initializers name {} external data files ({}); plec writes one",
                    many.len(),
                    many.join(", ")
                ),
            })
        }
    };
    Ok(ModelIntegrity { graph_sha256, external_data, bytes_hashed })
}

/// A `StringStringEntryProto`'s key and value.
fn entry(bytes: &[u8], range: &Range<usize>) -> Result<(String, String), (usize, String)> {
    let mut key = String::new();
    let mut value = String::new();
    for field in Fields::new(&bytes[..range.end], range.start) {
        let field = field?;
        let text = |r: &Range<usize>| {
            String::from_utf8(bytes[r.clone()].to_vec())
                .map_err(|_| (r.start, "a metadata string that is not UTF-8".into()))
        };
        match (field.number, &field.value) {
            (ENTRY_KEY, Value::Bytes(r)) => key = text(r)?,
            (ENTRY_VALUE, Value::Bytes(r)) => value = text(r)?,
            _ => {}
        }
    }
    Ok((key, value))
}

/// One protobuf field: its number, where its tag starts, and its value (length-delimited payloads as ranges of the
/// whole buffer).
struct Field {
    number: u64,
    start: usize,
    value: Value,
}

enum Value {
    Scalar,
    Bytes(Range<usize>),
}

/// The fields of the message in `bytes[start..]` (offsets are into `bytes`).
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8], start: usize) -> Fields<'a> {
        Fields { bytes, at: start, failed: false }
    }

    fn varint(&mut self) -> Result<u64, (usize, String)> {
        let start = self.at;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at).ok_or((start, "truncated (a varint runs past the end)".to_string()))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err((start, "a varint longer than 10 bytes".into()))
    }

    fn skip(&mut self, len: u64, what: &str) -> Result<Range<usize>, (usize, String)> {
        let start = self.at;
        let end =
            usize::try_from(len).ok().and_then(|len| start.checked_add(len)).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or((start, format!("truncated ({what} of {len} bytes runs past the end)")))?;
        self.at = end;
        Ok(start..end)
    }

    fn field(&mut self) -> Result<Field, (usize, String)> {
        let start = self.at;
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 {
            return Err((start, "field number 0".into()));
        }
        let value = match tag & 7 {
            0 => {
                self.varint()?;
                Value::Scalar
            }
            1 => {
                self.skip(8, "a 64-bit value")?;
                Value::Scalar
            }
            2 => {
                let len = self.varint()?;
                Value::Bytes(self.skip(len, "a length-delimited field")?)
            }
            5 => {
                self.skip(4, "a 32-bit value")?;
                Value::Scalar
            }
            other => return Err((start, format!("wire type {other} (groups are not used by ONNX)"))),
        };
        Ok(Field { number, start, value })
    }
}

impl Iterator for Fields<'_> {
    type Item = Result<Field, (usize, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        let field = self.field();
        self.failed = field.is_err();
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-delimited field, encoded by hand.
    fn len_field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(&mut out, number << 3 | 2);
        varint(&mut out, payload.len() as u64);
        out.extend_from_slice(payload);
        out
    }

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn metadata(key: &str, value: &str) -> Vec<u8> {
        len_field(14, &[len_field(1, key.as_bytes()), len_field(2, value.as_bytes())].concat())
    }

    fn model(graph: &[u8], extra: &[(&str, &str)]) -> Vec<u8> {
        // ir_version (field 1, varint 8), the graph, then metadata.
        let mut out = vec![0x08, 0x08];
        out.extend(len_field(7, graph));
        for (key, value) in extra {
            out.extend(metadata(key, value));
        }
        out
    }

    #[test]
    fn the_graph_hash_is_the_sha256_of_the_graph_fields_payload() {
        let graph = len_field(1, b"node bytes");
        let hash = sha256_hex(&graph);
        // sha256 of the payload computed independently of the wire walker (the known digest of "" checks sha256_hex).
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let bytes = model(&graph, &[(GRAPH_SHA256_KEY, &hash), ("plec.other", "x")]);
        let report = check_model(Path::new("m.onnx"), &bytes).unwrap();
        assert_eq!(report.graph_sha256, hash);
        assert_eq!(report.external_data, None);
        let layout = ModelLayout::scan(Path::new("m.onnx"), &bytes).unwrap();
        assert_eq!(&bytes[layout.graph], graph.as_slice());
        assert_eq!(layout.metadata.get("plec.other").map(String::as_str), Some("x"));
    }

    #[test]
    fn a_changed_graph_byte_a_missing_hash_and_a_truncated_file_are_refused() {
        let graph = len_field(1, b"node bytes");
        let hash = sha256_hex(&graph);
        let mut bytes = model(&graph, &[(GRAPH_SHA256_KEY, &hash)]);
        let err = check_model(Path::new("m.onnx"), &bytes[..bytes.len() - 3]).unwrap_err().to_string();
        assert!(err.starts_with("m.onnx: not a valid ONNX file: truncated"), "{err}");
        bytes[6] ^= 0x01;
        let err = check_model(Path::new("m.onnx"), &bytes).unwrap_err().to_string();
        assert!(err.contains("the graph (bytes 4..16) has sha256"), "{err}");
        let bytes = model(&graph, &[]);
        let err = check_model(Path::new("m.onnx"), &bytes).unwrap_err().to_string();
        assert!(err.contains("records no `plec.graph_sha256`"), "{err}");
    }
}
