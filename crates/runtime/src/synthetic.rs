//! Inputs generated from a signature (for `plec bench` and tests): valid ids, vocabulary strings, values around
//! the boundaries, some missing values; deterministic for a seed. Sequence inputs hold valid positions joined by
//! their delimiter, 0 to `max_length` of them; the sequences of one group have equal lengths in every row.

use plec_spec::artifact::signature::{InputSignature, SequenceSignature, Signature, INT64_MISSING};
use plec_spec::splitmix::SplitMix64;
use plec_spec::{Transform, ValueType};

use crate::tensor::{self, RawData, RawInputs, RawTensor};

/// Values per row of multi-valued (`[batch, len]`) inputs.
pub const MULTI_VALUE_LEN: usize = 4;
/// One value in this many is the missing value.
const MISSING_EVERY: u64 = 16;
/// Positions per row, at most, of sequence inputs that keep every position (`max_length` 0).
pub const SEQUENCE_LEN: usize = 8;
/// Mixed into the seed of the sequence lengths: one stream per batch, shared by every sequence input.
const LENGTH_STREAM: u64 = 0x5E0_1E46;

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
        let tensor = match &input.sequence {
            Some(sequence) => synthetic_sequence(input, sequence, batch, seed, &mut rng),
            None => synthetic_tensor(input, batch, &mut rng),
        };
        inputs.insert(tensor);
    }
    inputs
}

/// `[batch]` strings of valid positions. Row lengths come from their own stream, drawn the same way for every
/// sequence input with the same `max_length` (the sequences of one group share it), so a group's features agree.
fn synthetic_sequence(
    input: &InputSignature,
    sequence: &SequenceSignature,
    batch: usize,
    seed: u64,
    rng: &mut Rng,
) -> RawTensor {
    let max = if sequence.max_length == 0 { SEQUENCE_LEN } else { sequence.max_length };
    let mut lengths = Rng(SplitMix64::new(seed ^ LENGTH_STREAM));
    let valid_lo = input.valid_range.map_or(0, |[lo, _]| lo);
    let element =
        InputSignature { shape: vec!["batch".into()], sequence: None, dtype: sequence.element, ..input.clone() };
    let values = (0..batch)
        .map(|_| {
            let n = lengths.below(max as u64 + 1) as usize;
            let positions = synthetic_tensor(&element, n, rng);
            // Every position valid: an empty one would make a one-position row an empty sequence.
            let texts: Vec<String> = match positions.data {
                RawData::Int64(v) => v.iter().map(|&id| id.max(valid_lo).to_string()).collect(),
                RawData::Float(v) => v.iter().map(|x| if x.is_nan() { "0".into() } else { x.to_string() }).collect(),
                RawData::String(v) => v
                    .into_iter()
                    .map(|t| if t.is_empty() { "v0".into() } else { t.replace(sequence.delimiter.as_str(), "_") })
                    .collect(),
            };
            texts.join(&sequence.delimiter)
        })
        .collect();
    tensor::string(&input.name, vec![batch], values)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use plec_spec::testing::catalog;

    #[test]
    fn sequence_inputs_hold_valid_positions_of_equal_lengths_per_group() {
        let (_, spec) = catalog().into_iter().find(|(name, _)| *name == "sequences").unwrap();
        let signature = spec.signature();
        let inputs = synthetic_inputs(&signature, 64, 9);
        let again = synthetic_inputs(&signature, 64, 9);
        for name in ["clicks__item_id", "clicks__cate", "clicks__price", "views"] {
            assert_eq!(inputs.get(name), again.get(name), "deterministic");
        }
        let cells = |name: &str| match &inputs.get(name).unwrap().data {
            RawData::String(v) => v.clone(),
            other => panic!("{name}: {other:?}"),
        };
        let positions = |name: &str| -> Vec<Vec<String>> {
            cells(name)
                .iter()
                .map(|c| if c.is_empty() { Vec::new() } else { c.split('|').map(String::from).collect() })
                .collect()
        };
        let lengths = |name: &str| positions(name).iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(inputs.get("clicks__item_id").unwrap().shape, vec![64]);
        assert_eq!(lengths("clicks__item_id"), lengths("clicks__cate"));
        assert_eq!(lengths("clicks__item_id"), lengths("clicks__price"));
        assert!(lengths("views").iter().all(|&n| n <= 8) && lengths("views").contains(&0));
        for id in positions("clicks__item_id").concat() {
            assert!((0..30).contains(&id.parse::<i64>().unwrap()), "{id}");
        }
        for price in positions("clicks__price").concat() {
            assert!(price.parse::<f32>().unwrap().is_finite(), "{price}");
        }
        assert!(positions("clicks__cate").concat().iter().all(|t| !t.is_empty()));
    }
}
