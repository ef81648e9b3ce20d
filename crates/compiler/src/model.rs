//! A compiled model and how it is written: one `.onnx` file, or with external data, the `.onnx` file plus
//! `<model file>.data` holding every initializer of at least `EXTERNAL_MIN_BYTES` (ONNX's external-data fields:
//! `location` relative to the model, `offset`, `length`; `data_location` EXTERNAL).

use std::io::Write;
use std::path::{Path, PathBuf};

use onnx_protobuf::tensor_proto::DataLocation;
use onnx_protobuf::{Message, ModelProto, StringStringEntryProto};
use plec_spec::artifact::integrity::{self, Sha256Writer};

use crate::error::CompileError;
use crate::quantize::Int8Report;

/// Protobuf messages cannot exceed 2 GiB.
pub const PROTOBUF_LIMIT: u64 = (1 << 31) - 1;
/// Initializers smaller than this stay inside the model file (onnx's own default threshold).
pub const EXTERNAL_MIN_BYTES: usize = 1024;

#[derive(Debug, Clone)]
pub struct CompiledModel {
    pub model: ModelProto,
    /// What `--precision int8` stored in int8 (None: a float32 compilation).
    pub int8: Option<Int8Report>,
}

/// What `CompiledModel::write` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    pub model_path: PathBuf,
    pub model_bytes: u64,
    /// The external data file and its size, if any.
    pub data: Option<(PathBuf, u64)>,
}

impl CompiledModel {
    /// Adds (or replaces) a `metadata_props` entry, e.g. the golden set that `plec compile` embeds.
    pub fn set_metadata(&mut self, key: &str, value: String) {
        self.model.metadata_props.retain(|entry| entry.key != key);
        self.model.metadata_props.push(StringStringEntryProto { key: key.into(), value, ..Default::default() });
        self.model.metadata_props.sort_by(|a, b| a.key.cmp(&b.key));
    }

    /// The ai.onnx opset the model was compiled at.
    pub fn opset(&self) -> Option<i64> {
        self.model.opset_import.iter().find(|o| o.domain.is_empty()).map(|o| o.version)
    }

    pub fn node_count(&self) -> usize {
        self.model.graph.node.len()
    }

    pub fn initializer_count(&self) -> usize {
        self.model.graph.initializer.len()
    }

    /// Serialized size in bytes (with the data currently held inline).
    pub fn byte_size(&self) -> u64 {
        self.model.compute_size()
    }

    /// The serialized model (inline data only), as it stands: unsealed unless [`CompiledModel::seal`] was called.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CompileError> {
        let size = self.byte_size();
        if size > PROTOBUF_LIMIT {
            return Err(CompileError::TooLarge { size });
        }
        self.model.write_to_bytes().map_err(CompileError::Serialize)
    }

    /// Records the graph's sha256 in the metadata (`plec.graph_sha256`): the hash of the graph's bytes exactly as
    /// they are written (a nested message serializes to the same bytes as on its own), streamed, never held.
    /// Called last, once the graph is final.
    pub fn seal(&mut self) -> Result<(), CompileError> {
        let mut hasher = Sha256Writer::default();
        self.model.graph.write_to_writer(&mut hasher).map_err(CompileError::Serialize)?;
        self.set_metadata(integrity::GRAPH_SHA256_KEY, hasher.finish());
        Ok(())
    }

    /// Writes the model to `path` (through a temporary file renamed into place). With `external_data`, the large
    /// initializers move to `<path>.data` first (the in-memory model then refers to that file).
    pub fn write(&mut self, path: &Path, external_data: bool) -> Result<WriteSummary, CompileError> {
        let werr = |p: &Path, source: std::io::Error| CompileError::Write { path: p.to_path_buf(), source };
        let data = if external_data { Some(self.externalize(path)?) } else { None };
        self.seal()?;
        let size = self.byte_size();
        if size > PROTOBUF_LIMIT {
            return Err(CompileError::TooLarge { size });
        }
        let tmp = temp_path(path);
        let file = std::fs::File::create(&tmp).map_err(|e| werr(&tmp, e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        self.model
            .write_to_writer(&mut out)
            .map_err(|source| CompileError::WriteProto { path: tmp.clone(), source })?;
        out.flush().map_err(|e| werr(&tmp, e))?;
        drop(out);
        std::fs::rename(&tmp, path).map_err(|e| werr(path, e))?;
        Ok(WriteSummary { model_path: path.to_path_buf(), model_bytes: size, data })
    }

    fn externalize(&mut self, path: &Path) -> Result<(PathBuf, u64), CompileError> {
        let data_path = external_data_path(path);
        let location = data_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let werr = |source: std::io::Error| CompileError::Write { path: data_path.clone(), source };
        let file = std::fs::File::create(&data_path).map_err(werr)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut hasher = Sha256Writer::default();
        let mut offset = 0u64;
        for tensor in self.model.graph.mut_or_insert_default().initializer.iter_mut() {
            if tensor.raw_data.len() < EXTERNAL_MIN_BYTES {
                continue;
            }
            let data = std::mem::take(&mut tensor.raw_data);
            out.write_all(&data).map_err(werr)?;
            hasher.write_all(&data).map_err(werr)?;
            let entry =
                |key: &str, value: String| StringStringEntryProto { key: key.into(), value, ..Default::default() };
            tensor.external_data = vec![
                entry("location", location.clone()),
                entry("offset", offset.to_string()),
                entry("length", data.len().to_string()),
            ];
            tensor.data_location = DataLocation::EXTERNAL.into();
            offset += data.len() as u64;
        }
        out.flush().map_err(werr)?;
        self.set_metadata(integrity::EXTERNAL_DATA_SHA256_KEY, hasher.finish());
        self.set_metadata(integrity::EXTERNAL_DATA_KEY, location);
        Ok((data_path, offset))
    }
}

/// `<model path>.data`, e.g. `model.onnx.data`.
pub fn external_data_path(model_path: &Path) -> PathBuf {
    let mut name = model_path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".data");
    model_path.with_file_name(name)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

/// Fails early, before any work, when `path` cannot be written (missing folder, a folder in the way, no
/// permission). Leaves no file behind.
pub fn check_writable(path: &Path) -> Result<(), CompileError> {
    let fail = |source: std::io::Error| CompileError::Write { path: path.to_path_buf(), source };
    if path.is_dir() {
        return Err(CompileError::WriteFolder(path.to_path_buf()));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(fail)?;
    if !existed {
        std::fs::remove_file(path).map_err(fail)?;
    }
    Ok(())
}

/// Reads an ONNX model file.
pub fn read_model(path: &Path) -> Result<ModelProto, CompileError> {
    let bytes = std::fs::read(path).map_err(|source| CompileError::Read { path: path.to_path_buf(), source })?;
    ModelProto::parse_from_bytes(&bytes).map_err(|source| CompileError::NotOnnx { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_data_sits_next_to_the_model() {
        assert_eq!(external_data_path(Path::new("out/m.onnx")), PathBuf::from("out/m.onnx.data"));
    }

    #[test]
    fn unwritable_outputs_are_caught_and_nothing_is_left_behind() {
        let dir = plec_spec::test_dir::TestDir::new("check-writable");
        let fresh = dir.join("m.onnx");
        assert!(check_writable(&fresh).is_ok());
        assert!(!fresh.exists());
        let err = check_writable(&dir).unwrap_err().to_string();
        assert!(err.ends_with("is a folder"), "{err}");
        let err = check_writable(&dir.join("missing/m.onnx")).unwrap_err().to_string();
        assert!(err.starts_with("cannot write"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
