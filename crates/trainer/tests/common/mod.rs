//! Shared test helpers: an independent plain-Rust (f64, loops) PLE forward pass that reads the parameters by their
//! `plec_spec::artifact::names` names, and tolerances.

#![allow(dead_code)]

pub mod reference;
pub mod sequence_reference;

use std::collections::BTreeMap;

use tch::Tensor;

/// Tolerance for f32 model values vs the f64 reference.
pub const FORWARD_TOL: f64 = 1e-4;
/// Tolerance for one optimizer step vs hand-derived values.
pub const STEP_TOL: f64 = 1e-6;

pub type Named = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

pub fn to_vec(t: &Tensor) -> Vec<f64> {
    let t = t.to_kind(tch::Kind::Double).contiguous().view([-1]);
    Vec::<f64>::try_from(&t).expect("tensor to vec")
}

pub fn named(model: &plec_trainer::PleModel) -> Named {
    model
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, (t.size().iter().map(|&d| d as usize).collect(), to_vec(&t))))
        .collect()
}

pub fn assert_close(actual: &[f64], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol * (1.0 + e.abs()), "{what}[{i}]: got {a}, expected {e}");
    }
}
