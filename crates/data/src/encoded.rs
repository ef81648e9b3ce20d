//! What encoding a batch produces: table rows, dense values, labels and weights, sequences position by position.

use std::collections::{BTreeMap, BTreeSet};

use super::error::BadCell;
use plec_spec::Pooling;

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
