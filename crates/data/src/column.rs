//! Typed columns of a batch of rows read from one file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::{DataError, RowRef};

/// Rows `first_row .. first_row + num_rows` of one file, wanted columns only.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnBatch {
    pub source: PathBuf,
    /// 0-based data row (header excluded) of this batch's row 0 in `source`.
    pub first_row: u64,
    pub num_rows: usize,
    /// Every column has `num_rows` cells.
    pub columns: BTreeMap<String, Column>,
    /// CSV only: the 1-based line of each row (differs from `first_row + i + header` only when quoted fields hold
    /// newlines).
    pub lines: Option<Vec<u64>>,
}

impl ColumnBatch {
    /// Where row `i` of this batch lives, for messages.
    pub fn row_ref(&self, i: usize) -> RowRef {
        RowRef {
            file: self.source.clone(),
            row: self.first_row + i as u64,
            line: self.lines.as_ref().and_then(|lines| lines.get(i).copied()),
        }
    }

    /// The named column, or an error naming the file and the columns it has.
    pub fn column(&self, name: &str) -> Result<&Column, DataError> {
        self.columns.get(name).ok_or_else(|| DataError::MissingColumn {
            path: self.source.clone(),
            column: name.to_string(),
            available: self.columns.keys().cloned().collect(),
        })
    }
}

/// One column as found in the file: CSV columns are always `Utf8`; Parquet integer types are `Int64`, floating
/// types `Float64`, strings `Utf8`. `None` is a missing cell (an empty CSV field, a Parquet null).
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Int64(Vec<Option<i64>>),
    Float64(Vec<Option<f64>>),
    Utf8(StringColumn),
}

/// One cell, with empty strings read as missing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Missing,
    Int(i64),
    Float(f64),
    /// Never empty.
    Text(&'a str),
}

impl Cell<'_> {
    /// The value's text form: integers as decimal text, floats in Rust's shortest round-trip form (`2.5`, `3`).
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match *self {
            Cell::Missing => None,
            Cell::Int(v) => Some(Cow::Owned(v.to_string())),
            Cell::Float(v) => Some(Cow::Owned(v.to_string())),
            Cell::Text(s) => Some(Cow::Borrowed(s)),
        }
    }
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Int64(v) => v.len(),
            Column::Float64(v) => v.len(),
            Column::Utf8(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cell `i`; panics if `i >= len()` (callers iterate `0..num_rows`).
    pub fn cell(&self, i: usize) -> Cell<'_> {
        match self {
            Column::Int64(v) => v[i].map_or(Cell::Missing, Cell::Int),
            Column::Float64(v) => v[i].map_or(Cell::Missing, Cell::Float),
            Column::Utf8(v) => match v.get(i) {
                None | Some("") => Cell::Missing,
                Some(text) => Cell::Text(text),
            },
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Column::Int64(_) => "int64",
            Column::Float64(_) => "float64",
            Column::Utf8(_) => "utf8",
        }
    }
}

/// Optional strings in one buffer (one allocation per column, not per cell).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringColumn {
    bytes: String,
    /// End of cell `i` in `bytes`; cell `i` starts at `ends[i - 1]` (0 for the first).
    ends: Vec<usize>,
    present: Vec<bool>,
}

impl StringColumn {
    pub fn with_capacity(cells: usize, bytes: usize) -> Self {
        StringColumn {
            bytes: String::with_capacity(bytes),
            ends: Vec::with_capacity(cells),
            present: Vec::with_capacity(cells),
        }
    }

    pub fn push(&mut self, value: Option<&str>) {
        if let Some(text) = value {
            self.bytes.push_str(text);
        }
        self.ends.push(self.bytes.len());
        self.present.push(value.is_some());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Cell `i`; panics if `i >= len()`.
    pub fn get(&self, i: usize) -> Option<&str> {
        if !self.present[i] {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..self.ends[i]])
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

impl<'a> FromIterator<Option<&'a str>> for StringColumn {
    fn from_iter<I: IntoIterator<Item = Option<&'a str>>>(iter: I) -> Self {
        let mut column = StringColumn::default();
        for value in iter {
            column.push(value);
        }
        column
    }
}
