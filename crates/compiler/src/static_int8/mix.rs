//! Experts' uint8 outputs concatenated for one gate-mixing MatMul (the fused and wide layouts' `experts.concat`
//! -> `Reshape [0, experts, width]` -> `MatMul(gates, experts)`): the uint8 outputs are concatenated as bytes and
//! cast to float once (the levels), and each expert's scale moves onto the gates (`Mul` of the `[.., experts]`
//! gate weights by the experts' scales, a few values per row). The same sum, in one pass over a quarter of the
//! bytes instead of a float `DequantizeLinear` per expert (per-channel `DequantizeLinear` measured 3x slower than
//! a cast in ONNX Runtime 1.31).

use std::collections::BTreeMap;

use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::NodeProto;

use super::chains::{readers, Chains};
use super::layer;
use crate::calibration::Calibration;
use crate::error::CompileError;
use crate::lower::dense::DenseLayer;
use crate::lower::graph::{attr_int, node_proto, Graph};

/// One concatenation of uint8 expert outputs folded into its mixing MatMul.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MixFold {
    /// The Concat node and its output tensor.
    concat: String,
    output: String,
    /// The concatenated ReLU outputs, in order.
    relus: Vec<String>,
    /// Their total width.
    width: usize,
    /// The mixing MatMul node, and each expert's uint8 scale.
    pub mix: String,
    scales: Vec<f32>,
}

impl MixFold {
    pub fn relu_outputs(&self) -> impl Iterator<Item = &str> {
        self.relus.iter().map(String::as_str)
    }

    /// The Concat node's name.
    pub fn concat(&self) -> &str {
        &self.concat
    }

    /// `Concat(<relu>.quant ...) -> <concat>.quant` (a stacked run of experts contributes its stack's output once:
    /// `stacked` maps each of its ReLU outputs to it; one source needs no Concat), `Cast -> <concat>.levels`, and
    /// the `[batch, width]` view under the Concat's own output name.
    pub fn emit(&self, g: &mut Graph, stacked: &BTreeMap<&str, String>) -> Vec<NodeProto> {
        let mut sources: Vec<String> = Vec::with_capacity(self.relus.len());
        for relu in &self.relus {
            let source = stacked.get(relu.as_str()).cloned().unwrap_or_else(|| format!("{relu}.quant"));
            if sources.last() != Some(&source) {
                sources.push(source);
            }
        }
        let (quant, levels) = (format!("{}.quant", self.concat), format!("{}.levels", self.concat));
        let shape = g.ints(&[-1, self.width as i64]);
        let mut nodes = Vec::with_capacity(3);
        let bytes = match sources.as_slice() {
            [one] => one.clone(),
            _ => {
                let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
                nodes.push(node_proto("", "Concat", &quant, &refs, &[&quant], vec![attr_int("axis", 3)]));
                quant
            }
        };
        nodes.push(node_proto(
            "",
            "Cast",
            &levels,
            &[&bytes],
            &[&levels],
            vec![attr_int("to", DataType::FLOAT as i64)],
        ));
        nodes.push(node_proto("", "Reshape", &self.concat, &[&levels, &shape], &[&self.output], vec![]));
        nodes
    }

    /// `Mul(gates, <mix>.expert_scale) -> <mix>.scaled_gates`, then the mixing MatMul reading it.
    pub fn emit_mix(&self, g: &mut Graph, mix: &NodeProto) -> Result<[NodeProto; 2], CompileError> {
        let Some(gates) = mix.input.first() else {
            return Err(CompileError::Internal(format!("MatMul `{}` has no inputs", mix.name)));
        };
        let scale = g.add_f32_initializer(&format!("{}.expert_scale", self.mix), vec![self.scales.len()], &self.scales);
        let scaled = format!("{}.scaled_gates", self.mix);
        let mut matmul = mix.clone();
        matmul.input[0] = scaled.clone();
        Ok([node_proto("", "Mul", &scaled, &[gates, &scale], &[&scaled], vec![]), matmul])
    }
}

/// The foldable concatenations among `nodes`, by Concat node name: every input a uint8 writer's ReLU output of
/// one width with zero point 0, read by this Concat alone (along the last axis), whose output only a
/// `Reshape [0 or -1, experts, width]` reads, whose output is the second operand of one MatMul.
pub(crate) fn folds(
    nodes: &[NodeProto],
    chosen: &BTreeMap<&str, &DenseLayer>,
    chains: &Chains,
    calibration: &Calibration,
) -> Result<BTreeMap<String, MixFold>, CompileError> {
    let readers = readers(nodes);
    let width_of: BTreeMap<&str, usize> = chains
        .writers
        .iter()
        .filter_map(|(layer, w)| Some((w.relu.as_str(), chosen.get(layer.as_str())?.out)))
        .collect();
    let only_reader = |tensor: &str| match readers.get(tensor).map(Vec::as_slice) {
        Some([n]) => Some(*n),
        _ => None,
    };
    let mut folds = BTreeMap::new();
    for concat in nodes.iter().filter(|n| n.op_type == "Concat" && last_axis(n)) {
        let Some(output) = concat.output.first() else { continue };
        let widths: Option<Vec<usize>> = concat
            .input
            .iter()
            .map(|i| {
                width_of.get(i.as_str()).copied().filter(|_| only_reader(i).is_some_and(|r| r.name == concat.name))
            })
            .collect();
        let Some(widths) = widths.filter(|w| !w.is_empty()) else { continue };
        let experts = widths.len();
        let width = widths[0];
        if widths.iter().any(|w| *w != width) {
            continue;
        }
        let Some(reshape) = only_reader(output).filter(|r| r.op_type == "Reshape") else { continue };
        let target = reshape.input.get(1).and_then(|s| constant_ints(nodes, s));
        if !matches!(target.as_deref(), Some([0 | -1, e, w]) if *e == experts as i64 && *w == width as i64) {
            continue;
        }
        let Some(reshaped) = reshape.output.first() else { continue };
        let mix = only_reader(reshaped).filter(|m| m.op_type == "MatMul" && m.input.get(1) == Some(reshaped));
        let Some(mix) = mix else { continue };
        let mut scales = Vec::with_capacity(experts);
        for relu in &concat.input {
            let (scale, zero) = layer::activation_scale(relu, calibration)?;
            if zero != 0 {
                break;
            }
            scales.push(scale);
        }
        if scales.len() != experts {
            continue;
        }
        let fold = MixFold {
            concat: concat.name.clone(),
            output: output.clone(),
            relus: concat.input.clone(),
            width: experts * width,
            mix: mix.name.clone(),
            scales,
        };
        folds.insert(concat.name.clone(), fold);
    }
    Ok(folds)
}

fn last_axis(concat: &NodeProto) -> bool {
    concat.attribute.iter().any(|a| a.name == "axis" && (a.i == 1 || a.i == -1))
}

/// The int64 values of the Constant node among `nodes` that writes `tensor`.
fn constant_ints(nodes: &[NodeProto], tensor: &str) -> Option<Vec<i64>> {
    let node = nodes.iter().find(|n| n.op_type == "Constant" && n.output.first().is_some_and(|o| o == tensor))?;
    let value = node.attribute.iter().find(|a| a.name == "value")?.t.as_ref()?;
    if value.data_type != DataType::INT64 as i32 {
        return None;
    }
    if !value.int64_data.is_empty() {
        return Some(value.int64_data.clone());
    }
    let raw = value.raw_data.chunks_exact(8);
    Some(raw.map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect())
}
