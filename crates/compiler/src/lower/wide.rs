//! Wide layout (see `crate::options::Layout::Wide`): the same function as the explicit layout, with each layer's
//! experts computed as a few large matmuls instead of one small chain per expert.
//!
//! Per extraction layer, the experts are split into stacks of experts with the same MLP (usually one stack: task
//! and shared experts alike); in a stack:
//! - the first MLP block of every expert reading the same input is one Gemm (transB=1) with the experts' weights
//!   concatenated along the output axis (`ple.<layer>.experts_<s>.in_<k>.fc_0`, `[experts x units, in]`), then
//!   the activation and a free Reshape to `[batch, experts, units]`;
//! - the deeper blocks are one batched MatMul each over the experts' stacked weights
//!   (`ple.<layer>.experts_<s>.fc_<j>`, weight `[experts, in, units]`, bias `[experts, 1, units]` added by
//!   `<node>.add`) on `[experts, batch, units]` (one Transpose before the first and one after the last);
//! - LayerNorm normalizes with unit scale and applies each expert's scale and shift as a Mul and Add
//!   (`<node>.ln`, `<node>.ln.scale`, `<node>.ln.shift`); BatchNorm is folded into the weights as everywhere.
//!
//! The stacks side by side are `[batch, experts, units]`; the gating is the fused layout's (`super::fused`), under
//! `ple.<layer>.wide.*`. All expert weights are new tensors named after their node (`<node>.weight`,
//! `<node>.bias`); `plec dump` of the explicit layout shows which parameter is which.
//!
//! `Graph::wide` records each wide Gemm and batched MatMul with its expert count, for `crate::quantize`: one int8
//! matmul per such node, its input quantized once.

use plec_config::artifact::names::{self, fc, leaf, shared_expert, task_expert};
use plec_config::spec::{ExtractionLayer, Mlp, MlpLayer, ModelSpec, Norm, NORM_EPS};

use super::fused::{mix_gates, LayerInputs};
use super::graph::{attr_float, attr_int, attr_ints, Graph};
use super::mlp::{activation, linear_params};
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
    let l = &layer.name;
    let inputs = LayerInputs::new(xs, s);
    // Experts in the shared gate's order: task 0's, task 1's, ..., shared.
    let mut experts = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        for e in 0..layer.experts_per_task {
            let module = task_expert(l, &tower.name, e);
            experts.push(Expert { module, mlp: &layer.task_expert, input: inputs.task[t] });
        }
    }
    for e in 0..layer.shared_experts {
        experts.push(Expert { module: shared_expert(l, e), mlp: &layer.shared_expert, input: inputs.shared });
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
        stacked.push(lower_stack(g, &format!("ple.{l}.experts_{k}"), &experts, &members, &inputs.names)?);
    }
    let refs: Vec<&str> = stacked.iter().map(String::as_str).collect();
    let experts_beu = if refs.len() == 1 {
        refs[0].to_string()
    } else {
        g.node("Concat", &format!("ple.{l}.wide.experts"), &refs, vec![attr_int("axis", 1)])
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
    let mut blocks = mlp.widths();
    let Some((in_width, first)) = blocks.next() else {
        return Err(CompileError::Internal(format!("expert `{}` has no layers", experts[members[0]].module)));
    };
    let units = first.units;
    // First block: one wide Gemm per input.
    let mut parts = Vec::new();
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
        let mut x = g.node("Gemm", &node, &refs, vec![attr_int("transB", 1)]);
        g.wide.insert(node.clone(), n);
        let shape = g.ints(&[0, n as i64, units as i64]);
        if first.norm == Norm::Layer {
            x = g.node("Reshape", &format!("{node}.experts"), &[&x, &shape], vec![]);
            x = layer_norm(g, &node, experts, group, 0, units, &x, &[n, units])?;
            x = activation(g, &node, first.activation, &x);
        } else {
            // Activation straight after the Gemm, so ONNX Runtime fuses it.
            x = activation(g, &node, first.activation, &x);
            x = g.node("Reshape", &format!("{node}.experts"), &[&x, &shape], vec![]);
        }
        parts.push(x);
        start = end;
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let mut x = if refs.len() == 1 {
        refs[0].to_string()
    } else {
        g.node("Concat", &format!("{stack}.fc_0.experts"), &refs, vec![attr_int("axis", 1)])
    };
    if mlp.layers.len() == 1 {
        return Ok(x);
    }
    // Deeper blocks: batched over `[experts, batch, units]`.
    let n = members.len();
    x = g.node("Transpose", &format!("{stack}.fc_0.by_expert"), &[&x], vec![attr_ints("perm", &[1, 0, 2])]);
    for (j, (in_width, block)) in blocks.enumerate().map(|(j, b)| (j + 1, b)) {
        let units = block.units;
        let node = fc(stack, j);
        let mut weight = vec![0.0f32; n * in_width * units];
        let mut bias = Vec::with_capacity(n * units);
        for (m, &i) in members.iter().enumerate() {
            let (w, b) = linear_params(g, &fc(&experts[i].module, j), block)?;
            // [units, in] -> [in, units], the MatMul's orientation.
            let w = w.to_f32();
            let dst = &mut weight[m * in_width * units..(m + 1) * in_width * units];
            for u in 0..units {
                for c in 0..in_width {
                    dst[c * units + u] = w[u * in_width + c];
                }
            }
            if let Some(b) = b {
                bias.extend(b.to_f32());
            }
        }
        let w = g.add_f32_initializer(&names::weight(&node), vec![n, in_width, units], &weight);
        x = g.node("MatMul", &node, &[&x, &w], vec![]);
        g.wide.insert(node.clone(), n);
        if !bias.is_empty() {
            let b = g.add_f32_initializer(&names::bias(&node), vec![n, 1, units], &bias);
            x = g.node("Add", &format!("{node}.add"), &[&x, &b], vec![]);
        }
        if block.norm == Norm::Layer {
            x = layer_norm(g, &node, experts, members, j, units, &x, &[n, 1, units])?;
        }
        x = activation(g, &node, block.activation, &x);
    }
    Ok(g.node("Transpose", &format!("{stack}.experts"), &[&x], vec![attr_ints("perm", &[1, 0, 2])]))
}

/// LayerNorm of block `j` over the last axis of `x`, each expert with its own scale and shift (shaped `shape`):
/// LayerNormalization with unit scale, then Mul and Add.
#[allow(clippy::too_many_arguments)]
fn layer_norm(
    g: &mut Graph,
    node: &str,
    experts: &[Expert],
    members: &[usize],
    j: usize,
    units: usize,
    x: &str,
    shape: &[usize],
) -> Result<String, CompileError> {
    let mut scale = Vec::with_capacity(members.len() * units);
    let mut shift = Vec::with_capacity(members.len() * units);
    for &i in members {
        let prefix = fc(&experts[i].module, j);
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
    let s = g.add_f32_initializer(&format!("{node}.ln.weight"), shape.to_vec(), &scale);
    let b = g.add_f32_initializer(&format!("{node}.ln.bias"), shape.to_vec(), &shift);
    let scaled = g.node("Mul", &format!("{node}.ln.scale"), &[&normed, &s], vec![]);
    Ok(g.node("Add", &format!("{node}.ln.shift"), &[&scaled, &b], vec![]))
}
