//! `ModelSpec` + `Weights` -> ONNX `ModelProto`.
//!
//! ```text
//! raw feature inputs --features--> group input [--bottom_mlp] --layers (explicit | fused | wide)--> y_t
//!     --towers (MLP [, relation MLP]) --> outputs
//! ```

pub mod dense;
mod din;
mod features;
mod fused;
mod gate;
pub(crate) mod graph;
mod group_input;
mod joint;
mod layer;
mod mlp;
mod sequence;
mod tower;
mod wide;

use onnx_protobuf::{GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto};
use plec_spec::artifact::precision::Precision;
use plec_spec::artifact::signature::OutputSignature;
use plec_spec::{ModelSpec, OutputKind};

pub use dense::{DenseKind, DenseLayer};
use graph::{Graph, ML_DOMAIN, MS_DOMAIN};

use crate::error::{CompileError, WeightsError};
use crate::model::CompiledModel;
use crate::options::{CompileOptions, Layout};
use crate::weights::Weights;

/// Metadata keys written into every model.
pub mod meta {
    pub const VERSION: &str = "plec.version";
    pub const CONFIG: &str = "plec.config";
    pub const SIGNATURE: &str = plec_spec::artifact::signature::SIGNATURE_KEY;
    pub const OUTPUTS: &str = "plec.outputs";
    pub const LAYOUT: &str = "plec.layout";
    pub const WEIGHTS_SHA256: &str = "plec.weights_sha256";
    pub const OPSET: &str = "plec.opset";
    /// Only in int8 models (absent: float32).
    pub const PRECISION: &str = plec_spec::artifact::precision::METADATA_KEY;
}

pub const PRODUCER: &str = "plec";
pub const GRAPH_NAME: &str = "plec_ple";
/// `ai.onnx.ml` opset (LabelEncoder with string keys and int64 values exists since 2).
const ML_OPSET: i64 = 3;
const MS_OPSET: i64 = 1;

/// The IR version matching an ai.onnx opset (ONNX's own release pairing).
fn ir_version(opset: i64) -> i64 {
    match opset {
        ..=18 => 8,
        19 | 20 => 9,
        _ => 10,
    }
}

/// Compiles `spec` with `weights` (copied: the big tables are cloned once; see `compile_owned` to avoid that).
pub fn compile(spec: &ModelSpec, weights: &Weights, options: &CompileOptions) -> Result<CompiledModel, CompileError> {
    compile_owned(spec, weights.clone(), options)
}

/// Compiles `spec`, moving the weights' buffers into the model's initializers (no copy of the tables).
pub fn compile_owned(
    spec: &ModelSpec,
    weights: Weights,
    options: &CompileOptions,
) -> Result<CompiledModel, CompileError> {
    let (mut g, weights_sha256) = lower_float(spec, weights, options)?;
    let int8 = match options.precision {
        Precision::Int8 => Some(crate::quantize::quantize(&mut g, spec, &options.int8, options.calibration.as_ref())?),
        Precision::Float32 => None,
    };
    let leftover = g.leftover_params();
    if !leftover.is_empty() {
        return Err(CompileError::Internal(format!("parameters not used by the graph: {}", leftover.join(", "))));
    }
    Ok(CompiledModel { model: assemble(spec, g, options, weights_sha256, &[])?, int8 })
}

/// The float32 model of `options` with, as extra outputs (and in its signature, kind `Regression`, tower
/// [`CALIBRATION_TOWER`]), every tensor whose range static int8 (`--precision int8` with calibration data)
/// needs; also their names. Only for observing those ranges (`Calibration::observe`); never written.
pub fn calibration_model(
    spec: &ModelSpec,
    weights: &Weights,
    options: &CompileOptions,
) -> Result<(CompiledModel, Vec<String>), CompileError> {
    let float = CompileOptions { precision: Precision::Float32, calibration: None, ..options.clone() };
    let (mut g, weights_sha256) = lower_float(spec, weights.clone(), &float)?;
    let taps = crate::quantize::calibration_taps(&g, spec, &options.int8);
    for (name, width) in &taps {
        g.add_output(
            name,
            onnx_protobuf::tensor_proto::DataType::FLOAT,
            &[graph::Dim::Named("batch"), graph::Dim::Fixed(*width)],
        );
    }
    let model = assemble(spec, g, &float, weights_sha256, &taps)?;
    Ok((CompiledModel { model, int8: None }, taps.into_iter().map(|(name, _)| name).collect()))
}

/// The signature's tower name of [`calibration_model`]'s extra outputs.
pub const CALIBRATION_TOWER: &str = "<calibration>";

/// The float32 graph of `spec` (every layer lowered, nothing quantized) and the weights' content hash.
fn lower_float(spec: &ModelSpec, weights: Weights, options: &CompileOptions) -> Result<(Graph, String), CompileError> {
    spec.check()?;
    let opset = options.opset_for(spec)?;
    let problems = weights.problems(spec);
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch { path: "<weights in memory>".into(), problems }.into());
    }
    let weights_sha256 = weights.content_sha256();
    let mut g = Graph::new(weights, opset);
    let mut input = group_input::lower_group_input(&mut g, spec, options.layout != Layout::Explicit)?;
    if let Some(bottom) = &spec.bottom_mlp {
        let module = plec_spec::artifact::names::BOTTOM_MLP;
        input = mlp::lower_mlp(&mut g, dense::DenseKind::Tower, module, bottom, &input)?;
    }
    let ys = lower_layers(&mut g, spec, &input, options.layout, options.expose_gates)?;
    tower::lower_towers(&mut g, spec, &ys)?;
    Ok((g, weights_sha256))
}

/// The extraction layers in order, each lowered in `layout`: per-task inputs start as the group input and become
/// each layer's task outputs; the shared input advances only through layers with a shared gate (the last has none).
fn lower_layers(
    g: &mut Graph,
    spec: &ModelSpec,
    input: &str,
    layout: Layout,
    expose_gates: bool,
) -> Result<Vec<String>, CompileError> {
    let mut xs = vec![input.to_string(); spec.towers.len()];
    let mut s = input.to_string();
    for layer in &spec.layers {
        let (ys, next) = match layout {
            Layout::Explicit => layer::lower_layer(g, spec, layer, &xs, &s, expose_gates)?,
            Layout::Fused => fused::lower_layer(g, spec, layer, &xs, &s, expose_gates)?,
            Layout::Wide => wide::lower_layer(g, spec, layer, &xs, &s, expose_gates)?,
        };
        xs = ys;
        if let Some(next) = next {
            s = next;
        }
    }
    Ok(xs)
}

fn assemble(
    spec: &ModelSpec,
    g: Graph,
    options: &CompileOptions,
    weights_sha256: String,
    taps: &[(String, usize)],
) -> Result<ModelProto, CompileError> {
    let opset = g.opset;
    let mut opset_import = vec![OperatorSetIdProto { domain: String::new(), version: opset, ..Default::default() }];
    for domain in &g.domains {
        let version = match *domain {
            ML_DOMAIN => ML_OPSET,
            MS_DOMAIN => MS_OPSET,
            other => return Err(CompileError::Internal(format!("unexpected operator domain {other}"))),
        };
        opset_import.push(OperatorSetIdProto { domain: domain.to_string(), version, ..Default::default() });
    }
    let mut outputs = g.outputs;
    outputs.extend(g.gate_outputs);
    let output_names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
    let mut signature = spec.signature();
    signature.outputs.extend(taps.iter().map(|(name, width)| OutputSignature {
        name: name.clone(),
        tower: CALIBRATION_TOWER.into(),
        kind: OutputKind::Regression,
        shape: vec!["batch".into(), (*width).into()],
    }));
    let signature = serde_json::to_string(&signature).map_err(json_err("signature"))?;
    let mut metadata = vec![
        (meta::VERSION, env!("CARGO_PKG_VERSION").to_string()),
        (meta::CONFIG, options.config_text.clone()),
        (meta::SIGNATURE, signature),
        (meta::OUTPUTS, serde_json::to_string(&output_names).map_err(json_err("output names"))?),
        (meta::LAYOUT, options.layout.name().to_string()),
        (meta::WEIGHTS_SHA256, weights_sha256),
        (meta::OPSET, opset.to_string()),
    ];
    if options.precision != Precision::Float32 {
        metadata.push((meta::PRECISION, options.precision.name().to_string()));
    }
    metadata.sort();
    let graph = GraphProto {
        name: GRAPH_NAME.into(),
        node: g.nodes,
        // BTreeMap: sorted by name.
        initializer: g.initializers.into_values().collect(),
        input: g.inputs,
        output: outputs,
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: ir_version(opset),
        opset_import,
        producer_name: PRODUCER.into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph).into(),
        metadata_props: metadata
            .into_iter()
            .map(|(key, value)| StringStringEntryProto { key: key.into(), value, ..Default::default() })
            .collect(),
        ..Default::default()
    })
}

fn json_err(what: &'static str) -> impl FnOnce(serde_json::Error) -> CompileError {
    move |source| CompileError::Json { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plec_spec::testing::catalog;

    #[test]
    fn opsets_outside_the_supported_range_are_refused() {
        let (_, spec) = catalog().remove(3);
        let weights = Weights::random(&spec, 0);
        for opset in [16, 22] {
            let options = CompileOptions { opset: Some(opset), ..Default::default() };
            let err = compile(&spec, &weights, &options).unwrap_err().to_string();
            assert_eq!(err, format!("opset {opset} is not supported: plec emits ai.onnx opsets 17..=21"));
        }
        assert_eq!(ir_version(17), 8);
        assert_eq!(ir_version(21), 10);
    }

    #[test]
    fn the_int8_report_names_every_dense_node_with_the_op_it_became() {
        use crate::options::Int8Options;
        for (name, spec) in catalog() {
            let weights = Weights::random(&spec, 0);
            for (layout, min_weights) in [(Layout::Fused, 0), (Layout::Wide, usize::MAX), (Layout::Explicit, 0)] {
                let int8 = Int8Options { min_weights, min_expert_weights: min_weights, ..Int8Options::default() };
                let options = CompileOptions { layout, precision: Precision::Int8, int8, ..Default::default() };
                let compiled = compile(&spec, &weights, &options).unwrap();
                let report = compiled.int8.expect("an int8 compilation reports");
                let graph = &compiled.model.graph;
                let matmuls =
                    graph.node.iter().filter(|n| matches!(n.op_type.as_str(), "Gemm" | "MatMulIntegerToFloat"));
                assert_eq!(matmuls.count(), report.dense.len(), "{name} {layout:?}");
                for (layer, int8) in &report.dense {
                    let node = graph.node.iter().find(|n| n.name == layer.node).unwrap();
                    let want = if *int8 { "MatMulIntegerToFloat" } else { "Gemm" };
                    assert_eq!(node.op_type, want, "{name} {layout:?} {}", layer.node);
                }
                if min_weights == usize::MAX {
                    assert!(report.dense.iter().all(|(_, int8)| !int8), "{name} {layout:?}");
                }
            }
        }
    }

    #[test]
    fn a_spec_that_breaks_an_invariant_is_refused_before_lowering() {
        let (_, mut spec) = catalog().remove(3);
        let weights = Weights::random(&spec, 0);
        spec.layers[0].has_shared_gate = true;
        let err = compile(&spec, &weights, &CompileOptions::default()).unwrap_err();
        assert!(matches!(err, CompileError::InvalidSpec(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "model spec layers[0].has_shared_gate: is true, expected false: every layer but the last has a shared gate"
        );
    }
}
