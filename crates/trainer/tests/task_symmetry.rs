//! The trainer treats every task alike: a PLE whose second task is an exact copy of the first (its experts, gate and
//! tower equal to task 1's, the shared gate's rows for its experts equal to task 1's rows) and whose labels equal
//! task 1's stays a copy through training. Not bit for bit: libtorch may run the two copies through different SIMD
//! paths, so they may differ by float32 rounding, which `Tolerance::TASK_COPY_DRIFT` bounds relative to how far
//! training moved the parameters. Any asymmetry in the forward pass, the backward pass, the loss sum or the
//! optimizers (a task-2 gate wired to the wrong experts, a tower reading the wrong layer output, a loss weighted by
//! position) breaks it by far more. The control run with different labels must break it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use plec_spec::artifact::tolerance::Tolerance;
use plec_spec::testing::{build, dense, id, layer, mlp_layer, tower, Head};
use plec_spec::{Activation, MlpLayer, ModelSpec, Norm, Pooling};
use plec_trainer::data::Batch;
use plec_trainer::model::{EncodedFeature, ModelInput, Targets};
use plec_trainer::optim::{DenseOpt, SparseOpt};
use plec_trainer::train::{set_up_torch, train_step};
use plec_trainer::PleModel;
use tch::{Device, Tensor};

const ROWS: usize = 32;
const STEPS: u64 = 5;
const PER_TASK: usize = 2;

/// libtorch's seed is process-wide and the tests of this file run on parallel threads: each run holds this lock
/// from seeding to the end of training, so its initialisation does not depend on the other test.
static TORCH_SEED: Mutex<()> = Mutex::new(());

/// Tanh rather than ReLU: no unit can start dead, so every parameter gets a gradient whatever the initialisation.
fn tanh_layers(units: &[usize]) -> Vec<MlpLayer> {
    units.iter().map(|&u| mlp_layer(u, Norm::None, Activation::Tanh)).collect()
}

fn two_task_ple() -> ModelSpec {
    let layers = [
        layer("layer1", PER_TASK, 1, &[]).expert_layers(tanh_layers(&[6, 4])),
        layer("layer2", PER_TASK, 1, &[]).expert_layers(tanh_layers(&[6, 4])),
    ];
    let towers = [
        tower("t1", &[], Head::Regression).label("y1").layers(tanh_layers(&[3])),
        tower("t2", &[], Head::Regression).label("y2").layers(tanh_layers(&[3])),
    ];
    build(&[id("user", 11, 4), id("tags", 5, 4).multi(Pooling::Mean), dense("price", 1, 0.0)], &layers, &towers)
}

/// A deterministic batch; `y2` equals `y1` unless `same_labels` is false.
fn batch(spec: &ModelSpec, same_labels: bool) -> Batch {
    let users: Vec<i64> = (0..ROWS as i64).map(|r| (r * 7 + 3) % 11).collect();
    let mut tags = Vec::new();
    let mut offsets = vec![0i64];
    for r in 0..ROWS as i64 {
        for k in 0..(r % 3) {
            tags.push((r + k * 2) % 5);
        }
        offsets.push(tags.len() as i64);
    }
    let prices: Vec<f32> = (0..ROWS).map(|r| (r as f32 * 0.37).sin()).collect();
    let features = vec![
        EncodedFeature::Ids {
            table: 0,
            indices: users,
            offsets: (0..=ROWS as i64).collect(),
            pooling: Pooling::Sum,
            weights: None,
        },
        EncodedFeature::Ids { table: 1, indices: tags, offsets, pooling: Pooling::Mean, weights: None },
        EncodedFeature::Dense { width: 1, values: prices.clone() },
    ];
    let input = ModelInput::build(spec, ROWS, &features, Device::Cpu).expect("input");
    let y1: Vec<f32> = prices.iter().enumerate().map(|(r, p)| 2.0 * p + (r % 4) as f32 * 0.25).collect();
    let y2 = if same_labels { y1.clone() } else { y1.iter().map(|y| -y + 0.5).collect() };
    let columns = BTreeMap::from([("y1".to_string(), y1), ("y2".to_string(), y2)]);
    let targets = Targets::build(ROWS, &columns, Device::Cpu).expect("targets");
    Batch { input, targets, groups: BTreeMap::new(), rows: ROWS }
}

/// Task 2's parameter name -> task 1's, for every task-specific parameter.
fn task1_name(name: &str) -> Option<String> {
    let mapped = name.replace("task_t2", "task_t1").replace("gate_t2", "gate_t1").replace("tower.t2.", "tower.t1.");
    (mapped != name).then_some(mapped)
}

/// Makes task 2 a copy of task 1, including the layer-1 shared gate's rows for task 2's experts.
fn symmetrize(model: &PleModel) {
    let mut tensors = model.named_tensors();
    let copies: Vec<(String, Tensor)> = tensors
        .keys()
        .filter_map(|name| task1_name(name).map(|source| (name.clone(), tensors[&source].copy())))
        .collect();
    for (name, value) in copies {
        tensors.insert(name, value);
    }
    // The shared gate mixes [task 1's experts, task 2's experts, shared]: task 2's rows := task 1's rows.
    for suffix in ["weight", "bias"] {
        let name = format!("ple.layer1.gate_shared.{suffix}");
        let gate = tensors[&name].copy();
        let task1_rows = gate.narrow(0, 0, PER_TASK as i64);
        gate.narrow(0, PER_TASK as i64, PER_TASK as i64).copy_(&task1_rows);
        tensors.insert(name, gate);
    }
    model.load_named(&tensors, "symmetrized").expect("load");
}

/// Largest absolute difference between two tensors of one shape.
fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Each task-2 tensor (and the shared gate's task-2 rows) with its largest difference from task 1's copy.
fn drift(model: &PleModel) -> BTreeMap<String, f64> {
    let tensors = model.named_tensors();
    let mut out: BTreeMap<String, f64> = tensors
        .iter()
        .filter_map(|(name, t)| task1_name(name).map(|source| (name.clone(), max_diff(t, &tensors[&source]))))
        .collect();
    for suffix in ["weight", "bias"] {
        let gate = &tensors[&format!("ple.layer1.gate_shared.{suffix}")];
        let rows = max_diff(&gate.narrow(0, 0, PER_TASK as i64), &gate.narrow(0, PER_TASK as i64, PER_TASK as i64));
        out.insert(format!("ple.layer1.gate_shared.{suffix} rows"), rows);
    }
    out
}

/// The task-2 tensors that drifted from task 1 by more than rounding allows, given how far training moved.
fn asymmetric(drift: &BTreeMap<String, f64>, moved: f64) -> Vec<String> {
    let bound = Tolerance::TASK_COPY_DRIFT * moved;
    drift.iter().filter(|(_, d)| **d > bound).map(|(name, d)| format!("{name} ({d:.3e} > {bound:.3e})")).collect()
}

/// Trains a symmetrized model for a few steps; returns each task-2 tensor's drift from task 1 and the largest
/// distance any task-1 parameter moved.
fn train_symmetric(same_labels: bool) -> (BTreeMap<String, f64>, f64) {
    let _seeded = TORCH_SEED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    set_up_torch(3, Some(1));
    let spec = two_task_ple();
    let model = PleModel::new(&spec, Device::Cpu).expect("model");
    symmetrize(&model);
    let start = drift(&model);
    assert!(start.values().all(|d| *d == 0.0), "symmetrize left {start:?}");
    // named_tensors() shares storage with the model: copy to keep the starting values.
    let before: BTreeMap<String, Tensor> = model.named_tensors().iter().map(|(n, t)| (n.clone(), t.copy())).collect();
    let mut sparse = SparseOpt::new(spec.train.sparse_optimizer, model.tables(), &[]).expect("sparse state");
    let mut dense = DenseOpt::new(spec.train.dense_optimizer, model.dense_trainable()).expect("dense state");
    let batch = batch(&spec, same_labels);
    for step in 0..STEPS {
        train_step(&model, &mut sparse, &mut dense, &batch, step, &spec, Device::Cpu).expect("step");
    }
    let after = model.named_tensors();
    let moved = before
        .iter()
        .filter(|(name, _)| name.contains("task_t1") || name.contains("gate_t1") || name.contains("tower.t1."))
        .map(|(name, t)| max_diff(&after[name], t))
        .fold(0.0, f64::max);
    (drift(&model), moved)
}

#[test]
fn a_copied_task_trained_on_the_same_labels_stays_a_copy() {
    let (drift, moved) = train_symmetric(true);
    assert!(moved > 1e-4, "training did not move task 1's parameters ({moved})");
    let asymmetric = asymmetric(&drift, moved);
    assert!(asymmetric.is_empty(), "task 2 drifted from task 1 in {asymmetric:?}");
}

#[test]
fn different_labels_break_the_symmetry() {
    let (drift, moved) = train_symmetric(false);
    let asymmetric = asymmetric(&drift, moved);
    for expected in ["tower.t2.output.weight", "ple.layer2.gate_t2.weight", "ple.layer1.task_t2.expert_0.fc_0.weight"] {
        assert!(
            asymmetric.iter().any(|n| n.starts_with(&format!("{expected} "))),
            "{expected} should differ: {asymmetric:?}"
        );
    }
}
