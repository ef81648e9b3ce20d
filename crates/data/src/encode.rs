//! A batch of raw rows -> what the trainer feeds its model (semantics section 2): table rows as embedding bags,
//! dense values, labels and sample weights.

use std::collections::{BTreeMap, BTreeSet};

use super::column::ColumnBatch;
use super::encoded::{EncodeOptions, EncodedBatch};
use super::error::{BadCell, DataError};
use super::feature_encoding::{encode_feature, encode_numbers, ValueCheck};
use super::sequence::encode_sequence_groups;
use plec_spec::{Loss, Metric, ModelSpec};

/// Encodes `batch` for training. Bad cells (an unparsable number, an id out of range, a missing or invalid label)
/// fail the whole batch with every bad cell listed, or with `skip_bad_rows` drop their rows (reported in
/// `skipped`). A column `spec` needs but `batch` lacks is an error either way.
pub fn encode(spec: &ModelSpec, batch: &ColumnBatch, options: &EncodeOptions) -> Result<EncodedBatch, DataError> {
    let rows = batch.num_rows;
    let mut problems: Vec<(usize, BadCell)> = Vec::new();
    let mut report = |row: usize, column: &str, reason: String| {
        problems.push((row, BadCell { at: batch.row_ref(row), column: column.to_string(), reason }));
    };

    let mut features = Vec::with_capacity(spec.features.len());
    for feature in &spec.features {
        features.push(encode_feature(feature, batch, &mut report)?);
    }
    // Before labels, so that a row's bad cells stay in column order.
    let sequence_groups = encode_sequence_groups(spec, batch, &mut report)?;

    let mut labels = BTreeMap::new();
    for name in label_columns(spec) {
        let check = label_check(spec, &name);
        let values =
            encode_numbers(batch.column(&name)?, rows, "label", &*check, &mut |row, reason| report(row, &name, reason));
        labels.insert(name, values);
    }
    let mut sample_weights = BTreeMap::new();
    for name in sample_weight_columns(spec) {
        let check = |w: f32| {
            (!(w.is_finite() && w >= 0.0)).then(|| format!("sample weight {w} is not a finite non-negative number"))
        };
        let values = encode_numbers(batch.column(&name)?, rows, "sample weight", &check, &mut |row, reason| {
            report(row, &name, reason)
        });
        sample_weights.insert(name, values);
    }
    let mut groups = BTreeMap::new();
    for name in grouping_columns(spec) {
        let column = batch.column(&name)?;
        let keys = (0..rows).map(|i| column.cell(i).text().map_or_else(String::new, |t| t.into_owned())).collect();
        groups.insert(name, keys);
    }

    let mut encoded =
        EncodedBatch { num_rows: rows, features, sequence_groups, labels, sample_weights, groups, skipped: Vec::new() };
    if problems.is_empty() {
        return Ok(encoded);
    }
    // Stable: within a row, cells stay in column order (features, sequences, labels, weights).
    problems.sort_by_key(|(row, _)| *row);
    if !options.skip_bad_rows {
        return Err(DataError::BadCells(problems.into_iter().map(|(_, cell)| cell).collect()));
    }
    let bad: BTreeSet<usize> = problems.iter().map(|(row, _)| *row).collect();
    encoded.drop_rows(&bad);
    encoded.skipped = problems.into_iter().map(|(_, cell)| cell).collect();
    Ok(encoded)
}

/// Labels the model reads: `data.label_fields`, then tower labels not among them.
fn label_columns(spec: &ModelSpec) -> Vec<String> {
    let mut names = spec.data.label_fields.clone();
    for tower in &spec.towers {
        if !names.contains(&tower.label) {
            names.push(tower.label.clone());
        }
    }
    names
}

fn sample_weight_columns(spec: &ModelSpec) -> Vec<String> {
    let mut names = spec.data.sample_weight_fields.clone();
    for tower in &spec.towers {
        if let Some(name) = tower.weighting.as_ref().and_then(|w| w.sample_weight.as_ref()) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

fn grouping_columns(spec: &ModelSpec) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for metric in spec.towers.iter().flat_map(|t| &t.metrics) {
        if let Metric::GroupedAuc { grouping_key } = metric {
            names.insert(grouping_key.clone());
        }
    }
    names
}

/// What values a label must take, from the first tower that reads it: binary losses need `0 <= y <= 1`, softmax
/// a class index in `0..num_class`, l2 a finite number; labels no tower reads (e.g. task-space indicators) any number.
fn label_check(spec: &ModelSpec, label: &str) -> Box<ValueCheck> {
    let Some(tower) = spec.towers.iter().find(|t| t.label == label) else {
        return Box::new(|_| None);
    };
    let tower_name = tower.name.clone();
    let num_class = tower.num_class;
    match tower.losses.first() {
        Some(Loss::BinaryCrossEntropy { .. } | Loss::BinaryFocal { .. }) => Box::new(move |y: f32| {
            (!(0.0..=1.0).contains(&y)).then(|| format!("label {y} of binary tower {tower_name:?} is outside [0, 1]"))
        }),
        Some(Loss::SoftmaxCrossEntropy { .. } | Loss::Jrc { .. }) => Box::new(move |y: f32| {
            let valid = y.fract() == 0.0 && y >= 0.0 && (y as usize) < num_class;
            (!valid).then(|| format!("label {y} of tower {tower_name:?} is not a class index in 0..{num_class}"))
        }),
        Some(Loss::L2) | None => {
            Box::new(move |y: f32| (!y.is_finite()).then(|| format!("label {y} of tower {tower_name:?} is not finite")))
        }
    }
}
