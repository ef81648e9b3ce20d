//! Activation ranges for static int8 (`crate::static_int8`): the smallest and largest value each calibrated
//! tensor took over the calibration rows, observed on the float32 model (`crate::calibration_model` adds the
//! tensors as outputs; the `plec` binary runs it over the rows).

use std::collections::BTreeMap;

use crate::error::CompileError;

/// The range one tensor took: `lo <= 0 <= hi` always holds (zero must be exact in a quantized tensor: ReLU
/// zeros, and the padding of absent features).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivationRange {
    pub lo: f32,
    pub hi: f32,
}

// Ranges are finite (`Calibration::observe` refuses anything else), so `==` is an equivalence.
impl Eq for ActivationRange {}

impl ActivationRange {
    /// uint8 scale and zero point covering `[lo, hi]`, as ONNX Runtime's `DynamicQuantizeLinear` chooses them
    /// for a batch with that range: `scale = (hi - lo) / 255`, `zero_point = round(-lo / scale)` (an all-zero
    /// tensor gets scale 1).
    pub fn uint8(&self) -> (f32, u8) {
        let span = self.hi - self.lo;
        if span <= 0.0 {
            return (1.0, 0);
        }
        let scale = span / 255.0;
        (scale, (-self.lo / scale).round().clamp(0.0, 255.0) as u8)
    }
}

/// The observed range of every tensor static int8 quantizes, by tensor name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calibration {
    ranges: BTreeMap<String, ActivationRange>,
    rows: usize,
}

impl Calibration {
    /// Widens `tensor`'s range by `values` (one batch of it); `rows`: the batch's rows, counted once per batch
    /// by the caller through [`Calibration::add_rows`].
    pub fn observe(&mut self, tensor: &str, values: &[f32]) -> Result<(), CompileError> {
        let range = self.ranges.entry(tensor.to_string()).or_insert(ActivationRange { lo: 0.0, hi: 0.0 });
        for (i, &v) in values.iter().enumerate() {
            if !v.is_finite() {
                return Err(CompileError::Quantize {
                    tensor: tensor.to_string(),
                    message: format!("calibration value {i} of a batch is {v}; only finite values can be calibrated"),
                });
            }
            range.lo = range.lo.min(v);
            range.hi = range.hi.max(v);
        }
        Ok(())
    }

    pub fn add_rows(&mut self, rows: usize) {
        self.rows += rows;
    }

    /// Rows the ranges were observed on.
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn range(&self, tensor: &str) -> Option<ActivationRange> {
        self.ranges.get(tensor).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_always_hold_zero_and_give_dynamic_quantize_linears_parameters() {
        let mut c = Calibration::default();
        c.observe("r", &[0.5, 2.55]).unwrap();
        c.observe("x", &[-1.0, 0.5]).unwrap();
        c.observe("x", &[3.0]).unwrap();
        c.add_rows(3);
        assert_eq!(c.range("r"), Some(ActivationRange { lo: 0.0, hi: 2.55 }));
        assert_eq!(c.range("x"), Some(ActivationRange { lo: -1.0, hi: 3.0 }));
        // 2.55 / 255 = 0.01, zero point 0; 4 / 255, zero point round(1 / (4 / 255)) = round(63.75) = 64.
        assert_eq!(c.range("r").unwrap().uint8(), (2.55 / 255.0, 0));
        assert_eq!(c.range("x").unwrap().uint8(), (4.0 / 255.0, 64));
        assert_eq!(ActivationRange { lo: 0.0, hi: 0.0 }.uint8(), (1.0, 0));
        assert_eq!(c.rows(), 3);
        let err = c.observe("y", &[1.0, f32::INFINITY]).unwrap_err().to_string();
        assert!(err.contains("`y`") && err.contains("value 1 of a batch is inf"), "{err}");
    }
}
