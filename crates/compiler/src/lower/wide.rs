//! Wide layout (see `crate::options::Layout::Wide`): the same function as the explicit layout, with the first
//! block of all experts that read one tensor computed as one wide matmul.
//!
//! Per extraction layer, the experts are split into stacks of experts with the same MLP (usually one stack: task
//! and shared experts alike); in a stack:
//! - the first MLP block of every expert reading the same input is one Gemm (transB=1) with the experts' weights
//!   concatenated along the output axis (`ple.<layer>.experts_<s>.in_<k>.fc_0`, `[experts x units, in]`, new
//!   tensors `<node>.weight`, `<node>.bias`), then the activation (fused into the Gemm by ONNX Runtime);
//!   LayerNorm, where the config asks for it, runs on `[batch, experts, units]` with unit scale, each expert's
//!   scale and shift applied by a Mul and an Add (`<node>.ln`, `<node>.ln.scale`, `<node>.ln.shift`);
//! - the deeper blocks are each expert's own chain of 2-D Gemms on its slice of the wide output (a Split,
//!   `<node>.split`, into `<expert>.fc_0.slice`), under the parameter names as in the explicit layout. Measured
//!   (BENCHMARKS.md, issue 24): one batched MatMul over stacked `[experts, in, units]` weights was slower than these
//!   chains in float32 and in int8 at batch 256 and 8192 (ONNX Runtime pre-packs only 2-D weights), and a
//!   block-diagonal weight would multiply the arithmetic by the number of experts;
//! - the experts' outputs side by side become `[batch, experts, units]` (`ple.<layer>.experts_<s>.experts`).
//!
//! The gating is the fused layout's (`super::fused::mix_gates`), under `ple.<layer>.wide.*`.
//! Each wide Gemm is recorded (`super::dense`) with its expert count, for `crate::quantize`: one int8 matmul per
//! wide Gemm, whose input is quantized once.

use plec_spec::artifact::names::{self, fc, leaf};
use plec_spec::{ExtractionLayer, Mlp, MlpLayer, ModelSpec, Norm, NORM_EPS};

use super::dense::{DenseKind, DenseRole};
use super::fused::{mix_gates, LayerInputs};
use super::graph::{attr_float, attr_int, Graph};
use super::mlp::{activation, linear_params, lower_blocks, mlp_weights};
use crate::error::CompileError;

/// An expert: its module name, MLP and the input it reads (index into `LayerInputs::names`).
struct Expert<'a> {
    module: String,
    mlp: &'a Mlp,
    input: usize,
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
    let mut experts = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        for e in 0..layer.experts_per_task {
            let module = layer.task_expert_module(&tower.name, e);
            experts.push(Expert { module, mlp: &layer.task_expert, input: inputs.task[t] });
        }
    }
    for e in 0..layer.shared_experts {
        experts.push(Expert { module: layer.shared_expert_module(e), mlp: &layer.shared_expert, input: inputs.shared });
    }
    // Stacks of experts with the same blocks, in order of first appearance.
    let mut stacks: Vec<Vec<usize>> = Vec::new();
    for (i, expert) in experts.iter().enumerate() {
        match stacks.iter_mut().find(|stack| same_blocks(experts[stack[0]].mlp, expert.mlp)) {
            Some(stack) => stack.push(i),
            None => stacks.push(vec![i]),
        }
    }
    let mut position = vec![0; experts.len()];
    let mut stacked = Vec::new();
    let mut column = 0;
    for (k, mut members) in stacks.into_iter().enumerate() {
        // Grouped by input (inputs are numbered in order of first appearance, so task experts stay in task order).
        members.sort_by_key(|&i| experts[i].input);
        for &i in &members {
            position[i] = column;
            column += 1;
        }
        stacked.push(lower_stack(g, &format!("{l}.experts_{k}"), &experts, &members, &inputs.names)?);
    }
    let refs: Vec<&str> = stacked.iter().map(String::as_str).collect();
    let experts_beu = if refs.len() == 1 {
        refs[0].to_string()
    } else {
        g.node("Concat", &format!("{l}.wide.experts"), &refs, vec![attr_int("axis", 1)])
    };
    mix_gates(g, spec, layer, "wide", &inputs, &position, &experts_beu, expose_gates)
}

/// Whether two MLPs compute with the same block shapes (dropout aside: inference drops it).
fn same_blocks(a: &Mlp, b: &Mlp) -> bool {
    let block = |l: &MlpLayer| (l.units, l.bias, l.norm, l.activation);
    a.input_width == b.input_width
        && a.layers.len() == b.layers.len()
        && a.layers.iter().zip(&b.layers).all(|(x, y)| block(x) == block(y))
}

/// The experts `members` (same blocks, grouped by input) -> `[batch, members, units]`.
fn lower_stack(
    g: &mut Graph,
    stack: &str,
    experts: &[Expert],
    members: &[usize],
    inputs: &[String],
) -> Result<String, CompileError> {
    let mlp = experts[members[0]].mlp;
    let Some(first) = mlp.layers.first() else {
        return Err(CompileError::Internal(format!("expert `{}` has no layers", experts[members[0]].module)));
    };
    let (in_width, units) = (mlp.input_width, first.units);
    let deeper = mlp.layers.len() > 1;
    // First block: one wide Gemm per input.
    let mut outputs = Vec::new();
    let mut start = 0;
    while start < members.len() {
        let input = experts[members[start]].input;
        let end = members[start..].iter().position(|&i| experts[i].input != input).map_or(members.len(), |n| start + n);
        let group = &members[start..end];
        let n = group.len();
        let node = fc(&format!("{stack}.in_{input}"), 0);
        let mut weight = Vec::with_capacity(n * units * in_width);
        let mut bias = Vec::with_capacity(n * units);
        for &i in group {
            let (w, b) = linear_params(g, &fc(&experts[i].module, 0), first)?;
            weight.extend(w.to_f32());
            if let Some(b) = b {
                bias.extend(b.to_f32());
            }
        }
        let w = g.add_f32_initializer(&names::weight(&node), vec![n * units, in_width], &weight);
        let mut args = vec![inputs[input].clone(), w];
        if !bias.is_empty() {
            args.push(g.add_f32_initializer(&names::bias(&node), vec![n * units], &bias));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut x = g.dense(
            DenseRole { kind: DenseKind::Expert, block: 0, experts: n, mlp_weights: mlp_weights(mlp) },
            &node,
            &refs,
        )?;
        if first.norm == Norm::Layer {
            let shape = g.ints(&[0, n as i64, units as i64]);
            x = g.node("Reshape", &format!("{node}.experts"), &[&x, &shape], vec![]);
            x = layer_norm(g, &node, experts, group, units, &x)?;
            x = activation(g, &node, first.activation, &x);
            let flat = g.ints(&[0, (n * units) as i64]);
            x = g.node("Reshape", &format!("{node}.flat"), &[&x, &flat], vec![]);
        } else {
            // Activation straight after the Gemm, so ONNX Runtime fuses it.
            x = activation(g, &node, first.activation, &x);
        }
        if !deeper {
            outputs.push(x);
        } else if n == 1 {
            outputs.push(lower_blocks(g, DenseKind::Expert, &experts[group[0]].module, mlp, &x, 1)?);
        } else {
            // Deeper blocks: each expert its own chain of 2-D Gemms on its slice, under the parameter names.
            let parts: Vec<String> = group.iter().map(|&i| format!("{}.fc_0.slice", experts[i].module)).collect();
            let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let sizes = g.ints(&vec![units as i64; n]);
            g.node_outputs("Split", &format!("{node}.split"), &[&x, &sizes], &part_refs, vec![attr_int("axis", 1)]);
            for (&i, part) in group.iter().zip(&parts) {
                outputs.push(lower_blocks(g, DenseKind::Expert, &experts[i].module, mlp, part, 1)?);
            }
        }
        start = end;
    }
    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let side_by_side = if refs.len() == 1 {
        refs[0].to_string()
    } else {
        g.node("Concat", &format!("{stack}.concat"), &refs, vec![attr_int("axis", 1)])
    };
    let shape = g.ints(&[0, members.len() as i64, mlp.output_width() as i64]);
    Ok(g.node("Reshape", &format!("{stack}.experts"), &[&side_by_side, &shape], vec![]))
}

/// LayerNorm of the first block over the last axis of `x` `[batch, experts, units]`, each expert with its own
/// scale and shift: LayerNormalization with unit scale, then Mul and Add.
fn layer_norm(
    g: &mut Graph,
    node: &str,
    experts: &[Expert],
    members: &[usize],
    units: usize,
    x: &str,
) -> Result<String, CompileError> {
    let mut scale = Vec::with_capacity(members.len() * units);
    let mut shift = Vec::with_capacity(members.len() * units);
    for &i in members {
        let prefix = fc(&experts[i].module, 0);
        scale.extend(g.take(&names::param(&prefix, leaf::LN_WEIGHT))?.to_f32());
        shift.extend(g.take(&names::param(&prefix, leaf::LN_BIAS))?.to_f32());
    }
    let ones = g.add_f32_initializer(&format!("{node}.ln.unit"), vec![units], &vec![1.0; units]);
    let normed = g.node(
        "LayerNormalization",
        &format!("{node}.ln"),
        &[x, &ones],
        vec![attr_int("axis", -1), attr_float("epsilon", NORM_EPS)],
    );
    let shape = vec![members.len(), units];
    let s = g.add_f32_initializer(&format!("{node}.ln.weight"), shape.clone(), &scale);
    let b = g.add_f32_initializer(&format!("{node}.ln.bias"), shape, &shift);
    let scaled = g.node("Mul", &format!("{node}.ln.scale"), &[&normed, &s], vec![]);
    Ok(g.node("Add", &format!("{node}.ln.shift"), &[&scaled, &b], vec![]))
}
