//! Expert stacks: the experts of one PLE layer that read the same tensor and have the same MLP shape run as one
//! uint8 chain: their first blocks as one `QLinearConv` with the weights concatenated along the output channels,
//! each deeper block as one grouped `QLinearConv` (`group` = experts: each expert's block reads only its own
//! channels), whose output is already the experts' outputs side by side for the gate mixing. Three nodes for a
//! layer of six three-block experts instead of eighteen and a Concat, with the same arithmetic (no block-diagonal
//! zeros); ONNX Runtime runs a grouped convolution as one 2-D GEMM per group on prepacked weights.
//!
//! Each expert keeps its own calibrated scales: a stack's activations hold each expert's bytes at that expert's
//! own scale, the convolutions declare scale 1 for them (zero point 0), and each output channel's weight scale
//! carries the true requantization factor `s_in * s_w / s_out` (divided by the declared input scale), which is the
//! only way ONNX Runtime uses it; the int32 bias is `round(b / (s_in * s_w))` as for one layer.

use std::collections::BTreeMap;

use onnx_protobuf::NodeProto;

use super::chains::{readers, Chains};
use super::layer::{self, QuantWeights, StaticWeight};
use super::mix::MixFold;
use crate::calibration::Calibration;
use crate::error::CompileError;
use crate::lower::dense::DenseLayer;
use crate::lower::graph::{attr_int, node_proto, Graph, MS_DOMAIN};

/// Experts of one layer stacked into one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stack {
    /// Node prefix: `<concat>.stack_<k>`; the block at depth `d` is `<name>.fc_<d>`.
    pub name: String,
    /// The tensor every expert reads (a head).
    pub head: String,
    /// Member layers: `layers[depth][expert]`, experts in the Concat's order.
    pub layers: Vec<Vec<String>>,
    /// The experts' last ReLU outputs, in the Concat's order.
    pub tails: Vec<String>,
}

impl Stack {
    /// The stacked uint8 output (`[1, batch, 1, experts * width]`).
    pub fn output(&self) -> String {
        format!("{}.fc_{}", self.name, self.layers.len().saturating_sub(1))
    }
}

/// The stacks among the experts that `folds` concatenate: runs of at least two consecutive Concat inputs whose
/// chains (uint8 writers, each ReLU output read only by the next) read the same head with the same shapes.
pub(crate) fn stacks(
    nodes: &[NodeProto],
    chosen: &BTreeMap<&str, &DenseLayer>,
    chains: &Chains,
    folds: &BTreeMap<String, MixFold>,
) -> Vec<Stack> {
    let readers = readers(nodes);
    let writer_of: BTreeMap<&str, &str> =
        chains.writers.iter().map(|(layer, w)| (w.relu.as_str(), layer.as_str())).collect();
    // One expert's chain, first block first, and the tensor it starts from.
    let chain_of = |tail: &str| -> Option<(String, Vec<&DenseLayer>)> {
        let mut layers = vec![*chosen.get(writer_of.get(tail)?)?];
        loop {
            let input = layers[0].input.as_str();
            let inner = writer_of.get(input).and_then(|p| chosen.get(p)).filter(|p| {
                let only_reader =
                    matches!(readers.get(input).map(Vec::as_slice), Some([r]) if r.name == layers[0].node);
                only_reader && chains.writers.get(&p.node).is_some_and(|w| !w.float_readers)
            });
            match inner {
                Some(p) => layers.insert(0, *p),
                None => return Some((input.to_string(), layers)),
            }
        }
    };
    let mut stacks = Vec::new();
    for fold in folds.values() {
        let tails: Vec<&str> = fold.relu_outputs().collect();
        let mut run: Vec<(String, Vec<&DenseLayer>, &str)> = Vec::new();
        let mut flush = |run: &mut Vec<(String, Vec<&DenseLayer>, &str)>| {
            if run.len() >= 2 {
                let depth = run[0].1.len();
                stacks.push(Stack {
                    name: format!("{}.stack_{}", fold.concat(), stacks.len()),
                    head: run[0].0.clone(),
                    layers: (0..depth).map(|d| run.iter().map(|c| c.1[d].node.clone()).collect()).collect(),
                    tails: run.iter().map(|c| c.2.to_string()).collect(),
                });
            }
            run.clear();
        };
        for tail in tails {
            let Some((head, layers)) = chain_of(tail) else {
                flush(&mut run);
                continue;
            };
            let same = run.first().is_some_and(|(h, first, _)| {
                *h == head
                    && first.len() == layers.len()
                    && first.iter().zip(&layers).all(|(a, b)| (a.out, a.inputs) == (b.out, b.inputs))
            });
            if !same {
                flush(&mut run);
            }
            run.push((head, layers, tail));
        }
        flush(&mut run);
    }
    stacks
}

/// The stack's blocks, first to last (its head already quantized as `<head>.quant`); `weight_of` gives each
/// member's int8 weight.
pub(crate) fn emit(
    g: &mut Graph,
    stack: &Stack,
    members: &BTreeMap<&str, (&NodeProto, &DenseLayer)>,
    chains: &Chains,
    calibration: &Calibration,
    weight_of: &mut impl FnMut(&mut Graph, &NodeProto, &DenseLayer) -> Result<StaticWeight, CompileError>,
) -> Result<Vec<NodeProto>, CompileError> {
    let (head_scale, head_zero) = layer::activation_params(g, &stack.head, calibration)?;
    let (unit, zero) = (format!("{}.unit_scale", stack.name), format!("{}.zero_point", stack.name));
    g.add_f32_initializer(&unit, vec![], &[1.0]);
    g.initializers.insert(zero.clone(), layer::uint8_scalar(&zero, 0));
    let mut input = format!("{}.quant", stack.head);
    let mut out = Vec::with_capacity(stack.layers.len());
    for (depth, row) in stack.layers.iter().enumerate() {
        let (declared_in, x_zero) =
            if depth == 0 { (head_scale.clone(), head_zero.clone()) } else { (unit.clone(), zero.clone()) };
        let x_scale = if depth == 0 { layer::activation_scale(&stack.head, calibration)?.0 } else { 1.0 };
        let mut block = Block::default();
        for (expert, name) in row.iter().enumerate() {
            let Some((node, dense)) = members.get(name.as_str()) else {
                return Err(CompileError::Internal(format!("stack member `{name}` is not an int8 layer")));
            };
            let s_in = match depth {
                0 => x_scale,
                _ => relu_scale(chains, &stack.layers[depth - 1][expert], calibration)?,
            };
            let s_out = relu_scale(chains, name, calibration)?;
            block.add(weight_of(g, node, dense)?, dense, s_in, s_out, x_scale)?;
        }
        let name = format!("{}.fc_{depth}", stack.name);
        let group = if depth == 0 { 1 } else { row.len() as i64 };
        let ins = block.initializers(g, &name)?;
        let inputs = [input.as_str(), &declared_in, &x_zero, &ins[0], &ins[1], &ins[2], &unit, &zero, &ins[3]];
        let attrs = vec![attr_int("channels_last", 1), attr_int("group", group)];
        out.push(node_proto(MS_DOMAIN, "QLinearConv", &name, &inputs, &[&name], attrs));
        input = name;
    }
    Ok(out)
}

/// The calibrated uint8 scale of `layer`'s ReLU output.
fn relu_scale(chains: &Chains, layer: &str, calibration: &Calibration) -> Result<f32, CompileError> {
    match chains.writers.get(layer) {
        Some(w) => Ok(layer::activation_scale(&w.relu, calibration)?.0),
        None => Err(CompileError::Internal(format!("stack member `{layer}` writes no uint8 output"))),
    }
}

/// One stacked block's weights, experts appended along the output channels.
#[derive(Default)]
struct Block {
    quant: Vec<u8>,
    scales: Vec<f32>,
    bias: Vec<i32>,
    inputs: usize,
}

impl Block {
    /// Appends one expert's block: input scale `s_in`, output scale `s_out`, declared input scale `x_scale`.
    fn add(
        &mut self,
        w: StaticWeight,
        dense: &DenseLayer,
        s_in: f32,
        s_out: f32,
        x_scale: f32,
    ) -> Result<(), CompileError> {
        if self.inputs != 0 && self.inputs != dense.inputs {
            return Err(CompileError::Internal(format!("stacked `{}` has another input width", dense.node)));
        }
        self.inputs = dense.inputs;
        let bias = match &w.bias {
            Some((_, values)) => layer::int32_bias(values, s_in, &w.scales),
            None => vec![0; w.scales.len()],
        };
        self.bias.extend(bias);
        let factor = s_in as f64 / (s_out as f64 * x_scale as f64);
        self.scales.extend(w.scales.iter().map(|&s| (s as f64 * factor) as f32));
        self.quant.extend(w.quant);
        Ok(())
    }

    /// Adds `<name>.weight.quant` `[out, in, 1, 1]`, `.weight.scale`, `.weight.zero_point` and `<name>.bias.quant`.
    fn initializers(mut self, g: &mut Graph, name: &str) -> Result<[String; 4], CompileError> {
        let out = self.scales.len();
        let zero_points = layer::conv_zero_points(&mut self.quant, self.inputs, out, name)?;
        let dims = vec![out as i64, self.inputs as i64, 1, 1];
        let weights = QuantWeights { quant: self.quant, scales: self.scales, zero_points, bias: Some(self.bias) };
        Ok(layer::add_weights(g, &format!("{name}.weight"), &format!("{name}.bias"), dims, weights))
    }
}
