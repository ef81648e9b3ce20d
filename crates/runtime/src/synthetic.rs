//! Inputs generated from a signature (for `plec bench` and tests): valid ids, vocabulary strings, values around
//! the boundaries, some missing values; deterministic for a seed.

use plec_config::artifact::signature::{InputSignature, Signature, INT64_MISSING};
use plec_config::spec::{Transform, ValueType};
use plec_config::splitmix::SplitMix64;

use crate::tensor::{self, RawInputs, RawTensor};

/// Values per row of multi-valued (`[batch, len]`) inputs.
pub const MULTI_VALUE_LEN: usize = 4;
/// One value in this many is the missing value.
const MISSING_EVERY: u64 = 16;

/// SplitMix64: small, fast and good enough to spread benchmark inputs.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A batch of `batch` rows for every input of `signature`.
pub fn synthetic_inputs(signature: &Signature, batch: usize, seed: u64) -> RawInputs {
    let mut rng = Rng(SplitMix64::new(seed));
    let mut inputs = RawInputs::new();
    for input in &signature.inputs {
        inputs.insert(synthetic_tensor(input, batch, &mut rng));
    }
    inputs
}

fn synthetic_tensor(input: &InputSignature, batch: usize, rng: &mut Rng) -> RawTensor {
    let mut shape = vec![batch];
    for dim in input.shape.iter().skip(1) {
        shape.push(dim.as_u64().map_or(MULTI_VALUE_LEN, |d| d as usize));
    }
    let count: usize = shape.iter().product();
    let missing = |rng: &mut Rng| rng.below(MISSING_EVERY) == 0;
    match input.dtype {
        ValueType::Int64 => {
            let (lo, hi) = input.valid_range.map_or((0, 1_000_000), |[lo, hi]| (lo, hi));
            let span = (hi - lo).max(1) as u64;
            let values =
                (0..count).map(|_| if missing(rng) { INT64_MISSING } else { lo + rng.below(span) as i64 }).collect();
            tensor::int64(&input.name, shape, values)
        }
        ValueType::String => {
            let vocabulary: Vec<String> = match &input.transform {
                Some(Transform::VocabList(words)) => words.clone(),
                Some(Transform::VocabDict(pairs)) => pairs.iter().map(|(k, _)| k.clone()).collect(),
                _ => Vec::new(),
            };
            let values = (0..count)
                .map(|_| {
                    if missing(rng) {
                        String::new()
                    } else if vocabulary.is_empty() {
                        format!("v{}", rng.below(100_000))
                    } else {
                        // One in eight values is out of vocabulary.
                        let pick = rng.below(vocabulary.len() as u64 + vocabulary.len() as u64 / 8 + 1) as usize;
                        vocabulary.get(pick).cloned().unwrap_or_else(|| format!("oov{pick}"))
                    }
                })
                .collect();
            tensor::string(&input.name, shape, values)
        }
        ValueType::Float => {
            let (lo, hi) = match &input.transform {
                Some(Transform::Boundaries(b)) if !b.is_empty() => {
                    let (first, last) = (b[0], b[b.len() - 1]);
                    let margin = ((last - first).abs() * 0.1).max(1.0);
                    (first - margin, last + margin)
                }
                _ => (0.0, 1.0),
            };
            // Weights are never missing where their id is present (validation would refuse that): none are.
            let weights = input.weight_of.is_some();
            let values = (0..count)
                .map(|_| if !weights && missing(rng) { f32::NAN } else { lo + (hi - lo) * rng.unit() })
                .collect();
            tensor::float(&input.name, shape, values)
        }
    }
}
