//! Golden sets: raw inputs and the trainer's outputs for them, stored in the ONNX backend-test layout
//! (`test_data_set_0/input_<i>.pb`, `output_<i>.pb`: serialized TensorProtos named like the graph's inputs and
//! outputs) so any ONNX tool can read them; and the comparison `plec verify` and `plec compile` run.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use protobuf::{Message, MessageFull};

use crate::artifact::precision::Precision;
use crate::artifact::signature::OutputSignature;
use crate::artifact::tensor::{RawData, RawTensor};
use crate::artifact::tolerance::Tolerance;
use crate::proto::onnx_tensor::TensorProto;
use crate::OutputKind;

/// The folder holding one golden set inside a golden directory.
pub const DATA_SET_DIR: &str = "test_data_set_0";
/// Metadata key of a golden set embedded in a compiled model: JSON `{"inputs": [...], "outputs": [...]}` whose
/// elements are base64 of the same serialized TensorProtos as the `.pb` files, readable from any language.
pub const METADATA_KEY: &str = "plec.golden";
/// Golden sets larger than this (as embedded text) stay beside the model only.
pub const METADATA_LIMIT: usize = 1 << 20;

const FLOAT: i32 = 1;
const INT64: i32 = 7;
const STRING: i32 = 8;
const DOUBLE: i32 = 11;

#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error("golden set {path}: {message}")]
    Io { path: String, message: String },
    #[error("golden tensor {path}: {message}")]
    Tensor { path: String, message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GoldenSet {
    pub inputs: Vec<RawTensor>,
    pub outputs: Vec<RawTensor>,
}

impl GoldenSet {
    /// Writes `dir/test_data_set_0/{input,output}_<i>.pb`, replacing an existing set.
    pub fn write(&self, dir: &Path) -> Result<(), GoldenError> {
        let set = dir.join(DATA_SET_DIR);
        let io = |path: &Path, e: std::io::Error| GoldenError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if set.exists() {
            std::fs::remove_dir_all(&set).map_err(|e| io(&set, e))?;
        }
        std::fs::create_dir_all(&set).map_err(|e| io(&set, e))?;
        for (prefix, tensors) in [("input", &self.inputs), ("output", &self.outputs)] {
            for (i, tensor) in tensors.iter().enumerate() {
                let path = set.join(format!("{prefix}_{i}.pb"));
                let bytes = to_proto(tensor)
                    .write_to_bytes()
                    .map_err(|e| GoldenError::Tensor { path: path.display().to_string(), message: e.to_string() })?;
                std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Reads a golden set from `dir` (the folder holding `test_data_set_0`, or that folder itself).
    pub fn read(dir: &Path) -> Result<GoldenSet, GoldenError> {
        let set = if dir.join(DATA_SET_DIR).is_dir() { dir.join(DATA_SET_DIR) } else { dir.to_path_buf() };
        let inputs = read_numbered(&set, "input")?;
        let outputs = read_numbered(&set, "output")?;
        if inputs.is_empty() || outputs.is_empty() {
            return Err(GoldenError::Io {
                path: set.display().to_string(),
                message: "no input_<i>.pb / output_<i>.pb files: not a golden set".into(),
            });
        }
        Ok(GoldenSet { inputs, outputs })
    }

    /// The set as metadata text, or `None` when it is larger than [`METADATA_LIMIT`].
    pub fn to_metadata(&self) -> Option<String> {
        let encode = |tensors: &[RawTensor]| -> Option<Vec<String>> {
            tensors.iter().map(|t| to_proto(t).write_to_bytes().ok().map(|b| BASE64.encode(b))).collect()
        };
        let text = serde_json::json!({"inputs": encode(&self.inputs)?, "outputs": encode(&self.outputs)?}).to_string();
        (text.len() <= METADATA_LIMIT).then_some(text)
    }

    /// Reads a set written by [`GoldenSet::to_metadata`].
    pub fn from_metadata(text: &str) -> Result<GoldenSet, GoldenError> {
        let bad = |message: String| GoldenError::Tensor { path: format!("metadata `{METADATA_KEY}`"), message };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let decode = |key: &str| -> Result<Vec<RawTensor>, GoldenError> {
            let items = value[key].as_array().ok_or_else(|| bad(format!("no `{key}` list")))?;
            items
                .iter()
                .map(|item| {
                    let bytes = item
                        .as_str()
                        .and_then(|text| BASE64.decode(text).ok())
                        .ok_or_else(|| bad(format!("`{key}` holds a non-base64 element")))?;
                    let proto = parse_tensor(&bytes).map_err(bad)?;
                    from_proto(&proto).map_err(bad)
                })
                .collect()
        };
        Ok(GoldenSet { inputs: decode("inputs")?, outputs: decode("outputs")? })
    }

    /// sha256 (hex) of the set's content, whatever file or metadata it was read from: for each input, then each
    /// output, the length (u64 little-endian) and bytes of its serialized TensorProto, as `write` writes it.
    pub fn content_sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for tensor in self.inputs.iter().chain(&self.outputs) {
            // Serializing a TensorProto built in memory cannot fail; an empty message would still change the hash.
            let bytes = to_proto(tensor).write_to_bytes().unwrap_or_default();
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        crate::artifact::integrity::hex(&hasher.finalize())
    }

    /// Rows in the set (the batch dimension of its first input).
    pub fn rows(&self) -> usize {
        self.inputs.first().and_then(|t| t.shape.first().copied()).unwrap_or(0)
    }
}

fn read_numbered(set: &Path, prefix: &str) -> Result<Vec<RawTensor>, GoldenError> {
    let mut out = Vec::new();
    for i in 0.. {
        let path: PathBuf = set.join(format!("{prefix}_{i}.pb"));
        if !path.is_file() {
            break;
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| GoldenError::Io { path: path.display().to_string(), message: e.to_string() })?;
        let proto = parse_tensor(&bytes)
            .map_err(|message| GoldenError::Tensor { path: path.display().to_string(), message })?;
        out.push(
            from_proto(&proto).map_err(|message| GoldenError::Tensor { path: path.display().to_string(), message })?,
        );
    }
    Ok(out)
}

/// Parses a serialized TensorProto after checking the lengths it claims against its size ([`super::wire`]).
pub fn parse_tensor(bytes: &[u8]) -> Result<TensorProto, String> {
    super::wire::check_lengths(bytes, &TensorProto::descriptor()).map_err(|e| format!("not a TensorProto: {e}"))?;
    TensorProto::parse_from_bytes(bytes).map_err(|e| format!("not a TensorProto: {e}"))
}

pub fn to_proto(tensor: &RawTensor) -> TensorProto {
    let mut proto = TensorProto::new();
    proto.set_name(tensor.name.clone());
    proto.dims = tensor.shape.iter().map(|&d| d as i64).collect();
    match &tensor.data {
        RawData::Float(values) => {
            proto.set_data_type(FLOAT);
            proto.set_raw_data(values.iter().flat_map(|v| v.to_le_bytes()).collect());
        }
        RawData::Int64(values) => {
            proto.set_data_type(INT64);
            proto.set_raw_data(values.iter().flat_map(|v| v.to_le_bytes()).collect());
        }
        RawData::String(values) => {
            proto.set_data_type(STRING);
            proto.string_data = values.iter().map(|s| s.as_bytes().to_vec()).collect();
        }
    }
    proto
}

pub fn from_proto(proto: &TensorProto) -> Result<RawTensor, String> {
    let shape: Vec<usize> = proto
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
        .collect::<Result<_, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} has more elements than this machine can count"))?;
    let raw = proto.raw_data();
    let data = match proto.data_type() {
        FLOAT if proto.has_raw_data() => RawData::Float(le_values(raw, f32::from_le_bytes)?),
        FLOAT => RawData::Float(proto.float_data.clone()),
        DOUBLE if proto.has_raw_data() => {
            RawData::Float(le_values(raw, f64::from_le_bytes)?.into_iter().map(|v| v as f32).collect())
        }
        DOUBLE => RawData::Float(proto.double_data.iter().map(|&v| v as f32).collect()),
        INT64 if proto.has_raw_data() => RawData::Int64(le_values(raw, i64::from_le_bytes)?),
        INT64 => RawData::Int64(proto.int64_data.clone()),
        STRING => RawData::String(
            proto
                .string_data
                .iter()
                .map(|b| String::from_utf8(b.clone()).map_err(|_| "a string element is not UTF-8".to_string()))
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("data_type {other} is not one plec uses (float, double, int64, string)")),
    };
    if data.len() != count {
        return Err(format!("{} elements for shape {shape:?} ({count} expected)", data.len()));
    }
    Ok(RawTensor { name: proto.name().to_string(), shape, data })
}

fn le_values<T, const N: usize>(raw: &[u8], convert: fn([u8; N]) -> T) -> Result<Vec<T>, String> {
    if !raw.len().is_multiple_of(N) {
        return Err(format!("raw_data of {} bytes is not a whole number of {N}-byte elements", raw.len()));
    }
    Ok(raw.chunks_exact(N).map(|c| convert(c.try_into().unwrap_or([0; N]))).collect())
}

/// Result of comparing a model's outputs with a golden set's.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub outputs: Vec<OutputComparison>,
    /// Problems that are not numeric differences (a missing output, a shape mismatch).
    pub structural: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputComparison {
    pub name: String,
    pub tolerance: Tolerance,
    /// Elements beyond tolerance.
    pub exceeding: usize,
    pub elements: usize,
    /// The element with the largest |got - expected| - tolerance allowance: (row, got, expected).
    pub worst: Option<(usize, f32, f32)>,
    pub max_abs_diff: f32,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.structural.is_empty() && self.outputs.iter().all(|o| o.exceeding == 0)
    }
}

/// Compares `got` with the golden `expected` outputs, each with the tolerance of its kind (from the signature).
pub fn compare(expected: &[RawTensor], got: &[RawTensor], signature: &[OutputSignature]) -> Comparison {
    compare_at(expected, got, signature, Precision::Float32)
}

/// As [`compare`], for a model compiled at `precision` (`Tolerance::for_output_at`).
pub fn compare_at(
    expected: &[RawTensor],
    got: &[RawTensor],
    signature: &[OutputSignature],
    precision: Precision,
) -> Comparison {
    let mut outputs = Vec::new();
    let mut structural = Vec::new();
    for want in expected {
        let Some(have) = got.iter().find(|t| t.name == want.name) else {
            structural.push(format!("output `{}` is in the golden set but the model does not produce it", want.name));
            continue;
        };
        if have.shape != want.shape {
            structural.push(format!("output `{}` has shape {:?}, golden {:?}", want.name, have.shape, want.shape));
            continue;
        }
        let (RawData::Float(g), RawData::Float(e)) = (&have.data, &want.data) else {
            structural.push(format!("output `{}` is not float", want.name));
            continue;
        };
        let kind = signature.iter().find(|o| o.name == want.name).map_or(OutputKind::Logits, |o| o.kind);
        let tolerance = Tolerance::for_output_at(kind, precision);
        let per_row = want.shape.iter().skip(1).product::<usize>().max(1);
        let mut result = OutputComparison {
            name: want.name.clone(),
            tolerance,
            exceeding: 0,
            elements: e.len(),
            worst: None,
            max_abs_diff: 0.0,
        };
        let mut worst_excess = f32::NEG_INFINITY;
        for (i, (&gv, &ev)) in g.iter().zip(e).enumerate() {
            let diff = (gv - ev).abs();
            let excess = if gv.is_nan() != ev.is_nan() {
                f32::INFINITY
            } else if ev.is_nan() {
                0.0
            } else {
                diff - tolerance.allowed(ev)
            };
            if excess > 0.0 {
                result.exceeding += 1;
            }
            if diff.is_finite() {
                result.max_abs_diff = result.max_abs_diff.max(diff);
            }
            if excess > worst_excess {
                worst_excess = excess;
                result.worst = Some((i / per_row, gv, ev));
            }
        }
        outputs.push(result);
    }
    for have in got {
        if !expected.iter().any(|t| t.name == have.name) {
            structural.push(format!("output `{}` is produced by the model but missing from the golden set", have.name));
        }
    }
    Comparison { outputs, structural }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for problem in &self.structural {
            writeln!(f, "  FAIL {problem}")?;
        }
        for o in &self.outputs {
            let status = if o.exceeding == 0 { "ok  " } else { "FAIL" };
            write!(
                f,
                "  {status} {}: {} of {} elements beyond tolerance (atol {:e}, rtol {:e}); max |diff| {:.3e}",
                o.name, o.exceeding, o.elements, o.tolerance.atol, o.tolerance.rtol, o.max_abs_diff
            )?;
            if let (Some((row, got, expected)), true) = (o.worst, o.exceeding > 0) {
                write!(f, "; worst: row {row}, got {got}, expected {expected}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(BASE64.encode(plain.as_bytes()), encoded);
            assert_eq!(BASE64.decode(encoded).ok().as_deref(), Some(plain.as_bytes()));
        }
        assert!(BASE64.decode("Zm9v!").is_err());
    }

    #[test]
    fn metadata_round_trip() {
        let set = GoldenSet {
            inputs: vec![RawTensor {
                name: "s".into(),
                shape: vec![2],
                data: RawData::String(vec!["a".into(), "".into()]),
            }],
            outputs: vec![float("probs_a", &[0.25, 0.5])],
        };
        let text = set.to_metadata().unwrap_or_default();
        assert_eq!(GoldenSet::from_metadata(&text).ok(), Some(set));
        assert!(GoldenSet::from_metadata("{}").is_err());
    }

    fn out(name: &str, kind: OutputKind) -> OutputSignature {
        OutputSignature { name: name.into(), tower: "t".into(), kind, shape: vec!["batch".into()] }
    }

    fn float(name: &str, values: &[f32]) -> RawTensor {
        RawTensor { name: name.into(), shape: vec![values.len()], data: RawData::Float(values.to_vec()) }
    }

    #[test]
    fn round_trips_through_tensor_protos() {
        let dir = crate::test_dir::TestDir::new("golden");
        let set = GoldenSet {
            inputs: vec![
                RawTensor { name: "ids".into(), shape: vec![2, 2], data: RawData::Int64(vec![1, -1, 7, 3]) },
                RawTensor { name: "s".into(), shape: vec![2], data: RawData::String(vec!["a".into(), "".into()]) },
            ],
            outputs: vec![float("probs_ctr", &[0.25, f32::NAN])],
        };
        set.write(&dir).unwrap_or_else(|e| panic!("{e}"));
        let back = GoldenSet::read(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.inputs, set.inputs);
        let RawData::Float(values) = &back.outputs[0].data else { panic!("float expected") };
        assert_eq!(values[0], 0.25);
        assert!(values[1].is_nan());
        // The raw bytes are little-endian IEEE floats, as ONNX's own tools write them: 0.25 = 0x3e800000.
        let bytes = std::fs::read(dir.join(DATA_SET_DIR).join("output_0.pb")).unwrap_or_default();
        assert!(bytes.windows(4).any(|w| w == [0x00, 0x00, 0x80, 0x3e]));
    }

    #[test]
    fn compare_reports_the_worst_element_beyond_tolerance() {
        let sig = [out("probs_a", OutputKind::Probs), out("logits_a", OutputKind::Logits)];
        let expected = [float("probs_a", &[0.5, 0.1, 0.9]), float("logits_a", &[1.0, 2.0, 3.0])];
        let got = [float("probs_a", &[0.5, 0.1 + 1e-7, 0.95]), float("logits_a", &[1.0, 2.0, 3.0])];
        let c = compare(&expected, &got, &sig);
        assert!(!c.passed());
        assert_eq!(c.outputs[0].exceeding, 1);
        assert_eq!(c.outputs[0].worst, Some((2, 0.95, 0.9)));
        assert_eq!(c.outputs[1].exceeding, 0);
        let text = c.to_string();
        assert!(text.contains("FAIL probs_a: 1 of 3 elements"), "{text}");
        assert!(text.contains("worst: row 2, got 0.95, expected 0.9"), "{text}");
    }

    #[test]
    fn compare_reports_missing_outputs_and_shapes() {
        let sig = [out("probs_a", OutputKind::Probs)];
        let c = compare(&[float("probs_a", &[0.5])], &[float("probs_b", &[0.5])], &sig);
        assert_eq!(c.structural.len(), 2);
        let c = compare(&[float("probs_a", &[0.5])], &[float("probs_a", &[0.5, 0.5])], &sig);
        assert!(c.structural[0].contains("shape"));
    }
}
