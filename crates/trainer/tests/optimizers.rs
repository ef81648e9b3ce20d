//! One or two optimizer steps vs updates derived by hand (f64) from the PyTorch / fbgemm formulas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_close, to_vec, STEP_TOL};
use plec_spec::{DenseOptimizer, GradClipping, SparseOptimizer};
use plec_trainer::optim::{clip::clip, DenseOpt, SparseOpt};
use tch::{Device, Kind, Tensor};

const TABLE: [f64; 6] = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];
/// Gradients of rows 0 and 2 (row 1 is untouched by the batch).
const G0: [f64; 2] = [0.5, -1.0];
const G2: [f64; 2] = [2.0, 0.25];
const LR: f64 = 0.1;

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Runs `steps` identical sparse steps on a 3x2 table touching rows 0 and 2; returns the table.
fn sparse_steps(kind: SparseOptimizer, steps: usize) -> Vec<f64> {
    let table = Tensor::from_slice(&f32s(&TABLE)).reshape([3, 2]);
    let mut opt = SparseOpt::new(kind, std::slice::from_ref(&table), &["t".into()]).expect("state");
    let ids = Tensor::from_slice(&[0i64, 2]);
    let grad = Tensor::from_slice(&f32s(&[G0, G2].concat())).reshape([2, 2]);
    for _ in 0..steps {
        let values = table.index_select(0, &ids);
        opt.step(
            std::slice::from_ref(&table),
            std::slice::from_ref(&ids),
            &[values],
            &[Some(grad.shallow_clone())],
            LR,
        )
        .expect("step");
    }
    to_vec(&table)
}

/// Expected table after applying `update(w, g, step)` per element of rows 0 and 2 (row 1 unchanged).
fn expect_rows(mut update: impl FnMut(usize, &[f64], &[f64]) -> Vec<f64>) -> Vec<f64> {
    let mut out = TABLE.to_vec();
    for (row, g) in [(0usize, G0), (2, G2)] {
        let w = &TABLE[row * 2..row * 2 + 2];
        out.splice(row * 2..row * 2 + 2, update(row, w, &g));
    }
    out
}

#[test]
fn sparse_sgd_updates_only_touched_rows() {
    let got = sparse_steps(SparseOptimizer::Sgd { lr: 0.1 }, 1);
    let want = expect_rows(|_, w, g| w.iter().zip(g).map(|(w, g)| w - LR * g).collect());
    assert_close(&got, &want, STEP_TOL, "sgd");
    assert_eq!(&got[2..4], &f32s(&TABLE[2..4]).iter().map(|&v| v as f64).collect::<Vec<_>>()[..]);
}

#[test]
fn sparse_adagrad_two_steps() {
    let got = sparse_steps(SparseOptimizer::Adagrad { lr: 0.1, initial_accumulator_value: 0.5 }, 2);
    let want = expect_rows(|_, w, g| {
        w.iter()
            .zip(g)
            .map(|(&w, &g)| {
                let acc1 = 0.5 + g * g;
                let w1 = w - LR * g / (acc1.sqrt() + 1e-8);
                let acc2 = acc1 + g * g;
                w1 - LR * g / (acc2.sqrt() + 1e-8)
            })
            .collect()
    });
    assert_close(&got, &want, STEP_TOL, "adagrad");
}

#[test]
fn sparse_rowwise_adagrad_uses_one_accumulator_per_row() {
    let got = sparse_steps(SparseOptimizer::RowwiseAdagrad { lr: 0.1, weight_decay: 0.0 }, 1);
    let want = expect_rows(|_, w, g| {
        let acc = (g[0] * g[0] + g[1] * g[1]) / 2.0;
        w.iter().zip(g).map(|(w, g)| w - LR * g / (acc.sqrt() + 1e-8)).collect()
    });
    assert_close(&got, &want, STEP_TOL, "rowwise adagrad");
}

#[test]
fn sparse_adam_two_steps_with_decoupled_weight_decay() {
    let (b1, b2, wd) = (0.9, 0.99, 0.01);
    let got = sparse_steps(SparseOptimizer::Adam { lr: 0.1, beta1: 0.9, beta2: 0.99, weight_decay: 0.01 }, 2);
    let want = expect_rows(|_, w, g| {
        w.iter()
            .zip(g)
            .map(|(&w, &g)| {
                let (mut m, mut v, mut w) = (0.0, 0.0, w);
                for t in 1..=2 {
                    m = b1 * m + (1.0 - b1) * g;
                    v = b2 * v + (1.0 - b2) * g * g;
                    let (mh, vh) = (m / (1.0 - f64::powi(b1, t)), v / (1.0 - f64::powi(b2, t)));
                    w -= LR * (mh / (vh.sqrt() + 1e-8) + wd * w);
                }
                w
            })
            .collect()
    });
    assert_close(&got, &want, STEP_TOL, "sparse adam");
}

const P0: [f64; 3] = [0.5, -0.25, 1.0];
const GRADS: [[f64; 3]; 2] = [[0.1, -0.2, 0.3], [-0.4, 0.5, 0.05]];

/// Two dense steps with the gradients `GRADS`; returns the parameter.
fn dense_steps(kind: DenseOptimizer) -> Vec<f64> {
    let p = Tensor::from_slice(&f32s(&P0)).set_requires_grad(true);
    let mut opt = DenseOpt::new(kind, vec![p.shallow_clone()]).expect("state");
    for g in GRADS {
        opt.zero_grad().expect("zero_grad");
        (&p * Tensor::from_slice(&f32s(&g))).sum(Kind::Float).backward();
        opt.step(LR).expect("step");
    }
    to_vec(&p)
}

fn per_element(mut f: impl FnMut(f64, [f64; 2]) -> f64) -> Vec<f64> {
    (0..3).map(|i| f(P0[i], [GRADS[0][i], GRADS[1][i]])).collect()
}

#[test]
fn dense_adam_with_l2_weight_decay() {
    let kind = DenseOptimizer::Adam { lr: 0.1, beta1: 0.9, beta2: 0.999, weight_decay: 0.1, eps: 1e-8, amsgrad: false };
    let want = per_element(|mut p, gs| {
        let (mut m, mut v) = (0.0, 0.0);
        for (t, g) in gs.iter().enumerate() {
            let t = t as i32 + 1;
            let g = g + 0.1 * p;
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            let denom = v.sqrt() / (1.0 - 0.999f64.powi(t)).sqrt() + 1e-8;
            p -= LR / (1.0 - 0.9f64.powi(t)) * m / denom;
        }
        p
    });
    assert_close(&dense_steps(kind), &want, STEP_TOL, "adam");
}

#[test]
fn dense_adamw_with_amsgrad() {
    let kind = DenseOptimizer::AdamW { lr: 0.1, beta1: 0.9, beta2: 0.999, weight_decay: 0.1, eps: 1e-8, amsgrad: true };
    let want = per_element(|mut p, gs| {
        let (mut m, mut v, mut vmax) = (0.0f64, 0.0f64, 0.0f64);
        for (t, g) in gs.iter().enumerate() {
            let t = t as i32 + 1;
            p *= 1.0 - LR * 0.1;
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            vmax = vmax.max(v);
            let denom = vmax.sqrt() / (1.0 - 0.999f64.powi(t)).sqrt() + 1e-8;
            p -= LR / (1.0 - 0.9f64.powi(t)) * m / denom;
        }
        p
    });
    assert_close(&dense_steps(kind), &want, STEP_TOL, "adamw amsgrad");
}

#[test]
fn dense_adagrad_with_weight_decay() {
    let kind = DenseOptimizer::Adagrad { lr: 0.1, weight_decay: 0.05, initial_accumulator_value: 0.1, eps: 1e-10 };
    let want = per_element(|mut p, gs| {
        let mut sum = 0.1;
        for g in gs {
            let g = g + 0.05 * p;
            sum += g * g;
            p -= LR * g / (sum.sqrt() + 1e-10);
        }
        p
    });
    assert_close(&dense_steps(kind), &want, STEP_TOL, "adagrad");
}

#[test]
fn dense_sgd_with_nesterov_momentum_and_dampening() {
    let kind = DenseOptimizer::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.01, dampening: 0.0, nesterov: true };
    let want = per_element(|mut p, gs| {
        let mut buf = 0.0;
        for (t, g) in gs.iter().enumerate() {
            let g = g + 0.01 * p;
            buf = if t == 0 { g } else { 0.9 * buf + g };
            p -= LR * (g + 0.9 * buf);
        }
        p
    });
    assert_close(&dense_steps(kind), &want, STEP_TOL, "sgd nesterov");
    let damped = DenseOptimizer::Sgd { lr: 0.1, momentum: 0.5, weight_decay: 0.0, dampening: 0.3, nesterov: false };
    let want = per_element(|mut p, gs| {
        let mut buf = 0.0;
        for (t, g) in gs.iter().enumerate() {
            buf = if t == 0 { *g } else { 0.5 * buf + 0.7 * g };
            p -= LR * buf;
        }
        p
    });
    assert_close(&dense_steps(damped), &want, STEP_TOL, "sgd dampening");
}

#[test]
fn gradient_clipping_by_global_norm_and_by_value() {
    let a = Tensor::from_slice(&[1.0f32, 2.0]).set_requires_grad(true);
    let b = Tensor::from_slice(&[2.0f32]).set_requires_grad(true);
    let grads = |a: &Tensor, b: &Tensor| {
        (a * Tensor::from_slice(&[3.0f32, 0.0])).sum(Kind::Float).backward();
        (b * Tensor::from_slice(&[4.0f32])).sum(Kind::Float).backward();
    };
    grads(&a, &b);
    clip(&[a.shallow_clone(), b.shallow_clone()], &GradClipping::Norm { max_gradient: 1.0, norm_type: 2.0 })
        .expect("clip");
    let scale = 1.0 / (5.0 + 1e-6);
    assert_close(&to_vec(&a.grad()), &[3.0 * scale, 0.0], STEP_TOL, "norm-clipped a");
    assert_close(&to_vec(&b.grad()), &[4.0 * scale], STEP_TOL, "norm-clipped b");
    let c = Tensor::from_slice(&[1.0f32, 1.0]).set_requires_grad(true);
    (&c * Tensor::from_slice(&[-3.0f32, 0.5])).sum(Kind::Float).backward();
    clip(std::slice::from_ref(&c), &GradClipping::Value { max_gradient: 1.0 }).expect("clip");
    assert_close(&to_vec(&c.grad()), &[-1.0, 0.5], STEP_TOL, "value-clipped");
    let _ = Device::Cpu;
}
