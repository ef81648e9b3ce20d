//! `plec datagen schema`: rows with the columns any config reads (its features, labels and sample weights), with
//! a signal a model can learn. For configs without a generator of their own, such as TorchEasyRec's benchmark
//! configs (`taobao_ccp/ple.config` and its weighted `id:weight` features).
//!
//! Each feature draws a key per value: a Zipf-skewed rank over at most [`MAX_KEYS`] keys (so ids repeat and their
//! embeddings can learn), written as the transform expects (an id scattered over `num_buckets`, `k<rank>` text for
//! hashes, a vocabulary word, a price across the boundaries, a normal dense value). Multi-valued and weighted
//! features hold 0 to 4 values (weights in [0.1, 2]); about 5% of single values are missing. Every key has a fixed
//! random effect, shared between tasks for 60% of its variance; a task's logit is the scaled sum over the row's
//! values (weighted by their weights), and its label is a Bernoulli draw of the logit's sigmoid (binary towers,
//! about 20% positive), the class its sigmoid falls in (softmax towers) or the logit plus noise (regression).
//! Sequence groups add their query features not among the group's (without an effect of their own) and their
//! sequence columns, whose signal [`schema_sequences`](super::schema_sequences) describes.

use std::path::{Path, PathBuf};

use super::rng::{hash_normal, mix64, Rng, Zipf};
pub use super::schema_keys::MAX_KEYS;
use super::schema_keys::{key_text, transform_keys, ZIPF_EXPONENT};
use super::schema_sequences::SequencePlan;
use super::write::{write_in_chunks, Chunk, SplitOptions};
use crate::encoded::DENSE_SEPARATOR;
use crate::{Column, DataError, StringColumn};
use plec_spec::{Encoding, Feature, Loss, ModelSpec};

const MISSING_RATE: f64 = 0.05;
const MAX_BAG: u64 = 4;
/// Share of a key's effect variance common to all tasks.
const SHARED_SHARE: f64 = 0.6;
/// Standard deviation of the logit the features add up to, and the offset that puts binary labels near 20%.
const LOGIT_SD: f64 = 1.5;
const BINARY_OFFSET: f64 = -1.6;
const REGRESSION_NOISE_SD: f64 = 0.1;
const CHUNK_ROWS: usize = 16 * 1024;
const TRAIN_STREAM: u64 = 21;
const EVAL_STREAM: u64 = 22;
const TAG_SHARED: u64 = 300;
const TAG_TASK: u64 = 400;
const TAG_DENSE: u64 = 500;

/// Rows, seed and format of the train and eval files.
pub type SchemaOptions = SplitOptions;

/// Rows and positive labels per binary tower of one written file.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaSummary {
    pub path: PathBuf,
    pub rows: u64,
    /// (tower label, rows labelled 1) for binary towers.
    pub positives: Vec<(String, u64)>,
}

/// Writes `train.<ext>` and (unless `eval_rows` is 0) `eval.<ext>` into `dir`.
pub fn write_schema(spec: &ModelSpec, options: &SchemaOptions, dir: &Path) -> Result<Vec<SchemaSummary>, DataError> {
    let generator = Generator::new(spec, options.seed);
    let mut summaries = Vec::new();
    for (name, rows, stream) in [("train", options.rows, TRAIN_STREAM), ("eval", options.eval_rows, EVAL_STREAM)] {
        if rows == 0 && name == "eval" {
            continue;
        }
        let path = dir.join(format!("{name}.{}", options.format.extension()));
        let mut rng = Rng::new(mix64(options.seed ^ stream));
        let mut positives: Vec<(String, u64)> = generator.binary_labels().map(|l| (l.to_string(), 0)).collect();
        let count = |chunk: &Chunk| {
            for (label, count) in &mut positives {
                if let Some((_, Column::Int64(values))) = chunk.iter().find(|(n, _)| n == label) {
                    *count += values.iter().filter(|v| **v == Some(1)).count() as u64;
                }
            }
        };
        let make = |size| generator.chunk(&mut rng, size);
        let rows = write_in_chunks(&path, options.format, rows, CHUNK_ROWS, make, count)?;
        summaries.push(SchemaSummary { path, rows, positives });
    }
    Ok(summaries)
}

/// One value of a cell: its key, its weight (1 unless weighted) and, for dense features, the value itself.
struct Drawn {
    key: u64,
    weight: f64,
    dense: Option<f64>,
}

/// How a tower's label is drawn from its logit.
enum LabelKind {
    Binary,
    Classes(usize),
    Regression,
}

struct Generator<'a> {
    spec: &'a ModelSpec,
    seed: u64,
    /// The group's features, then sequence groups' query features not among them (one column each).
    plain: Vec<&'a Feature>,
    sequences: Vec<SequencePlan>,
    /// Per plain feature: key ranks; and the scale that makes the logit's spread about `LOGIT_SD`.
    zipf: Vec<Zipf>,
    scale: f64,
    towers: Vec<(String, LabelKind)>,
    /// `label_fields` no tower reads (e.g. task-space indicators): random 0 / 1.
    other_labels: Vec<String>,
    sample_weights: Vec<String>,
}

impl<'a> Generator<'a> {
    fn new(spec: &'a ModelSpec, seed: u64) -> Generator<'a> {
        let mut plain: Vec<&Feature> = spec.features.iter().collect();
        for query in spec.sequence_groups.iter().flat_map(|g| &g.query) {
            if !plain.iter().any(|f| f.name == query.name) {
                plain.push(query);
            }
        }
        let zipf = plain.iter().map(|f| Zipf::new(keys(f), ZIPF_EXPONENT)).collect();
        let sequences = spec
            .sequence_groups
            .iter()
            .enumerate()
            .map(|(g, group)| SequencePlan::new(group, g, &plain, seed))
            .collect();
        // Each feature and sequence group adds about one unit of variance (a bag of about 2 values, weights near 1,
        // adds a little more).
        let effects = spec.features.len() + spec.sequence_groups.len();
        let scale = LOGIT_SD / (effects.max(1) as f64).sqrt();
        let mut towers = Vec::new();
        for tower in &spec.towers {
            let kind = match tower.losses.first() {
                Some(Loss::SoftmaxCrossEntropy { .. } | Loss::Jrc { .. }) => LabelKind::Classes(tower.num_class.max(2)),
                Some(Loss::L2) => LabelKind::Regression,
                _ => LabelKind::Binary,
            };
            if !towers.iter().any(|(l, _)| l == &tower.label) {
                towers.push((tower.label.clone(), kind));
            }
        }
        let other_labels =
            spec.data.label_fields.iter().filter(|l| !towers.iter().any(|(t, _)| t == *l)).cloned().collect();
        let mut sample_weights = spec.data.sample_weight_fields.clone();
        for tower in &spec.towers {
            if let Some(name) = tower.weighting.as_ref().and_then(|w| w.sample_weight.as_ref()) {
                if !sample_weights.contains(name) {
                    sample_weights.push(name.clone());
                }
            }
        }
        Generator { spec, seed, plain, sequences, zipf, scale, towers, other_labels, sample_weights }
    }

    fn binary_labels(&self) -> impl Iterator<Item = &str> {
        self.towers.iter().filter(|(_, k)| matches!(k, LabelKind::Binary)).map(|(l, _)| l.as_str())
    }

    /// The effect of key `key` of feature `f` on task `t`.
    fn effect(&self, f: usize, t: usize, key: u64) -> f64 {
        let shared = hash_normal(self.seed, TAG_SHARED + f as u64, key);
        let own = hash_normal(self.seed, TAG_TASK + (f * 64 + t) as u64, key);
        SHARED_SHARE.sqrt() * shared + (1.0 - SHARED_SHARE).sqrt() * own
    }

    fn chunk(&self, rng: &mut Rng, rows: usize) -> Chunk {
        let tasks = self.towers.len();
        let mut logits = vec![0.0f64; rows * tasks];
        let mut chunk = Chunk::new();
        // Per plain feature and row: the first key drawn, which sequences pair with.
        let mut first_keys = vec![vec![None; rows]; self.plain.len()];
        for (f, feature) in self.plain.iter().enumerate() {
            // Query features outside the group reach the model only through the encoders.
            let direct = f < self.spec.features.len();
            let mut column = StringColumn::with_capacity(rows, rows * 8);
            for row in 0..rows {
                let (text, values) = self.cell(rng, f, feature);
                first_keys[f][row] = values.first().map(|v| v.key);
                for Drawn { key, weight, dense } in values.into_iter().filter(|_| direct) {
                    for t in 0..tasks {
                        let effect = match dense {
                            Some(x) => x * hash_normal(self.seed, TAG_DENSE + (f * 64 + t) as u64, key),
                            None => self.effect(f, t, key),
                        };
                        logits[row * tasks + t] += self.scale * weight * effect;
                    }
                }
                column.push(text.as_deref());
            }
            chunk.push((feature.name.clone(), Column::Utf8(column)));
        }
        for plan in &self.sequences {
            let mut columns: Vec<StringColumn> =
                plan.names().map(|_| StringColumn::with_capacity(rows, rows * 16)).collect();
            for row in 0..rows {
                let sequence = plan.row(rng, &|f| first_keys[f][row]);
                let effect = if sequence.related { 1.0 } else { -1.0 };
                for t in 0..tasks {
                    logits[row * tasks + t] += self.scale * effect;
                }
                for (column, cell) in columns.iter_mut().zip(&sequence.cells) {
                    column.push(cell.as_deref());
                }
            }
            // A sequence two groups share is one column: the first group's.
            for (name, column) in plan.names().zip(columns) {
                if !chunk.iter().any(|(n, _)| n == name) {
                    chunk.push((name.to_string(), Column::Utf8(column)));
                }
            }
        }
        for (t, (label, kind)) in self.towers.iter().enumerate() {
            let values: Column = match kind {
                LabelKind::Binary => Column::Int64(
                    (0..rows)
                        .map(|r| Some(rng.bernoulli(sigmoid(logits[r * tasks + t] + BINARY_OFFSET)) as i64))
                        .collect(),
                ),
                LabelKind::Classes(k) => Column::Int64(
                    (0..rows)
                        .map(|r| Some(((sigmoid(logits[r * tasks + t]) * *k as f64) as i64).min(*k as i64 - 1)))
                        .collect(),
                ),
                LabelKind::Regression => Column::Float64(
                    (0..rows).map(|r| Some(logits[r * tasks + t] + REGRESSION_NOISE_SD * rng.normal())).collect(),
                ),
            };
            chunk.push((label.clone(), values));
        }
        for label in &self.other_labels {
            chunk.push((label.clone(), Column::Int64((0..rows).map(|_| Some(rng.bernoulli(0.5) as i64)).collect())));
        }
        for name in &self.sample_weights {
            chunk.push((name.clone(), Column::Float64(vec![Some(1.0); rows])));
        }
        chunk
    }

    /// One cell's text and the (key, weight, dense value) of each value in it.
    fn cell(&self, rng: &mut Rng, f: usize, feature: &Feature) -> (Option<String>, Vec<Drawn>) {
        match &feature.encoding {
            Encoding::Dense { value_dim, .. } => {
                if rng.bernoulli(MISSING_RATE) {
                    return (None, Vec::new());
                }
                let xs: Vec<f64> = (0..*value_dim).map(|_| rng.normal()).collect();
                let text = xs.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(DENSE_SEPARATOR);
                let values =
                    xs.iter().enumerate().map(|(i, x)| Drawn { key: i as u64, weight: 1.0, dense: Some(*x) }).collect();
                (Some(text), values)
            }
            Encoding::Embedding { transform, multi, .. } => {
                let count = match multi {
                    Some(_) => rng.next_u64() % (MAX_BAG + 1),
                    None if rng.bernoulli(MISSING_RATE) => 0,
                    None => 1,
                };
                let weighted = multi.as_ref().is_some_and(|m| m.weighted);
                let mut parts = Vec::new();
                let mut values = Vec::new();
                for _ in 0..count {
                    let key = self.zipf[f].rank(rng.uniform());
                    let mut text = key_text(transform, key, self.seed ^ f as u64);
                    let mut weight = 1.0;
                    if weighted {
                        weight = (100.0 + (rng.next_u64() % 1901) as f64) / 1000.0;
                        text = format!("{text}:{weight}");
                    }
                    parts.push(text);
                    values.push(Drawn { key, weight, dense: None });
                }
                let separator = multi.as_ref().map_or("", |m| m.separator.as_str());
                ((!parts.is_empty()).then(|| parts.join(separator)), values)
            }
        }
    }
}

/// Keys a feature draws from: its table rows, at most `MAX_KEYS`.
fn keys(feature: &Feature) -> u64 {
    match &feature.encoding {
        Encoding::Embedding { transform, .. } => transform_keys(transform),
        Encoding::Dense { value_dim, .. } => *value_dim as u64,
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
