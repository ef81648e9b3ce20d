//! What can stop `plec predict`.

use std::path::PathBuf;

use plec_data::{BadCell, DataError};

use crate::error::RuntimeError;

/// Bad rows listed in an error before the rest are only counted.
const BAD_ROWS_SHOWN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("{}", bad_rows_message(.cells, *.rows))]
    BadRows { cells: Vec<BadCell>, rows: usize },
    #[error("{}: {message}", path.display())]
    Output { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    /// Stopped by [`PredictOptions::interrupt`]; the partial output was removed.
    #[error("interrupted after {rows} rows: nothing was written to {}", output.display())]
    Interrupted { rows: u64, output: PathBuf },
}

fn bad_rows_message(cells: &[BadCell], rows: usize) -> String {
    let mut text = format!("{rows} bad row{} (nothing was written):", if rows == 1 { "" } else { "s" });
    for cell in cells.iter().take(BAD_ROWS_SHOWN) {
        text.push_str(&format!("\n  {cell}"));
    }
    if cells.len() > BAD_ROWS_SHOWN {
        text.push_str(&format!("\n  ... and {} more bad values", cells.len() - BAD_ROWS_SHOWN));
    }
    text.push_str("\nuse --bad-rows FILE to write bad rows there and score the others");
    text
}
