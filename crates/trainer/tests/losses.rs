//! Losses and weights (section 6) vs formulas evaluated by hand in f64.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::STEP_TOL;
use plec_spec::testing::head_tower;
use plec_spec::{Loss, LossWeighting, TaskSpace, Tower};
use plec_trainer::loss::tower_loss;
use plec_trainer::model::Targets;
use tch::{Device, Tensor};

const LOGITS: [f64; 4] = [0.5, -1.0, 2.0, 0.0];
const LABELS: [f32; 4] = [1.0, 0.0, 1.0, 0.0];

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// BCE of logit z against (possibly soft) label y.
fn bce(z: f64, y: f64) -> f64 {
    -(y * sigmoid(z).ln() + (1.0 - y) * (1.0 - sigmoid(z)).ln())
}

fn targets(extra: &[(&str, Vec<f32>)]) -> Targets {
    let mut columns: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    columns.insert("clk".into(), LABELS.to_vec());
    for (name, values) in extra {
        columns.insert(name.to_string(), values.clone());
    }
    Targets::build(4, &columns, Device::Cpu).expect("targets")
}

fn loss_of(t: &Tower, logits: Tensor, targets: &Targets) -> f64 {
    tower_loss(t, &logits, targets).expect("loss").double_value(&[])
}

fn binary_logits() -> Tensor {
    Tensor::from_slice(&LOGITS.map(|v| v as f32)).reshape([4, 1])
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= STEP_TOL * (1.0 + b.abs()), "got {a}, expected {b}");
}

fn per_sample(f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    LOGITS.iter().zip(LABELS).map(|(&z, y)| f(z, y as f64)).collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn binary_cross_entropy_with_and_without_label_smoothing() {
    let plain = head_tower("ctr", "clk", 4, Loss::BinaryCrossEntropy { label_smoothing: 0.0 }, 1);
    close(loss_of(&plain, binary_logits(), &targets(&[])), mean(&per_sample(bce)));
    let smooth = head_tower("ctr", "clk", 4, Loss::BinaryCrossEntropy { label_smoothing: 0.2 }, 1);
    let want = mean(&per_sample(|z, y| bce(z, y * 0.8 + 0.1)));
    close(loss_of(&smooth, binary_logits(), &targets(&[])), want);
}

#[test]
fn focal_loss_weights_bce_by_detached_focal_terms() {
    let t = head_tower("ctr", "clk", 4, Loss::BinaryFocal { gamma: 2.0, alpha: 0.25 }, 1);
    let want = mean(&per_sample(|z, y| {
        let p = sigmoid(z);
        let w = 0.25 * y * (1.0 - p).powi(2) + 0.75 * (1.0 - y) * p.powi(2);
        w * bce(z, y)
    }));
    close(loss_of(&t, binary_logits(), &targets(&[])), want);
}

#[test]
fn softmax_cross_entropy_with_label_smoothing() {
    let logits = [[1.0f64, 0.0, -1.0], [0.5, 2.0, 0.0], [0.0, 0.0, 3.0], [-1.0, 1.0, 1.0]];
    let labels = [0.0f32, 1.0, 2.0, 0.0];
    let t = head_tower("kind", "clk", 4, Loss::SoftmaxCrossEntropy { label_smoothing: 0.1 }, 3);
    let mut columns = BTreeMap::new();
    columns.insert("clk".to_string(), labels.to_vec());
    let targets = Targets::build(4, &columns, Device::Cpu).expect("targets");
    let flat: Vec<f32> = logits.iter().flatten().map(|&v| v as f32).collect();
    let got = loss_of(&t, Tensor::from_slice(&flat).reshape([4, 3]), &targets);
    let want = mean(
        &logits
            .iter()
            .zip(labels)
            .map(|(l, y)| {
                let lse = l.iter().map(|v| v.exp()).sum::<f64>().ln();
                let nll: Vec<f64> = l.iter().map(|v| lse - v).collect();
                0.9 * nll[y as usize] + 0.1 * mean(&nll)
            })
            .collect::<Vec<_>>(),
    );
    close(got, want);
}

#[test]
fn softmax_label_outside_the_classes_is_reported_with_its_row() {
    let t = head_tower("kind", "clk", 4, Loss::SoftmaxCrossEntropy { label_smoothing: 0.0 }, 3);
    let mut columns = BTreeMap::new();
    columns.insert("clk".to_string(), vec![0.0, 1.0, 3.0, 0.5]);
    let targets = Targets::build(4, &columns, Device::Cpu).expect("targets");
    let err = tower_loss(&t, &Tensor::zeros([4, 3], (tch::Kind::Float, Device::Cpu)), &targets).expect_err("error");
    assert_eq!(err.to_string(), "bad input: label `clk` row 2 of the batch is 3: expected a class id in 0..3");
}

#[test]
fn l2_loss_is_mean_squared_error() {
    let t = head_tower("price", "clk", 4, Loss::L2, 1);
    close(loss_of(&t, binary_logits(), &targets(&[])), mean(&per_sample(|z, y| (z - y).powi(2))));
}

fn weighted(weighting: LossWeighting) -> Tower {
    let mut t = head_tower("ctr", "clk", 4, Loss::BinaryCrossEntropy { label_smoothing: 0.0 }, 1);
    t.weighting = Some(weighting);
    t
}

#[test]
fn sample_weights_are_normalised_by_their_mean_then_scaled_by_weight() {
    let t = weighted(LossWeighting { sample_weight: Some("w".into()), task_space: None, weight: 2.0 });
    let w = [1.0, 2.0, 3.0, 2.0];
    let losses = per_sample(bce);
    let want = mean(&losses.iter().zip(w).map(|(l, w)| l * w / 2.0 * 2.0).collect::<Vec<_>>());
    close(loss_of(&t, binary_logits(), &targets(&[("w", w.map(|v| v as f32).to_vec())])), want);
}

#[test]
fn task_space_weights_only_matter_as_a_ratio() {
    let space = |in_weight, out_weight| {
        weighted(LossWeighting {
            sample_weight: None,
            task_space: Some(TaskSpace { indicator_label: "ind".into(), in_weight, out_weight }),
            weight: 1.0,
        })
    };
    let ind = ("ind", vec![1.0, 0.0, 1.0, 1.0]);
    let a = loss_of(&space(10.0, 1.0), binary_logits(), &targets(std::slice::from_ref(&ind)));
    let b = loss_of(&space(1.0, 0.1), binary_logits(), &targets(&[ind]));
    close(a, b);
    // By hand: w = [10, 1, 10, 10] / 7.75.
    let w = [10.0, 1.0, 10.0, 10.0];
    let want = mean(&per_sample(bce).iter().zip(w).map(|(l, w)| l * w / 7.75).collect::<Vec<_>>());
    close(a, want);
}

#[test]
fn all_zero_weights_give_zero_not_nan() {
    let t = weighted(LossWeighting { sample_weight: Some("w".into()), task_space: None, weight: 1.0 });
    let got = loss_of(&t, binary_logits(), &targets(&[("w", vec![0.0; 4])]));
    assert_eq!(got, 0.0);
    let out_only = weighted(LossWeighting {
        sample_weight: None,
        task_space: Some(TaskSpace { indicator_label: "ind".into(), in_weight: 1.0, out_weight: 0.0 }),
        weight: 1.0,
    });
    assert_eq!(loss_of(&out_only, binary_logits(), &targets(&[("ind", vec![0.0; 4])])), 0.0);
}

#[test]
fn a_missing_weight_column_is_named() {
    let t = weighted(LossWeighting { sample_weight: Some("weight_col".into()), task_space: None, weight: 1.0 });
    let err = tower_loss(&t, &binary_logits(), &targets(&[])).expect_err("error");
    assert_eq!(err.to_string(), "bad input: the batch has no column `weight_col`");
}

/// TorchEasyRec's `JRCLoss` written out as it computes it (mean over the positives of each positive's cross entropy
/// against its session's negatives, times the positives' share, plus the same for the negatives), in f64.
fn jrc_by_hand(logits: &[[f64; 2]], labels: &[usize], sessions: &[i64], alpha: f64) -> f64 {
    let n = labels.len() as f64;
    let cross_entropy = |l: &[f64; 2], y: usize| (l[0].exp() + l[1].exp()).ln() - l[y];
    let ce = logits.iter().zip(labels).map(|(l, &y)| cross_entropy(l, y)).sum::<f64>() / n;
    let mut competition = 0.0;
    for class in [1, 0] {
        let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        let mut sum = 0.0;
        for &i in &rows {
            // i itself and the samples of its session with the other label, scored with the logit of `class`.
            let rivals = (0..labels.len()).filter(|&j| j == i || (sessions[j] == sessions[i] && labels[j] != class));
            let lse = rivals.map(|j| logits[j][class].exp()).sum::<f64>().ln();
            sum += lse - logits[i][class];
        }
        if !rows.is_empty() {
            competition += sum / rows.len() as f64 * rows.len() as f64 / n;
        }
    }
    alpha * ce + (1.0 - alpha) * competition
}

fn jrc_tower(alpha: f32) -> Tower {
    head_tower("ctr", "clk", 4, Loss::Jrc { alpha, session_feature: "user".into() }, 2)
}

fn jrc_targets(labels: &[usize], sessions: &[i64]) -> Targets {
    let mut columns = BTreeMap::new();
    columns.insert("clk".to_string(), labels.iter().map(|&y| y as f32).collect());
    let mut session_ids = BTreeMap::new();
    session_ids.insert("user".to_string(), sessions.to_vec());
    Targets::build(labels.len(), &columns, Device::Cpu)
        .and_then(|t| t.with_sessions(labels.len(), &session_ids, Device::Cpu))
        .expect("targets")
}

#[test]
fn jrc_loss_is_torcheasyrecs_session_competition() {
    let logits = [[0.2, 1.0], [1.5, -0.5], [0.0, 0.3], [-1.0, 2.0], [0.7, 0.1], [0.4, -0.2], [2.0, 0.5]];
    let labels = [1, 0, 0, 1, 1, 0, 0];
    // Two sessions of three and one session of a single negative (it competes only with itself).
    let sessions = [7, 7, 9, 9, 7, 9, 4];
    let flat: Vec<f32> = logits.iter().flatten().map(|&v| v as f32).collect();
    let tensor = || Tensor::from_slice(&flat).reshape([7, 2]);
    let targets = jrc_targets(&labels, &sessions);
    // What TorchEasyRec's own `tzrec/loss/jrc_loss.py` (commit 54cac316, torch 2.13.0) returned for these rows.
    for (alpha, torcheasyrec) in [(0.5, 0.36076343059539795), (0.2, 0.3134477436542511)] {
        let got = loss_of(&jrc_tower(alpha), tensor(), &targets);
        close(got, jrc_by_hand(&logits, &labels, &sessions, alpha as f64));
        close(got, torcheasyrec);
    }
    // One session for all: every positive competes with every negative, so the loss changes.
    let merged = loss_of(&jrc_tower(0.5), tensor(), &jrc_targets(&labels, &[1; 7]));
    close(merged, jrc_by_hand(&logits, &labels, &[1; 7], 0.5));
    close(merged, 0.7046194076538086);
    assert!((merged - jrc_by_hand(&logits, &labels, &sessions, 0.5)).abs() > 1e-3);
}

#[test]
fn jrc_loss_without_its_session_ids_is_an_error_naming_the_feature() {
    let mut columns = BTreeMap::new();
    columns.insert("clk".to_string(), vec![0.0, 1.0, 1.0, 0.0]);
    let targets = Targets::build(4, &columns, Device::Cpu).expect("targets");
    let err = tower_loss(&jrc_tower(0.5), &Tensor::zeros([4, 2], (tch::Kind::Float, Device::Cpu)), &targets)
        .expect_err("error");
    assert!(err.to_string().contains("no session ids of feature `user`"), "{err}");
}

/// A batch of one class: TorchEasyRec's mean-reduced `JRCLoss` is NaN there (the mean over no positives), which
/// would end training; plec's per-sample form gives the mean of TorchEasyRec's own per-sample (`reduction="none"`)
/// values instead.
#[test]
fn jrc_loss_on_a_batch_without_positives_is_finite() {
    let logits = [[0.2, 1.0], [1.5, -0.5], [0.0, 0.3]];
    let (labels, sessions) = ([0, 0, 0], [1, 1, 2]);
    let flat: Vec<f32> = logits.iter().flatten().map(|&v| v as f32).collect();
    let got = loss_of(&jrc_tower(0.5), Tensor::from_slice(&flat).reshape([3, 2]), &jrc_targets(&labels, &sessions));
    close(got, jrc_by_hand(&logits, &labels, &sessions, 0.5));
    // The mean of `JRCLoss(reduction="none")` of tzrec/loss/jrc_loss.py on these rows.
    close(got, 0.358730673789978);
}
