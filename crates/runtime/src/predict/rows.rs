//! Selecting rows of batches and tensors, and the bad-rows file.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use plec_data::{BadCell, Column, ColumnBatch, RawData, RawTensor, StringColumn};

use super::error::PredictError;
use crate::tensor::RawInputs;

/// Rows of `batch` that no cell of `cells` is in, in order.
pub(super) fn rows_without(batch: &ColumnBatch, cells: &[BadCell]) -> Vec<usize> {
    let bad: BTreeSet<u64> = cells.iter().map(|c| c.at.row).collect();
    (0..batch.num_rows).filter(|&i| !bad.contains(&(batch.first_row + i as u64))).collect()
}

/// The given rows of a batch (its row references no longer apply: only convert it).
pub(super) fn select_batch(batch: &ColumnBatch, rows: &[usize]) -> ColumnBatch {
    let columns = batch
        .columns
        .iter()
        .map(|(name, column)| {
            let selected = match column {
                Column::Int64(v) => Column::Int64(rows.iter().map(|&r| v[r]).collect()),
                Column::Float64(v) => Column::Float64(rows.iter().map(|&r| v[r]).collect()),
                Column::Utf8(v) => Column::Utf8(rows.iter().map(|&r| v.get(r)).collect::<StringColumn>()),
            };
            (name.clone(), selected)
        })
        .collect();
    ColumnBatch { source: batch.source.clone(), first_row: batch.first_row, num_rows: rows.len(), columns, lines: None }
}

fn select<T: Clone>(values: &[T], width: usize, rows: &[usize]) -> Vec<T> {
    rows.iter().flat_map(|&r| values[r * width..(r + 1) * width].iter().cloned()).collect()
}

/// The given rows of every tensor (whose data fits its shape: checked before).
pub(super) fn select_inputs(inputs: &RawInputs, rows: &[usize]) -> RawInputs {
    let tensors = inputs
        .tensors
        .iter()
        .map(|tensor| {
            let width: usize = tensor.shape.iter().skip(1).product();
            let data = match &tensor.data {
                RawData::Int64(v) => RawData::Int64(select(v, width, rows)),
                RawData::Float(v) => RawData::Float(select(v, width, rows)),
                RawData::String(v) => RawData::String(select(v, width, rows)),
            };
            let mut shape = tensor.shape.clone();
            shape[0] = rows.len();
            RawTensor { name: tensor.name.clone(), shape, data }
        })
        .collect();
    RawInputs { tensors }
}

/// CSV of bad rows: `output_row` (0-based row of the output file, whose predictions are empty), `file`, `data_row`
/// (1-based, header excluded), `line` (CSV inputs), `column`, `reason`. A row with several problems has several
/// lines. Written to `<path>.partial` and renamed on [`BadRowsFile::finish`], as the output.
pub struct BadRowsFile {
    path: PathBuf,
    partial: PathBuf,
    out: BufWriter<File>,
}

fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl BadRowsFile {
    pub fn create(path: &Path) -> Result<BadRowsFile, PredictError> {
        let partial = plec_data::tabular::partial_path(path);
        let error = |e: std::io::Error| PredictError::Output { path: partial.clone(), message: e.to_string() };
        let mut out = BufWriter::new(File::create(&partial).map_err(error)?);
        writeln!(out, "output_row,file,data_row,line,column,reason").map_err(error)?;
        Ok(BadRowsFile { path: path.to_path_buf(), partial, out })
    }

    /// `first_output_row`: the output row of the batch's row 0.
    pub(super) fn write(
        &mut self,
        first_output_row: u64,
        batch: &ColumnBatch,
        cells: &[BadCell],
    ) -> Result<(), PredictError> {
        for cell in cells {
            let output_row = first_output_row + (cell.at.row - batch.first_row);
            let line = cell.at.line.map(|l| l.to_string()).unwrap_or_default();
            writeln!(
                self.out,
                "{output_row},{},{},{line},{},{}",
                field(&cell.at.file.display().to_string()),
                cell.at.row + 1,
                field(&cell.column),
                field(&cell.reason)
            )
            .map_err(|e| PredictError::Output { path: self.partial.clone(), message: e.to_string() })?;
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<(), PredictError> {
        self.out.flush().map_err(|e| PredictError::Output { path: self.partial.clone(), message: e.to_string() })?;
        drop(self.out);
        std::fs::rename(&self.partial, &self.path)
            .map_err(|e| PredictError::Output { path: self.path.clone(), message: e.to_string() })
    }

    pub(super) fn abandon(self) {
        drop(self.out);
        let _ = std::fs::remove_file(&self.partial);
    }
}
