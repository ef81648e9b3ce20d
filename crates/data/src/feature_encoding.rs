//! One column of a batch -> what the trainer feeds its model for it: table rows of an embedding feature (section 2),
//! dense values, or one number per row (labels, sample weights).

use super::column::{Cell, Column, ColumnBatch};
use super::encoded::{EncodedFeature, DENSE_SEPARATOR};
use super::error::DataError;
use super::limits::{parts, too_many_values};
use super::reader::feature_column;
use super::weighted::split_pair;
use plec_spec::transform::{bucketize, Lookup};
use plec_spec::{Encoding, Feature, Pooling, Transform};

/// A check of one number (a label's range); `Some(reason)` rejects it.
pub(crate) type ValueCheck = dyn Fn(f32) -> Option<String>;

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

/// One number per row (labels, sample weights); missing or unparsable cells and values `check` rejects are
/// reported (their value is 0 until the row is dropped or the batch fails).
pub(crate) fn encode_numbers(
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
