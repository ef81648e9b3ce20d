//! A batch of raw rows -> the compiled graph's raw inputs, as its feature signature describes them
//! (`plec_spec::artifact::signature`): the graph itself hashes, bucketizes and looks up.

use super::column::{Cell, ColumnBatch};
use super::encoded::DENSE_SEPARATOR;
use super::error::{BadCell, DataError};
use super::limits::{padding_problem, parts, too_many_values};
use super::sequence::{kept, position_number, position_row, sequence_column, split_positions};
use super::weighted::split_pair;
use plec_spec::artifact::signature::{InputSignature, SequenceSignature, Signature, INT64_MISSING, STRING_MISSING};
use plec_spec::ValueType;

pub use plec_spec::artifact::tensor::{RawData, RawTensor};

/// The second dimension of an input, from its signature shape.
enum Layout {
    /// `[batch]`.
    Single,
    /// `[batch, len]`: values joined by the separator in text cells.
    Multi(String),
    /// `[batch, width]`: dense values joined by `\x1d` in text cells.
    Wide(usize),
}

fn layout(input: &InputSignature) -> Layout {
    match input.shape.get(1) {
        None => Layout::Single,
        Some(dim) => match dim.as_u64() {
            Some(width) => Layout::Wide(width as usize),
            None => Layout::Multi(input.separator.clone().unwrap_or_else(|| "\x1d".to_string())),
        },
    }
}

/// Builds every input of `signature` from the batch's columns (named like the inputs). Missing cells become the
/// missing value (-1, "" or NaN); integers fed to string inputs become their decimal text. Cells that cannot be
/// the input's type (e.g. `abc` for an int64 id) fail the batch with every such cell listed; ids out of range
/// are left for [`check_raw`]. A sequence input is each row's text as the file has it (`""` when missing): the graph
/// splits it, and [`check_raw`] checks its positions.
pub fn raw_inputs(signature: &Signature, batch: &ColumnBatch) -> Result<Vec<RawTensor>, DataError> {
    let mut problems = Vec::new();
    let mut tensors = Vec::with_capacity(signature.inputs.len());
    for input in &signature.inputs {
        let mut report = |row: usize, reason: String| {
            problems.push((row, BadCell { at: batch.row_ref(row), column: input.name.clone(), reason }));
        };
        tensors.push(raw_input(input, batch, &mut report)?);
    }
    if problems.is_empty() {
        return Ok(tensors);
    }
    problems.sort_by_key(|(row, _)| *row);
    Err(DataError::BadCells(problems.into_iter().map(|(_, cell)| cell).collect()))
}

/// One input's tensor; bad cells go to `report`.
fn raw_input(
    input: &InputSignature,
    batch: &ColumnBatch,
    report: &mut dyn FnMut(usize, String),
) -> Result<RawTensor, DataError> {
    if let Some(sequence) = &input.sequence {
        return sequence_input(input, sequence, batch, report);
    }
    // A weighted feature's weights come from the same column of `id:weight` pairs as its ids.
    let column = batch.column(input.weight_of.as_deref().unwrap_or(&input.name))?;
    let cells: Vec<Cell<'_>> = (0..batch.num_rows).map(|i| column.cell(i)).collect();
    let pairs = input.weights.is_some();
    Ok(match (input.dtype, layout(input)) {
        (ValueType::Float, Layout::Multi(separator)) if input.weight_of.is_some() => {
            weights_input(input, &cells, &separator, report)
        }
        (ValueType::Int64, Layout::Multi(separator)) => int_lists_input(input, &cells, &separator, pairs, report),
        (ValueType::String, Layout::Multi(separator)) => string_lists_input(input, &cells, &separator, pairs, report),
        (ValueType::Float, Layout::Multi(separator)) => float_lists_input(input, &cells, &separator, report),
        (ValueType::Float, Layout::Wide(width)) => wide_input(input, &cells, width, report),
        (dtype, _) => single_input(input, &cells, dtype, report),
    })
}

/// A sequence input: each row's text as the file has it (`""` when missing); the graph splits it.
fn sequence_input(
    input: &InputSignature,
    sequence: &SequenceSignature,
    batch: &ColumnBatch,
    report: &mut dyn FnMut(usize, String),
) -> Result<RawTensor, DataError> {
    let rows = batch.num_rows;
    let column = sequence_column(batch, &input.name, &sequence.delimiter)?;
    let texts: Vec<String> =
        (0..rows).map(|i| column.cell(i).text().map_or_else(String::new, |t| t.into_owned())).collect();
    // The graph splits each text and pads the batch to its longest kept sequence: bounded like lists.
    let counts = position_counts(sequence, &texts);
    for (row, &count) in counts.iter().enumerate() {
        if let Some(reason) = too_many_values(count, "positions") {
            report(row, reason);
        }
    }
    let kept_counts: Vec<usize> = counts.iter().map(|&c| kept(c, sequence.max_length)).collect();
    if let Some((row, reason)) = padding_check(&kept_counts) {
        report(row, reason);
    }
    Ok(RawTensor { name: input.name.clone(), shape: vec![rows], data: RawData::String(texts) })
}

/// The weights of a weighted feature. Quiet: its ids input reports malformed pairs and cells with too many values.
fn weights_input(
    input: &InputSignature,
    cells: &[Cell<'_>],
    separator: &str,
    report: &mut dyn FnMut(usize, String),
) -> RawTensor {
    let lists: Vec<Vec<f32>> = cells
        .iter()
        .map(|&cell| {
            let values = split_cell(cell, separator).unwrap_or_default();
            values.iter().map(|v| split_pair(v).map_or(f32::NAN, |(_, w)| w)).collect()
        })
        .collect();
    padded_or_reported(input, lists, f32::NAN, RawData::Float, report)
}

/// Lists of int64 ids (or the ids of `id:weight` pairs), padded to the longest.
fn int_lists_input(
    input: &InputSignature,
    cells: &[Cell<'_>],
    separator: &str,
    pairs: bool,
    report: &mut dyn FnMut(usize, String),
) -> RawTensor {
    let lists = split_lists(cells, separator, report, |v, i, r| int_value(&pair_id(v, pairs, i, r), i, r));
    padded_or_reported(input, lists, INT64_MISSING, RawData::Int64, report)
}

/// Lists of string ids (or the ids of `id:weight` pairs), padded to the longest.
fn string_lists_input(
    input: &InputSignature,
    cells: &[Cell<'_>],
    separator: &str,
    pairs: bool,
    report: &mut dyn FnMut(usize, String),
) -> RawTensor {
    let lists = split_lists(cells, separator, report, |v, i, r| pair_id(v, pairs, i, r));
    padded_or_reported(input, lists, STRING_MISSING.to_string(), RawData::String, report)
}

/// Lists of floats, padded to the longest.
fn float_lists_input(
    input: &InputSignature,
    cells: &[Cell<'_>],
    separator: &str,
    report: &mut dyn FnMut(usize, String),
) -> RawTensor {
    let lists = split_lists(cells, separator, report, float_value);
    padded_or_reported(input, lists, f32::NAN, RawData::Float, report)
}

/// Each row's cell split on `separator` and each value read by `value` (row `i`); bad cells go to `report`.
fn split_lists<T>(
    cells: &[Cell<'_>],
    separator: &str,
    report: &mut dyn FnMut(usize, String),
    mut value: impl FnMut(&str, usize, &mut dyn FnMut(usize, String)) -> T,
) -> Vec<Vec<T>> {
    let mut lists = Vec::with_capacity(cells.len());
    for (i, &cell) in cells.iter().enumerate() {
        let values = split_cell(cell, separator).unwrap_or_else(|r| reported(i, r, &mut *report));
        lists.push(values.iter().map(|v| value(v, i, &mut *report)).collect());
    }
    lists
}

/// The lists padded to the longest; a batch too large to pad is reported (and an empty tensor stands in).
fn padded_or_reported<T: Clone>(
    input: &InputSignature,
    lists: Vec<Vec<T>>,
    pad: T,
    wrap: fn(Vec<T>) -> RawData,
    report: &mut dyn FnMut(usize, String),
) -> RawTensor {
    padded(&input.name, lists, pad, wrap).unwrap_or_else(|(row, reason)| {
        report(row, reason);
        RawTensor { name: input.name.clone(), shape: vec![0], data: RawData::Float(Vec::new()) }
    })
}

/// A dense value of `width` floats per row.
fn wide_input(
    input: &InputSignature,
    cells: &[Cell<'_>],
    width: usize,
    report: &mut dyn FnMut(usize, String),
) -> RawTensor {
    let mut values = Vec::with_capacity(cells.len() * width);
    for (i, &cell) in cells.iter().enumerate() {
        let parts = match cell {
            Cell::Missing => Vec::new(),
            _ => split_cell(cell, DENSE_SEPARATOR).unwrap_or_else(|r| reported(i, r, &mut *report)),
        };
        if !parts.is_empty() && parts.len() != width {
            report(i, format!("expected {width} values joined by \\x1d, found {}", parts.len()));
        }
        let start = values.len();
        values.extend(parts.iter().take(width).map(|v| float_value(v, i, &mut *report)));
        values.resize(start + width, f32::NAN);
    }
    RawTensor { name: input.name.clone(), shape: vec![cells.len(), width], data: RawData::Float(values) }
}

/// One value per row.
fn single_input(
    input: &InputSignature,
    cells: &[Cell<'_>],
    dtype: ValueType,
    report: &mut dyn FnMut(usize, String),
) -> RawTensor {
    let data = match dtype {
        ValueType::Int64 => RawData::Int64(
            cells
                .iter()
                .copied()
                .enumerate()
                .map(|(i, cell)| match cell {
                    Cell::Missing => INT64_MISSING,
                    Cell::Int(v) => v,
                    Cell::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => x as i64,
                    other => int_value(&other.text().unwrap_or_default(), i, &mut *report),
                })
                .collect(),
        ),
        ValueType::Float => RawData::Float(
            cells
                .iter()
                .copied()
                .enumerate()
                .map(|(i, cell)| match cell {
                    Cell::Missing => f32::NAN,
                    Cell::Int(v) => v as f32,
                    Cell::Float(x) => x as f32,
                    Cell::Text(text) => float_value(text, i, &mut *report),
                })
                .collect(),
        ),
        ValueType::String => RawData::String(
            cells
                .iter()
                .copied()
                .map(|cell| cell.text().map_or_else(|| STRING_MISSING.to_string(), |t| t.into_owned()))
                .collect(),
        ),
    };
    RawTensor { name: input.name.clone(), shape: vec![cells.len()], data }
}

/// A cell's values: none when missing, else its text split on `separator` (an empty part stays as `""`, which
/// becomes the missing value); refused past [`crate::limits::MAX_CELL_VALUES`].
fn split_cell(cell: Cell<'_>, separator: &str) -> Result<Vec<String>, String> {
    Ok(match cell {
        Cell::Missing => Vec::new(),
        Cell::Text(text) => {
            if let Some(reason) = too_many_values(parts(text, separator), "values") {
                return Err(reason);
            }
            text.split(separator).map(str::to_string).collect()
        }
        other => vec![other.text().unwrap_or_default().into_owned()],
    })
}

/// Reports `reason` for `row`; the cell then has no values.
fn reported<T>(row: usize, reason: String, report: &mut dyn FnMut(usize, String)) -> Vec<T> {
    report(row, reason);
    Vec::new()
}

/// The row with the longest list and why padding the batch to it is refused, if it is.
fn padding_check(lengths: &[usize]) -> Option<(usize, String)> {
    let (row, &longest) = lengths.iter().enumerate().max_by_key(|(_, &n)| n)?;
    padding_problem(lengths.len(), longest, lengths.iter().sum()).map(|reason| (row, reason))
}

/// The id of one value of a weighted feature (`pairs`: `id:weight`), or the value itself. An empty value stays
/// empty (the missing value); a malformed pair is reported and becomes missing.
fn pair_id(value: &str, pairs: bool, row: usize, report: &mut dyn FnMut(usize, String)) -> String {
    if !pairs || value.is_empty() {
        return value.to_string();
    }
    match split_pair(value) {
        Ok((id, _)) => id.to_string(),
        Err(reason) => {
            report(row, reason);
            String::new()
        }
    }
}

fn int_value(text: &str, row: usize, report: &mut dyn FnMut(usize, String)) -> i64 {
    if text.is_empty() {
        return INT64_MISSING;
    }
    text.trim().parse::<i64>().unwrap_or_else(|_| {
        report(row, format!("cannot parse {text:?} as an integer id"));
        INT64_MISSING
    })
}

fn float_value(text: &str, row: usize, report: &mut dyn FnMut(usize, String)) -> f32 {
    if text.is_empty() {
        return f32::NAN;
    }
    text.trim().parse::<f32>().unwrap_or_else(|_| {
        report(row, format!("cannot parse {text:?} as a number"));
        f32::NAN
    })
}

/// `[batch, max_len]` (at least 1 wide), padded with `pad`; refused (the longest row and why) when that would
/// hold far more elements than the lists do.
fn padded<T: Clone>(
    name: &str,
    lists: Vec<Vec<T>>,
    pad: T,
    wrap: fn(Vec<T>) -> RawData,
) -> Result<RawTensor, (usize, String)> {
    let lengths: Vec<usize> = lists.iter().map(Vec::len).collect();
    if let Some(refused) = padding_check(&lengths) {
        return Err(refused);
    }
    let len = lists.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let rows = lists.len();
    let mut values = Vec::with_capacity(rows * len);
    for list in lists {
        let used = list.len();
        values.extend(list);
        values.extend(std::iter::repeat_n(pad.clone(), len - used));
    }
    Ok(RawTensor { name: name.to_string(), shape: vec![rows, len], data: wrap(values) })
}

/// An int64 id outside its input's `valid_range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfRangeId {
    /// Row of the batch (the first dimension).
    pub row: usize,
    pub input: String,
    pub value: i64,
    /// `[lo, hi)`.
    pub valid_range: [i64; 2],
}

impl std::fmt::Display for OutOfRangeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [lo, hi] = self.valid_range;
        write!(f, "row {}: input {:?}: id {} is outside {lo}..{hi}", self.row, self.input, self.value)
    }
}

/// A sequence position that is not a value of its element type (an int64 id that is not an integer or lies
/// outside `valid_range`, a float position that is not a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPosition {
    /// Row of the batch.
    pub row: usize,
    pub input: String,
    /// 0-based, among the row's kept positions.
    pub position: usize,
    pub reason: String,
}

impl std::fmt::Display for BadPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: input {:?}: position {}: {}", self.row, self.input, self.position, self.reason)
    }
}

/// A raw value the compiled graph would misread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawProblem {
    OutOfRange(OutOfRangeId),
    Position(BadPosition),
}

impl RawProblem {
    pub fn row(&self) -> usize {
        match self {
            RawProblem::OutOfRange(problem) => problem.row,
            RawProblem::Position(problem) => problem.row,
        }
    }
}

impl std::fmt::Display for RawProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawProblem::OutOfRange(problem) => problem.fmt(f),
            RawProblem::Position(problem) => problem.fmt(f),
        }
    }
}

/// Ids outside their input's `valid_range` (the missing value -1 is allowed) and sequence positions that are not
/// their element type (empty positions are allowed: they have no row), by row then input order. Positions past
/// `max_length` are not read, as the graph drops them. Inputs without a range, or not in `inputs`, are skipped.
pub fn check_raw(signature: &Signature, inputs: &[RawTensor]) -> Vec<RawProblem> {
    let mut found = Vec::new();
    for input in &signature.inputs {
        let Some(tensor) = inputs.iter().find(|t| t.name == input.name) else { continue };
        if let (Some(sequence), RawData::String(texts)) = (&input.sequence, &tensor.data) {
            check_sequence(input, sequence, texts, &mut found);
            continue;
        }
        let Some([lo, hi]) = input.valid_range else { continue };
        let RawData::Int64(values) = &tensor.data else { continue };
        let per_row = tensor.shape.iter().skip(1).product::<usize>().max(1);
        for (i, &value) in values.iter().enumerate() {
            if value != INT64_MISSING && !(lo..hi).contains(&value) {
                let row = i / per_row;
                found.push(RawProblem::OutOfRange(OutOfRangeId {
                    row,
                    input: input.name.clone(),
                    value,
                    valid_range: [lo, hi],
                }));
            }
        }
    }
    found.sort_by_key(RawProblem::row);
    found
}

fn check_sequence(input: &InputSignature, sequence: &SequenceSignature, texts: &[String], found: &mut Vec<RawProblem>) {
    found.extend(bad_positions(input, sequence, texts).into_iter().map(RawProblem::Position));
}

/// The kept positions of a sequence input's texts that are not a value of its element type, by row.
pub fn bad_positions(input: &InputSignature, sequence: &SequenceSignature, texts: &[String]) -> Vec<BadPosition> {
    let mut found = Vec::new();
    for (row, text) in texts.iter().enumerate() {
        let positions = split_positions(text, &sequence.delimiter);
        let keep = kept(positions.len(), sequence.max_length);
        for (position, value) in positions.iter().take(keep).enumerate() {
            if let Some(reason) = position_problem(input, value) {
                found.push(BadPosition { row, input: input.name.clone(), position, reason });
            }
        }
    }
    found
}

/// How many positions each text holds (before `max_length` cuts them), as training data counts them.
pub fn position_counts(sequence: &SequenceSignature, texts: &[String]) -> Vec<usize> {
    texts.iter().map(|text| split_positions(text, &sequence.delimiter).len()).collect()
}

/// Why one position is bad input, if it is: the same rules training data is encoded by (`position_row`,
/// `position_number`), so a request is refused exactly where a training row would be.
fn position_problem(input: &InputSignature, text: &str) -> Option<String> {
    match &input.transform {
        Some(transform) => position_row(transform, text).err(),
        None => position_number(text, 0.0).err(),
    }
}
