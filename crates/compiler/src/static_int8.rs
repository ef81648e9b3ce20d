//! Static int8 (`--precision int8` with calibration data): the int8 dense layers that `crate::quantize` chose run
//! as com.microsoft `QGemm` with calibrated activation scales instead of `DynamicQuantizeLinear` +
//! `MatMulIntegerToFloat`. A layer whose ReLU output is read only by int8 layers (inside an expert's Gemm -> ReLU
//! -> Gemm chain) writes that output as uint8 with zero point 0: QGemm's saturating requantization clamps at 0,
//! which is the ReLU, and the next layer reads the bytes as they are. So inside a chain no activation is written
//! in float, nothing is quantized at run time, and the ReLU node goes. The other int8 layers (a chain's last, or
//! one whose output meets a LayerNorm or another activation) write float through QGemm (no `y_scale`), their
//! activation node unchanged. Each tensor an int8 layer reads that no int8 layer writes (the group input, a
//! layer's gate-mixed input) is quantized once by `QuantizeLinear` with its calibrated range (node
//! `<x>.quant`, as the dynamic path's `DynamicQuantizeLinear`). Values past the calibrated range saturate.
//! Measurements: BENCHMARKS.md, issue 24 (third attempt).

use std::collections::{BTreeMap, BTreeSet};

use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{NodeProto, TensorProto};

use crate::calibration::Calibration;
use crate::error::CompileError;
use crate::lower::dense::DenseLayer;
use crate::lower::graph::{attr_int, node_proto, Graph, MS_DOMAIN};

/// Which int8 layers write uint8 and which tensors need a calibrated range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Chains {
    /// Layer node -> (its ReLU node, that node's output), for the layers that write their ReLU output as uint8.
    pub writers: BTreeMap<String, (String, String)>,
    /// Tensors read by int8 layers and written by none (quantized by `QuantizeLinear`), with their width.
    pub heads: BTreeMap<String, usize>,
}

impl Chains {
    /// The tensors calibration must observe, with their widths: every head and every written ReLU output.
    pub fn taps(&self, chosen: &BTreeMap<&str, &DenseLayer>) -> Vec<(String, usize)> {
        let mut taps: Vec<(String, usize)> = self.heads.iter().map(|(t, w)| (t.clone(), *w)).collect();
        for (layer, (_, relu)) in &self.writers {
            if let Some(l) = chosen.get(layer.as_str()) {
                taps.push((relu.clone(), l.out));
            }
        }
        taps.sort();
        taps
    }

    fn dropped_relus(&self) -> BTreeSet<&str> {
        self.writers.values().map(|(node, _)| node.as_str()).collect()
    }
}

/// Finds the chains among `nodes` (graph outputs `outputs` are never rewritten).
pub(crate) fn chains(nodes: &[NodeProto], chosen: &BTreeMap<&str, &DenseLayer>, outputs: &BTreeSet<&str>) -> Chains {
    let mut readers: BTreeMap<&str, Vec<&NodeProto>> = BTreeMap::new();
    for n in nodes {
        for i in &n.input {
            readers.entry(i.as_str()).or_default().push(n);
        }
    }
    let is_int8_reader = |n: &NodeProto, tensor: &str| chosen.get(n.name.as_str()).is_some_and(|l| l.input == tensor);
    let mut chains = Chains::default();
    for layer in chosen.values() {
        let relu = match readers.get(layer.node.as_str()).map(Vec::as_slice) {
            Some([r]) if r.op_type == "Relu" && !outputs.contains(layer.node.as_str()) => *r,
            _ => continue,
        };
        let Some(relu_out) = relu.output.first() else { continue };
        let feeds_int8_only = match readers.get(relu_out.as_str()) {
            Some(rs) => rs.iter().all(|n| is_int8_reader(n, relu_out)),
            None => false,
        };
        if feeds_int8_only && !outputs.contains(relu_out.as_str()) {
            chains.writers.insert(layer.node.clone(), (relu.name.clone(), relu_out.clone()));
        }
    }
    let written: BTreeSet<&str> = chains.writers.values().map(|(_, t)| t.as_str()).collect();
    for layer in chosen.values() {
        if !written.contains(layer.input.as_str()) {
            chains.heads.insert(layer.input.clone(), layer.inputs);
        }
    }
    chains
}

/// A layer's int8 weight as QGemm reads it (`transB = 1`).
pub(crate) struct StaticWeight {
    /// `<fc>.weight`.
    pub name: String,
    /// int8 `[out, in]`, row-major.
    pub quant: Vec<u8>,
    /// One scale per output channel.
    pub scales: Vec<f32>,
    /// `<fc>.bias` and its values.
    pub bias: Option<(String, Vec<f32>)>,
}

/// Rewrites `nodes` (in order): every layer in `chosen` becomes a QGemm (`weights` gives each one's int8 weight),
/// preceded by the `QuantizeLinear` of its input where that is a head read for the first time; the ReLU of each
/// uint8 writer goes.
pub(crate) fn rewrite(
    g: &mut Graph,
    nodes: Vec<NodeProto>,
    chosen: &BTreeMap<&str, &DenseLayer>,
    chains: &Chains,
    calibration: &Calibration,
    mut weight_of: impl FnMut(&mut Graph, &NodeProto, &DenseLayer) -> Result<StaticWeight, CompileError>,
) -> Result<Vec<NodeProto>, CompileError> {
    g.domains.insert(MS_DOMAIN);
    let dropped = chains.dropped_relus();
    let mut quantized = BTreeSet::new();
    let mut out = Vec::with_capacity(nodes.len());
    let mut rewritten = 0;
    for node in nodes {
        if dropped.contains(node.name.as_str()) {
            continue;
        }
        let Some(layer) = chosen.get(node.name.as_str()) else {
            out.push(node);
            continue;
        };
        let x = layer.input.as_str();
        let (xs, xz) = activation_params(g, x, calibration)?;
        if chains.heads.contains_key(x) && quantized.insert(x.to_string()) {
            out.push(node_proto(
                "",
                "QuantizeLinear",
                &format!("{x}.quant"),
                &[x, &xs, &xz],
                &[&format!("{x}.quant")],
                vec![],
            ));
        }
        let weight = weight_of(g, &node, layer)?;
        out.push(qgemm(g, &node, layer, chains, calibration, weight, (&xs, &xz))?);
        rewritten += 1;
    }
    if rewritten != chosen.len() {
        return Err(CompileError::Internal(format!("{} int8 layers are not in the graph", chosen.len() - rewritten)));
    }
    Ok(out)
}

/// `<x>.quant_scale` (float) and `<x>.quant_zero_point` (uint8) from `x`'s calibrated range, added once.
fn activation_params(g: &mut Graph, x: &str, calibration: &Calibration) -> Result<(String, String), CompileError> {
    let (s, z) = (format!("{x}.quant_scale"), format!("{x}.quant_zero_point"));
    if !g.initializers.contains_key(&s) {
        let Some(range) = calibration.range(x) else {
            return Err(CompileError::Internal(format!("no calibrated range for `{x}`")));
        };
        let (scale, zero) = range.uint8();
        g.add_f32_initializer(&s, vec![], &[scale]);
        g.initializers.insert(z.clone(), uint8_scalar(&z, zero));
    }
    Ok((s, z))
}

fn uint8_scalar(name: &str, value: u8) -> TensorProto {
    TensorProto { name: name.into(), data_type: DataType::UINT8 as i32, raw_data: vec![value], ..Default::default() }
}

/// The int32 bias QGemm adds to the integer products: `round(b / (x_scale * w_scale))` per channel (0 where a
/// channel's weights are all zero), saturated to the int32 range.
pub(crate) fn int32_bias(bias: &[f32], x_scale: f32, w_scales: &[f32]) -> Vec<i32> {
    bias.iter()
        .zip(w_scales)
        .map(|(&b, &w)| {
            let step = x_scale as f64 * w as f64;
            if step > 0.0 {
                (b as f64 / step).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32
            } else {
                0
            }
        })
        .collect()
}

fn qgemm(
    g: &mut Graph,
    gemm: &NodeProto,
    layer: &DenseLayer,
    chains: &Chains,
    calibration: &Calibration,
    weight: StaticWeight,
    (xs, xz): (&str, &str),
) -> Result<NodeProto, CompileError> {
    let (out, inputs) = (layer.out, layer.inputs);
    let w = &weight.name;
    let (q, s, z) = (format!("{w}.quant"), format!("{w}.scale"), format!("{w}.zero_point"));
    g.initializers.insert(q.clone(), int8_tensor(&q, vec![out as i64, inputs as i64], weight.quant));
    g.add_f32_initializer(&s, vec![out], &weight.scales);
    g.initializers.insert(z.clone(), int8_tensor(&z, vec![out as i64], vec![0; out]));
    let x_scale = g.initializers.get(xs).and_then(|t| t.float_data.first().copied().or_else(|| first_f32(t)));
    let Some(x_scale) = x_scale else {
        return Err(CompileError::Internal(format!("no scale `{xs}`")));
    };
    let bias_name = match weight.bias {
        Some((b, values)) => {
            let name = format!("{b}.quant");
            let raw = int32_bias(&values, x_scale, &weight.scales).iter().flat_map(|v| v.to_le_bytes()).collect();
            let t = TensorProto {
                name: name.clone(),
                dims: vec![out as i64],
                data_type: DataType::INT32 as i32,
                raw_data: raw,
                ..Default::default()
            };
            g.initializers.insert(name.clone(), t);
            name
        }
        None => String::new(),
    };
    let x = format!("{}.quant", layer.input);
    let mut ins: Vec<String> = vec![x, xs.into(), xz.into(), q, s, z, bias_name];
    let output = match chains.writers.get(&layer.node) {
        Some((_, relu)) => {
            let (ys, yz) = activation_params(g, relu, calibration)?;
            ins.extend([ys, yz]);
            format!("{relu}.quant")
        }
        None => gemm.output.first().cloned().unwrap_or_else(|| gemm.name.clone()),
    };
    let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
    Ok(node_proto(MS_DOMAIN, "QGemm", &gemm.name, &refs, &[&output], vec![attr_int("transB", 1)]))
}

fn first_f32(t: &TensorProto) -> Option<f32> {
    let b = t.raw_data.get(..4)?;
    Some(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn int8_tensor(name: &str, dims: Vec<i64>, raw: Vec<u8>) -> TensorProto {
    TensorProto { name: name.into(), dims, data_type: DataType::INT8 as i32, raw_data: raw, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::dense::DenseKind;

    fn layer(node: &str, input: &str, out: usize, inputs: usize) -> DenseLayer {
        let (node, input) = (node.to_string(), input.to_string());
        DenseLayer { node, kind: DenseKind::Expert, block: 0, experts: 1, mlp_weights: 0, input, out, inputs }
    }

    #[test]
    fn chains_end_where_a_relu_output_leaves_the_int8_layers() {
        // x -> a -> relu -> b -> relu -> c -> relu -> concat; b's ReLU output is also read by `d` (float32), and
        // `e` (int8) reads a LayerNorm output.
        let n = |op: &str, name: &str, inputs: &[&str]| node_proto("", op, name, inputs, &[name], vec![]);
        let nodes = vec![
            n("Gemm", "a", &["x", "a.w"]),
            n("Relu", "a.relu", &["a"]),
            n("Gemm", "b", &["a.relu", "b.w"]),
            n("Relu", "b.relu", &["b"]),
            n("Gemm", "c", &["b.relu", "c.w"]),
            n("Relu", "c.relu", &["c"]),
            n("Concat", "concat", &["c.relu"]),
            n("Gemm", "d", &["b.relu", "d.w"]),
            n("LayerNormalization", "ln", &["concat"]),
            n("Gemm", "e", &["ln", "e.w"]),
            n("Relu", "e.relu", &["e"]),
        ];
        let layers = [layer("a", "x", 16, 4), layer("b", "a.relu", 8, 16), layer("c", "b.relu", 4, 8)];
        let e = layer("e", "ln", 2, 4);
        let chosen: BTreeMap<&str, &DenseLayer> = layers.iter().chain([&e]).map(|l| (l.node.as_str(), l)).collect();
        let chains = chains(&nodes, &chosen, &BTreeSet::new());
        // Only `a` writes uint8: b's ReLU output also feeds float32 `d`, c's and e's feed no int8 layer.
        let writers: Vec<(&str, &str)> = chains.writers.iter().map(|(l, (_, t))| (l.as_str(), t.as_str())).collect();
        assert_eq!(writers, vec![("a", "a.relu")]);
        let heads: Vec<(&str, usize)> = chains.heads.iter().map(|(t, w)| (t.as_str(), *w)).collect();
        assert_eq!(heads, vec![("b.relu", 8), ("ln", 4), ("x", 4)]);
        let taps: Vec<String> = chains.taps(&chosen).into_iter().map(|(t, _)| t).collect();
        assert_eq!(taps, vec!["a.relu", "b.relu", "ln", "x"]);
        // A ReLU output that is a graph output stays float32.
        let outputs: BTreeSet<&str> = ["a.relu"].into_iter().collect();
        assert!(super::chains(&nodes, &chosen, &outputs).writers.is_empty());
    }

    #[test]
    fn the_int32_bias_is_the_float_bias_in_product_steps() {
        // x step 0.5, weight steps 0.1 and 0 (an all-zero channel): 1.0 / 0.05 = 20; -0.26 / 0.05 = -5.2 -> -5.
        assert_eq!(int32_bias(&[1.0, 3.0, -0.26], 0.5, &[0.1, 0.0, 0.1]), vec![20, 0, -5]);
        // Far past the int32 range: saturated, not wrapped.
        assert_eq!(int32_bias(&[1e12, -1e12], 1e-3, &[1e-3, 1e-3]), vec![i32::MAX, i32::MIN]);
    }
}
