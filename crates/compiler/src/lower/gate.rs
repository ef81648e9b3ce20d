//! A gate (docs/semantics.md section 4): `softmax(Linear(x))` over experts, then the weighted sum of the experts.
//!
//! Nodes: `<gate>` (Gemm), `<gate>.softmax`, `<gate>.stack` (experts as [batch, experts, units]), `<gate>.weights`
//! (softmax as [batch, experts, 1]), `<gate>.mul`, `<gate>.sum` (the mixed output, [batch, units]).

use onnx_protobuf::tensor_proto::DataType;
use plec_spec::artifact::names;

use super::dense::{DenseKind, DenseRole};
use super::graph::{attr_int, value_info, Dim, Graph};
use crate::error::CompileError;

/// `[batch, 1, units]` view of an expert's output, made once per expert and shared by every gate that mixes it.
pub(crate) fn expert_slot(g: &mut Graph, expert_output: &str, expert: &str) -> String {
    let name = format!("{expert}.unsqueeze");
    if g.nodes.iter().any(|n| n.name == name) {
        return name;
    }
    let axes = g.ints(&[1]);
    g.node("Unsqueeze", &name, &[expert_output, &axes], vec![])
}

/// Lowers gate `gate` reading `input`, mixing `slots` (from `expert_slot`, in gate order).
pub(crate) fn lower_gate(
    g: &mut Graph,
    gate: &str,
    input: &str,
    slots: &[String],
    expose: bool,
) -> Result<String, CompileError> {
    let w = g.param(&names::weight(gate))?;
    let b = g.param(&names::bias(gate))?;
    let logits = g.dense(DenseRole::linear(DenseKind::Gate), gate, &[input, &w, &b])?;
    let softmax = g.node("Softmax", &names::gate_output(gate), &[&logits], vec![attr_int("axis", -1)]);
    if expose {
        g.gate_outputs.push(value_info(&softmax, DataType::FLOAT, &[Dim::Named("batch"), Dim::Fixed(slots.len())]));
    }
    let refs: Vec<&str> = slots.iter().map(String::as_str).collect();
    let stack = g.node("Concat", &format!("{gate}.stack"), &refs, vec![attr_int("axis", 1)]);
    let axes = g.ints(&[2]);
    let weights = g.node("Unsqueeze", &format!("{gate}.weights"), &[&softmax, &axes], vec![]);
    let product = g.node("Mul", &format!("{gate}.mul"), &[&stack, &weights], vec![]);
    let axis1 = g.ints(&[1]);
    Ok(g.node("ReduceSum", &format!("{gate}.sum"), &[&product, &axis1], vec![attr_int("keepdims", 0)]))
}
