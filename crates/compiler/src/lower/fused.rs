//! Fused layout (see `crate::options::Layout::Fused`): the same function as the explicit layout, in fewer and
//! bigger ops.
//!
//! Per extraction layer:
//! - experts are grouped into *families* of identical MLP shape (task experts of every task; shared experts;
//!   one family when both nets are alike), ordered like the shared gate orders experts;
//! - the first Linear of every expert reading the same input is one Gemm over the concatenated weights
//!   (`ple.<layer>.fused.input_<k>`), activation applied on the 2-D result, then reshaped and transposed to
//!   `[experts, batch, units]`;
//! - deeper Linears are one batched MatMul + bias per family (`ple.<layer>.fused.<family>.fc_<j>`);
//! - all gates reading the same input are one Gemm (`ple.<layer>.fused.gates_<k>`), sliced per gate into its
//!   softmax (`<gate>.softmax`, as in the explicit layout); each softmax is scattered onto the layer's full
//!   expert list with a constant 0/1 matrix, and one MatMul `[batch, gates, experts] x [batch, experts, units]`
//!   mixes every gate at once (`ple.<layer>.fused.mix`).
//!
//! Initializers are new tensors named after these nodes (`<node>.weight`, `<node>.bias`, `<node>.ln_scale`, ...);
//! only embeddings and towers keep the parameter names.

use plec_config::names::{fc, shared_expert, shared_gate, task_expert, task_gate};
use plec_config::spec::{ExtractionLayer, Mlp, ModelSpec, Norm, NORM_EPS};

use super::gate::gate_output_name;
use super::graph::{attr_float, attr_int, attr_ints, f32_tensor, value_info, Dim, Graph};
use super::mlp::{activation, linear_params};
use crate::error::CompileError;
use onnx_protobuf::tensor_proto::DataType;

/// One expert: its module prefix and which layer input it reads (index into `inputs`).
struct Expert {
    module: String,
    input: usize,
}

struct Family<'a> {
    name: &'static str,
    /// Indices into the layer's expert list (canonical order).
    members: Vec<usize>,
    mlp: &'a Mlp,
}

/// A gate: name, which input it reads, the experts it mixes (indices into the expert list).
struct Gate {
    name: String,
    input: usize,
    experts: Vec<usize>,
}

pub(crate) fn lower_layers(
    g: &mut Graph,
    spec: &ModelSpec,
    input: &str,
    expose_gates: bool,
) -> Result<Vec<String>, CompileError> {
    let tasks = spec.towers.len();
    let mut xs = vec![input.to_string(); tasks];
    let mut s = input.to_string();
    for layer in &spec.layers {
        let (ys, next) = lower_layer(g, spec, layer, &xs, &s, expose_gates)?;
        xs = ys;
        if let Some(next) = next {
            s = next;
        }
    }
    Ok(xs)
}

fn same_shape(a: &Mlp, b: &Mlp) -> bool {
    a.input_width == b.input_width && a.layers == b.layers
}

fn lower_layer(
    g: &mut Graph,
    spec: &ModelSpec,
    layer: &ExtractionLayer,
    xs: &[String],
    s: &str,
    expose_gates: bool,
) -> Result<(Vec<String>, Option<String>), CompileError> {
    let tasks = spec.towers.len();
    let l = &layer.name;
    // Distinct input tensors (at the first layer every task and the shared part read the same one).
    let mut inputs: Vec<String> = Vec::new();
    let mut input_index = |name: &str| match inputs.iter().position(|i| i == name) {
        Some(i) => i,
        None => {
            inputs.push(name.to_string());
            inputs.len() - 1
        }
    };
    let task_inputs: Vec<usize> = xs.iter().map(|x| input_index(x)).collect();
    let shared_input = input_index(s);

    let mut experts = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        for e in 0..layer.experts_per_task {
            experts.push(Expert { module: task_expert(l, &tower.name, e), input: task_inputs[t] });
        }
    }
    for e in 0..layer.shared_experts {
        experts.push(Expert { module: shared_expert(l, e), input: shared_input });
    }
    let task_count = tasks * layer.experts_per_task;
    let families: Vec<Family> =
        if same_shape(&layer.task_expert, &layer.shared_expert) || layer.shared_experts == 0 || task_count == 0 {
            vec![Family { name: "experts", members: (0..experts.len()).collect(), mlp: experts_mlp(layer, task_count) }]
        } else {
            vec![
                Family { name: "task", members: (0..task_count).collect(), mlp: &layer.task_expert },
                Family { name: "shared", members: (task_count..experts.len()).collect(), mlp: &layer.shared_expert },
            ]
        };

    let mut gates = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        let own = (t * layer.experts_per_task..(t + 1) * layer.experts_per_task).chain(task_count..experts.len());
        gates.push(Gate { name: task_gate(l, &tower.name), input: task_inputs[t], experts: own.collect() });
    }
    if layer.has_shared_gate {
        gates.push(Gate { name: shared_gate(l), input: shared_input, experts: (0..experts.len()).collect() });
    }

    // First Linear of every expert, one Gemm per input; per family, pieces of [experts, batch, units].
    let mut family_pieces: Vec<Vec<String>> = vec![Vec::new(); families.len()];
    for (k, input) in inputs.iter().enumerate() {
        let readers: Vec<(usize, usize)> = families
            .iter()
            .enumerate()
            .flat_map(|(f, fam)| fam.members.iter().filter(|&&e| experts[e].input == k).map(move |&e| (f, e)))
            .collect();
        if readers.is_empty() {
            continue;
        }
        let node = format!("ple.{l}.fused.input_{k}");
        let mut weight = Vec::new();
        let mut bias = Vec::new();
        let mut in_width = 0;
        for &(f, e) in &readers {
            let first = &families[f].mlp.layers[0];
            let (w, b) = linear_params(g, &fc(&experts[e].module, 0), first)?;
            in_width = w.shape[1];
            weight.extend(w.to_f32());
            match b {
                Some(b) => bias.extend(b.to_f32()),
                None => bias.extend(std::iter::repeat_n(0.0, first.units)),
            }
        }
        let rows = bias.len();
        let w = g.add_f32_initializer(&format!("{node}.weight"), vec![rows, in_width], &weight);
        let b = g.add_f32_initializer(&format!("{node}.bias"), vec![rows], &bias);
        let out = g.node("Gemm", &node, &[input, &w, &b], vec![attr_int("transB", 1)]);
        // Column blocks per family, in reader order (readers are grouped by family).
        let mut column = 0;
        for (f, fam) in families.iter().enumerate() {
            let n = readers.iter().filter(|(rf, _)| *rf == f).count();
            if n == 0 {
                continue;
            }
            let first = &fam.mlp.layers[0];
            let units = first.units;
            let all_columns = n * units == rows;
            let mut block = if all_columns {
                out.clone()
            } else {
                let starts = g.ints(&[column as i64]);
                let ends = g.ints(&[(column + n * units) as i64]);
                let axes = g.ints(&[1]);
                g.node("Slice", &format!("{node}.{}", fam.name), &[&out, &starts, &ends, &axes], vec![])
            };
            column += n * units;
            let block_name = format!("{node}.{}", fam.name);
            if first.norm != Norm::Layer {
                block = activation(g, &block_name, first.activation, &block);
            }
            let shape = g.ints(&[0, n as i64, units as i64]);
            let r = g.node("Reshape", &format!("{block_name}.reshape"), &[&block, &shape], vec![]);
            let t = g.node("Transpose", &format!("{block_name}.transpose"), &[&r], vec![attr_ints("perm", &[1, 0, 2])]);
            family_pieces[f].push(t);
        }
    }

    // Per family: the rest of the MLP as batched MatMuls over [experts, batch, units].
    let mut family_outputs = Vec::new();
    for (f, fam) in families.iter().enumerate() {
        let prefix = format!("ple.{l}.fused.{}", fam.name);
        let n = fam.members.len();
        let refs: Vec<&str> = family_pieces[f].iter().map(String::as_str).collect();
        let mut h = if refs.len() == 1 {
            refs[0].to_string()
        } else {
            g.node("Concat", &format!("{prefix}.fc_0.concat"), &refs, vec![attr_int("axis", 0)])
        };
        for (j, (_, layer_j)) in fam.mlp.widths().enumerate() {
            let block = format!("{prefix}.fc_{j}");
            if j > 0 {
                let mut weight = Vec::new();
                let mut bias = Vec::new();
                let mut in_width = 0;
                for &e in &fam.members {
                    let (w, b) = linear_params(g, &fc(&experts[e].module, j), layer_j)?;
                    in_width = w.shape[1];
                    let values = w.to_f32();
                    // [units, in] -> [in, units] for MatMul.
                    for i in 0..in_width {
                        for u in 0..layer_j.units {
                            weight.push(values[u * in_width + i]);
                        }
                    }
                    match b {
                        Some(b) => bias.extend(b.to_f32()),
                        None => bias.extend(std::iter::repeat_n(0.0, layer_j.units)),
                    }
                }
                let w = g.add_f32_initializer(&format!("{block}.weight"), vec![n, in_width, layer_j.units], &weight);
                let b = g.add_f32_initializer(&format!("{block}.bias"), vec![n, 1, layer_j.units], &bias);
                let m = g.node("MatMul", &format!("{block}.matmul"), &[&h, &w], vec![]);
                h = g.node("Add", &block, &[&m, &b], vec![]);
            }
            if layer_j.norm == Norm::Layer {
                let mut scale = Vec::new();
                let mut shift = Vec::new();
                for &e in &fam.members {
                    let p = fc(&experts[e].module, j);
                    scale.extend(g.take(&format!("{p}.ln.weight"))?.to_f32());
                    shift.extend(g.take(&format!("{p}.ln.bias"))?.to_f32());
                }
                let ones =
                    g.constant(&format!("{block}.ln.ones"), f32_tensor(&[layer_j.units], &vec![1.0; layer_j.units]));
                let normed = g.node(
                    "LayerNormalization",
                    &format!("{block}.ln"),
                    &[&h, &ones],
                    vec![attr_int("axis", -1), attr_float("epsilon", NORM_EPS)],
                );
                let sc = g.add_f32_initializer(&format!("{block}.ln_scale"), vec![n, 1, layer_j.units], &scale);
                let sh = g.add_f32_initializer(&format!("{block}.ln_shift"), vec![n, 1, layer_j.units], &shift);
                let scaled = g.node("Mul", &format!("{block}.ln.scale"), &[&normed, &sc], vec![]);
                h = g.node("Add", &format!("{block}.ln.shift"), &[&scaled, &sh], vec![]);
                h = activation(g, &block, layer_j.activation, &h);
            } else if j > 0 {
                h = activation(g, &block, layer_j.activation, &h);
            }
        }
        family_outputs.push(h);
    }
    let experts_ebu = if family_outputs.len() == 1 {
        family_outputs[0].clone()
    } else {
        let refs: Vec<&str> = family_outputs.iter().map(String::as_str).collect();
        g.node("Concat", &format!("ple.{l}.fused.experts"), &refs, vec![attr_int("axis", 0)])
    };
    let experts_beu = g.node(
        "Transpose",
        &format!("ple.{l}.fused.experts_by_row"),
        &[&experts_ebu],
        vec![attr_ints("perm", &[1, 0, 2])],
    );

    // Gates: one Gemm per input, a softmax per gate, scattered onto all experts, one mixing MatMul.
    let total = experts.len();
    let mut scattered = Vec::new();
    for (k, input) in inputs.iter().enumerate() {
        let readers: Vec<&Gate> = gates.iter().filter(|gate| gate.input == k).collect();
        if readers.is_empty() {
            continue;
        }
        let node = format!("ple.{l}.fused.gates_{k}");
        let mut weight = Vec::new();
        let mut bias = Vec::new();
        let mut in_width = 0;
        for gate in &readers {
            let w = g.take(&format!("{}.weight", gate.name))?;
            in_width = w.shape[1];
            weight.extend(w.to_f32());
            bias.extend(g.take(&format!("{}.bias", gate.name))?.to_f32());
        }
        let w = g.add_f32_initializer(&format!("{node}.weight"), vec![bias.len(), in_width], &weight);
        let b = g.add_f32_initializer(&format!("{node}.bias"), vec![bias.len()], &bias);
        let logits = g.node("Gemm", &node, &[input, &w, &b], vec![attr_int("transB", 1)]);
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
            let softmax = g.node("Softmax", &gate_output_name(&gate.name), &[&gate_logits], vec![attr_int("axis", -1)]);
            if expose_gates {
                g.gate_outputs.push(value_info(&softmax, DataType::FLOAT, &[Dim::Named("batch"), Dim::Fixed(width)]));
            }
            let mut select = vec![0.0f32; width * total];
            for (i, &e) in gate.experts.iter().enumerate() {
                select[i * total + e] = 1.0;
            }
            let sel = g.constant(&format!("{}.select", gate.name), f32_tensor(&[width, total], &select));
            let wide = g.node("MatMul", &format!("{}.scatter", gate.name), &[&softmax, &sel], vec![]);
            let axes = g.ints(&[1]);
            scattered
                .push((gate.name.clone(), g.node("Unsqueeze", &format!("{}.row", gate.name), &[&wide, &axes], vec![])));
        }
    }
    // Mixing order = gate order (task gates in tower order, then the shared gate).
    let mut ordered = Vec::new();
    for gate in &gates {
        if let Some((_, t)) = scattered.iter().find(|(name, _)| *name == gate.name) {
            ordered.push(t.as_str());
        }
    }
    let stacked = if ordered.len() == 1 {
        ordered[0].to_string()
    } else {
        g.node("Concat", &format!("ple.{l}.fused.gates"), &ordered, vec![attr_int("axis", 1)])
    };
    let mixed = g.node("MatMul", &format!("ple.{l}.fused.mix"), &[&stacked, &experts_beu], vec![]);
    let mut ys = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        let idx = g.scalar_i64(t as i64);
        ys.push(g.node(
            "Gather",
            &format!("{}.sum", task_gate(l, &tower.name)),
            &[&mixed, &idx],
            vec![attr_int("axis", 1)],
        ));
    }
    let next = if layer.has_shared_gate {
        let idx = g.scalar_i64(tasks as i64);
        Some(g.node("Gather", &format!("{}.sum", shared_gate(l)), &[&mixed, &idx], vec![attr_int("axis", 1)]))
    } else {
        None
    };
    Ok((ys, next))
}

/// The MLP of the single family (task experts' unless there are none).
fn experts_mlp(layer: &ExtractionLayer, task_count: usize) -> &Mlp {
    if task_count > 0 {
        &layer.task_expert
    } else {
        &layer.shared_expert
    }
}
