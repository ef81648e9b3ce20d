//! Static int8 (`--precision int8` with calibration data): the int8 dense layers that `crate::quantize` chose run
//! with calibrated activation scales instead of `DynamicQuantizeLinear` + `MatMulIntegerToFloat`.
//!
//! - **uint8 writers**: a layer whose output is read only by one ReLU (not a graph output) writes that ReLU's
//!   output as uint8 with zero point 0 (the saturating requantization clamps at 0, which is the ReLU; the ReLU
//!   node goes). It runs as `com.microsoft.QLinearConv` with `channels_last = 1`, a 1x1 convolution over
//!   activations viewed as NHWC `[1, batch, 1, width]` (`layer::qlinear_conv`): unlike `QGemm`, whose int32 bias is
//!   first broadcast over the whole `[batch, out]` accumulator, the convolution adds the bias and requantizes
//!   each tile while it is in cache (1.4-1.8x faster at batch 8192 on one layer; BENCHMARKS.md, issue 24).
//!   Every uint8 activation `<t>.quant` is in that NHWC view; the next int8 layer reads the bytes as they are.
//! - **Float readers of a uint8 output** (the expert's last layer feeds the gate mixing): where the outputs are
//!   concatenated for one gate-mixing MatMul (`mix::MixFold`), the uint8 outputs are concatenated and cast to
//!   float once, and each expert's scale moves onto its gate weight; elsewhere one `DequantizeLinear` per output.
//! - **Expert stacks** (`stack`; unless `Int8Options::stack_experts` is off): the experts of one layer that read
//!   one tensor and share a shape run as one chain of convolutions, the first over their concatenated weights, the
//!   deeper ones grouped by expert, each expert at its own calibrated scales.
//! - **Other int8 layers** (an output that meets a LayerNorm or no activation) write float through `QGemm`.
//! - **Heads**: each tensor an int8 layer reads that no int8 layer writes (the group input, a layer's gate-mixed
//!   input) is quantized once by `QuantizeLinear` with its calibrated range (`<x>.nhwc`, then `<x>.quant`).
//!   Values past the calibrated range saturate.

mod chains;
mod layer;
mod mix;
mod stack;

use std::collections::{BTreeMap, BTreeSet};

use onnx_protobuf::NodeProto;

use crate::calibration::Calibration;
use crate::error::CompileError;
use crate::lower::dense::DenseLayer;
use crate::lower::graph::{node_proto, Graph, MS_DOMAIN};

pub(crate) use chains::{chains, Chains};
pub(crate) use layer::StaticWeight;

/// Rewrites `nodes` (in order): every layer in `chosen` becomes a `QLinearConv` (uint8 writers) or a `QGemm`
/// (`weight_of` gives each one's int8 weight), preceded by the `QuantizeLinear` of its input where that is a head
/// read for the first time; the ReLU of each uint8 writer goes, and float readers of its output get a float form.
pub(crate) fn rewrite(
    g: &mut Graph,
    nodes: Vec<NodeProto>,
    chosen: &BTreeMap<&str, &DenseLayer>,
    chains: &Chains,
    calibration: &Calibration,
    stack_experts: bool,
    mut weight_of: impl FnMut(&mut Graph, &NodeProto, &DenseLayer) -> Result<StaticWeight, CompileError>,
) -> Result<Vec<NodeProto>, CompileError> {
    g.domains.insert(MS_DOMAIN);
    let folds = mix::folds(&nodes, chosen, chains, calibration)?;
    let folded: BTreeSet<&str> = folds.values().flat_map(|f| f.relu_outputs()).collect();
    let mixes: BTreeMap<&str, &mix::MixFold> = folds.values().map(|f| (f.mix.as_str(), f)).collect();
    let stacks = if stack_experts { stack::stacks(&nodes, chosen, chains, &folds) } else { Vec::new() };
    let stack_of: BTreeMap<&str, usize> =
        stacks.iter().enumerate().flat_map(|(i, s)| s.layers.iter().flatten().map(move |l| (l.as_str(), i))).collect();
    let stacked: BTreeMap<&str, String> =
        stacks.iter().flat_map(|s| s.tails.iter().map(move |t| (t.as_str(), s.output()))).collect();
    let members: BTreeMap<&str, (&NodeProto, &DenseLayer)> = nodes
        .iter()
        .filter(|n| stack_of.contains_key(n.name.as_str()))
        .filter_map(|n| Some((n.name.as_str(), (n, *chosen.get(n.name.as_str())?))))
        .collect();
    let mut emitted = BTreeSet::new();
    let relus = chains.writer_of_relu();
    let mut views = Views::default();
    let mut out = Vec::with_capacity(nodes.len());
    let mut rewritten = 0;
    for node in &nodes {
        if let Some(&i) = stack_of.get(node.name.as_str()) {
            if emitted.insert(i) {
                let head = stacks[i].head.as_str();
                if chains.heads.contains_key(head) && views.quantized.insert(head.to_string()) {
                    let width = chosen.get(node.name.as_str()).map_or(0, |l| l.inputs);
                    out.extend(quantize_head(g, head, width, calibration)?);
                }
                out.extend(stack::emit(g, &stacks[i], &members, chains, calibration, &mut weight_of)?);
            }
            rewritten += 1;
            continue;
        }
        if let Some((layer, written)) = relus.get(node.name.as_str()) {
            if written.float_readers && !folded.contains(written.relu.as_str()) {
                let width = chosen.get(layer).map_or(0, |l| l.out);
                out.extend(layer::dequantized(g, written, width, calibration)?);
            }
            continue;
        }
        if let Some(fold) = folds.get(node.name.as_str()) {
            out.extend(fold.emit(g, &stacked));
            continue;
        }
        if let Some(fold) = mixes.get(node.name.as_str()) {
            out.extend(fold.emit_mix(g, node)?);
            continue;
        }
        let Some(layer) = chosen.get(node.name.as_str()) else {
            out.push(node.clone());
            continue;
        };
        let x = layer.input.as_str();
        if chains.heads.contains_key(x) && views.quantized.insert(x.to_string()) {
            out.extend(quantize_head(g, x, layer.inputs, calibration)?);
        }
        let weight = weight_of(g, node, layer)?;
        match chains.writers.get(&layer.node) {
            Some(written) => out.push(layer::qlinear_conv(g, layer, written, calibration, weight)?),
            None => {
                if views.rows.insert(x.to_string()) {
                    out.push(layer::rows_view(g, x, layer.inputs));
                }
                out.push(layer::qgemm(g, node, layer, calibration, weight)?);
            }
        }
        rewritten += 1;
    }
    if rewritten != chosen.len() {
        return Err(CompileError::Internal(format!("{} int8 layers are not in the graph", chosen.len() - rewritten)));
    }
    // Shared constants created above (shapes) were emitted into `g.nodes`; they read nothing, so they go first.
    let mut constants = std::mem::take(&mut g.nodes);
    constants.extend(out);
    Ok(constants)
}

/// Tensors given a quantized form (heads) and a `[batch, width]` view of their uint8 form (for `QGemm`).
#[derive(Default)]
struct Views {
    quantized: BTreeSet<String>,
    rows: BTreeSet<String>,
}

/// `Reshape(x) -> <x>.nhwc` and `QuantizeLinear -> <x>.quant` with `x`'s calibrated range.
fn quantize_head(
    g: &mut Graph,
    x: &str,
    width: usize,
    calibration: &Calibration,
) -> Result<[NodeProto; 2], CompileError> {
    let (xs, xz) = layer::activation_params(g, x, calibration)?;
    let shape = g.ints(&layer::nhwc_shape(width));
    let nhwc = format!("{x}.nhwc");
    let quant = format!("{x}.quant");
    Ok([
        node_proto("", "Reshape", &nhwc, &[x, &shape], &[&nhwc], vec![]),
        node_proto("", "QuantizeLinear", &quant, &[&nhwc, &xs, &xz], &[&quant], vec![]),
    ])
}
