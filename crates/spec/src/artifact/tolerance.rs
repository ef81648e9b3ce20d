//! The one place where plec says how close two computations of the same model must be.
//!
//! The trainer (libtorch), the compiled graph (ONNX Runtime, any layout) and other-language clients
//! compute the same float32 function with different summation orders, GEMM blockings and fused kernels (BatchNorm
//! folded into the Gemm, batched expert MatMuls). Each Linear adds a relative rounding error around
//! sqrt(k) * 2^-24 for a k-long dot product; through ~10 stacked layers of width up to 1024 that stays below
//! ~1e-5 relative on logits. Probabilities are squashed into [0, 1], where an absolute bound is the natural one.
//! The bounds below leave about 10x headroom over what the test suite observes, and stay far below any difference
//! that matters to a ranking (a swapped expert or a corrupted weight moves outputs by 1e-3 or more; see the
//! fault-injection tests).

use crate::artifact::precision::Precision;
use crate::OutputKind;

/// |got - expected| <= atol + rtol * |expected|.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub atol: f32,
    pub rtol: f32,
}

impl Tolerance {
    /// Trained model (libtorch) vs compiled model (ONNX Runtime), per output kind.
    pub fn for_output(kind: OutputKind) -> Tolerance {
        match kind {
            OutputKind::Probs | OutputKind::Probs1 => Tolerance { atol: 1e-5, rtol: 0.0 },
            OutputKind::Logits | OutputKind::Regression => Tolerance { atol: 1e-4, rtol: 1e-4 },
        }
    }

    /// Trained model (float32) vs a model compiled at `precision`, per output kind.
    pub fn for_output_at(kind: OutputKind, precision: Precision) -> Tolerance {
        match precision {
            Precision::Float32 => Tolerance::for_output(kind),
            Precision::Int8 => Tolerance::int8_output(kind),
        }
    }

    /// Trained model (float32) vs its `--precision int8` compilation (see [`INT8_PROBS_ATOL`]).
    pub fn int8_output(kind: OutputKind) -> Tolerance {
        match kind {
            OutputKind::Probs | OutputKind::Probs1 => Tolerance { atol: INT8_PROBS_ATOL, rtol: 0.0 },
            OutputKind::Logits | OutputKind::Regression => Tolerance { atol: INT8_LOGITS_ATOL, rtol: INT8_LOGITS_RTOL },
        }
    }

    /// A gate's softmax (`plec predict --expose-gates`) against another computation of it, and the sum of a gate's
    /// softmax against 1: probabilities over experts, bounded as [`OutputKind::Probs`] are.
    pub const GATE_SOFTMAX: Tolerance = Tolerance { atol: 1e-5, rtol: 0.0 };

    /// Explicit vs fused layout of the same compiled model: the bound on probabilities.
    pub const LAYOUTS_PROBS: Tolerance = Tolerance { atol: 1e-6, rtol: 0.0 };

    /// Two copies of one task trained side by side (`crates/trainer/tests/task_symmetry.rs`): the largest
    /// difference between a task-2 parameter and its task-1 copy, relative to how far training moved the
    /// parameters. The two copies compute the same float32 function, but libtorch may give them different kernel
    /// paths (SIMD remainders, which expert lands in which vector lane), so their reductions round differently: a
    /// k-term float32 sum differs between two orders by at most 2 * k * 2^-24 of the sum of its absolute terms.
    /// The test's longest reduction is over the 32-row batch (weight gradients), so one step's gradients differ
    /// by at most ~4e-6 relative; Adam passes a relative gradient error on to the update about one to one, and
    /// five steps add at most five of them. 1e-3 leaves 50x headroom over that, and is 50x below what a real
    /// asymmetry gives (a task-2 gate mixing task 1's experts drifts its tensors by 0.058 to 2 times the distance
    /// moved; a task trained on other labels, more).
    pub const TASK_COPY_DRIFT: f64 = 1e-3;

    pub fn allowed(&self, expected: f32) -> f32 {
        self.atol + self.rtol * expected.abs()
    }
}

// int8 (`plec compile --precision int8`) against the trainer's float32 outputs. Quantization errors are not
// rounding noise: each embedding value moves by up to 1/254 of its row's largest value, each int8 weight by up to
// 1/254 of its output channel's largest weight, and each quantized activation by up to 1/510 of its batch's range
// (one scale per tensor). They are independent across the terms of a dot product, so they partly cancel, but a
// group input of many features sums many of them. Measured on 2026-11-30 (golden sets: eval rows and edge cases),
// the largest differences were
//   - census PLE (trained, 1,200 steps; 310 rows; all its tables int8 with `--int8-min-table-elements 0`, its
//     64-wide layers float): 2.8e-3 on probabilities, 1.5e-2 on logits;
//   - the example config (trained, 24 steps; 359 rows; defaults: its large tables and wide expert layers int8):
//     2.3e-4 and 1.1e-2;
//   - the golden suite's random-weight cases: up to 4e-5 and 2.9e-3.
// The bounds leave 3.5x headroom over the worst of these on probabilities and about 4x on logits (with the
// relative part). They catch a broken lowering (a wrong table, transform or scale moves probabilities by 1e-1
// and more; see `tests/int8_cli.rs`), not a small accuracy loss: that is what `plec compile --eval-data`
// measures, as an AUC difference on real rows. A 1e-3 corruption that the float32 bounds catch can pass these;
// compiling at float32 checks the wiring at float32 precision.

// With the 7-bit dense weights that replaced 8-bit ones afterwards (no saturation on CPUs without VNNI), the
// example config's golden set moved by 1.9e-4 (default) and 1.0e-3 (every layer int8) on probabilities: the bounds
// keep their headroom.

// Static int8 (calibration data given: calibrated activation scales, every ReLU output written as uint8) keeps
// these bounds. Its activation step is 1/255 of the calibrated range instead of 1/255 of the
// batch's, and values past the range saturate: golden rows outside the calibration rows (edge cases) can clip.
// Measured on 2026-12-07: the example config (trained, 48 steps; 359 golden rows; calibrated on 65,536 training
// rows) moved by 3.3e-4 on probabilities and 1.9e-2 on logits (dynamic int8: 3.2e-4 and 1.8e-2); the golden suite's
// static cases (calibrated on their golden rows) stay within the bounds too (`tests/golden_suite.rs`). 30x headroom
// on probabilities, 2.6x on logits before the relative part.
// With the experts' last outputs also written as uint8 (issue 24, fourth attempt), the same model and rows moved
// by 4.2e-4 on probabilities and 2.5e-2 on logits: 24x and 2x headroom.

/// int8 vs float32, probabilities (absolute).
pub const INT8_PROBS_ATOL: f32 = 1e-2;
/// int8 vs float32, logits and regression outputs: absolute part.
pub const INT8_LOGITS_ATOL: f32 = 5e-2;
/// int8 vs float32, logits and regression outputs: relative part.
pub const INT8_LOGITS_RTOL: f32 = 1e-2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tolerance_follows_the_precision() {
        for kind in [OutputKind::Probs, OutputKind::Probs1, OutputKind::Logits, OutputKind::Regression] {
            assert_eq!(Tolerance::for_output_at(kind, Precision::Float32), Tolerance::for_output(kind));
        }
        let probs = Tolerance::for_output_at(OutputKind::Probs, Precision::Int8);
        assert_eq!(probs, Tolerance { atol: 1e-2, rtol: 0.0 });
        let logits = Tolerance::for_output_at(OutputKind::Logits, Precision::Int8);
        // 5e-2 + 1e-2 * |-3|
        assert!((logits.allowed(-3.0) - 0.08).abs() < 1e-7);
    }
}
