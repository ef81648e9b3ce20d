//! Prediction output files: CSV or Parquet (by extension), one row per input row, kept columns first, then one
//! column per output value (`probs_ctr`, or `probs_cls_0`, `probs_cls_1`, ... for `[batch, C]` outputs). Rows that
//! could not be scored have empty (CSV) / null (Parquet) outputs.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use plec_data::tabular::TableWriter;
use plec_data::{Column, ColumnBatch, FileFormat};

use super::error::PredictError;

/// One output value column: an output's name and, for `[batch, C]` outputs, the index.
#[derive(Debug, Clone)]
pub struct ValueColumn {
    pub name: String,
    pub output: usize,
    pub index: usize,
    pub width: usize,
}

/// The scored rows of one input batch, in input order: `None` for a row that could not be scored.
pub struct ScoredBatch<'a> {
    pub batch: &'a ColumnBatch,
    /// Per input row: the row's index into `values`' batch axis, or `None`.
    pub scored_row: Vec<Option<usize>>,
    /// Per output (signature order, then any gate outputs): row-major values of the scored rows.
    pub values: Vec<&'a [f32]>,
}

impl ScoredBatch<'_> {
    fn value(&self, row: usize, column: &ValueColumn) -> Option<f32> {
        self.scored_row[row].map(|r| self.values[column.output][r * column.width + column.index])
    }
}

/// The output's format, from its file name.
pub fn output_format(path: &Path) -> Result<FileFormat, PredictError> {
    FileFormat::of_output(path).ok_or_else(|| {
        PredictError::Usage(format!("output {}: name it .csv or .parquet (that picks the format)", path.display()))
    })
}

/// The predictions file: scored batches as record batches through the one tabular writer (which writes to
/// `<output>.partial` and renames on [`OutputWriter::finish`], so a failed run never leaves a file that looks
/// complete).
pub struct OutputWriter {
    table: TableWriter,
    format: FileFormat,
    keep: Vec<String>,
    /// Parquet: the kept columns' types, fixed by the first batch (one type per column in a file).
    keep_types: Option<Vec<DataType>>,
    values: Vec<ValueColumn>,
}

impl OutputWriter {
    pub fn create(path: &Path, keep: Vec<String>, values: Vec<ValueColumn>) -> Result<OutputWriter, PredictError> {
        let format = output_format(path)?;
        let table = TableWriter::create(path, format).map_err(PredictError::Data)?;
        Ok(OutputWriter { table, format, keep, keep_types: None, values })
    }

    pub fn write(&mut self, scored: &ScoredBatch<'_>) -> Result<(), PredictError> {
        let types: Vec<DataType> = self
            .keep
            .iter()
            .map(|name| scored.batch.column(name).map(arrow_type))
            .collect::<Result<_, _>>()
            .map_err(PredictError::Data)?;
        // CSV has no schema: each batch keeps its own types. Parquet keeps the first batch's.
        let types = match self.format {
            FileFormat::Csv => types,
            FileFormat::Parquet => self.keep_types.get_or_insert(types).clone(),
        };
        let batch = record_batch(&self.keep, &types, &self.values, scored)?;
        self.table.write(&batch).map_err(PredictError::Data)
    }

    /// Flushes, closes and moves the file into place. No rows at all: a file with only the columns (kept columns
    /// as strings).
    pub fn finish(mut self) -> Result<(), PredictError> {
        if self.table.is_empty() {
            let types = vec![DataType::Utf8; self.keep.len()];
            let empty = RecordBatch::new_empty(schema(&self.keep, &types, &self.values));
            self.table.write(&empty).map_err(PredictError::Data)?;
        }
        self.table.finish().map(|_| ()).map_err(PredictError::Data)
    }

    /// Removes the partial file after a failure.
    pub fn abandon(self) {
        self.table.abandon();
    }
}

fn arrow_type(column: &Column) -> DataType {
    match column {
        Column::Int64(_) => DataType::Int64,
        Column::Float64(_) => DataType::Float64,
        Column::Utf8(_) => DataType::Utf8,
    }
}

fn schema(keep: &[String], keep_types: &[DataType], values: &[ValueColumn]) -> Arc<Schema> {
    let mut fields: Vec<Field> =
        keep.iter().zip(keep_types).map(|(name, dtype)| Field::new(name, dtype.clone(), true)).collect();
    fields.extend(values.iter().map(|v| Field::new(&v.name, DataType::Float32, true)));
    Arc::new(Schema::new(fields))
}

fn record_batch(
    keep: &[String],
    keep_types: &[DataType],
    values: &[ValueColumn],
    scored: &ScoredBatch<'_>,
) -> Result<RecordBatch, PredictError> {
    let batch = scored.batch;
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, dtype) in keep.iter().zip(keep_types) {
        let column = batch.column(name)?;
        let array: ArrayRef = match (column, dtype) {
            (Column::Int64(v), DataType::Int64) => Arc::new(Int64Array::from(v.clone())),
            (Column::Float64(v), DataType::Float64) => Arc::new(Float64Array::from(v.clone())),
            (column, DataType::Utf8) => {
                let texts: Vec<Option<String>> =
                    (0..batch.num_rows).map(|i| column.cell(i).text().map(|t| t.into_owned())).collect();
                Arc::new(StringArray::from(texts))
            }
            (column, dtype) => {
                return Err(PredictError::Usage(format!(
                    "{}: kept column {name:?} is {} here but {dtype} in the first input file; Parquet output needs one \
                     type per column (write CSV instead)",
                    batch.source.display(),
                    column.type_name()
                )))
            }
        };
        arrays.push(array);
    }
    for column in values {
        let data: Vec<Option<f32>> = (0..batch.num_rows).map(|row| scored.value(row, column)).collect();
        arrays.push(Arc::new(Float32Array::from(data)));
    }
    RecordBatch::try_new(schema(keep, keep_types, values), arrays)
        .map_err(|e| PredictError::Usage(format!("building an output batch: {e}")))
}
