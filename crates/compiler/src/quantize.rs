//! `--precision int8`: a pass over the lowered float graph (any layout) that stores embedding tables and the
//! wide expert / tower MLP layers as int8. The graph keeps its inputs, outputs and node names; only the nodes that
//! read a quantized parameter change.
//!
//! - **Embedding tables** of at least [`Int8Options::min_table_elements`] elements (of every feature kind: single
//!   ids, bags, weighted ids, sequences, default rows): `<table>.quant` int8 `[rows, dim]` and `<table>.scale` float16 `[rows, 1]`, symmetric per row:
//!   `scale = max |row| / 127` (rounded up to the next float16, so no value clips), `q = round(x / scale)`. Every
//!   `Gather` of the table becomes `Gather(quant) -> Cast -> Mul(Gather(scale) -> Cast)` under the Gather's name
//!   (`<gather>.quant`, `<gather>.quant_f32`, `<gather>.scale`, `<gather>.scale_f32`, then `<gather>` itself),
//!   so the dequantized rows feed the same masks and pooling as before. No offset: trained embedding rows are
//!   centred near zero, and an offset per row would cost another 2-4 bytes per row and a second gather + add.
//!   The float16 scale keeps a 16-wide row at 18 bytes (28% of its 64 float bytes); its rounding (at most
//!   2^-11 relative) is 16x smaller than the int8 step (1/127 of the row's largest value).
//! - **Dense layers**: the Gemms of expert and tower MLPs (not gates, not output layers, not sequence attention
//!   MLPs) whose weight has at least [`Int8Options::min_weights`] elements become
//!   `com.microsoft.MatMulIntegerToFloat` under the Gemm's name: weight `<fc>.weight.quant` int8 `[in, out]`,
//!   symmetric per output channel in 7 bits (levels -63..=63, [`WEIGHT_LEVELS`]: no saturation on CPUs without
//!   VNNI) (`<fc>.weight.scale` float `[out]`), bias unchanged. Their input is quantized to
//!   uint8 at run time (one scale and zero point per tensor: `DynamicQuantizeLinear`, node `<input>.quant`) once,
//!   for every int8 Gemm that reads it (at the first layer, all experts of all tasks). ONNX Runtime runs these as
//!   its u8s8 GEMM: VNNI on AVX-512 or AVX-VNNI; on AVX2 without VNNI its u8s8 kernel sums pairs of products in
//!   int16, which the 7-bit weights keep from saturating.
//!   Measured against one `com.microsoft.DynamicQuantizeMatMul` per Gemm (which quantizes its input itself, again
//!   for each reader): in three interleaved A/B runs on the example model with every expert and tower layer int8
//!   (2026-11-30, shared machine), the shared quantization was 3-16% faster at batch 1, 7-15% at 256 and 6-19% at
//!   8192; with the default threshold the runs disagreed (-14% to +28%). `MatMulInteger` + `Cast` + `Mul` is
//!   what ONNX Runtime fuses into these ops anyway, and with uint8 weights (u8u8) the same Gemm ran 1.0-4.4x
//!   slower than with int8 weights (`benches/int8_kernels.py`).
//! - **Wide layout** (`lower::wide`): a wide Gemm (several experts' first blocks side by side) is one int8 matmul,
//!   quantized as above when each expert's share of it reaches [`Int8Options::min_weights`] (the same layers as in
//!   the other layouts, so the same accuracy); its input is quantized once for all of them, as in the fused layout.
//! - **Stay float32**: embedding tables below [`MIN_INT8_TABLE_ELEMENTS`], gates (a 256 x 6 Gemm is slower in int8 at every batch size, and its softmax decides the
//!   expert mix), output layers (one or a few columns), sequence attention MLPs, Gemms narrower than
//!   [`MIN_INT8_WEIGHTS`], and the Gemms reading the group input when it holds raw numbers (see
//!   `reads_raw_numbers`).

use std::collections::BTreeSet;

use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{NodeProto, TensorProto};
use plec_spec::artifact::names::{self, fc, tower as tower_module};
use plec_spec::{Encoding, Mlp, ModelSpec, SequenceEncoding};

use crate::error::CompileError;
use crate::lower::graph::{attr_int, Graph, MS_DOMAIN};

/// Gemms with fewer weights than this stay float32. Measured (BENCHMARKS.md, "int8"; `benches/int8_kernels.py`), ONNX Runtime 1.31.1, 2
/// threads, on this project's 2-vCPU AVX-512 VNNI machine:
/// - one Gemm + Relu alone: int8 is faster at batch 1, 256 and 8192 from 512 x 256 (131,072 weights: 1.3x / 1.8x /
///   2.9x) up; at 256 x 128 (32,768) it is 1.6x / 1.8x faster at 256 and 8192 but 30% slower at batch 1 (8.2 vs
///   6.2 µs: quantizing the activations costs more than the tiny GEMV saves); at 64 x 32 and for a gate (256 x 6)
///   it is slower at every batch size;
/// - in the whole example model, quantizing every expert and tower layer (threshold 0) ran up to 1.1x faster than
///   this threshold (noisy, shared machine), but its cvr AUC dropped by 0.000547 against 0.000126 (`--eval-data`),
///   and on the census PLE, whose layers are all 64 wide, it moved golden probabilities by up to 1.0e-2 against
///   2.8e-3 with those layers float. So only layers that pay on their own are int8.
pub const MIN_INT8_WEIGHTS: usize = 65_536;

/// Embedding tables with fewer elements than this (64 KiB in float32) stay float32: they sit in cache, int8
/// saves under 48 KB each, and the dequantization costs four nodes per lookup. Measured on the census PLE (about
/// 30 features over tables of 2 to 52 rows; `BENCHMARKS.md`, "int8"): with every table int8 and its dense layers
/// float it ran 0.80x / 0.89x / 0.86x the float32 model's speed at batch 1 / 256 / 8192, for a file no smaller.
pub const MIN_INT8_TABLE_ELEMENTS: usize = 16_384;

/// How a table's scales are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableScale {
    /// One scale per row (what `--precision int8` does).
    #[default]
    PerRow,
    /// One scale for the whole table, stored per row: a deliberately poor choice (a table with one outlier row
    /// loses every other row's resolution), kept only so tests can prove the eval-data accuracy check catches it.
    PerTensor,
}

impl std::str::FromStr for TableScale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per-row" => Ok(TableScale::PerRow),
            "per-tensor" => Ok(TableScale::PerTensor),
            other => Err(format!("unknown table scale `{other}` (expected `per-row` or `per-tensor`)")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int8Options {
    /// Expert / tower Gemms with fewer weights stay float32.
    pub min_weights: usize,
    /// Embedding tables with fewer elements stay float32.
    pub min_table_elements: usize,
    pub table_scale: TableScale,
}

impl Default for Int8Options {
    fn default() -> Self {
        Int8Options {
            min_weights: MIN_INT8_WEIGHTS,
            min_table_elements: MIN_INT8_TABLE_ELEMENTS,
            table_scale: TableScale::PerRow,
        }
    }
}

/// Rewrites `g` (fully lowered, float32) to int8 as described in the module documentation.
pub(crate) fn quantize(g: &mut Graph, spec: &ModelSpec, options: &Int8Options) -> Result<(), CompileError> {
    let mut tables = BTreeSet::new();
    for table in &spec.tables {
        let name = table.param_name();
        if table.rows.saturating_mul(table.dim as u64) < options.min_table_elements as u64 {
            continue;
        }
        if let Some(tensor) = g.initializers.remove(&name) {
            let (quant, scale) = quantize_table(&tensor, options.table_scale)?;
            g.initializers.insert(quant.name.clone(), quant);
            g.initializers.insert(scale.name.clone(), scale);
            tables.insert(name);
        }
    }
    let dense = dense_layers(spec);
    let raw_numbers = reads_raw_numbers(spec);
    let nodes = std::mem::take(&mut g.nodes);
    let mut shared = BTreeSet::new();
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        if node.op_type == "Gather" && node.domain.is_empty() && tables.contains(&node.input[0]) {
            out.extend(dequantized_gather(&node));
        } else if node.op_type == "Gemm"
            && node.domain.is_empty()
            && (dense.contains(&node.name) || g.wide.contains_key(&node.name))
            && !(raw_numbers && node.input[0] == FEATURES)
        {
            let experts = g.wide.get(&node.name).copied().unwrap_or(1);
            out.extend(quantized_gemm(g, node, options.min_weights, experts, &mut shared)?);
        } else {
            out.push(node);
        }
    }
    g.nodes = out;
    Ok(())
}

/// The group input (`lower::features`): embeddings and dense feature values side by side.
const FEATURES: &str = "features.concat";

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

/// Names of the expert and tower MLP Gemms (`<module>.fc_<j>`).
fn dense_layers(spec: &ModelSpec) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |module: &str, mlp: &Mlp| {
        for j in 0..mlp.widths().count() {
            out.insert(fc(module, j));
        }
    };
    if let Some(bottom) = &spec.bottom_mlp {
        add(names::BOTTOM_MLP, bottom);
    }
    for layer in &spec.layers {
        for tower in &spec.towers {
            for e in 0..layer.experts_per_task {
                add(&layer.task_expert_module(&tower.name, e), &layer.task_expert);
            }
        }
        for e in 0..layer.shared_experts {
            add(&layer.shared_expert_module(e), &layer.shared_expert);
        }
    }
    for tower in &spec.towers {
        if let Some(mlp) = &tower.mlp {
            add(&tower_module(&tower.name), mlp);
        }
        if let Some(relation) = &tower.relation {
            add(&names::relation(&tower.name), &relation.mlp);
        }
    }
    out
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

fn node(op: &str, name: String, inputs: &[&str], attribute: Vec<onnx_protobuf::AttributeProto>) -> NodeProto {
    NodeProto {
        output: vec![name.clone()],
        name,
        op_type: op.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

/// `Gather(table, idx) -> y` as `Gather(table.quant, idx) * Gather(table.scale, idx)`, still producing `y`.
fn dequantized_gather(gather: &NodeProto) -> Vec<NodeProto> {
    let (table, idx, n) = (&gather.input[0], &gather.input[1], &gather.name);
    let float = DataType::FLOAT as i64;
    let quant = node("Gather", format!("{n}.quant"), &[&format!("{table}.quant"), idx], gather.attribute.clone());
    let quant_f32 = node("Cast", format!("{n}.quant_f32"), &[&quant.name], vec![attr_int("to", float)]);
    let scale = node("Gather", format!("{n}.scale"), &[&format!("{table}.scale"), idx], gather.attribute.clone());
    let scale_f32 = node("Cast", format!("{n}.scale_f32"), &[&scale.name], vec![attr_int("to", float)]);
    let mut mul = node("Mul", n.clone(), &[&quant_f32.name, &scale_f32.name], vec![]);
    mul.output = gather.output.clone();
    vec![quant, quant_f32, scale, scale_f32, mul]
}

/// `Gemm(x, W, b) {transB=1}` -> `MatMulIntegerToFloat(x.quant, W.quant, x.quant_scale, W.scale,
/// x.quant_zero_point, "", b)` when `W` is wide enough, preceded by `DynamicQuantizeLinear(x)` (named `x.quant`)
/// at the first such Gemm reading `x` (`shared` holds the inputs already quantized).
/// A wide Gemm (`experts` > 1, the wide layout) is quantized when each expert's share of it has at least
/// `min_weights` weights: the same layers as in the other layouts, so the same accuracy.
fn quantized_gemm(
    g: &mut Graph,
    gemm: NodeProto,
    min_weights: usize,
    experts: usize,
    shared: &mut BTreeSet<String>,
) -> Result<Vec<NodeProto>, CompileError> {
    let transposed = gemm.attribute.iter().any(|a| a.name == "transB" && a.i == 1);
    let other = gemm.attribute.iter().any(|a| a.name != "transB");
    let w_name = gemm.input.get(1).cloned().unwrap_or_default();
    if !transposed || other || w_name != names::weight(&gemm.name) {
        return Err(CompileError::Internal(format!("Gemm `{}` is not the Linear plec lowers", gemm.name)));
    }
    let Some(weight) = g.initializers.get(&w_name) else {
        return Err(CompileError::Internal(format!("Gemm `{}` reads no initializer `{w_name}`", gemm.name)));
    };
    let (out, inputs) = match weight.dims.as_slice() {
        [o, i] => (*o as usize, *i as usize),
        other => return Err(CompileError::Internal(format!("weight `{w_name}` has shape {other:?}"))),
    };
    if out * inputs / experts.max(1) < min_weights {
        return Ok(vec![gemm]);
    }
    let values = floats(weight)?;
    check_finite(&w_name, &values)?;
    let (quant, scales) = quantize_weight(&values, out, inputs);
    g.initializers.remove(&w_name);
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
    let bias = gemm.input.get(2).cloned().unwrap_or_default();
    let mut out = Vec::new();
    let (xq, xs, xz) = quantized_input(g, &gemm.input[0], shared, &mut out);
    let mut q = node("MatMulIntegerToFloat", gemm.name.clone(), &[&xq, &q_name, &xs, &s_name, &xz, "", &bias], vec![]);
    q.domain = MS_DOMAIN.to_string();
    q.output = gemm.output;
    out.push(q);
    Ok(out)
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
        let mut dq = node("DynamicQuantizeLinear", xq.clone(), &[x], vec![]);
        dq.output = vec![xq.clone(), xs.clone(), xz.clone()];
        out.push(dq);
    }
    (xq, xs, xz)
}

/// One line on what a compiled model holds in int8 and what stays float32, e.g. for `plec compile`.
pub fn summary(model: &onnx_protobuf::ModelProto) -> String {
    let graph = &model.graph;
    let is_table = |name: &str| name.starts_with("embedding.") && name.ends_with(".weight");
    let int8_tables = graph.initializer.iter().filter(|t| t.name.strip_suffix(".quant").is_some_and(is_table)).count();
    let float_tables = graph.initializer.iter().filter(|t| is_table(&t.name)).count();
    let int8_gemms = graph.node.iter().filter(|n| n.op_type == "MatMulIntegerToFloat").count();
    let float_gemms = graph.node.iter().filter(|n| n.op_type == "Gemm").count();
    format!(
        "int8: {int8_tables} of {} embedding tables and {int8_gemms} of {} Gemms (the rest float32: small tables, \
         gates, output layers, narrow layers; `plec dump` shows which)",
        int8_tables + float_tables,
        int8_gemms + float_gemms
    )
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

    #[test]
    fn float16_scales_round_up() {
        for x in [0.01f32, 1.0 / 127.0, 3.3e-5, 500.123] {
            let h = f16_at_least(x);
            assert!(h.to_f32() >= x && half::f16::from_bits(h.to_bits() - 1).to_f32() < x, "{x}");
        }
    }
}
