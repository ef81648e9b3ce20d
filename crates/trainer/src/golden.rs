//! Golden sets written with every checkpoint: raw inputs (eval rows plus edge cases) and this model's own
//! eval-mode outputs for them, in the ONNX backend-test layout (`plec_config::artifact::golden`). `plec compile` copies them
//! beside the model and checks the compiled graph against them; `plec verify` re-checks anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plec_config::artifact::checkpoint::GOLDEN_DIR;
use plec_config::artifact::golden::GoldenSet;
use plec_config::artifact::tensor::{RawData, RawTensor};
use plec_config::spec::ModelSpec;
use plec_data::{
    edge_case_batch, encode, raw_inputs, required_columns, BatchReader, Column, ColumnBatch, EncodeOptions,
    ReadOptions, StringColumn,
};

use crate::error::{io_err, Result, TrainError};
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
        let options = ReadOptions::for_spec(spec, GOLDEN_DATA_ROWS).map_err(data_err)?;
        let mut reader = BatchReader::open(files.to_vec(), options).map_err(data_err)?;
        if let Some(batch) = reader.next() {
            parts.push(batch.map_err(data_err)?);
        }
    }
    parts.push(edge_case_batch(spec, MIN_EDGE_ROWS));
    Ok(concat_as_text(spec, &parts))
}

/// One batch holding the rows of `parts`, every cell as text (ints and floats in their text form, which both the
/// trainer's encoder and the graph-input conversion read the same way).
pub fn concat_as_text(spec: &ModelSpec, parts: &[ColumnBatch]) -> ColumnBatch {
    let rows: usize = parts.iter().map(|p| p.num_rows).sum();
    let mut columns = BTreeMap::new();
    for name in required_columns(spec) {
        let mut column = StringColumn::with_capacity(rows, rows * 8);
        for part in parts {
            match part.columns.get(&name) {
                Some(source) => {
                    for i in 0..part.num_rows {
                        column.push(source.cell(i).text().as_deref());
                    }
                }
                None => (0..part.num_rows).for_each(|_| column.push(None)),
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

/// Writes `checkpoint_dir/golden/test_data_set_0/...`.
pub fn write(model: &PleModel, rows: &ColumnBatch, checkpoint_dir: &Path) -> Result<()> {
    let dir = checkpoint_dir.join(GOLDEN_DIR);
    golden_set(model, rows)?.write(&dir).map_err(|e| io_err(&dir, e))
}

fn data_err(error: plec_data::DataError) -> TrainError {
    TrainError::Data(error.to_string())
}

/// A model holding the weights of a safetensors file (every parameter present with its shape), e.g. fixed-seed
/// test weights made without training.
pub fn model_from_weights(spec: &ModelSpec, path: &Path) -> Result<PleModel> {
    let model = PleModel::new(spec, tch::Device::Cpu)?;
    let tensors = crate::checkpoint::read_tensors(path)?;
    model.load_named(&tensors, &path.display().to_string())?;
    Ok(model)
}
