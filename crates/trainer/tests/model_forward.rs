//! The model's forward pass vs the independent reference in `common/reference.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::reference::{self, Sample};
use common::{assert_close, named, to_vec, FORWARD_TOL};
use plec_spec::artifact::names::{self, leaf};
use plec_spec::testing::{
    build, dense, id, layer, mlp_layer as layer_with, plain_layer, tower, FeatureDef, Head, LayerDef,
};
use plec_spec::{Activation, ModelSpec, Norm, Pooling};
use plec_trainer::model::{EncodedFeature, ModelInput};
use plec_trainer::PleModel;
use tch::{Device, Kind, Tensor};

fn features() -> Vec<FeatureDef> {
    let tags = id("tags", 7, 3).multi(Pooling::Mean).table("user_emb");
    let items = id("items", 5, 3).multi(Pooling::Sum);
    let shops = id("shops", 6, 2).weighted();
    vec![id("user", 7, 3), tags, items, shops, dense("price", 2, 0.0)]
}

/// Layer 1 banks all experts together (equal MLPs, BatchNorm); layer 2 has different task/shared MLPs (LayerNorm).
fn layers() -> Vec<LayerDef> {
    let bn = vec![layer_with(6, Norm::Batch, Activation::Relu), plain_layer(4)];
    let task2 = vec![layer_with(5, Norm::Layer, Activation::Gelu), layer_with(4, Norm::None, Activation::Tanh)];
    let shared2 = vec![
        layer_with(6, Norm::None, Activation::Silu),
        layer_with(4, Norm::None, Activation::LeakyRelu { negative_slope: 0.2 }),
    ];
    vec![
        layer("layer1", 2, 1, &[]).expert_layers(bn),
        layer("layer2", 1, 2, &[]).expert_layers(task2).shared_layers(shared2),
    ]
}

fn two_tower_spec() -> ModelSpec {
    let tower_mlp = vec![layer_with(3, Norm::None, Activation::Elu { alpha: 0.7 })];
    let towers = [
        tower("ctr", &[], Head::Binary).label("clk").layers(tower_mlp.clone()),
        tower("cvr", &[], Head::Binary).label("buy").layers(tower_mlp),
    ];
    build(&features(), &layers(), &towers)
}

fn mixed_tower_spec() -> ModelSpec {
    let towers = [
        tower("ctr", &[3], Head::Binary).label("clk"),
        tower("cls", &[], Head::Softmax(3)).label("kind"),
        tower("two", &[], Head::Softmax(2)).label("pair"),
        tower("price", &[2], Head::Regression).label("price_label"),
    ];
    build(&features(), &layers(), &towers)
}

fn samples() -> Vec<Sample> {
    let s = |user: u64, tags: Vec<u64>, items: Vec<u64>, shops: &[(u64, f64)], price: [f64; 2]| Sample {
        ids: vec![vec![user], tags, items, shops.iter().map(|p| p.0).collect(), vec![]],
        weights: vec![vec![], vec![], vec![], shops.iter().map(|p| p.1).collect(), vec![]],
        dense: vec![vec![], vec![], vec![], vec![], price.to_vec()],
    };
    vec![
        s(0, vec![1, 2, 2], vec![4], &[(5, 0.5), (1, 2.0)], [0.5, -1.0]),
        s(6, vec![], vec![0, 1, 2], &[], [2.0, 0.25]),
        s(3, vec![5], vec![], &[(3, -1.25)], [-0.5, 0.0]),
        s(2, vec![0, 6], vec![3, 3], &[(0, 0.0), (0, 3.0), (2, 1e-3)], [1.5, 1.0]),
        s(6, vec![3, 4, 5, 6], vec![1], &[(4, 1.0)], [0.0, -2.0]),
    ]
}

fn encoded_features(spec: &ModelSpec, samples: &[Sample]) -> Vec<EncodedFeature> {
    spec.features
        .iter()
        .enumerate()
        .map(|(f, feature)| match &feature.encoding {
            plec_spec::Encoding::Embedding { table, multi, .. } => {
                let mut indices = Vec::new();
                let mut offsets = Vec::new();
                let mut weights = Vec::new();
                for s in samples {
                    offsets.push(indices.len() as i64);
                    indices.extend(s.ids[f].iter().map(|&i| i as i64));
                    weights.extend(s.weights[f].iter().map(|&w| w as f32));
                }
                offsets.push(indices.len() as i64);
                let pooling = multi.as_ref().map_or(Pooling::Sum, |m| m.pooling);
                let weights = feature.is_weighted().then_some(weights);
                EncodedFeature::Ids { table: *table, indices, offsets, pooling, weights }
            }
            plec_spec::Encoding::Dense { value_dim, .. } => EncodedFeature::Dense {
                width: *value_dim,
                values: samples.iter().flat_map(|s| s.dense[f].iter().map(|&v| v as f32)).collect(),
            },
        })
        .collect()
}

/// Gives norm scales/shifts and running statistics non-trivial values so that they matter.
fn perturb_norms(model: &PleModel) {
    let mut values = BTreeMap::new();
    for (name, t) in model.named_tensors() {
        let v = if name.contains(".bn.") || name.contains(".ln.") {
            let r = Tensor::rand(t.size(), (Kind::Float, Device::Cpu));
            if name.ends_with("running_var") || name.ends_with(".weight") {
                r + 0.5
            } else {
                r - 0.5
            }
        } else {
            t.detach().copy()
        };
        values.insert(name, v);
    }
    model.load_named(&values, "test").expect("load perturbed norms");
}

fn check_outputs(spec: &ModelSpec, train: bool) {
    tch::manual_seed(7);
    let model = PleModel::new(spec, Device::Cpu).expect("model");
    perturb_norms(&model);
    let samples = samples();
    let params = named(&model);
    let expected = reference::forward(spec, &params, &samples, train);
    let input = ModelInput::build(spec, samples.len(), &encoded_features(spec, &samples), Device::Cpu).expect("input");
    let forward = model.forward(&input, train).expect("forward");
    let outputs = model.outputs(&forward.logits).expect("outputs");
    assert_eq!(outputs.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (name, want) in &expected {
        let flat: Vec<f64> = want.iter().flatten().copied().collect();
        assert_close(&to_vec(&outputs[name]), &flat, FORWARD_TOL, name);
    }
}

#[test]
fn eval_forward_matches_reference_with_banked_towers() {
    check_outputs(&two_tower_spec(), false);
}

#[test]
fn eval_forward_matches_reference_with_mixed_towers() {
    check_outputs(&mixed_tower_spec(), false);
}

/// MMoE with BatchNorm experts and gate MLPs; DBMTL with a bottom MLP, an MMoE and relation towers (one reading a
/// tower that has a relation itself), and DBMTL without an MMoE.
fn family_specs() -> Vec<ModelSpec> {
    use plec_spec::testing::{dbmtl, mmoe, mmoe_module, relation};
    let towers = [tower("ctr", &[3], Head::Binary).label("clk"), tower("cvr", &[], Head::Binary).label("buy")];
    let three = [
        tower("ctr", &[3], Head::Binary).label("clk"),
        tower("cvr", &[2], Head::Binary).label("buy"),
        tower("two", &[], Head::Softmax(2)).label("pair"),
    ];
    let relations = [relation("cvr", &["ctr"], &[4]), relation("two", &["cvr", "ctr"], &[3])];
    vec![
        mmoe(&features(), mmoe_module(3, &[6, 4], Some(&[5])).norm(Norm::Batch), &towers),
        dbmtl(&features(), Some(&[7]), Some(mmoe_module(2, &[5], Some(&[4]))), &three, &relations),
        dbmtl(&features(), Some(&[6]), None, &three, &relations[..1]),
    ]
}

#[test]
fn mmoe_and_dbmtl_forward_matches_reference() {
    for spec in family_specs() {
        check_outputs(&spec, false);
        check_outputs(&spec, true);
    }
}

#[test]
fn mmoe_and_dbmtl_parameters_are_named_exactly_as_the_spec() {
    for spec in family_specs() {
        let model = PleModel::new(&spec, Device::Cpu).expect("model");
        let mine: Vec<String> = model.named_tensors().into_keys().collect();
        let want: std::collections::BTreeSet<String> = spec.params().into_iter().map(|p| p.name).collect();
        assert_eq!(mine, want.into_iter().collect::<Vec<_>>());
    }
}

#[test]
fn train_forward_uses_batch_statistics() {
    check_outputs(&two_tower_spec(), true);
    check_outputs(&mixed_tower_spec(), true);
}

#[test]
fn batchnorm_running_statistics_update_with_momentum() {
    let spec = two_tower_spec();
    tch::manual_seed(3);
    let model = PleModel::new(&spec, Device::Cpu).expect("model");
    let samples = samples();
    let before = named(&model);
    let input =
        ModelInput::build(&spec, samples.len(), &encoded_features(&spec, &samples), Device::Cpu).expect("input");
    model.forward(&input, true).expect("forward");
    let after = named(&model);
    let prefix = "ple.layer1.shared.expert_0.fc_0";
    let pre_bn: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| reference::linear(&before, prefix, &reference::group_input(&spec, &before, s)))
        .collect();
    let n = pre_bn.len() as f64;
    let mean: Vec<f64> = (0..6).map(|u| pre_bn.iter().map(|r| r[u]).sum::<f64>() / n).collect();
    let var: Vec<f64> =
        (0..6).map(|u| pre_bn.iter().map(|r| (r[u] - mean[u]).powi(2)).sum::<f64>() / (n - 1.0)).collect();
    let rm = &before[&names::param(prefix, leaf::BN_RUNNING_MEAN)].1;
    let rv = &before[&names::param(prefix, leaf::BN_RUNNING_VAR)].1;
    let want_mean: Vec<f64> = rm.iter().zip(&mean).map(|(r, m)| 0.9 * r + 0.1 * m).collect();
    let want_var: Vec<f64> = rv.iter().zip(&var).map(|(r, v)| 0.9 * r + 0.1 * v).collect();
    assert_close(&after[&names::param(prefix, leaf::BN_RUNNING_MEAN)].1, &want_mean, FORWARD_TOL, "running_mean");
    assert_close(&after[&names::param(prefix, leaf::BN_RUNNING_VAR)].1, &want_var, FORWARD_TOL, "running_var");
}

#[test]
fn parameters_are_named_exactly_as_the_spec() {
    let spec = mixed_tower_spec();
    let model = PleModel::new(&spec, Device::Cpu).expect("model");
    let mine: BTreeMap<String, Vec<i64>> = model.named_tensors().into_iter().map(|(n, t)| (n, t.size())).collect();
    let want: BTreeMap<String, Vec<i64>> =
        spec.params().into_iter().map(|p| (p.name, p.shape.iter().map(|&d| d as i64).collect())).collect();
    assert_eq!(mine, want);
}

#[test]
fn bad_ids_are_reported_with_feature_and_row() {
    let spec = two_tower_spec();
    let mut samples = samples();
    samples[3].ids[2] = vec![3, 9];
    let Err(err) = ModelInput::build(&spec, samples.len(), &encoded_features(&spec, &samples), Device::Cpu) else {
        panic!("an out-of-range id was accepted");
    };
    assert_eq!(err.to_string(), "bad input: feature `items`, row 3: table row 9 is outside 0..5");
}
