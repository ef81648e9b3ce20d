//! The sequence groups of a batch (semantics section 2b): queries encoded as the group's features are, sequence
//! cells split into positions and each position looked up as a single value of its transform.

use std::collections::BTreeSet;

use super::column::{Cell, Column, ColumnBatch};
use super::encoded::{EncodedSequence, EncodedSequenceGroup, SequenceValues};
use super::error::DataError;
use super::feature_encoding::encode_feature;
use super::limits::too_many_values;
use plec_spec::transform::Lookup;
use plec_spec::{ModelSpec, SequenceEncoding, SequenceFeature, SequenceGroup, Transform};

/// The table row of a position without one (a zero vector).
pub const NO_ROW: i64 = -1;

/// A sequence feature's column: text in every file format, so that positions keep the data file's spelling.
pub(crate) fn sequence_column<'a>(
    batch: &'a ColumnBatch,
    name: &str,
    delimiter: &str,
) -> Result<&'a Column, DataError> {
    let column = batch.column(name)?;
    match column {
        Column::Utf8(_) => Ok(column),
        other => Err(DataError::SequenceNotText {
            path: batch.source.clone(),
            column: name.to_string(),
            delimiter: delimiter.to_string(),
            dtype: other.type_name().to_string(),
        }),
    }
}

/// A cell's positions: none for an empty cell, else its text split on `delimiter` (empty positions included).
pub(crate) fn split_positions<'a>(text: &'a str, delimiter: &str) -> Vec<&'a str> {
    if text.is_empty() {
        return Vec::new();
    }
    if delimiter.is_empty() {
        // `str::split("")` would split between every character; an empty delimiter means one position.
        return vec![text];
    }
    text.split(delimiter).collect()
}

/// How many of `count` positions are kept: the first `max_length` (0 keeps all).
pub(crate) fn kept(count: usize, max_length: usize) -> usize {
    if max_length == 0 {
        count
    } else {
        count.min(max_length)
    }
}

pub(crate) fn encode_sequence_groups(
    spec: &ModelSpec,
    batch: &ColumnBatch,
    report: &mut dyn FnMut(usize, &str, String),
) -> Result<Vec<EncodedSequenceGroup>, DataError> {
    spec.sequence_groups.iter().map(|group| encode_group(group, batch, report)).collect()
}

fn encode_group(
    group: &SequenceGroup,
    batch: &ColumnBatch,
    report: &mut dyn FnMut(usize, &str, String),
) -> Result<EncodedSequenceGroup, DataError> {
    let query = group.query.iter().map(|feature| encode_feature(feature, batch, report)).collect::<Result<_, _>>()?;
    let mut sequence = Vec::with_capacity(group.sequence.len());
    // Per feature, each row's position count before truncation.
    let mut counts: Vec<Vec<usize>> = Vec::with_capacity(group.sequence.len());
    for feature in &group.sequence {
        let column = sequence_column(batch, &feature.name, &feature.delimiter)?;
        let (encoded, count) =
            encode_sequence(feature, column, batch.num_rows, &mut |row, reason| report(row, &feature.name, reason));
        sequence.push(encoded);
        counts.push(count);
    }
    // The counts as written, not as truncated: features that disagree are misaligned even where truncation would
    // hide it, and the row's positions would pair the wrong items.
    if let (Some(first), Some(first_counts)) = (group.sequence.first(), counts.first()) {
        for (feature, feature_counts) in group.sequence.iter().zip(&counts).skip(1) {
            for (row, (&n, &m)) in first_counts.iter().zip(feature_counts).enumerate() {
                if n != m {
                    let reason = format!(
                        "length {m}, but {:?} has length {n}: the sequence features of group {:?} must have equal lengths",
                        first.name, group.name
                    );
                    report(row, &feature.name, reason);
                }
            }
        }
    }
    Ok(EncodedSequenceGroup { query, sequence })
}

/// One sequence column -> its kept positions, and each row's position count before truncation. A bad position
/// (the first of its cell is reported) is encoded as no row / the default, and its row is dropped or fails later.
fn encode_sequence(
    feature: &SequenceFeature,
    column: &Column,
    rows: usize,
    report: &mut dyn FnMut(usize, String),
) -> (EncodedSequence, Vec<usize>) {
    let mut lengths = Vec::with_capacity(rows);
    let mut counts = Vec::with_capacity(rows);
    let mut table_rows = Vec::new();
    let mut numbers = Vec::new();
    for row in 0..rows {
        let text = match column.cell(row) {
            Cell::Text(text) => text,
            // `sequence_column` admits text columns only, whose cells are text or missing.
            _ => "",
        };
        let positions = split_positions(text, &feature.delimiter);
        let mut keep = kept(positions.len(), feature.max_length);
        // As many positions as the compiled graph accepts (`raw_inputs` refuses the same cells).
        if let Some(reason) = too_many_values(positions.len(), "positions") {
            report(row, reason);
            keep = 0;
        }
        counts.push(positions.len());
        lengths.push(keep as u32);
        let mut first_error = None;
        for (p, position) in positions.iter().take(keep).enumerate() {
            let mut bad = |reason: String| {
                first_error.get_or_insert_with(|| format!("position {p}: {reason}"));
            };
            match &feature.encoding {
                SequenceEncoding::Embedding { transform, .. } => {
                    table_rows.push(position_row(transform, position).unwrap_or_else(|reason| {
                        bad(reason);
                        NO_ROW
                    }));
                }
                SequenceEncoding::Dense { default_value } => {
                    numbers.push(position_number(position, *default_value).unwrap_or_else(|reason| {
                        bad(reason);
                        *default_value
                    }));
                }
            }
        }
        if let Some(reason) = first_error {
            report(row, reason);
        }
    }
    let values = match &feature.encoding {
        SequenceEncoding::Embedding { table, .. } => SequenceValues::Rows { table: *table, rows: table_rows },
        SequenceEncoding::Dense { .. } => SequenceValues::Dense(numbers),
    };
    (EncodedSequence { lengths, values }, counts)
}

/// The table row of one position's text (section 2b): empty text is `vocab_list`'s row 0 and no row otherwise;
/// an unknown `vocab_dict` key and NaN for `boundaries` give no row; an id outside `num_buckets` or text that is
/// not a number where one is needed is bad input.
pub(crate) fn position_row(transform: &Transform, text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(match transform.lookup_missing() {
            Lookup::Row(row) => row as i64,
            _ => NO_ROW,
        });
    }
    if let Transform::Boundaries(_) = transform {
        // A single boundaries value sorts NaN last; a position has no row instead (section 2b).
        if text.trim().parse::<f32>().is_ok_and(f32::is_nan) {
            return Ok(NO_ROW);
        }
    }
    match transform.lookup_text(text) {
        Lookup::Row(row) => Ok(row as i64),
        Lookup::Empty => Ok(NO_ROW),
        Lookup::OutOfRange => Err(format!("id {text} is outside 0..{} ({})", transform.rows(), transform.kind_name())),
        Lookup::Unparsable => Err(match transform {
            Transform::NumBuckets(_) | Transform::FgEncoded(_) => format!("{text:?} is not an integer id"),
            _ => format!("{text:?} is not a number"),
        }),
    }
}

/// The number of one position of a dense sequence feature; empty text is `default_value`.
pub(crate) fn position_number(text: &str, default_value: f32) -> Result<f32, String> {
    if text.is_empty() {
        return Ok(default_value);
    }
    text.trim().parse::<f32>().map_err(|_| format!("{text:?} is not a number"))
}

impl EncodedSequence {
    /// Keeps the rows not in `bad`.
    pub(crate) fn drop_rows(&mut self, bad: &BTreeSet<usize>) {
        let mut start = 0usize;
        let mut kept_ranges = Vec::with_capacity(self.lengths.len());
        for (row, &length) in self.lengths.iter().enumerate() {
            let end = start + length as usize;
            if !bad.contains(&row) {
                kept_ranges.push(start..end);
            }
            start = end;
        }
        self.lengths = kept_ranges.iter().map(|r| r.len() as u32).collect();
        match &mut self.values {
            SequenceValues::Rows { rows, .. } => {
                *rows = kept_ranges.iter().flat_map(|r| rows[r.clone()].to_vec()).collect()
            }
            SequenceValues::Dense(values) => {
                *values = kept_ranges.iter().flat_map(|r| values[r.clone()].to_vec()).collect()
            }
        }
    }
}
