//! A compiled plec model loaded into ONNX Runtime: its signature and metadata, and checked, thread-safe runs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ort::session::builder::SessionBuilder;
use ort::session::{Session, SessionInputValue};
use ort::value::{Tensor, TensorElementType, TensorRef, ValueType as OrtValueType};
use plec_spec::artifact::integrity::{self, ModelIntegrity};
use plec_spec::artifact::names;
use plec_spec::artifact::signature::{OutputSignature, Signature, SIGNATURE_KEY};
use plec_spec::ValueType;

use crate::device::{self, Device, DeviceReport};
use crate::dylib;
use crate::error::{Result, RuntimeError};
use crate::options::{IntegrityCheck, RunOptions};
use crate::pool::SessionPool;
use crate::tensor::{OutputTensor, Outputs, RawData, RawInputs, RawTensor};
use crate::validate;

/// Prefix of every metadata key plec writes.
pub const METADATA_PREFIX: &str = "plec.";

pub struct Model {
    path: PathBuf,
    bytes: Vec<u8>,
    options: RunOptions,
    signature: Signature,
    gates: Vec<GateOutput>,
    metadata: BTreeMap<String, String>,
    device: DeviceReport,
    integrity: Option<IntegrityReport>,
    pool: SessionPool,
}

/// A gate's softmax that a model exposes beside its signature's outputs (`plec compile --expose-gates`): graph
/// output `name` (`<gate>.softmax`, `plec_spec::artifact::names::gate_output`), `[batch, experts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateOutput {
    pub name: String,
    pub experts: usize,
}

/// The content hashes a load checked, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrityReport {
    pub checked: ModelIntegrity,
    pub seconds: f64,
}

impl std::fmt::Display for IntegrityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "integrity: {} ({:.1} MB hashed in {:.2} s)",
            self.checked,
            self.checked.bytes_hashed as f64 / 1e6,
            self.seconds
        )
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("path", &self.path).field("device", &self.device).finish_non_exhaustive()
    }
}

impl Model {
    /// Loads a compiled model: reads its signature from metadata, checks the graph agrees with it, and creates a
    /// first session on `options.device` (or the CPU, if that fails and `options.fallback_cpu` is set).
    pub fn load(path: impl AsRef<Path>, options: &RunOptions) -> Result<Model> {
        let path = path.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| RuntimeError::ModelFile { path: path.clone(), source })?;
        Model::from_bytes(path, bytes, options)
    }

    /// As [`Model::load`], from the model's bytes; `path` names it in messages.
    pub fn from_bytes(path: PathBuf, bytes: Vec<u8>, options: &RunOptions) -> Result<Model> {
        // The hashes are checked on another thread while ONNX Runtime builds the first session from the same bytes
        // (on two cores the check then adds little to the load; BENCHMARKS.md, "Integrity check at load"). Nothing
        // runs before both are done, and a failed check wins over a session error: a damaged file often fails to
        // parse too, and the hash names the cause.
        let (integrity, session) = std::thread::scope(|scope| {
            let check = (options.integrity == IntegrityCheck::Check).then(|| {
                scope.spawn(|| {
                    let started = std::time::Instant::now();
                    integrity::check_model(&path, &bytes)
                        .map(|checked| IntegrityReport { checked, seconds: started.elapsed().as_secs_f64() })
                })
            });
            let session = dylib::environment().and_then(|_| first_session(&path, &bytes, options));
            let integrity = match check.map(|handle| handle.join()) {
                None => None,
                Some(Ok(result)) => Some(result),
                // check_model does not panic on any input; if it ever did, the panic is the caller's to see.
                Some(Err(panic)) => std::panic::resume_unwind(panic),
            };
            (integrity.transpose(), session)
        });
        let integrity = integrity?;
        let (session, device) = session?;
        let metadata = read_metadata(&path, &session)?;
        let signature = parse_signature(&path, &metadata)?;
        check_graph(&path, &session, &signature)?;
        let gates = gate_outputs(&path, &session, &signature)?;
        let max_sessions = options
            .max_sessions
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
        let mut options = options.clone();
        options.device = device.used;
        let pool = SessionPool::new(session, max_sessions);
        Ok(Model { path, bytes, options, signature, gates, metadata, device, integrity, pool })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The feature signature (metadata key `plec.signature`).
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The outputs every run returns, in order.
    pub fn outputs(&self) -> &[OutputSignature] {
        &self.signature.outputs
    }

    /// The gates' softmaxes the graph outputs beside the signature's outputs, in graph order (none unless compiled
    /// with `--expose-gates`).
    pub fn gate_outputs(&self) -> &[GateOutput] {
        &self.gates
    }

    /// Every custom metadata entry of the model (plec's are under `plec.`), by key.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Which device runs the model, and why, if it is not the one asked for.
    pub fn device_report(&self) -> &DeviceReport {
        &self.device
    }

    /// The content hashes checked at load (`None` when loaded with [`IntegrityCheck::Skip`]).
    pub fn integrity(&self) -> Option<&IntegrityReport> {
        self.integrity.as_ref()
    }

    /// One line for a command to print: what the load checked, or that it did not.
    pub fn integrity_line(&self) -> String {
        match &self.integrity {
            Some(report) => report.to_string(),
            None => "integrity: not checked (skipped on request)".to_string(),
        }
    }

    /// Sessions created so far (they serve concurrent callers).
    pub fn session_count(&self) -> usize {
        self.pool.created()
    }

    /// Runs one batch after checking it against the signature (names, types, shapes, batch sizes, valid ids).
    /// Safe to call from many threads at once.
    pub fn run(&self, inputs: &RawInputs) -> Result<Outputs> {
        let batch = validate::check(&self.signature, inputs)?;
        self.run_checked(inputs, batch)
    }

    /// Runs a batch that [`validate::check`] accepted with this batch size.
    pub fn run_checked(&self, inputs: &RawInputs, batch: usize) -> Result<Outputs> {
        self.run_outputs(inputs, batch, false)
    }

    /// As [`Model::run_checked`], returning the signature's outputs and then every gate output
    /// ([`Model::gate_outputs`]).
    pub fn run_checked_with_gates(&self, inputs: &RawInputs, batch: usize) -> Result<Outputs> {
        self.run_outputs(inputs, batch, true)
    }

    /// The signature's outputs and, with `gates`, the gate outputs: `(name, [batch, dims...] without batch)`.
    fn output_shapes(&self, gates: bool) -> Vec<(&str, Vec<usize>)> {
        let mut out: Vec<(&str, Vec<usize>)> = self
            .signature
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.shape.iter().skip(1).map(|d| d.as_u64().unwrap_or(0) as usize).collect()))
            .collect();
        if gates {
            out.extend(self.gates.iter().map(|g| (g.name.as_str(), vec![g.experts])));
        }
        out
    }

    fn run_outputs(&self, inputs: &RawInputs, batch: usize, gates: bool) -> Result<Outputs> {
        let wanted = self.output_shapes(gates);
        if batch == 0 {
            return Ok(empty_outputs(&wanted));
        }
        let mut session = self.pool.acquire(|| new_session(&self.path, &self.bytes, &self.options))?;
        let values = self.input_values(inputs)?;
        let run_error = |source: ort::Error| RuntimeError::Run { path: self.path.clone(), source };
        let results = session.run(values).map_err(run_error)?;
        let mut outputs = Outputs::default();
        for (name, _) in wanted {
            let output_error =
                |message: String| RuntimeError::Output { path: self.path.clone(), output: name.to_string(), message };
            let value = results.get(name).ok_or_else(|| output_error("not produced by the run".into()))?;
            let (shape, values) = value.try_extract_tensor::<f32>().map_err(|source| RuntimeError::OutputTensor {
                path: self.path.clone(),
                output: name.to_string(),
                source,
            })?;
            let shape = shape.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
            outputs.tensors.push((name.to_string(), OutputTensor { shape, values: values.to_vec() }));
        }
        Ok(outputs)
    }

    /// For benchmarks: runs `inputs`, converted once, on this model's sessions with nothing around them (no
    /// checks, no conversions, no output copies), to tell plec's own cost per call apart from ONNX Runtime's.
    pub fn bare_runner(&self, inputs: &RawInputs) -> Result<BareRunner<'_>> {
        let run_error = |source: ort::Error| RuntimeError::Run { path: self.path.clone(), source };
        let values = inputs.tensors.iter().map(|t| owned_value(t).map_err(run_error)).collect::<Result<_>>()?;
        let names = inputs.tensors.iter().map(|t| t.name.clone()).collect();
        Ok(BareRunner { model: self, names, values })
    }

    /// Ends profiling on every idle session and returns the profile files written (empty when not profiling).
    pub fn end_profiling(&self) -> Result<Vec<PathBuf>> {
        if self.options.profiling.is_none() {
            return Ok(Vec::new());
        }
        let mut files = Vec::new();
        for mut session in self.pool.drain_idle() {
            let file =
                session.end_profiling().map_err(|source| RuntimeError::Run { path: self.path.clone(), source })?;
            files.push(PathBuf::from(file));
        }
        Ok(files)
    }

    fn input_values<'a>(&self, inputs: &'a RawInputs) -> Result<Vec<(Cow<'a, str>, SessionInputValue<'a>)>> {
        let mut values = Vec::with_capacity(inputs.tensors.len());
        for tensor in &inputs.tensors {
            let name = &tensor.name;
            let value = ort_value(tensor).map_err(|source| RuntimeError::RunInput {
                path: self.path.clone(),
                input: name.clone(),
                source,
            })?;
            values.push((Cow::Borrowed(name.as_str()), value));
        }
        Ok(values)
    }
}

/// Zero-row outputs of the given shapes (without the batch axis).
fn empty_outputs(wanted: &[(&str, Vec<usize>)]) -> Outputs {
    let tensors = wanted
        .iter()
        .map(|(name, dims)| {
            let mut shape = vec![0];
            shape.extend(dims);
            (name.to_string(), OutputTensor { shape, values: Vec::new() })
        })
        .collect();
    Outputs { tensors }
}

/// See [`Model::bare_runner`].
pub struct BareRunner<'m> {
    model: &'m Model,
    names: Vec<String>,
    values: Vec<ort::value::DynValue>,
}

impl BareRunner<'_> {
    /// One timed run (borrowing a pooled session is inside the timing, as it is for [`Model::run`]).
    pub fn run_once(&mut self) -> Result<std::time::Duration> {
        let model = self.model;
        let feed: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = self
            .names
            .iter()
            .zip(&self.values)
            .map(|(n, v)| (Cow::Borrowed(n.as_str()), SessionInputValue::from(v)))
            .collect();
        let start = std::time::Instant::now();
        let mut session = model.pool.acquire(|| new_session(&model.path, &model.bytes, &model.options))?;
        let outputs = session.run(feed).map_err(|source| RuntimeError::Run { path: model.path.clone(), source })?;
        let elapsed = start.elapsed();
        drop(outputs);
        Ok(elapsed)
    }
}

/// Borrows int64/float data without copying; strings are copied (ONNX Runtime owns string tensors).
fn ort_value(tensor: &RawTensor) -> ort::Result<SessionInputValue<'_>> {
    let shape: Vec<i64> = tensor.shape.iter().map(|&d| d as i64).collect();
    Ok(match &tensor.data {
        RawData::Int64(values) => TensorRef::from_array_view((shape, values.as_slice()))?.into(),
        RawData::Float(values) => TensorRef::from_array_view((shape, values.as_slice()))?.into(),
        RawData::String(values) => Tensor::from_string_array((shape, values.as_slice()))?.into(),
    })
}

/// An owned copy of a tensor as an ONNX Runtime value (benchmarks convert once, then run many times).
fn owned_value(tensor: &RawTensor) -> ort::Result<ort::value::DynValue> {
    let shape: Vec<i64> = tensor.shape.iter().map(|&d| d as i64).collect();
    Ok(match &tensor.data {
        RawData::Int64(values) => Tensor::from_array((shape, values.clone()))?.into_dyn(),
        RawData::Float(values) => Tensor::from_array((shape, values.clone()))?.into_dyn(),
        RawData::String(values) => Tensor::from_string_array((shape, values.as_slice()))?.into_dyn(),
    })
}

/// A session on the requested device; on failure, a CPU session if `fallback_cpu`, else the error.
fn first_session(path: &Path, bytes: &[u8], options: &RunOptions) -> Result<(Session, DeviceReport)> {
    let requested = options.device;
    match new_session(path, bytes, options) {
        Ok(session) => Ok((session, DeviceReport { requested, used: requested, fallback_reason: None })),
        Err(error) if requested != Device::Cpu && options.fallback_cpu => {
            let cpu = RunOptions { device: Device::Cpu, ..options.clone() };
            let session = new_session(path, bytes, &cpu)?;
            let report = DeviceReport { requested, used: Device::Cpu, fallback_reason: Some(error.to_string()) };
            Ok((session, report))
        }
        Err(error) => Err(error),
    }
}

/// ONNX Runtime's session config key (1.19+) for where a model loaded from memory finds its external data files.
const EXTERNAL_DATA_FOLDER_KEY: &str = "session.model_external_initializers_file_folder_path";

fn new_session(path: &Path, bytes: &[u8], options: &RunOptions) -> Result<Session> {
    let environment = dylib::environment()?;
    let session_error = |source: ort::Error| RuntimeError::Session { path: path.to_path_buf(), source };
    // Builder steps fail with an error that carries the builder back, which is of no use here.
    let builder_error = |source: ort::Error<SessionBuilder>| session_error(source.into());
    let mut builder = Session::builder(environment)
        .map_err(session_error)?
        .with_optimization_level(options.optimization_level.to_ort())
        .map_err(builder_error)?;
    if let Some(threads) = options.intra_threads {
        builder = builder.with_intra_threads(threads).map_err(builder_error)?;
    }
    if let Some(prefix) = &options.profiling {
        builder = builder.with_profiling(prefix).map_err(builder_error)?;
    }
    // A model loaded from memory resolves external data (`--external-data`'s `<model>.data`) relative to this
    // folder; ONNX Runtime would otherwise look in the working directory.
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        builder =
            builder.with_config_entry(EXTERNAL_DATA_FOLDER_KEY, folder.to_string_lossy()).map_err(builder_error)?;
    }
    let mut builder = device::register(builder, options.device)?;
    builder.commit_from_memory(bytes).map_err(|e| {
        if options.device == Device::Cpu {
            session_error(e)
        } else {
            RuntimeError::Device(device::DeviceError::Register {
                device: options.device,
                provider: options.device.provider_name(),
                message: e.to_string(),
            })
        }
    })
}

fn read_metadata(path: &Path, session: &Session) -> Result<BTreeMap<String, String>> {
    let metadata_error = |source: ort::Error| RuntimeError::MetadataRead { path: path.to_path_buf(), source };
    let metadata = session.metadata().map_err(metadata_error)?;
    let mut entries = BTreeMap::new();
    for key in metadata.custom_keys().map_err(metadata_error)? {
        if let Some(value) = metadata.custom(&key) {
            entries.insert(key, value);
        }
    }
    Ok(entries)
}

fn parse_signature(path: &Path, metadata: &BTreeMap<String, String>) -> Result<Signature> {
    let text = metadata.get(SIGNATURE_KEY).ok_or_else(|| RuntimeError::Metadata {
        path: path.to_path_buf(),
        message: format!("no `{SIGNATURE_KEY}` metadata entry: was it compiled by `plec compile`?"),
    })?;
    serde_json::from_str(text).map_err(|source| RuntimeError::Signature { path: path.to_path_buf(), source })
}

fn element_type(dtype: ValueType) -> TensorElementType {
    match dtype {
        ValueType::Int64 => TensorElementType::Int64,
        ValueType::Float => TensorElementType::Float32,
        ValueType::String => TensorElementType::String,
    }
}

/// The graph's inputs and outputs must be exactly what the signature says, or every check made against the
/// signature would be meaningless.
fn check_graph(path: &Path, session: &Session, signature: &Signature) -> Result<()> {
    let mismatch = |message: String| RuntimeError::Metadata { path: path.to_path_buf(), message };
    let tensor_type = |dtype: &OrtValueType| match dtype {
        OrtValueType::Tensor { ty, shape, .. } => Some((*ty, shape.len())),
        _ => None,
    };
    for input in &signature.inputs {
        let graph = session
            .inputs()
            .iter()
            .find(|i| i.name() == input.name)
            .ok_or_else(|| mismatch(format!("signature input `{}` is not a graph input", input.name)))?;
        let expected = element_type(input.dtype);
        if tensor_type(graph.dtype()) != Some((expected, input.shape.len())) {
            return Err(mismatch(format!(
                "graph input `{}` is {:?}, but the signature says {} {}",
                input.name,
                graph.dtype(),
                validate::dtype_name(input.dtype),
                validate::shape_text(&input.shape)
            )));
        }
    }
    for graph in session.inputs() {
        if !signature.inputs.iter().any(|i| i.name == graph.name()) {
            return Err(mismatch(format!("graph input `{}` is not in the signature", graph.name())));
        }
    }
    for output in &signature.outputs {
        let graph = session
            .outputs()
            .iter()
            .find(|o| o.name() == output.name)
            .ok_or_else(|| mismatch(format!("signature output `{}` is not a graph output", output.name)))?;
        if tensor_type(graph.dtype()).map(|(ty, _)| ty) != Some(TensorElementType::Float32) {
            return Err(mismatch(format!("graph output `{}` is {:?}, expected float32", output.name, graph.dtype())));
        }
    }
    Ok(())
}

/// The graph outputs beside the signature's that hold a gate's softmax (`names::gate_of_output` recognises their
/// names): each must be float32 `[batch, experts]`.
fn gate_outputs(path: &Path, session: &Session, signature: &Signature) -> Result<Vec<GateOutput>> {
    let mut gates = Vec::new();
    for output in session.outputs() {
        let name = output.name();
        if signature.outputs.iter().any(|o| o.name == name) || names::gate_of_output(name).is_none() {
            continue;
        }
        let experts = match output.dtype() {
            OrtValueType::Tensor { ty: TensorElementType::Float32, shape, .. } if shape.len() == 2 => {
                usize::try_from(shape[1]).ok().filter(|&e| e > 0)
            }
            _ => None,
        };
        let experts = experts.ok_or_else(|| RuntimeError::Metadata {
            path: path.to_path_buf(),
            message: format!("gate output `{name}` is {:?}, expected float32 [batch, experts]", output.dtype()),
        })?;
        gates.push(GateOutput { name: name.to_string(), experts });
    }
    Ok(gates)
}
