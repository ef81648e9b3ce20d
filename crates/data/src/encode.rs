//! A batch of raw rows -> what the trainer feeds its model (semantics section 2): table rows as embedding bags,
//! dense values, labels and sample weights.

use std::collections::{BTreeMap, BTreeSet};

use super::column::{Cell, Column, ColumnBatch};
use super::error::{BadCell, DataError};
use super::limits::{parts, too_many_values};
use super::reader::feature_column;
use super::sequence::encode_sequence_groups;
use super::weighted::split_pair;
use plec_spec::transform::{bucketize, Lookup};
use plec_spec::{Encoding, Feature, Loss, Metric, ModelSpec, Pooling, Transform};

/// Separator of the values of a dense feature with `value_dim > 1` in a text cell (tzrec's default separator).
pub const DENSE_SEPARATOR: &str = "\x1d";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Drop rows with a bad cell and list them in [`EncodedBatch::skipped`] instead of failing.
    pub skip_bad_rows: bool,
}

/// One batch ready for the model: every vector is over the kept rows, in batch order.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedBatch {
    /// Rows kept (the batch's rows minus skipped ones).
    pub num_rows: usize,
    /// One per `spec.features`, in that order.
    pub features: Vec<EncodedFeature>,
    /// One per `spec.sequence_groups`, in that order (semantics section 2b).
    pub sequence_groups: Vec<EncodedSequenceGroup>,
    /// Per label column (`label_fields` and tower labels): one value per row.
    pub labels: BTreeMap<String, Vec<f32>>,
    /// Per sample-weight column (`sample_weight_fields` and towers' `sample_weight_name`).
    pub sample_weights: BTreeMap<String, Vec<f32>>,
    /// Per `grouped_auc` grouping key: the key's text per row (`""` when missing).
    pub groups: BTreeMap<String, Vec<String>>,
    /// Bad cells of the rows dropped by `skip_bad_rows` (empty otherwise), by row then column.
    pub skipped: Vec<BadCell>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EncodedFeature {
    /// Rows of `spec.tables[table]`, embedding-bag style: row `r`'s values are
    /// `indices[offsets[r] as usize .. offsets[r + 1] as usize]` (`offsets.len() == num_rows + 1`); an empty bag
    /// is a zero vector. Single-valued features have at most one value per row.
    /// `weights` (weighted features only) holds one weight per entry of `indices`.
    Ids { table: usize, indices: Vec<i64>, offsets: Vec<i64>, pooling: Pooling, weights: Option<Vec<f32>> },
    /// `width` values per row, row-major (`values.len() == num_rows * width`).
    Dense { width: usize, values: Vec<f32> },
}

/// A sequence group of one batch: its queries encoded like the group's features, its sequences position by
/// position.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSequenceGroup {
    /// One per `SequenceGroup::query` (tables are the sequence tables the spec names).
    pub query: Vec<EncodedFeature>,
    /// One per `SequenceGroup::sequence`; all have the same `lengths`.
    pub sequence: Vec<EncodedSequence>,
}

/// One sequence feature of a batch: row `r` has `lengths[r]` positions (after dropping those past
/// `max_length`); the values of all rows' positions follow each other in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSequence {
    pub lengths: Vec<u32>,
    pub values: SequenceValues,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SequenceValues {
    /// The table row of each position; `-1` where a position has no row (a zero vector).
    Rows { table: usize, rows: Vec<i64> },
    /// The number of each position.
    Dense(Vec<f32>),
}

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

/// One (non-sequence) feature's column, encoded as section 2 says; bad cells go to `report` (row, column, reason).
pub(crate) fn encode_feature(
    feature: &Feature,
    batch: &ColumnBatch,
    report: &mut dyn FnMut(usize, &str, String),
) -> Result<EncodedFeature, DataError> {
    let rows = batch.num_rows;
    let name = feature_column(feature);
    let column = batch.column(name)?;
    Ok(match &feature.encoding {
        Encoding::Embedding { table, transform, multi, default_value } => {
            let separator = multi.as_ref().map(|m| m.separator.as_str());
            let pooling = multi.as_ref().map_or(Pooling::Sum, |m| m.pooling);
            let weighted = multi.as_ref().is_some_and(|m| m.weighted);
            let ids = IdEncoder { transform, separator, weighted, default_value: default_value.as_deref() };
            let (indices, offsets, weights) =
                ids.encode_column(column, rows, &mut |row, reason| report(row, name, reason));
            EncodedFeature::Ids { table: *table, indices, offsets, pooling, weights }
        }
        Encoding::Dense { value_dim, default_value } => {
            let values =
                encode_dense(column, rows, *value_dim, *default_value, &mut |row, reason| report(row, name, reason));
            EncodedFeature::Dense { width: *value_dim, values }
        }
    })
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

type ValueCheck = dyn Fn(f32) -> Option<String>;

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
        Some(Loss::SoftmaxCrossEntropy { .. }) => Box::new(move |y: f32| {
            let valid = y.fract() == 0.0 && y >= 0.0 && (y as usize) < num_class;
            (!valid).then(|| format!("label {y} of tower {tower_name:?} is not a class index in 0..{num_class}"))
        }),
        Some(Loss::L2) | None => {
            Box::new(move |y: f32| (!y.is_finite()).then(|| format!("label {y} of tower {tower_name:?} is not finite")))
        }
    }
}

/// One number per row (labels, sample weights); missing or unparsable cells and values `check` rejects are
/// reported (their value is 0 until the row is dropped or the batch fails).
fn encode_numbers(
    column: &Column,
    rows: usize,
    what: &str,
    check: &ValueCheck,
    report: &mut dyn FnMut(usize, String),
) -> Vec<f32> {
    let mut values = Vec::with_capacity(rows);
    for i in 0..rows {
        let value = match column.cell(i) {
            Cell::Missing => Err(format!("missing {what}")),
            Cell::Int(v) => Ok(v as f32),
            Cell::Float(v) => Ok(v as f32),
            Cell::Text(text) => text.trim().parse::<f32>().map_err(|_| format!("cannot parse {text:?} as a number")),
        };
        match value.and_then(|v| check(v).map_or(Ok(v), Err)) {
            Ok(v) => values.push(v),
            Err(reason) => {
                report(i, reason);
                values.push(0.0);
            }
        }
    }
    values
}

fn encode_dense(
    column: &Column,
    rows: usize,
    width: usize,
    default: f32,
    report: &mut dyn FnMut(usize, String),
) -> Vec<f32> {
    let mut values = Vec::with_capacity(rows * width);
    for i in 0..rows {
        match column.cell(i) {
            Cell::Missing => values.extend(std::iter::repeat_n(default, width)),
            Cell::Int(v) if width == 1 => values.push(v as f32),
            Cell::Float(v) if width == 1 => values.push(v as f32),
            Cell::Text(text) => {
                let start = values.len();
                let parts: Vec<&str> = if width == 1 { vec![text] } else { text.split(DENSE_SEPARATOR).collect() };
                let parsed: Result<Vec<f32>, _> = parts.iter().map(|p| p.trim().parse::<f32>()).collect();
                match parsed {
                    Ok(parsed) if parsed.len() == width => values.extend(parsed),
                    Ok(parsed) => {
                        report(i, format!("expected {width} values joined by \\x1d, found {}", parsed.len()));
                    }
                    Err(_) => report(i, format!("cannot parse {text:?} as a number")),
                }
                values.resize(start + width, default);
            }
            cell => {
                report(i, format!("a single number {cell:?} for a dense feature of {width} values"));
                values.extend(std::iter::repeat_n(default, width));
            }
        }
    }
    values
}

/// Raw id cells -> table rows of one embedding feature.
struct IdEncoder<'a> {
    transform: &'a Transform,
    /// `Some` for multi-valued features.
    separator: Option<&'a str>,
    /// Values are `id:weight` pairs (always multi-valued, never a `default_value`).
    weighted: bool,
    default_value: Option<&'a str>,
}

impl IdEncoder<'_> {
    fn encode_column(
        &self,
        column: &Column,
        rows: usize,
        report: &mut dyn FnMut(usize, String),
    ) -> (Vec<i64>, Vec<i64>, Option<Vec<f32>>) {
        let mut indices = Vec::with_capacity(rows);
        let mut offsets = Vec::with_capacity(rows + 1);
        let mut weights = self.weighted.then(Vec::new);
        offsets.push(0);
        for i in 0..rows {
            let start = indices.len();
            // As many values as the compiled graph accepts (`raw_inputs` refuses the same cells).
            if let (Some(separator), Cell::Text(text)) = (self.separator, column.cell(i)) {
                if let Some(reason) = too_many_values(parts(text, separator), "values") {
                    report(i, reason);
                    offsets.push(indices.len() as i64);
                    continue;
                }
            }
            let encoded = match weights.as_mut() {
                Some(weights) => self.encode_pairs(column.cell(i), &mut indices, weights),
                None => self.encode_cell(column.cell(i), &mut indices),
            };
            if let Err(reason) = encoded {
                indices.truncate(start);
                if let Some(weights) = weights.as_mut() {
                    weights.truncate(start);
                }
                report(i, reason);
            }
            offsets.push(indices.len() as i64);
        }
        (indices, offsets, weights)
    }

    /// A weighted feature's cell: `id:weight` values joined by the separator. A missing cell or an empty value
    /// adds nothing; an id the transform gives no row (e.g. an unknown `vocab_dict` key) adds nothing either.
    fn encode_pairs(&self, cell: Cell<'_>, out: &mut Vec<i64>, weights: &mut Vec<f32>) -> Result<(), String> {
        let text = match cell {
            Cell::Missing => return Ok(()),
            Cell::Text(text) => text,
            other => {
                let shown = other.text().unwrap_or_default();
                return Err(format!("{shown:?} is not an id:weight pair (a weighted feature reads text)"));
            }
        };
        for part in text.split(self.separator.unwrap_or(DENSE_SEPARATOR)).filter(|p| !p.is_empty()) {
            let (id, weight) = split_pair(part)?;
            let before = out.len();
            push_lookup(self.transform.lookup_text(id), Cell::Text(id), self.transform, out)?;
            weights.extend(std::iter::repeat_n(weight, out.len() - before));
        }
        Ok(())
    }

    fn encode_cell(&self, cell: Cell<'_>, out: &mut Vec<i64>) -> Result<(), String> {
        match cell {
            Cell::Missing => self.encode_missing(out),
            Cell::Text(text) => match self.separator {
                // Empty values are skipped (the graph's pads); a cell without any value is missing.
                Some(separator) => {
                    let mut values = text.split(separator).filter(|part| !part.is_empty()).peekable();
                    if values.peek().is_none() {
                        return self.encode_missing(out);
                    }
                    for part in values {
                        push_lookup(self.transform.lookup_text(part), Cell::Text(part), self.transform, out)?;
                    }
                    Ok(())
                }
                None => push_lookup(self.transform.lookup_text(text), cell, self.transform, out),
            },
            Cell::Int(v) => push_lookup(lookup_int(self.transform, v), cell, self.transform, out),
            Cell::Float(x) => push_lookup(lookup_float(self.transform, x), cell, self.transform, out),
        }
    }

    /// A missing value: `default_value` if set, else the transform's missing row (vocab_list row 0) or nothing.
    fn encode_missing(&self, out: &mut Vec<i64>) -> Result<(), String> {
        match self.default_value.filter(|d| !d.is_empty()) {
            Some(default) => {
                let parts: Vec<&str> = match self.separator {
                    Some(separator) => default.split(separator).filter(|p| !p.is_empty()).collect(),
                    None => vec![default],
                };
                for part in parts {
                    push_lookup(self.transform.lookup_text(part), Cell::Text(part), self.transform, out)
                        .map_err(|reason| format!("missing value, and its default_value is bad: {reason}"))?;
                }
                Ok(())
            }
            None => push_lookup(self.transform.lookup_missing(), Cell::Missing, self.transform, out),
        }
    }
}

fn lookup_int(transform: &Transform, id: i64) -> Lookup {
    match transform {
        Transform::NumBuckets(n) | Transform::FgEncoded(n) => {
            if id >= 0 && (id as u64) < *n {
                Lookup::Row(id as u64)
            } else {
                Lookup::OutOfRange
            }
        }
        Transform::Boundaries(b) => Lookup::Row(bucketize(b, id as f32)),
        // Integers hash and match vocabularies as their decimal text.
        _ => transform.lookup_text(&id.to_string()),
    }
}

fn lookup_float(transform: &Transform, x: f64) -> Lookup {
    match transform {
        Transform::NumBuckets(_) | Transform::FgEncoded(_) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
            lookup_int(transform, x as i64)
        }
        Transform::NumBuckets(_) | Transform::FgEncoded(_) => Lookup::Unparsable,
        Transform::Boundaries(b) => Lookup::Row(bucketize(b, x as f32)),
        _ => transform.lookup_text(&x.to_string()),
    }
}

/// Appends the row of a looked-up value; `value` is only formatted for messages (no allocation per cell).
fn push_lookup(lookup: Lookup, value: Cell<'_>, transform: &Transform, out: &mut Vec<i64>) -> Result<(), String> {
    match lookup {
        Lookup::Row(row) => {
            out.push(row as i64);
            Ok(())
        }
        Lookup::Empty => Ok(()),
        Lookup::OutOfRange => {
            let shown = value.text().unwrap_or_default();
            Err(format!("id {shown} is outside 0..{} ({})", transform.rows(), transform.kind_name()))
        }
        Lookup::Unparsable => {
            let shown = value.text().unwrap_or_default();
            Err(match transform {
                Transform::NumBuckets(_) | Transform::FgEncoded(_) => {
                    format!("cannot parse {shown:?} as an integer id")
                }
                _ => format!("cannot parse {shown:?} as a number"),
            })
        }
    }
}

impl EncodedBatch {
    pub(crate) fn drop_rows(&mut self, bad: &BTreeSet<usize>) {
        let keep = |i: &usize| !bad.contains(i);
        let rows = self.num_rows;
        let queries = self.sequence_groups.iter_mut().flat_map(|g| g.query.iter_mut());
        for feature in self.features.iter_mut().chain(queries) {
            feature.drop_rows(rows, bad);
        }
        for sequence in self.sequence_groups.iter_mut().flat_map(|g| g.sequence.iter_mut()) {
            sequence.drop_rows(bad);
        }
        for values in self.labels.values_mut().chain(self.sample_weights.values_mut()) {
            *values = (0..rows).filter(keep).map(|i| values[i]).collect();
        }
        for keys in self.groups.values_mut() {
            *keys = (0..rows).filter(keep).map(|i| std::mem::take(&mut keys[i])).collect();
        }
        self.num_rows = rows - bad.len();
    }
}

impl EncodedFeature {
    /// Keeps the rows of `0..rows` not in `bad`.
    fn drop_rows(&mut self, rows: usize, bad: &BTreeSet<usize>) {
        let keep = |i: &usize| !bad.contains(i);
        match self {
            EncodedFeature::Ids { indices, offsets, weights, .. } => {
                let mut new_indices = Vec::with_capacity(indices.len());
                let mut new_weights = weights.as_ref().map(|w| Vec::with_capacity(w.len()));
                let mut new_offsets = vec![0i64];
                for i in (0..rows).filter(keep) {
                    let bag = offsets[i] as usize..offsets[i + 1] as usize;
                    new_indices.extend_from_slice(&indices[bag.clone()]);
                    if let (Some(new), Some(old)) = (new_weights.as_mut(), weights.as_ref()) {
                        new.extend_from_slice(&old[bag]);
                    }
                    new_offsets.push(new_indices.len() as i64);
                }
                *indices = new_indices;
                *offsets = new_offsets;
                *weights = new_weights;
            }
            EncodedFeature::Dense { width, values } => {
                let width = *width;
                *values = (0..rows).filter(keep).flat_map(|i| values[i * width..(i + 1) * width].to_vec()).collect();
            }
        }
    }
}
