//! Fused layout (see `crate::options::Layout::Fused`): the same function as the explicit layout, with the gating
//! done in fewer ops.
//!
//! Per extraction layer:
//! - every expert is its own chain of Gemm (transB=1) + activation, exactly as in the explicit layout and under the
//!   same names: ONNX Runtime runs a pre-packed 2-D Gemm with the activation fused into it faster than any batched
//!   MatMul over several experts (measured: `crates/compiler/benches/ort_throughput.py`, BENCHMARKS.md);
//! - the experts' outputs are stacked once per layer, `[batch, experts, units]` (`ple.<layer>.fused.experts`, a
//!   Concat and a free Reshape), in the order the shared gate mixes them;
//! - all gates reading the same input are one Gemm (`ple.<layer>.fused.gates_<k>`), sliced per gate into its
//!   softmax (`<gate>.softmax`, as in the explicit layout); each softmax is scattered onto the layer's full
//!   expert list with a constant 0/1 matrix, and one MatMul `[batch, gates, experts] x [batch, experts, units]`
//!   mixes every gate at once (`ple.<layer>.fused.mix`).
//!
//! Expert, embedding and tower initializers keep the parameter names; the concatenated gate weights are new
//! tensors named after their node (`<node>.weight`, `<node>.bias`).

use plec_spec::artifact::names;
use plec_spec::{ExtractionLayer, ModelSpec};

use super::dense::{DenseKind, DenseRole};
use super::graph::{attr_int, f32_tensor, value_info, Dim, Graph};
use super::mlp::lower_mlp;
use crate::error::CompileError;
use onnx_protobuf::tensor_proto::DataType;

/// A gate: name, which input it reads, the experts it mixes (indices into the expert list).
struct Gate {
    name: String,
    input: usize,
    experts: Vec<usize>,
}

/// Per-task inputs `xs` and shared input `s` -> per-task outputs and the next shared input (if this layer has a
/// shared gate), as `super::layer::lower_layer` in the explicit layout.
pub(crate) fn lower_layer(
    g: &mut Graph,
    spec: &ModelSpec,
    layer: &ExtractionLayer,
    xs: &[String],
    s: &str,
    expose_gates: bool,
) -> Result<(Vec<String>, Option<String>), CompileError> {
    let l = layer.node_prefix();
    let inputs = LayerInputs::new(xs, s);
    // Experts in the shared gate's order: task 0's, task 1's, ..., shared.
    let mut expert_outputs = Vec::new();
    for (tower, x) in spec.towers.iter().zip(xs) {
        for e in 0..layer.experts_per_task {
            let module = layer.task_expert_module(&tower.name, e);
            expert_outputs.push(lower_mlp(g, DenseKind::Expert, &module, &layer.task_expert, x)?);
        }
    }
    for e in 0..layer.shared_experts {
        let module = layer.shared_expert_module(e);
        expert_outputs.push(lower_mlp(g, DenseKind::Expert, &module, &layer.shared_expert, s)?);
    }
    let total = expert_outputs.len();
    // The stacked experts are `[batch, experts, output_width]` (`ModelSpec::check`: every expert produces it).
    let units = layer.output_width;
    let refs: Vec<&str> = expert_outputs.iter().map(String::as_str).collect();
    let side_by_side = if refs.len() == 1 {
        refs[0].to_string()
    } else {
        g.node("Concat", &format!("{l}.fused.experts.concat"), &refs, vec![attr_int("axis", 1)])
    };
    let shape = g.ints(&[0, total as i64, units as i64]);
    let experts_beu = g.node("Reshape", &format!("{l}.fused.experts"), &[&side_by_side, &shape], vec![]);
    let position: Vec<usize> = (0..total).collect();
    mix_gates(g, spec, layer, "fused", &inputs, &position, &experts_beu, expose_gates)
}

/// The distinct tensors a layer reads (at the first layer every task and the shared part read the same one), and
/// which of them each task and the shared part read.
pub(crate) struct LayerInputs {
    pub names: Vec<String>,
    pub task: Vec<usize>,
    pub shared: usize,
}

impl LayerInputs {
    pub fn new(xs: &[String], s: &str) -> LayerInputs {
        let mut names: Vec<String> = Vec::new();
        let mut index = |name: &str| match names.iter().position(|i| i == name) {
            Some(i) => i,
            None => {
                names.push(name.to_string());
                names.len() - 1
            }
        };
        let task = xs.iter().map(|x| index(x)).collect();
        let shared = index(s);
        LayerInputs { names, task, shared }
    }
}

/// The gating of a layer whose experts are stacked in `experts_beu` `[batch, experts, units]`, expert `e` (in the
/// shared gate's order: task 0's, ..., shared) at column `position[e]`: all gates reading the same input are one
/// Gemm (`ple.<layer>.<tag>.gates_<k>`), sliced per gate into its softmax (`<gate>.softmax`, as in the explicit
/// layout); each softmax is scattered onto the stacked experts with a constant 0/1 matrix, and one MatMul
/// `[batch, gates, experts] x [batch, experts, units]` mixes every gate at once (`ple.<layer>.<tag>.mix`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn mix_gates(
    g: &mut Graph,
    spec: &ModelSpec,
    layer: &ExtractionLayer,
    tag: &str,
    inputs: &LayerInputs,
    position: &[usize],
    experts_beu: &str,
    expose_gates: bool,
) -> Result<(Vec<String>, Option<String>), CompileError> {
    let (gate_inputs, task_inputs) = gate_inputs(g, spec, layer, inputs)?;
    let gates = layer_gates(spec, layer, &task_inputs, inputs.shared, position.len());
    let mut scattered = Vec::new();
    for (k, input) in gate_inputs.iter().enumerate() {
        let readers: Vec<&Gate> = gates.iter().filter(|gate| gate.input == k).collect();
        if !readers.is_empty() {
            let node = format!("{}.{tag}.gates_{k}", layer.node_prefix());
            scattered.extend(gate_rows(g, &node, input, &readers, position, expose_gates)?);
        }
    }
    mix(g, spec, layer, tag, &gates, &scattered, experts_beu)
}

/// The tensors the gates read and which of them each task gate reads: the layer's inputs, and with MMoE's gate MLPs
/// each task's gate MLP output, a tensor of its own.
fn gate_inputs(
    g: &mut Graph,
    spec: &ModelSpec,
    layer: &ExtractionLayer,
    inputs: &LayerInputs,
) -> Result<(Vec<String>, Vec<usize>), CompileError> {
    let mut names = inputs.names.clone();
    let mut task = inputs.task.clone();
    if let Some(gate_mlp) = &layer.gate_mlp {
        for (t, tower) in spec.towers.iter().enumerate() {
            let x = inputs.names[inputs.task[t]].clone();
            names.push(lower_mlp(g, DenseKind::Gate, &layer.task_gate_module(&tower.name), gate_mlp, &x)?);
            task[t] = names.len() - 1;
        }
    }
    Ok((names, task))
}

/// The layer's gates in mixing order: task gates in tower order (task gate t reading input `task_inputs[t]`), then
/// the shared gate (if any, reading `shared_input`); `total` experts.
fn layer_gates(
    spec: &ModelSpec,
    layer: &ExtractionLayer,
    task_inputs: &[usize],
    shared_input: usize,
    total: usize,
) -> Vec<Gate> {
    let task_count = spec.towers.len() * layer.experts_per_task;
    let mut gates = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        let own = (t * layer.experts_per_task..(t + 1) * layer.experts_per_task).chain(task_count..total);
        gates.push(Gate { name: layer.task_gate_module(&tower.name), input: task_inputs[t], experts: own.collect() });
    }
    if layer.has_shared_gate {
        gates.push(Gate { name: layer.shared_gate_module(), input: shared_input, experts: (0..total).collect() });
    }
    gates
}

/// The gates `readers` of one input as one Gemm `node`, each gate's softmax scattered onto all `position.len()`
/// experts as a `[batch, 1, experts]` row; returns (gate name, row) per gate.
fn gate_rows(
    g: &mut Graph,
    node: &str,
    input: &str,
    readers: &[&Gate],
    position: &[usize],
    expose_gates: bool,
) -> Result<Vec<(String, String)>, CompileError> {
    let total = position.len();
    let mut weight = Vec::new();
    let mut bias = Vec::new();
    let mut in_width = 0;
    for gate in readers {
        let w = g.take(&names::weight(&gate.name))?;
        in_width = w.shape[1];
        weight.extend(w.to_f32());
        bias.extend(g.take(&names::bias(&gate.name))?.to_f32());
    }
    let w = g.add_f32_initializer(&names::weight(node), vec![bias.len(), in_width], &weight);
    let b = g.add_f32_initializer(&names::bias(node), vec![bias.len()], &bias);
    let logits = g.dense(DenseRole::linear(DenseKind::Gate), node, &[input, &w, &b])?;
    let mut rows = Vec::new();
    let mut column = 0;
    for gate in readers {
        let width = gate.experts.len();
        let gate_logits = if width == bias.len() {
            logits.clone()
        } else {
            let starts = g.ints(&[column as i64]);
            let ends = g.ints(&[(column + width) as i64]);
            let axes = g.ints(&[1]);
            g.node("Slice", &format!("{}.logits", gate.name), &[&logits, &starts, &ends, &axes], vec![])
        };
        column += width;
        let softmax = g.node("Softmax", &names::gate_output(&gate.name), &[&gate_logits], vec![attr_int("axis", -1)]);
        if expose_gates {
            g.gate_outputs.push(value_info(&softmax, DataType::FLOAT, &[Dim::Named("batch"), Dim::Fixed(width)]));
        }
        let mut select = vec![0.0f32; width * total];
        for (i, &e) in gate.experts.iter().enumerate() {
            select[i * total + position[e]] = 1.0;
        }
        let sel = g.constant(&format!("{}.select", gate.name), f32_tensor(&[width, total], &select));
        let wide = g.node("MatMul", &format!("{}.scatter", gate.name), &[&softmax, &sel], vec![]);
        let axes = g.ints(&[1]);
        rows.push((gate.name.clone(), g.node("Unsqueeze", &format!("{}.row", gate.name), &[&wide, &axes], vec![])));
    }
    Ok(rows)
}

/// Every gate's row (`scattered`, in `gates` order once sorted) times the stacked experts in one MatMul
/// (`ple.<layer>.<tag>.mix`); returns the per-task outputs and the next shared input.
fn mix(
    g: &mut Graph,
    spec: &ModelSpec,
    layer: &ExtractionLayer,
    tag: &str,
    gates: &[Gate],
    scattered: &[(String, String)],
    experts_beu: &str,
) -> Result<(Vec<String>, Option<String>), CompileError> {
    let l = layer.node_prefix();
    let mut ordered = Vec::new();
    for gate in gates {
        if let Some((_, t)) = scattered.iter().find(|(name, _)| *name == gate.name) {
            ordered.push(t.as_str());
        }
    }
    let stacked = if ordered.len() == 1 {
        ordered[0].to_string()
    } else {
        g.node("Concat", &format!("{l}.{tag}.gates"), &ordered, vec![attr_int("axis", 1)])
    };
    let mixed = g.node("MatMul", &format!("{l}.{tag}.mix"), &[&stacked, experts_beu], vec![]);
    let mut ys = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        let idx = g.scalar_i64(t as i64);
        ys.push(g.node(
            "Gather",
            &format!("{}.sum", layer.task_gate_module(&tower.name)),
            &[&mixed, &idx],
            vec![attr_int("axis", 1)],
        ));
    }
    let next = if layer.has_shared_gate {
        let idx = g.scalar_i64(spec.towers.len() as i64);
        let name = format!("{}.sum", layer.shared_gate_module());
        Some(g.node("Gather", &name, &[&mixed, &idx], vec![attr_int("axis", 1)]))
    } else {
        None
    };
    Ok((ys, next))
}
