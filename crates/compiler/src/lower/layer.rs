//! One extraction layer (CGC) in the explicit layout (docs/semantics.md section 4): every expert its own MLP
//! chain, every gate its own Gemm -> Softmax -> weighted sum.

use plec_spec::{ExtractionLayer, ModelSpec};

use super::dense::DenseKind;
use super::gate::{expert_slot, lower_gate};
use super::graph::Graph;
use super::mlp::lower_mlp;
use crate::error::CompileError;

/// Per-task inputs `xs` and shared input `s` -> per-task outputs and the next shared input (if this layer has a
/// shared gate).
pub(crate) fn lower_layer(
    g: &mut Graph,
    spec: &ModelSpec,
    layer: &ExtractionLayer,
    xs: &[String],
    s: &str,
    expose_gates: bool,
) -> Result<(Vec<String>, Option<String>), CompileError> {
    let mut task_slots: Vec<Vec<String>> = Vec::new();
    for (tower, x) in spec.towers.iter().zip(xs) {
        let mut slots = Vec::new();
        for e in 0..layer.experts_per_task {
            let module = layer.task_expert_module(&tower.name, e);
            let out = lower_mlp(g, DenseKind::Expert, &module, &layer.task_expert, x)?;
            slots.push(expert_slot(g, &out, &module));
        }
        task_slots.push(slots);
    }
    let mut shared_slots = Vec::new();
    for e in 0..layer.shared_experts {
        let module = layer.shared_expert_module(e);
        let out = lower_mlp(g, DenseKind::Expert, &module, &layer.shared_expert, s)?;
        shared_slots.push(expert_slot(g, &out, &module));
    }
    let mut ys = Vec::new();
    for ((tower, x), own) in spec.towers.iter().zip(xs).zip(&task_slots) {
        let slots: Vec<String> = own.iter().chain(&shared_slots).cloned().collect();
        let gate = layer.task_gate_module(&tower.name);
        // MMoE's gate MLP, under the gate's name, before its Linear.
        let gate_input = match &layer.gate_mlp {
            Some(gate_mlp) => lower_mlp(g, DenseKind::Gate, &gate, gate_mlp, x)?,
            None => x.clone(),
        };
        ys.push(lower_gate(g, &gate, &gate_input, &slots, expose_gates)?);
    }
    let next_shared = if layer.has_shared_gate {
        let slots: Vec<String> = task_slots.iter().flatten().chain(&shared_slots).cloned().collect();
        Some(lower_gate(g, &layer.shared_gate_module(), s, &slots, expose_gates)?)
    } else {
        None
    };
    Ok((ys, next_shared))
}
