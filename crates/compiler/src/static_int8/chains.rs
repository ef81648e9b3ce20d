//! Which static int8 layers write uint8 (their ReLU output) and which tensors are quantized at their head.

use std::collections::{BTreeMap, BTreeSet};

use onnx_protobuf::NodeProto;

use crate::lower::dense::DenseLayer;

/// A layer that writes its ReLU output as uint8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Uint8Output {
    /// The ReLU node that goes.
    pub relu_node: String,
    /// The ReLU's output tensor (its uint8 form is `<relu>.quant`).
    pub relu: String,
    /// Whether a node other than an int8 layer reads the ReLU output (it then needs a float form).
    pub float_readers: bool,
}

/// Which int8 layers write uint8 and which tensors need a calibrated range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Chains {
    /// Layer node -> its uint8 output.
    pub writers: BTreeMap<String, Uint8Output>,
    /// Tensors read by int8 layers and written by none (quantized by `QuantizeLinear`), with their width.
    pub heads: BTreeMap<String, usize>,
}

impl Chains {
    /// The tensors calibration must observe, with their widths: every head and every written ReLU output.
    pub fn taps(&self, chosen: &BTreeMap<&str, &DenseLayer>) -> Vec<(String, usize)> {
        let mut taps: Vec<(String, usize)> = self.heads.iter().map(|(t, w)| (t.clone(), *w)).collect();
        for (layer, written) in &self.writers {
            if let Some(l) = chosen.get(layer.as_str()) {
                taps.push((written.relu.clone(), l.out));
            }
        }
        taps.sort();
        taps
    }

    pub(crate) fn writer_of_relu(&self) -> BTreeMap<&str, (&str, &Uint8Output)> {
        self.writers.iter().map(|(layer, w)| (w.relu_node.as_str(), (layer.as_str(), w))).collect()
    }
}

/// Finds the chains among `nodes` (graph outputs `outputs` are never rewritten).
pub(crate) fn chains(nodes: &[NodeProto], chosen: &BTreeMap<&str, &DenseLayer>, outputs: &BTreeSet<&str>) -> Chains {
    let readers = readers(nodes);
    let is_int8_reader = |n: &NodeProto, tensor: &str| chosen.get(n.name.as_str()).is_some_and(|l| l.input == tensor);
    let mut chains = Chains::default();
    for layer in chosen.values() {
        let relu = match readers.get(layer.node.as_str()).map(Vec::as_slice) {
            Some([r]) if r.op_type == "Relu" && !outputs.contains(layer.node.as_str()) => *r,
            _ => continue,
        };
        let Some(relu_out) = relu.output.first() else { continue };
        let Some(relu_readers) = readers.get(relu_out.as_str()) else { continue };
        if outputs.contains(relu_out.as_str()) {
            continue;
        }
        let float_readers = !relu_readers.iter().all(|n| is_int8_reader(n, relu_out));
        let written = Uint8Output { relu_node: relu.name.clone(), relu: relu_out.clone(), float_readers };
        chains.writers.insert(layer.node.clone(), written);
    }
    let written: BTreeSet<&str> = chains.writers.values().map(|w| w.relu.as_str()).collect();
    for layer in chosen.values() {
        if !written.contains(layer.input.as_str()) {
            chains.heads.insert(layer.input.clone(), layer.inputs);
        }
    }
    chains
}

/// Every tensor's reading nodes.
pub(crate) fn readers(nodes: &[NodeProto]) -> BTreeMap<&str, Vec<&NodeProto>> {
    let mut readers: BTreeMap<&str, Vec<&NodeProto>> = BTreeMap::new();
    for n in nodes {
        for i in &n.input {
            readers.entry(i.as_str()).or_default().push(n);
        }
    }
    readers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::dense::DenseKind;
    use crate::lower::graph::node_proto;

    fn layer(node: &str, input: &str, out: usize, inputs: usize) -> DenseLayer {
        let (node, input) = (node.to_string(), input.to_string());
        DenseLayer { node, kind: DenseKind::Expert, block: 0, experts: 1, mlp_weights: 0, input, out, inputs }
    }

    #[test]
    fn relu_outputs_are_written_as_uint8_and_marked_where_float_nodes_read_them() {
        // x -> a -> relu -> b -> relu -> c -> relu -> concat; b's ReLU output is also read by `d` (float32), `e`
        // (int8) reads a LayerNorm output and its ReLU output is read by nothing.
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
        let writers: Vec<(&str, &str, bool)> =
            chains.writers.iter().map(|(l, w)| (l.as_str(), w.relu.as_str(), w.float_readers)).collect();
        // b's output also feeds float32 `d`, c's feeds the Concat; e's feeds nothing, so e writes float.
        assert_eq!(writers, vec![("a", "a.relu", false), ("b", "b.relu", true), ("c", "c.relu", true)]);
        let heads: Vec<(&str, usize)> = chains.heads.iter().map(|(t, w)| (t.as_str(), *w)).collect();
        assert_eq!(heads, vec![("ln", 4), ("x", 4)]);
        let taps: Vec<String> = chains.taps(&chosen).into_iter().map(|(t, _)| t).collect();
        assert_eq!(taps, vec!["a.relu", "b.relu", "c.relu", "ln", "x"]);
        // A ReLU output that is a graph output stays float32, and so does its layer.
        let outputs: BTreeSet<&str> = ["a.relu"].into_iter().collect();
        let chains = super::chains(&nodes, &chosen, &outputs);
        assert!(!chains.writers.contains_key("a") && chains.heads.contains_key("a.relu"));
    }
}
