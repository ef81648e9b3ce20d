//! Reference PLE forward pass (semantics sections 1-5) over named parameters, one sample at a time.

use plec_spec::artifact::names::{self, leaf};
use plec_spec::{Activation, Encoding, Mlp, ModelSpec, Norm, OutputKind, Pooling};

use super::Named;

/// One sample's feature values: ids per feature (empty for dense features), the ids' weights (weighted features
/// only; empty otherwise) and dense values.
pub struct Sample {
    pub ids: Vec<Vec<u64>>,
    pub weights: Vec<Vec<f64>>,
    pub dense: Vec<Vec<f64>>,
}

pub fn get<'a>(p: &'a Named, name: &str) -> &'a [f64] {
    &p.get(name).unwrap_or_else(|| panic!("reference: no parameter {name}")).1
}

pub fn linear(p: &Named, prefix: &str, x: &[f64]) -> Vec<f64> {
    let w = get(p, &names::weight(prefix));
    let out = w.len() / x.len();
    let bias = p.get(&names::bias(prefix)).map(|b| b.1.clone());
    (0..out)
        .map(|o| {
            let dot: f64 = (0..x.len()).map(|i| w[o * x.len() + i] * x[i]).sum();
            dot + bias.as_ref().map_or(0.0, |b| b[o])
        })
        .collect()
}

fn act(a: Activation, v: f64) -> f64 {
    match a {
        Activation::Identity => v,
        Activation::Relu => v.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        Activation::Tanh => v.tanh(),
        Activation::Gelu => 0.5 * v * (1.0 + erf(v / 2f64.sqrt())),
        Activation::Silu => v / (1.0 + (-v).exp()),
        Activation::LeakyRelu { negative_slope } => {
            if v > 0.0 {
                v
            } else {
                v * negative_slope as f64
            }
        }
        Activation::Elu { alpha } => {
            if v > 0.0 {
                v
            } else {
                alpha as f64 * (v.exp() - 1.0)
            }
        }
    }
}

/// erf by Abramowitz-Stegun 7.1.26 is too coarse; use a series/continued fraction good to ~1e-12.
fn erf(x: f64) -> f64 {
    // Taylor series for |x| < 3, asymptotic complement beyond.
    if x.abs() < 3.0 {
        let mut sum = x;
        let mut term = x;
        let x2 = x * x;
        for n in 1..200 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        x.signum()
    }
}

/// MLP over a whole batch (BatchNorm needs batch statistics in training).
pub fn mlp(p: &Named, module: &str, spec: &Mlp, xs: &[Vec<f64>], train: bool) -> Vec<Vec<f64>> {
    let mut h: Vec<Vec<f64>> = xs.to_vec();
    for (j, layer) in spec.layers.iter().enumerate() {
        let prefix = names::fc(module, j);
        let mut y: Vec<Vec<f64>> = h.iter().map(|x| linear(p, &prefix, x)).collect();
        match layer.norm {
            Norm::None => {}
            Norm::Batch => {
                let (w, b) =
                    (get(p, &names::param(&prefix, leaf::BN_WEIGHT)), get(p, &names::param(&prefix, leaf::BN_BIAS)));
                for u in 0..layer.units {
                    let (mean, var) = if train {
                        let n = y.len() as f64;
                        let mean = y.iter().map(|r| r[u]).sum::<f64>() / n;
                        (mean, y.iter().map(|r| (r[u] - mean).powi(2)).sum::<f64>() / n)
                    } else {
                        (
                            get(p, &names::param(&prefix, leaf::BN_RUNNING_MEAN))[u],
                            get(p, &names::param(&prefix, leaf::BN_RUNNING_VAR))[u],
                        )
                    };
                    for r in y.iter_mut() {
                        r[u] = (r[u] - mean) / (var + 1e-5).sqrt() * w[u] + b[u];
                    }
                }
            }
            Norm::Layer => {
                let (w, b) =
                    (get(p, &names::param(&prefix, leaf::LN_WEIGHT)), get(p, &names::param(&prefix, leaf::LN_BIAS)));
                for r in y.iter_mut() {
                    let n = r.len() as f64;
                    let mean = r.iter().sum::<f64>() / n;
                    let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                    for (u, v) in r.iter_mut().enumerate() {
                        *v = (*v - mean) / (var + 1e-5).sqrt() * w[u] + b[u];
                    }
                }
            }
        }
        for r in y.iter_mut() {
            for v in r.iter_mut() {
                *v = act(layer.activation, *v);
            }
        }
        h = y;
    }
    h
}

pub fn softmax(v: &[f64]) -> Vec<f64> {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

pub fn group_input(spec: &ModelSpec, p: &Named, sample: &Sample) -> Vec<f64> {
    let mut out = Vec::new();
    for (f, feature) in spec.features.iter().enumerate() {
        match &feature.encoding {
            Encoding::Embedding { table, multi, .. } => {
                let t = &spec.tables[*table];
                let w = get(p, &t.param_name());
                let mut acc = vec![0.0; t.dim];
                let weighted = multi.as_ref().is_some_and(|m| m.weighted);
                for (i, &row) in sample.ids[f].iter().enumerate() {
                    let scale = if weighted { sample.weights[f][i] } else { 1.0 };
                    for d in 0..t.dim {
                        acc[d] += scale * w[row as usize * t.dim + d];
                    }
                }
                let mean = multi.as_ref().is_some_and(|m| m.pooling == Pooling::Mean);
                if mean && !sample.ids[f].is_empty() {
                    let n = sample.ids[f].len() as f64;
                    acc.iter_mut().for_each(|v| *v /= n);
                }
                out.extend(acc);
            }
            Encoding::Dense { .. } => out.extend(&sample.dense[f]),
        }
    }
    out
}

/// Named outputs (section 5) per sample: output name -> one vector per sample.
pub fn forward(
    spec: &ModelSpec,
    p: &Named,
    samples: &[Sample],
    train: bool,
) -> std::collections::BTreeMap<String, Vec<Vec<f64>>> {
    let input: Vec<Vec<f64>> = samples.iter().map(|s| group_input(spec, p, s)).collect();
    forward_from(spec, p, input, train)
}

/// [`forward`] from the group inputs themselves (features, then any sequence encoders' outputs).
pub fn forward_from(
    spec: &ModelSpec,
    p: &Named,
    input: Vec<Vec<f64>>,
    train: bool,
) -> std::collections::BTreeMap<String, Vec<Vec<f64>>> {
    let tasks = spec.towers.len();
    // DBMTL: `net = self.bottom_mlp(net)` before the MMoE.
    let input = match &spec.bottom_mlp {
        Some(bottom) => mlp(p, names::BOTTOM_MLP, bottom, &input, train),
        None => input,
    };
    let mut xs: Vec<Vec<Vec<f64>>> = vec![input.clone(); tasks];
    let mut shared = input;
    for layer in &spec.layers {
        // experts[e] = per-sample outputs, in order [task 0..., task T-1..., shared...].
        let mut experts = Vec::new();
        for (t, tower) in spec.towers.iter().enumerate() {
            for e in 0..layer.experts_per_task {
                experts.push(mlp(p, &layer.task_expert_module(&tower.name, e), &layer.task_expert, &xs[t], train));
            }
        }
        for e in 0..layer.shared_experts {
            experts.push(mlp(p, &layer.shared_expert_module(e), &layer.shared_expert, &shared, train));
        }
        let mix = |sel: &[usize], gate_prefix: &str, inputs: &[Vec<f64>]| -> Vec<Vec<f64>> {
            // MMoE: `gate = self.gate_mlps[i](input)` before `gate_finals[i]`.
            let gate_inputs = match &layer.gate_mlp {
                Some(gate_mlp) if gate_prefix != layer.shared_gate_module() => {
                    mlp(p, gate_prefix, gate_mlp, inputs, train)
                }
                _ => inputs.to_vec(),
            };
            gate_inputs
                .iter()
                .enumerate()
                .map(|(b, x)| {
                    let g = softmax(&linear(p, gate_prefix, x));
                    let width = experts[sel[0]][b].len();
                    (0..width).map(|d| sel.iter().zip(&g).map(|(&e, gv)| gv * experts[e][b][d]).sum()).collect()
                })
                .collect()
        };
        let shared_ids: Vec<usize> = (tasks * layer.experts_per_task..experts.len()).collect();
        let mut next = Vec::new();
        for (t, tower) in spec.towers.iter().enumerate() {
            let mut sel: Vec<usize> = (t * layer.experts_per_task..(t + 1) * layer.experts_per_task).collect();
            sel.extend(&shared_ids);
            next.push(mix(&sel, &layer.task_gate_module(&tower.name), &xs[t]));
        }
        if layer.has_shared_gate {
            let all: Vec<usize> = (0..experts.len()).collect();
            shared = mix(&all, &layer.shared_gate_module(), &shared);
        }
        xs = next;
    }
    let mut out = std::collections::BTreeMap::new();
    // DBMTL: `relation_net[t] = relation_mlps[t](cat([task_net[t]] + [relation_net[r] for r in relations]))`.
    let mut relation_net: Vec<Vec<Vec<f64>>> = Vec::new();
    for (t, tower) in spec.towers.iter().enumerate() {
        let task_net = match &tower.mlp {
            Some(m) => mlp(p, &names::tower(&tower.name), m, &xs[t], train),
            None => xs[t].clone(),
        };
        let hidden = match &tower.relation {
            Some(relation) => {
                let joined: Vec<Vec<f64>> = (0..task_net.len())
                    .map(|b| {
                        let mut row = task_net[b].clone();
                        for &r in &relation.towers {
                            row.extend(&relation_net[r][b]);
                        }
                        row
                    })
                    .collect();
                mlp(p, &names::relation(&tower.name), &relation.mlp, &joined, train)
            }
            None => task_net,
        };
        relation_net.push(hidden.clone());
        let logits: Vec<Vec<f64>> = hidden.iter().map(|h| linear(p, &names::tower_output(&tower.name), h)).collect();
        for output in &tower.outputs {
            let values = logits
                .iter()
                .map(|l| match (output.kind, tower.num_class) {
                    (OutputKind::Logits, _) | (OutputKind::Regression, _) => l.clone(),
                    (OutputKind::Probs, 1) => vec![1.0 / (1.0 + (-l[0]).exp())],
                    (OutputKind::Probs, _) => softmax(l),
                    (OutputKind::Probs1, _) => vec![softmax(l)[1]],
                })
                .collect();
            out.insert(output.name.clone(), values);
        }
    }
    out
}
