//! Training throughput on in-memory synthetic batches (no file I/O): `train_bench CONFIG [--batch N] [--steps N]
//! [--warmup N] [--threads N] [--repeats N]`. Prints one JSON line per repeat and a summary line with the median.
//! Sequence groups get uniform query ids and sequences of lengths uniform in `0..=sequence_length`, as
//! `torch_bench.py --model taobao_ple_has_sequence` draws them.
//! The PyTorch counterpart is `bench/torch_bench.py`; `bench/run.sh` runs both side by side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use plec_data::{EncodedFeature, EncodedSequence, EncodedSequenceGroup, SequenceValues};
use plec_spec::{Encoding, Feature, ModelSpec, Pooling, SequenceEncoding};
use plec_trainer::data::Batch;
use plec_trainer::model::{ModelInput, Targets};
use plec_trainer::optim::{DenseOpt, SparseOpt};
use plec_trainer::train::{set_up_torch, train_step};
use plec_trainer::PleModel;
use tch::Device;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift64: deterministic and dependency-free; statistical quality does not matter here.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f32 {
        (self.next() % 1000) as f32 / 1000.0
    }
}

/// Uniform ids (one per row) or uniform dense values for each of `features`.
fn features(spec: &ModelSpec, features: &[Feature], rows: usize, rng: &mut Rng) -> Vec<EncodedFeature> {
    features
        .iter()
        .map(|f| match &f.encoding {
            Encoding::Embedding { table, .. } => {
                let n = spec.tables[*table].rows;
                EncodedFeature::Ids {
                    table: *table,
                    indices: (0..rows).map(|_| (rng.next() % n) as i64).collect(),
                    offsets: (0..=rows as i64).collect(),
                    pooling: Pooling::Sum,
                    weights: None,
                }
            }
            Encoding::Dense { value_dim, .. } => {
                EncodedFeature::Dense { width: *value_dim, values: (0..rows * value_dim).map(|_| rng.unit()).collect() }
            }
        })
        .collect()
}

/// Deterministic synthetic batch: uniform ids per feature and per sequence position, sequence lengths uniform in
/// `0..=sequence_length` (shared by a group's sequences, as the trainer requires), labels with a little signal.
fn batch(spec: &ModelSpec, rows: usize, seed: u64) -> Batch {
    let mut rng = Rng::new(seed);
    let encoded = features(spec, &spec.features, rows, &mut rng);
    let sequence_groups: Vec<EncodedSequenceGroup> = spec
        .sequence_groups
        .iter()
        .map(|group| {
            let query = features(spec, &group.query, rows, &mut rng);
            // The group's first sequence feature sets the length, as in the data path (semantics 2b).
            let longest = group.sequence.first().map_or(0, |s| s.max_length) as u64;
            let lengths: Vec<u32> = (0..rows).map(|_| (rng.next() % (longest + 1)) as u32).collect();
            let total: usize = lengths.iter().map(|&l| l as usize).sum();
            let sequence = group
                .sequence
                .iter()
                .map(|s| EncodedSequence {
                    lengths: lengths.clone(),
                    values: match &s.encoding {
                        SequenceEncoding::Embedding { table, .. } => {
                            let n = spec.tables[*table].rows;
                            SequenceValues::Rows {
                                table: *table,
                                rows: (0..total).map(|_| (rng.next() % n) as i64).collect(),
                            }
                        }
                        SequenceEncoding::Dense { .. } => {
                            SequenceValues::Dense((0..total).map(|_| rng.unit()).collect())
                        }
                    },
                })
                .collect();
            EncodedSequenceGroup { query, sequence }
        })
        .collect();
    let input = ModelInput::build_with_sequences(spec, rows, &encoded, &sequence_groups, Device::Cpu).expect("input");
    let mut columns = std::collections::BTreeMap::new();
    for tower in &spec.towers {
        columns.insert(
            tower.label.clone(),
            (0..rows).map(|_| rng.next().is_multiple_of(10) as u8 as f32).collect::<Vec<f32>>(),
        );
    }
    let targets = Targets::build(rows, &columns, Device::Cpu).expect("targets");
    Batch { input, targets, groups: Default::default(), rows }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(config) = args.get(1) else {
        eprintln!("usage: train_bench CONFIG [--batch N] [--steps N] [--warmup N] [--threads N] [--repeats N]");
        std::process::exit(2);
    };
    let spec = plec_config::load_file(config).expect("config").spec;
    let rows = arg(&args, "--batch", spec.data.batch_size);
    let steps = arg(&args, "--steps", 10);
    let warmup = arg(&args, "--warmup", 3);
    let threads = arg(&args, "--threads", 2);
    let repeats = arg(&args, "--repeats", 3);
    set_up_torch(0, Some(threads));
    let model = PleModel::new(&spec, Device::Cpu).expect("model");
    let mut sparse = SparseOpt::new(spec.train.sparse_optimizer, model.tables(), &[]).expect("sparse state");
    let mut dense = DenseOpt::new(spec.train.dense_optimizer, model.dense_trainable()).expect("dense state");
    let batches: Vec<Batch> = (0..4).map(|i| batch(&spec, rows, i as u64 + 1)).collect();
    let mut step = 0u64;
    for _ in 0..warmup {
        train_step(&model, &mut sparse, &mut dense, &batches[step as usize % 4], step, &spec, Device::Cpu)
            .expect("step");
        step += 1;
    }
    let mut rates = Vec::new();
    for r in 0..repeats {
        let start = Instant::now();
        for _ in 0..steps {
            train_step(&model, &mut sparse, &mut dense, &batches[step as usize % 4], step, &spec, Device::Cpu)
                .expect("step");
            step += 1;
        }
        let rate = (steps * rows) as f64 / start.elapsed().as_secs_f64();
        println!("{{\"impl\": \"plec\", \"repeat\": {r}, \"samples_per_s\": {rate:.1}}}");
        rates.push(rate);
    }
    if args.iter().any(|a| a == "--phases") {
        phases(&model, &spec, &batches, steps);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{{\"impl\": \"plec\", \"median_samples_per_s\": {:.1}, \"batch\": {rows}, \"threads\": {threads}, \"steps\": {steps}, \"repeats\": {repeats}, \"sequence_groups\": {}}}",
        rates[rates.len() / 2],
        spec.sequence_groups.len()
    );
}

/// Seconds per step of forward, forward + loss + backward, for a rough split of where a step goes.
fn phases(model: &PleModel, spec: &ModelSpec, batches: &[Batch], steps: usize) {
    let time = |f: &dyn Fn(&Batch)| {
        let start = Instant::now();
        for i in 0..steps {
            f(&batches[i % batches.len()]);
        }
        start.elapsed().as_secs_f64() / steps as f64
    };
    let forward = time(&|b| {
        let _ = model.forward(&b.input, true).expect("forward");
    });
    let backward = time(&|b| {
        let out = model.forward(&b.input, true).expect("forward");
        let mut total: Option<tch::Tensor> = None;
        for (tower, logits) in spec.towers.iter().zip(&out.logits) {
            let l = plec_trainer::loss::tower_loss(tower, logits, &b.targets).expect("loss");
            total = Some(match total {
                Some(t) => t + l,
                None => l,
            });
        }
        if let Some(t) = total {
            t.backward();
        }
    });
    println!("{{\"forward_s\": {forward:.4}, \"forward_backward_s\": {backward:.4}}}");
}
