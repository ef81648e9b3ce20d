//! `plec predict`: CSV/Parquet rows -> model outputs, one output row per input row in input order. Rows that
//! cannot be scored (unparsable cells, ids outside their range, ...) fail the run with file, row and column, or,
//! with a bad-rows file, are written there with the reason, counted, and left empty in the output.

mod error;
mod rows;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use plec_data::{raw_inputs, BadCell, BatchReader, ColumnBatch, CsvOptions, DataError, ReadOptions};

use crate::error::RuntimeError;
use crate::model::Model;
use crate::tensor::RawInputs;
use crate::validate;
pub use error::PredictError;
pub use rows::BadRowsFile;
pub use writer::{output_format, ValueColumn};
use writer::{OutputWriter, ScoredBatch};

/// Batches read ahead of the model.
const READ_AHEAD: usize = 2;

#[derive(Debug, Clone)]
pub struct PredictOptions {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    /// Rows per model call (each input file's last batch may be shorter).
    pub batch_size: usize,
    /// Input columns copied to the output before the predictions.
    pub keep_columns: Vec<String>,
    /// Where bad rows go; `None`: a bad row fails the run.
    pub bad_rows: Option<PathBuf>,
    pub csv: CsvOptions,
    /// Also write every gate output the model exposes ([`Model::gate_outputs`]), one column per expert.
    pub gates: bool,
    /// Checked between batches (set by a SIGINT / SIGTERM handler): when set, the run stops and removes its
    /// partial output files.
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// Progress reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub rows: u64,
    pub bad_rows: u64,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct PredictSummary {
    pub rows: u64,
    pub bad_rows: u64,
    pub files: usize,
    pub elapsed: Duration,
    /// Time spent inside model runs.
    pub inference: Duration,
}

/// The output's value columns, from the model's outputs and, with `gates`, then its gate outputs
/// (`<gate>.softmax_<e>` for expert `e` in the gate's order).
pub fn value_columns(model: &Model, gates: bool) -> Vec<ValueColumn> {
    let mut columns = Vec::new();
    for (output, signature) in model.outputs().iter().enumerate() {
        let width: usize = signature.shape.iter().skip(1).map(|d| d.as_u64().unwrap_or(1) as usize).product();
        if signature.shape.len() == 1 {
            columns.push(ValueColumn { name: signature.name.clone(), output, index: 0, width: 1 });
        } else {
            for index in 0..width {
                columns.push(ValueColumn { name: format!("{}_{index}", signature.name), output, index, width });
            }
        }
    }
    if gates {
        let first = model.outputs().len();
        for (g, gate) in model.gate_outputs().iter().enumerate() {
            let width = gate.experts;
            for index in 0..width {
                columns.push(ValueColumn { name: format!("{}_{index}", gate.name), output: first + g, index, width });
            }
        }
    }
    columns
}

/// One input batch, converted and checked, ready for the model.
struct Prepared {
    batch: ColumnBatch,
    /// Per input row: its row in `inputs`, or `None` if bad.
    scored_row: Vec<Option<usize>>,
    inputs: RawInputs,
    batch_size: usize,
    bad: Vec<BadCell>,
}

/// Converts a batch to raw inputs, setting bad rows aside.
fn prepare(model: &Model, batch: ColumnBatch) -> Result<Prepared, PredictError> {
    let signature = model.signature();
    let mut bad: Vec<BadCell> = Vec::new();
    let mut good: Vec<usize> = (0..batch.num_rows).collect();
    let tensors = match raw_inputs(signature, &batch) {
        Ok(tensors) => tensors,
        Err(DataError::BadCells(cells)) => {
            good = rows::rows_without(&batch, &cells);
            bad.extend(cells);
            let subset = rows::select_batch(&batch, &good);
            raw_inputs(signature, &subset)?
        }
        Err(other) => return Err(other.into()),
    };
    let mut inputs = RawInputs::from(tensors);
    let batch_size = validate::check_structure(signature, &inputs).map_err(RuntimeError::from)?;
    let values = validate::find_bad_values(signature, &inputs);
    if !values.is_empty() {
        let bad_rows: std::collections::BTreeSet<usize> = values.iter().map(|v| v.row).collect();
        for value in &values {
            let reason = match value.position {
                Some(p) => format!("value {} at position {p} {}", value.value, value.reason),
                None => format!("value {} {}", value.value, value.reason),
            };
            bad.push(BadCell { at: batch.row_ref(good[value.row]), column: value.input.clone(), reason });
        }
        let keep: Vec<usize> = (0..good.len()).filter(|r| !bad_rows.contains(r)).collect();
        inputs = rows::select_inputs(&inputs, &keep);
        good = keep.iter().map(|&r| good[r]).collect();
    }
    bad.sort_by_key(|cell| cell.at.row);
    let mut scored_row = vec![None; batch.num_rows];
    for (position, &row) in good.iter().enumerate() {
        scored_row[row] = Some(position);
    }
    let batch_size = if values.is_empty() { batch_size } else { good.len() };
    Ok(Prepared { batch, scored_row, inputs, batch_size, bad })
}

/// The output's value columns, after checking that `options` can be met by `model`.
fn checked_value_columns(model: &Model, options: &PredictOptions) -> Result<Vec<ValueColumn>, PredictError> {
    if options.batch_size == 0 {
        return Err(PredictError::Usage("--batch-size must be at least 1".into()));
    }
    if options.gates && model.gate_outputs().is_empty() {
        return Err(PredictError::Usage(format!(
            "{} outputs no gates: compile it with `plec compile --expose-gates` to write them",
            model.path().display()
        )));
    }
    let values = value_columns(model, options.gates);
    for kept in &options.keep_columns {
        if values.iter().any(|v| &v.name == kept) {
            return Err(PredictError::Usage(format!("kept column {kept:?} has the name of an output column")));
        }
    }
    Ok(values)
}

/// Scores every row of `options.inputs` into `options.output`.
pub fn predict(
    model: &Model,
    options: &PredictOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<PredictSummary, PredictError> {
    let values = checked_value_columns(model, options)?;
    let mut columns: Vec<String> = model.signature().columns();
    for kept in &options.keep_columns {
        if !columns.contains(kept) {
            columns.push(kept.clone());
        }
    }
    let read = ReadOptions { batch_size: options.batch_size, columns, csv: options.csv.clone() };
    // Opening checks every file up front (exists, readable, has the columns) before anything is written. The
    // reader is not `Send` (CSV readers box their input), so the reading thread opens its own.
    drop(BatchReader::open(options.inputs.clone(), read.clone())?);
    let mut bad_rows_file = options.bad_rows.as_deref().map(BadRowsFile::create).transpose()?;
    let mut writer = OutputWriter::create(&options.output, options.keep_columns.clone(), values)?;
    let start = Instant::now();
    let mut summary = PredictSummary { files: options.inputs.len(), ..PredictSummary::default() };

    let result = std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<Result<Prepared, PredictError>>(READ_AHEAD);
        let files = options.inputs.clone();
        scope.spawn(move || {
            let reader = match BatchReader::open(files, read) {
                Ok(reader) => reader,
                Err(error) => {
                    let _ = sender.send(Err(error.into()));
                    return;
                }
            };
            for batch in reader {
                let prepared = batch.map_err(PredictError::from).and_then(|b| prepare(model, b));
                let failed = prepared.is_err();
                if sender.send(prepared).is_err() || failed {
                    break;
                }
            }
        });
        for prepared in receiver {
            let prepared = prepared?;
            if !prepared.bad.is_empty() {
                let rows = prepared.scored_row.iter().filter(|r| r.is_none()).count();
                match bad_rows_file.as_mut() {
                    Some(file) => file.write(summary.rows, &prepared.batch, &prepared.bad)?,
                    None => return Err(PredictError::BadRows { cells: prepared.bad, rows }),
                }
                summary.bad_rows += rows as u64;
            }
            let run_start = Instant::now();
            let outputs = if options.gates {
                model.run_checked_with_gates(&prepared.inputs, prepared.batch_size)?
            } else {
                model.run_checked(&prepared.inputs, prepared.batch_size)?
            };
            summary.inference += run_start.elapsed();
            let scored = ScoredBatch {
                batch: &prepared.batch,
                scored_row: prepared.scored_row.clone(),
                values: outputs.tensors.iter().map(|(_, t)| t.values.as_slice()).collect(),
            };
            writer.write(&scored)?;
            summary.rows += prepared.batch.num_rows as u64;
            progress(Progress { rows: summary.rows, bad_rows: summary.bad_rows, elapsed: start.elapsed() });
            if options.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
                return Err(PredictError::Interrupted { rows: summary.rows, output: options.output.clone() });
            }
        }
        Ok(())
    });
    // Dropping the receiver (on error) stops the reader thread at its next send.
    match result {
        Ok(()) => {
            writer.finish()?;
            if let Some(file) = bad_rows_file {
                file.finish()?;
            }
            summary.elapsed = start.elapsed();
            Ok(summary)
        }
        Err(error) => {
            writer.abandon();
            if let Some(file) = bad_rows_file {
                file.abandon();
            }
            Err(error)
        }
    }
}
