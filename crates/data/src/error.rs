//! Errors of the data path. Every one names the file, and where it applies the row and the column.

use std::fmt;
use std::path::PathBuf;

/// Where a data row lives: its file, its 0-based data row (header excluded) and, for CSV, its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRef {
    pub file: PathBuf,
    /// 0-based index of the row among the file's data rows.
    pub row: u64,
    /// 1-based line of a CSV row (counts the header and any newlines inside quoted fields); `None` for Parquet.
    pub line: Option<u64>,
}

impl fmt::Display for RowRef {
    /// `data.csv: line 14` for CSV, `data.parquet: row 13` (1-based) for Parquet.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}: line {line}", self.file.display()),
            None => write!(f, "{}: row {}", self.file.display(), self.row + 1),
        }
    }
}

/// One bad cell: the row, the column and what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct BadCell {
    pub at: RowRef,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for BadCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, column {:?}: {}", self.at, self.column, self.reason)
    }
}

/// How many bad cells an error message lists before summarising the rest.
const BAD_CELLS_SHOWN: usize = 10;

fn list_bad_cells(cells: &[BadCell]) -> String {
    let mut text = String::new();
    for (i, cell) in cells.iter().take(BAD_CELLS_SHOWN).enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&cell.to_string());
    }
    if cells.len() > BAD_CELLS_SHOWN {
        text.push_str(&format!("\n... and {} more bad cells", cells.len() - BAD_CELLS_SHOWN));
    }
    text
}

fn describe_columns(columns: &[String]) -> String {
    if columns.is_empty() {
        "the file has no columns".into()
    } else {
        format!("the file has {}", columns.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("no input files match {pattern:?}")]
    NoMatch { pattern: String },
    #[error("bad input pattern {pattern:?}: {message}")]
    BadPattern { pattern: String, message: String },
    #[error("bad input pattern {pattern:?}: {source}")]
    Pattern {
        pattern: String,
        #[source]
        source: glob::PatternError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of a text file that cannot be read.
    #[error("{}: line {line}: {source}", path.display())]
    IoAtLine {
        path: PathBuf,
        line: u64,
        #[source]
        source: std::io::Error,
    },
    /// A file that is unusable for a reason of its own (its content, not an I/O failure).
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// CSV the csv crate cannot read (at `line`, when it knows it).
    #[error("{}: {}{source}", path.display(), line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Csv {
        path: PathBuf,
        line: Option<u64>,
        #[source]
        source: csv::Error,
    },
    #[error("{}: cannot read the header line: {source}", path.display())]
    CsvHeader {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{}: cannot write Parquet: {source}", path.display())]
    ParquetWrite {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{}: not a readable Parquet file: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow failing on a Parquet file's record batches: reading after `after_row`, or assembling one to write.
    #[error("{}: not a readable Parquet file: {}{source}", path.display(),
        after_row.map(|r| format!("after row {r}: ")).unwrap_or_default())]
    ParquetBatch {
        path: PathBuf,
        after_row: Option<u64>,
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A Parquet file whose content does not fit what was read from it before.
    #[error("{}: not a readable Parquet file: {message}", path.display())]
    ParquetContent { path: PathBuf, message: String },
    #[error("{}: no column {column:?} ({})", path.display(), describe_columns(available))]
    MissingColumn { path: PathBuf, column: String, available: Vec<String> },
    #[error("{}: column {column:?} has type {dtype}, expected integers, floats or strings", path.display())]
    UnsupportedType { path: PathBuf, column: String, dtype: String },
    /// A sequence feature's column that is not text: its positions are joined by a delimiter in one string.
    #[error("{}: column {column:?} is a sequence feature and must hold strings (positions joined by {delimiter:?}), \
        found {dtype}", path.display())]
    SequenceNotText { path: PathBuf, column: String, delimiter: String, dtype: String },
    #[error("{at}: expected {expected} fields, found {found}")]
    FieldCount { at: RowRef, expected: usize, found: usize },
    #[error("{}", list_bad_cells(.0))]
    BadCells(Vec<BadCell>),
    /// The read settings themselves do not work (e.g. a multi-byte CSV delimiter, no header and no input_fields).
    #[error("{0}")]
    Settings(String),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}
