//! Golden sets written with every checkpoint: raw inputs (eval rows plus edge cases) and this model's own
//! eval-mode outputs for them, in the ONNX backend-test layout (`plec_spec::artifact::golden`). The training loop
//! builds one per checkpoint and `checkpoint::save` writes it; `plec compile` copies it beside the model and checks
//! the compiled graph against it; `plec verify` re-checks anywhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

use plec_data::{
    edge_case_batch, encode, raw_inputs, required_columns, BatchReader, Column, ColumnBatch, CsvOptions, EncodeOptions,
    ReadOptions, StringColumn,
};
use plec_spec::artifact::golden::GoldenSet;
use plec_spec::artifact::tensor::{RawData, RawTensor};
use plec_spec::ModelSpec;

use crate::error::{Result, TrainError};
use crate::model::PleModel;
use crate::predict::predict;

/// Rows taken from the eval (or train) data, before the edge cases.
pub const GOLDEN_DATA_ROWS: usize = 256;
/// The edge-case block has at least this many rows.
const MIN_EDGE_ROWS: usize = 16;

/// The rows of every golden set of a run: the first data rows of `input` plus the spec's edge cases, as text.
pub fn golden_rows(spec: &ModelSpec, input: Option<&[PathBuf]>) -> Result<ColumnBatch> {
    let mut parts = Vec::new();
    if let Some(files) = input {
        // Inputs only: labels are not part of a golden set, and rows for `plec import` need not have them.
        let csv = CsvOptions::from_settings(&spec.data).map_err(data_err)?;
        let options = ReadOptions::for_signature(&spec.signature(), GOLDEN_DATA_ROWS, csv);
        let mut reader = BatchReader::open(files.to_vec(), options).map_err(data_err)?;
        if let Some(batch) = reader.next() {
            parts.push(batch.map_err(data_err)?);
        }
    }
    parts.push(edge_case_batch(spec, MIN_EDGE_ROWS));
    Ok(concat_as_text(spec, &parts))
}

/// One batch holding the rows of `parts`, every cell as text (ints and floats in their text form, which both the
/// trainer's encoder and the graph-input conversion read the same way). Columns that are not model inputs
/// (labels, sample weights) are `0` where a part lacks them: outputs do not depend on them, and rows read for a
/// golden set carry inputs only.
pub fn concat_as_text(spec: &ModelSpec, parts: &[ColumnBatch]) -> ColumnBatch {
    let rows: usize = parts.iter().map(|p| p.num_rows).sum();
    let inputs = spec.signature().columns();
    let mut columns = BTreeMap::new();
    for name in required_columns(spec) {
        let mut column = StringColumn::with_capacity(rows, rows * 8);
        let absent = if inputs.contains(&name) { None } else { Some("0") };
        for part in parts {
            match part.columns.get(&name) {
                Some(source) => {
                    for i in 0..part.num_rows {
                        column.push(source.cell(i).text().as_deref());
                    }
                }
                None => (0..part.num_rows).for_each(|_| column.push(absent)),
            }
        }
        columns.insert(name, Column::Utf8(column));
    }
    ColumnBatch { source: PathBuf::from("<golden rows>"), first_row: 0, num_rows: rows, columns, lines: None }
}

/// The golden set of `model` on `rows`.
pub fn golden_set(model: &PleModel, rows: &ColumnBatch) -> Result<GoldenSet> {
    let spec = &model.spec;
    let encoded = encode(spec, rows, &EncodeOptions::default()).map_err(data_err)?;
    let mut named = predict(model, &encoded)?;
    let inputs = raw_inputs(&spec.signature(), rows).map_err(data_err)?;
    let mut outputs = Vec::new();
    for output in spec.signature().outputs {
        let (shape, values) = named
            .remove(&output.name)
            .ok_or_else(|| TrainError::Naming(format!("the trainer produced no output `{}`", output.name)))?;
        outputs.push(RawTensor { name: output.name, shape, data: RawData::Float(values) });
    }
    Ok(GoldenSet { inputs, outputs })
}

fn data_err(error: plec_data::DataError) -> TrainError {
    TrainError::Data(error)
}
