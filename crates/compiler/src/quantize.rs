//! `--precision int8`: a pass over the lowered float graph (any layout) that stores embedding tables and the
//! expert / tower MLP layers as int8. It works from the lowered graph's records (`lower::dense`: which Gemm is
//! which block of which expert, gate or tower; which Gather reads which table), never from node names. The graph
//! keeps its inputs, outputs and node names; only the nodes that read a quantized parameter change. Why each
//! choice, with the measurements: BENCHMARKS.md, sections "int8" and issue 24.
//!
//! - **Embedding tables** of at least [`Int8Options::min_table_elements`] elements (the parameters, or the
//!   joint tables of `lower::joint`): `<table>.quant` int8 `[rows, dim]` and `<table>.scale` float16
//!   `[rows, 1]`, symmetric per row: `scale = max |row| / 127` (rounded up to the next float16, so no value
//!   clips), `q = round(x / scale)`. Every lookup of the table becomes
//!   `Gather(quant) -> Cast -> Mul(Gather(scale) -> Cast)` under the Gather's name (`<gather>.quant`,
//!   `<gather>.quant_f32`, `<gather>.scale`, `<gather>.scale_f32`, then `<gather>` itself), so the dequantized
//!   rows feed the same masks and pooling as before. No offset: trained embedding rows are centred near zero.
//!   The float16 scale's rounding (at most 2^-11 relative) is 16x smaller than the int8 step.
//! - **Dense layers**: every block of an expert with at least [`Int8Options::min_expert_weights`] weights in all,
//!   and every expert or tower block with at least [`Int8Options::min_weights`] weights (the wide layout's wide
//!   Gemms count per expert, so every layout makes the same choices), becomes
//!   `com.microsoft.MatMulIntegerToFloat` under the Gemm's name: weight `<fc>.weight.quant` int8 `[in, out]`,
//!   symmetric per output channel in 7 bits (levels -63..=63, [`WEIGHT_LEVELS`]: no saturation on CPUs without
//!   VNNI) (`<fc>.weight.scale` float `[out]`), bias unchanged. Their input is quantized to uint8 at run time
//!   (one scale and zero point per tensor: `DynamicQuantizeLinear`, node `<input>.quant`) once, for every int8
//!   layer that reads it (at the first layer, all experts of all tasks); ONNX Runtime fuses a quantization read
//!   by one layer into that layer (`DynamicQuantizeMatMul`).
//! - **With calibration data** (`CompileOptions::calibration`), the same layers run static int8 instead
//!   (`crate::static_int8`: calibrated input scales, every ReLU output written as uint8).
//! - **Stay float32**: smaller tables, gates (their softmax decides the expert mix), output layers (one or a few
//!   columns), sequence attention MLPs, narrower layers, and the layers reading the group input when it holds
//!   raw numbers (see `reads_raw_numbers`).

use std::collections::{BTreeMap, BTreeSet};

use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{NodeProto, TensorProto};
use plec_spec::{Encoding, ModelSpec, SequenceEncoding};

use crate::calibration::Calibration;
use crate::error::CompileError;
use crate::lower::dense::{DenseKind, DenseLayer, Structure};
use crate::lower::graph::{attr_int, node_proto, Graph, MS_DOMAIN};
use crate::options::{Int8Options, TableScale};
use crate::static_int8::{self, StaticWeight};

/// What an int8 compilation stored in int8, from the lowered graph's records (`lower::dense`): every embedding
/// table and every dense layer with its precision. The compile summary and `plec compile` read this.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Int8Report {
    /// Embedding tables in the graph (parameter names) and whether each is stored int8.
    pub tables: Vec<(String, bool)>,
    /// Every dense layer and whether it runs as an int8 matmul.
    pub dense: Vec<(DenseLayer, bool)>,
}

impl Int8Report {
    /// Whether anything is int8 at all.
    pub fn any(&self) -> bool {
        self.tables.iter().any(|(_, q)| *q) || self.dense.iter().any(|(_, q)| *q)
    }

    /// One line on what the model holds in int8 and what stays float32, e.g. for `plec compile`.
    pub fn summary(&self) -> String {
        let int8_tables = self.tables.iter().filter(|(_, q)| *q).count();
        let per_kind = |int8: bool| {
            let mut counts: BTreeMap<DenseKind, usize> = BTreeMap::new();
            for (layer, q) in &self.dense {
                if *q == int8 {
                    *counts.entry(layer.kind).or_default() += 1;
                }
            }
            let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {}", k.name())).collect();
            if parts.is_empty() {
                "none".to_string()
            } else {
                parts.join(", ")
            }
        };
        format!(
            "int8: {int8_tables} of {} embedding tables; dense layers int8: {}; float32: {} (`plec dump` shows which)",
            self.tables.len(),
            per_kind(true),
            per_kind(false)
        )
    }
}

/// Rewrites `g` (fully lowered, float32) to int8 as described in the module documentation.
/// With `calibration`, the chosen dense layers run static int8 (`crate::static_int8`).
pub(crate) fn quantize(
    g: &mut Graph,
    spec: &ModelSpec,
    options: &Int8Options,
    calibration: Option<&Calibration>,
) -> Result<Int8Report, CompileError> {
    let structure = std::mem::take(&mut g.structure);
    let mut report = Int8Report::default();
    let mut int8_tables = BTreeSet::new();
    for name in &structure.tables {
        let Some(tensor) = g.initializers.get(name) else {
            return Err(CompileError::Internal(format!("table `{name}` is not an initializer")));
        };
        let elements = tensor.dims.iter().map(|&d| d as u64).product::<u64>();
        let large = elements >= options.min_table_elements as u64;
        if large {
            let (quant, scale) = quantize_table(tensor, options.table_scale)?;
            g.initializers.remove(name);
            g.initializers.insert(quant.name.clone(), quant);
            g.initializers.insert(scale.name.clone(), scale);
            int8_tables.insert(name.clone());
        }
        report.tables.push((name.clone(), large));
    }
    let lookups: BTreeMap<&str, &str> = structure
        .lookups
        .iter()
        .filter(|l| int8_tables.contains(&l.table))
        .map(|l| (l.node.as_str(), l.table.as_str()))
        .collect();
    let mut chosen = chosen_layers(&structure, spec, options, &mut report);
    let nodes = std::mem::take(&mut g.nodes);
    let mut dequantized = Vec::with_capacity(nodes.len());
    for node in nodes {
        match lookups.get(node.name.as_str()) {
            Some(table) => dequantized.extend(dequantized_gather(&node, table)?),
            None => dequantized.push(node),
        }
    }
    let nodes = dequantized;
    if let Some(calibration) = calibration {
        let outputs: BTreeSet<&str> = g.outputs.iter().map(|o| o.name.as_str()).collect();
        let chains = static_int8::chains(&nodes, &chosen, &outputs);
        g.nodes = static_int8::rewrite(g, nodes, &chosen, &chains, calibration, options.stack_experts, static_weight)?;
        g.structure = structure;
        return Ok(report);
    }
    let mut shared = BTreeSet::new();
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        if let Some(layer) = chosen.remove(node.name.as_str()) {
            out.extend(quantized_gemm(g, node, layer, &mut shared)?);
        } else {
            out.push(node);
        }
    }
    if let Some(missing) = chosen.keys().next() {
        return Err(CompileError::Internal(format!("dense layer `{missing}` is not in the graph")));
    }
    g.nodes = out;
    g.structure = structure;
    Ok(report)
}

/// The dense layers that run as int8 matmuls, by node name; records every layer's precision in `report`.
fn chosen_layers<'a>(
    structure: &'a Structure,
    spec: &ModelSpec,
    options: &Int8Options,
    report: &mut Int8Report,
) -> BTreeMap<&'a str, &'a DenseLayer> {
    let raw_numbers = reads_raw_numbers(spec);
    let mut chosen = BTreeMap::new();
    for layer in &structure.dense {
        let int8 = pays_in_int8(layer, options) && !(raw_numbers && layer.input == structure.group_input);
        if int8 {
            chosen.insert(layer.node.as_str(), layer);
        }
        report.dense.push((layer.clone(), int8));
    }
    chosen
}

/// The float32 tensors static int8 needs calibrated ranges for (`crate::static_int8::Chains::taps`), with their
/// widths, in the fully lowered float graph `g`.
pub(crate) fn calibration_taps(g: &Graph, spec: &ModelSpec, options: &Int8Options) -> Vec<(String, usize)> {
    let chosen = chosen_layers(&g.structure, spec, options, &mut Int8Report::default());
    let outputs: BTreeSet<&str> = g.outputs.iter().map(|o| o.name.as_str()).collect();
    static_int8::chains(&g.nodes, &chosen, &outputs).taps(&chosen)
}

/// A chosen layer's weight for static int8: int8 `[out, in]` in [`WEIGHT_LEVELS`] levels per output channel, and its
/// float bias; both float initializers leave the graph.
fn static_weight(g: &mut Graph, gemm: &NodeProto, layer: &DenseLayer) -> Result<StaticWeight, CompileError> {
    let values = layer_weight(g, gemm, layer)?;
    let (out, inputs) = (layer.out, layer.inputs);
    let (transposed, scales) = quantize_weight(&values, out, inputs);
    let mut quant = vec![0u8; out * inputs];
    for i in 0..inputs {
        for o in 0..out {
            quant[o * inputs + i] = transposed[i * out + o];
        }
    }
    let bias = match gemm.input.get(2).filter(|b| !b.is_empty()) {
        Some(b) => {
            let Some(tensor) = g.initializers.remove(b) else {
                return Err(CompileError::Internal(format!("Gemm `{}` reads no initializer `{b}`", gemm.name)));
            };
            Some((b.clone(), floats(&tensor)?))
        }
        None => None,
    };
    let name = gemm.input.get(1).cloned().unwrap_or_default();
    Ok(StaticWeight { name, quant, scales, bias })
}

/// Whether `layer` runs as an int8 matmul (see the module documentation).
fn pays_in_int8(layer: &DenseLayer, options: &Int8Options) -> bool {
    match layer.kind {
        DenseKind::Expert => {
            layer.mlp_weights >= options.min_expert_weights || layer.weights_per_expert() >= options.min_weights
        }
        DenseKind::Tower => layer.weights_per_expert() >= options.min_weights,
        DenseKind::Gate | DenseKind::Output | DenseKind::Attention => false,
    }
}

/// Whether the group input holds raw numbers (dense features, dense sequence positions). The Gemms reading it
/// then stay float32: run-time activation quantization shares one scale across the whole batch and every input
/// column, so a price of 10,000 next to embedding values of 0.1 leaves the embeddings no resolution at all (on the
/// golden suite's edge-case rows, extreme dense values moved probabilities by up to 0.04 when these Gemms were
/// int8, and by under 1e-4 with them float).
fn reads_raw_numbers(spec: &ModelSpec) -> bool {
    spec.features.iter().any(|f| matches!(f.encoding, Encoding::Dense { .. }))
        || spec
            .sequence_groups
            .iter()
            .flat_map(|g| &g.sequence)
            .any(|f| matches!(f.encoding, SequenceEncoding::Dense { .. }))
}

fn floats(tensor: &TensorProto) -> Result<Vec<f32>, CompileError> {
    if tensor.data_type != DataType::FLOAT as i32 || !tensor.raw_data.len().is_multiple_of(4) {
        return Err(CompileError::Internal(format!("initializer `{}` is not raw float32", tensor.name)));
    }
    Ok(tensor.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn check_finite(name: &str, values: &[f32]) -> Result<(), CompileError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(CompileError::Quantize {
            tensor: name.to_string(),
            message: format!("element {i} is {}; only finite values can be quantized", values[i]),
        }),
        None => Ok(()),
    }
}

/// The smallest float16 at least `x` (x >= 0, finite, at most f16::MAX).
fn f16_at_least(x: f32) -> half::f16 {
    let h = half::f16::from_f32(x);
    if h.to_f32() < x {
        half::f16::from_bits(h.to_bits() + 1)
    } else {
        h
    }
}

/// Dense int8 weights use the levels -63..=63 (7 bits, ONNX Runtime's `reduce_range`): on x86 without VNNI (AVX2,
/// AVX-512 without VNNI, e.g. AMD Zen 3) ONNX Runtime's u8s8 GEMM adds pairs of uint8 x int8 products in int16
/// (`vpmaddubsw`), which saturates past 32,767; 2 x 255 x 63 = 32,130 cannot. A model is compiled once and served
/// on whatever CPU the fleet has, so it must be exact on all of them, at the cost of one bit of weight resolution
/// (the step is 1/63 of a channel's largest weight instead of 1/127). Embedding tables keep all 8 bits: they are
/// dequantized in float, not multiplied in integers.
pub const WEIGHT_LEVELS: f32 = 63.0;

/// A Linear's `[out, in]` weight as int8 `[in, out]` (transposed: MatMulIntegerToFloat computes A x B) in
/// [`WEIGHT_LEVELS`] levels, with one scale per output channel.
fn quantize_weight(values: &[f32], out: usize, inputs: usize) -> (Vec<u8>, Vec<f32>) {
    let mut scales = Vec::with_capacity(out);
    let mut quant = vec![0u8; out * inputs];
    for o in 0..out {
        let row = &values[o * inputs..(o + 1) * inputs];
        let scale = row.iter().fold(0.0f32, |m, v| m.max(v.abs())) / WEIGHT_LEVELS;
        for (i, &x) in row.iter().enumerate() {
            quant[i * out + o] = quantize_value(x, scale) as u8;
        }
        scales.push(scale);
    }
    (quant, scales)
}

/// `round(x / scale)` clamped to [-127, 127]; 0 where the scale is 0 (an all-zero row).
fn quantize_value(x: f32, scale: f32) -> i8 {
    if scale == 0.0 {
        0
    } else {
        (x / scale).round().clamp(-127.0, 127.0) as i8
    }
}

/// `<table>.quant` int8 `[rows, dim]` and `<table>.scale` float16 `[rows, 1]`.
pub(crate) fn quantize_table(
    tensor: &TensorProto,
    table_scale: TableScale,
) -> Result<(TensorProto, TensorProto), CompileError> {
    let name = &tensor.name;
    let values = floats(tensor)?;
    check_finite(name, &values)?;
    let (rows, dim) = match tensor.dims.as_slice() {
        [r, d] => (*r as usize, *d as usize),
        other => return Err(CompileError::Internal(format!("table `{name}` has shape {other:?}, expected 2-D"))),
    };
    let max_abs = |row: &[f32]| row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let table_max = max_abs(&values);
    let largest = f32::from(half::f16::MAX) * 127.0;
    if table_max > largest {
        return Err(CompileError::Quantize {
            tensor: name.clone(),
            message: format!(
                "holds |values| up to {table_max:e}; an int8 table with float16 scales holds at most {largest:e}"
            ),
        });
    }
    let mut quant = Vec::with_capacity(rows * dim);
    let mut scales = Vec::with_capacity(rows * 2);
    for r in 0..rows {
        let row = &values[r * dim..(r + 1) * dim];
        let range = match table_scale {
            TableScale::PerRow => max_abs(row),
            TableScale::PerTensor => table_max,
        };
        let scale = f16_at_least(range / 127.0);
        let s = scale.to_f32();
        quant.extend(row.iter().map(|&x| quantize_value(x, s) as u8));
        scales.extend_from_slice(&scale.to_le_bytes());
    }
    let quant = TensorProto {
        name: format!("{name}.quant"),
        dims: vec![rows as i64, dim as i64],
        data_type: DataType::INT8 as i32,
        raw_data: quant,
        ..Default::default()
    };
    let scale = TensorProto {
        name: format!("{name}.scale"),
        dims: vec![rows as i64, 1],
        data_type: DataType::FLOAT16 as i32,
        raw_data: scales,
        ..Default::default()
    };
    Ok((quant, scale))
}

/// `Gather(table, idx) -> y` as `Gather(table.quant, idx) * Gather(table.scale, idx)`, still producing `y`.
fn dequantized_gather(gather: &NodeProto, table: &str) -> Result<Vec<NodeProto>, CompileError> {
    let (n, axis) = (&gather.name, gather.attribute.clone());
    let (Some(idx), true) = (gather.input.get(1), gather.op_type == "Gather" && gather.input[0] == table) else {
        return Err(CompileError::Internal(format!("lookup `{n}` is not a Gather of `{table}`")));
    };
    let float = DataType::FLOAT as i64;
    let quant = node_proto(
        "",
        "Gather",
        &format!("{n}.quant"),
        &[&format!("{table}.quant"), idx],
        &[&format!("{n}.quant")],
        axis.clone(),
    );
    let quant_f32 = node_proto(
        "",
        "Cast",
        &format!("{n}.quant_f32"),
        &[&quant.name],
        &[&format!("{n}.quant_f32")],
        vec![attr_int("to", float)],
    );
    let scale = node_proto(
        "",
        "Gather",
        &format!("{n}.scale"),
        &[&format!("{table}.scale"), idx],
        &[&format!("{n}.scale")],
        axis,
    );
    let scale_f32 = node_proto(
        "",
        "Cast",
        &format!("{n}.scale_f32"),
        &[&scale.name],
        &[&format!("{n}.scale_f32")],
        vec![attr_int("to", float)],
    );
    let outputs: Vec<&str> = gather.output.iter().map(String::as_str).collect();
    let mul = node_proto("", "Mul", n, &[&quant_f32.name, &scale_f32.name], &outputs, vec![]);
    Ok(vec![quant, quant_f32, scale, scale_f32, mul])
}

/// `Gemm(x, W, b) {transB=1}` (dense layer `layer`) -> `MatMulIntegerToFloat(x.quant, W.quant, x.quant_scale,
/// W.scale, x.quant_zero_point, "", b)`, preceded by `DynamicQuantizeLinear(x)` (named `x.quant`) at the first
/// int8 layer reading `x` (`shared` holds the inputs already quantized).
fn quantized_gemm(
    g: &mut Graph,
    gemm: NodeProto,
    layer: &DenseLayer,
    shared: &mut BTreeSet<String>,
) -> Result<Vec<NodeProto>, CompileError> {
    let values = layer_weight(g, &gemm, layer)?;
    let (out, inputs) = (layer.out, layer.inputs);
    let w_name = &gemm.input[1];
    let x = &gemm.input[0];
    let (quant, scales) = quantize_weight(&values, out, inputs);
    let q_name = format!("{w_name}.quant");
    let s_name = format!("{w_name}.scale");
    g.initializers.insert(
        q_name.clone(),
        TensorProto {
            name: q_name.clone(),
            dims: vec![inputs as i64, out as i64],
            data_type: DataType::INT8 as i32,
            raw_data: quant,
            ..Default::default()
        },
    );
    g.add_f32_initializer(&s_name, vec![out], &scales);
    let bias = gemm.input.get(2).map_or("", String::as_str);
    let mut nodes = Vec::new();
    let (xq, xs, xz) = quantized_input(g, x, shared, &mut nodes);
    let outputs: Vec<&str> = gemm.output.iter().map(String::as_str).collect();
    let inputs = [xq.as_str(), &q_name, &xs, &s_name, &xz, "", bias];
    nodes.push(node_proto(MS_DOMAIN, "MatMulIntegerToFloat", &gemm.name, &inputs, &outputs, vec![]));
    Ok(nodes)
}

/// The float weight of `gemm` (dense layer `layer`, checked to be the Gemm plec lowered), removed from the
/// initializers.
fn layer_weight(g: &mut Graph, gemm: &NodeProto, layer: &DenseLayer) -> Result<Vec<f32>, CompileError> {
    let transposed = gemm.attribute.iter().any(|a| a.name == "transB" && a.i == 1);
    let other = gemm.attribute.iter().any(|a| a.name != "transB");
    let (Some(x), Some(w_name)) = (gemm.input.first(), gemm.input.get(1)) else {
        return Err(CompileError::Internal(format!("dense layer `{}` has no weight", layer.node)));
    };
    if gemm.op_type != "Gemm" || !transposed || other || *x != layer.input {
        return Err(CompileError::Internal(format!("node `{}` is not the Gemm plec lowered", layer.node)));
    }
    let Some(weight) = g.initializers.remove(w_name) else {
        return Err(CompileError::Internal(format!("Gemm `{}` reads no initializer `{w_name}`", gemm.name)));
    };
    let (out, inputs) = (layer.out, layer.inputs);
    let values = floats(&weight)?;
    if values.len() != out * inputs {
        return Err(CompileError::Internal(format!("weight `{w_name}` is not [{out}, {inputs}]")));
    }
    check_finite(w_name, &values)?;
    Ok(values)
}

/// The uint8 form of `x` (data, scale, zero point), quantized by `DynamicQuantizeLinear` (node `<x>.quant`)
/// before its first int8 reader, which `shared` does not yet hold; every later reader comes after it in the node
/// order.
fn quantized_input(
    g: &mut Graph,
    x: &str,
    shared: &mut BTreeSet<String>,
    out: &mut Vec<NodeProto>,
) -> (String, String, String) {
    g.domains.insert(MS_DOMAIN);
    let (xq, xs, xz) = (format!("{x}.quant"), format!("{x}.quant_scale"), format!("{x}.quant_zero_point"));
    if shared.insert(x.to_string()) {
        out.push(node_proto("", "DynamicQuantizeLinear", &xq, &[x], &[&xq, &xs, &xz], vec![]));
    }
    (xq, xs, xz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize, dim: usize, values: &[f32]) -> TensorProto {
        TensorProto {
            name: "embedding.t.weight".into(),
            dims: vec![rows as i64, dim as i64],
            data_type: DataType::FLOAT as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        }
    }

    fn dequantize(quant: &TensorProto, scale: &TensorProto) -> Vec<f32> {
        let dim = quant.dims[1] as usize;
        let scales: Vec<f32> =
            scale.raw_data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect();
        quant.raw_data.iter().enumerate().map(|(i, &q)| q as i8 as f32 * scales[i / dim]).collect()
    }

    #[test]
    fn table_rows_are_scaled_each_by_its_own_largest_value() {
        // Row 0: max 1.27 -> scale 0.01 (float16 0.010002136, the next one up from 0.01's rounding); row 1: all
        // zero; row 2: max 254 -> scale 2 (-1.5 and 0.5 round away from zero).
        let values = [1.27, -0.5, 0.004, 0.0, 0.0, 0.0, 254.0, -3.0, 1.0];
        let (q, s) = quantize_table(&table(3, 3, &values), TableScale::PerRow).unwrap();
        assert_eq!((q.name.as_str(), s.name.as_str()), ("embedding.t.weight.quant", "embedding.t.weight.scale"));
        assert_eq!(q.dims, vec![3, 3]);
        assert_eq!(s.dims, vec![3, 1]);
        let ints: Vec<i8> = q.raw_data.iter().map(|&b| b as i8).collect();
        assert_eq!(ints, vec![127, -50, 0, 0, 0, 0, 127, -2, 1]);
        let back = dequantize(&q, &s);
        // Every value within half a step of its row's scale.
        for (r, step) in [(0, 0.01f32), (1, 0.0), (2, 2.0)] {
            for c in 0..3 {
                let (x, y) = (values[r * 3 + c], back[r * 3 + c]);
                assert!((x - y).abs() <= step / 2.0 + 1e-6, "row {r}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn one_scale_per_table_loses_the_small_rows_next_to_an_outlier() {
        let values = [0.3, -0.2, 100.0, 50.0];
        let (q, s) = quantize_table(&table(2, 2, &values), TableScale::PerTensor).unwrap();
        let back = dequantize(&q, &s);
        assert_eq!(&back[..2], &[0.0, 0.0]);
        let (q, s) = quantize_table(&table(2, 2, &values), TableScale::PerRow).unwrap();
        let back = dequantize(&q, &s);
        assert!((back[0] - 0.3).abs() < 0.3 / 254.0 * 1.01 && (back[1] + 0.2).abs() < 0.3 / 254.0 * 1.01, "{back:?}");
    }

    #[test]
    fn non_finite_and_huge_tables_are_refused_by_name() {
        let err = quantize_table(&table(1, 2, &[1.0, f32::NAN]), TableScale::PerRow).unwrap_err().to_string();
        assert_eq!(
            err,
            "cannot quantize `embedding.t.weight` to int8: element 1 is NaN; only finite values can be quantized"
        );
        let err = quantize_table(&table(1, 1, &[1e8]), TableScale::PerRow).unwrap_err().to_string();
        assert!(err.contains("holds |values| up to 1e8"), "{err}");
    }

    #[test]
    fn dense_weights_use_seven_bits_per_output_channel_transposed() {
        // [out 2, in 3]: channel 0 max 6.3 -> scale 0.1; channel 1 all zero; channel 2 max 0.63 -> 0.01.
        let values = [6.3, -3.15, 0.04, 0.0, 0.0, 0.0, -0.63, 0.2, 0.001];
        let (quant, scales) = quantize_weight(&values, 3, 3);
        let ints: Vec<i8> = quant.iter().map(|&b| b as i8).collect();
        // [in, out]: row i holds input i of every channel.
        assert_eq!(ints, vec![63, 0, -63, -32, 0, 20, 0, 0, 0]);
        assert_eq!(scales, vec![6.3 / 63.0, 0.0, 0.63 / 63.0]);
        // No level beyond 63, so 2 x 255 x 63 = 32,130 fits the int16 pair sums of a non-VNNI u8s8 GEMM.
        assert!(ints.iter().all(|q| q.unsigned_abs() <= 63));
        assert!(2 * 255 * (WEIGHT_LEVELS as i32) <= i16::MAX as i32);
    }

    fn layer(kind: DenseKind, out: usize, inputs: usize, mlp_weights: usize) -> DenseLayer {
        let (node, input) = ("m.fc_1".to_string(), "x".to_string());
        DenseLayer { node, kind, block: 1, experts: 1, mlp_weights, input, out, inputs }
    }

    #[test]
    fn experts_go_int8_as_a_whole_and_towers_by_their_width() {
        let defaults = Int8Options::default();
        // A 64 x 32 block (2,048 weights) of an expert of 18,432: int8; of an expert of 10,240: float32.
        assert!(pays_in_int8(&layer(DenseKind::Expert, 32, 64, 18_432), &defaults));
        assert!(!pays_in_int8(&layer(DenseKind::Expert, 32, 64, 10_240), &defaults));
        // A 256 x 256 expert block is wide enough on its own, whatever its expert holds.
        assert!(pays_in_int8(&layer(DenseKind::Expert, 256, 256, 0), &defaults));
        // Tower blocks by their own width only.
        assert!(!pays_in_int8(&layer(DenseKind::Tower, 128, 256, 1 << 20), &defaults));
        assert!(pays_in_int8(&layer(DenseKind::Tower, 256, 256, 0), &defaults));
        // Gates, output and attention layers never, even with every threshold at 0.
        let all = Int8Options { min_weights: 0, min_expert_weights: 0, ..defaults };
        for kind in [DenseKind::Gate, DenseKind::Output, DenseKind::Attention] {
            assert!(!pays_in_int8(&layer(kind, 1024, 1024, 1 << 20), &all), "{kind:?}");
        }
    }

    #[test]
    fn the_summary_counts_the_records() {
        let report = Int8Report {
            tables: vec![("a".into(), true), ("b".into(), false)],
            dense: vec![
                (layer(DenseKind::Expert, 8, 8, 0), true),
                (layer(DenseKind::Expert, 8, 8, 0), true),
                (layer(DenseKind::Gate, 8, 8, 0), false),
                (layer(DenseKind::Output, 8, 8, 0), false),
            ],
        };
        assert!(report.any());
        assert_eq!(
            report.summary(),
            "int8: 1 of 2 embedding tables; dense layers int8: 2 expert; float32: 1 gate, 1 output (`plec dump` shows \
             which)"
        );
        assert!(!Int8Report { tables: vec![("a".into(), false)], dense: vec![] }.any());
    }

    #[test]
    fn float16_scales_round_up() {
        for x in [0.01f32, 1.0 / 127.0, 3.3e-5, 500.123] {
            let h = f16_at_least(x);
            assert!(h.to_f32() >= x && half::f16::from_bits(h.to_bits() - 1).to_f32() < x, "{x}");
        }
    }
}
