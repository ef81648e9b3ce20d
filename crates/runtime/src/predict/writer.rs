//! Prediction output files: CSV or Parquet (by extension), one row per input row, kept columns first, then one
//! column per output value (`probs_ctr`, or `probs_cls_0`, `probs_cls_1`, ... for `[batch, C]` outputs). Rows that
//! could not be scored have empty (CSV) / null (Parquet) outputs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use plec_data::{Column, ColumnBatch};

use super::PredictError;

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
    /// Per output (signature order): row-major values of the scored rows.
    pub values: Vec<&'a [f32]>,
}

impl ScoredBatch<'_> {
    fn value(&self, row: usize, column: &ValueColumn) -> Option<f32> {
        self.scored_row[row].map(|r| self.values[column.output][r * column.width + column.index])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Parquet,
}

impl OutputFormat {
    pub fn of(path: &Path) -> Result<OutputFormat, PredictError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(OutputFormat::Csv),
            Some("parquet" | "pq") => Ok(OutputFormat::Parquet),
            _ => Err(PredictError::Usage(format!(
                "output {}: name it .csv or .parquet (that picks the format)",
                path.display()
            ))),
        }
    }
}

enum Sink {
    Csv(BufWriter<File>),
    Parquet { writer: Option<Box<ArrowWriter<File>>>, file: Option<File>, keep_types: Vec<DataType> },
}

/// Writes to `<output>.partial` and renames to `<output>` on [`OutputWriter::finish`], so a failed run never leaves
/// a file that looks complete.
pub struct OutputWriter {
    path: PathBuf,
    partial: PathBuf,
    keep: Vec<String>,
    values: Vec<ValueColumn>,
    sink: Sink,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> PredictError + '_ {
    move |e| PredictError::Output { path: path.to_path_buf(), message: e.to_string() }
}

impl OutputWriter {
    pub fn create(path: &Path, keep: Vec<String>, values: Vec<ValueColumn>) -> Result<OutputWriter, PredictError> {
        let format = OutputFormat::of(path)?;
        let partial = partial_path(path);
        let file = File::create(&partial).map_err(io_error(&partial))?;
        let sink = match format {
            OutputFormat::Csv => {
                let mut out = BufWriter::new(file);
                let header: Vec<String> = keep
                    .iter()
                    .map(String::as_str)
                    .chain(values.iter().map(|v| v.name.as_str()))
                    .map(csv_field)
                    .collect();
                writeln!(out, "{}", header.join(",")).map_err(io_error(&partial))?;
                Sink::Csv(out)
            }
            OutputFormat::Parquet => Sink::Parquet { writer: None, file: Some(file), keep_types: Vec::new() },
        };
        Ok(OutputWriter { path: path.to_path_buf(), partial, keep, values, sink })
    }

    pub fn write(&mut self, scored: &ScoredBatch<'_>) -> Result<(), PredictError> {
        match &mut self.sink {
            Sink::Csv(out) => write_csv(out, &self.partial, &self.keep, &self.values, scored),
            Sink::Parquet { writer, file, keep_types } => {
                if writer.is_none() {
                    *keep_types = self
                        .keep
                        .iter()
                        .map(|name| scored.batch.column(name).map(arrow_type))
                        .collect::<Result<_, _>>()
                        .map_err(PredictError::Data)?;
                    let schema = schema(&self.keep, keep_types, &self.values);
                    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
                    let Some(file) = file.take() else { unreachable!("the file is taken once, with the writer") };
                    let created = ArrowWriter::try_new(file, schema, Some(properties))
                        .map_err(|e| PredictError::Output { path: self.partial.clone(), message: e.to_string() })?;
                    *writer = Some(Box::new(created));
                }
                let batch = record_batch(&self.keep, keep_types, &self.values, scored)?;
                let Some(writer) = writer.as_mut() else { unreachable!("created above") };
                writer
                    .write(&batch)
                    .map_err(|e| PredictError::Output { path: self.partial.clone(), message: e.to_string() })
            }
        }
    }

    /// Flushes, closes and moves the file into place.
    pub fn finish(self) -> Result<(), PredictError> {
        let output_error = |message: String| PredictError::Output { path: self.partial.clone(), message };
        match self.sink {
            Sink::Csv(mut out) => out.flush().map_err(|e| output_error(e.to_string()))?,
            Sink::Parquet { writer: Some(writer), .. } => {
                writer.close().map_err(|e| output_error(e.to_string()))?;
            }
            Sink::Parquet { writer: None, file, .. } => {
                // No rows at all: an empty file with the output columns (kept columns as strings).
                let types = vec![DataType::Utf8; self.keep.len()];
                let schema = schema(&self.keep, &types, &self.values);
                let Some(file) = file else { unreachable!("the file is taken only with the writer") };
                ArrowWriter::try_new(file, schema, None)
                    .and_then(ArrowWriter::close)
                    .map_err(|e| output_error(e.to_string()))?;
            }
        }
        std::fs::rename(&self.partial, &self.path).map_err(io_error(&self.path))
    }

    /// Removes the partial file after a failure.
    pub fn abandon(self) {
        drop(self.sink);
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// `<path>.partial`: where an output file is written before it is complete.
pub(super) fn partial_path(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn write_csv(
    out: &mut BufWriter<File>,
    path: &Path,
    keep: &[String],
    values: &[ValueColumn],
    scored: &ScoredBatch<'_>,
) -> Result<(), PredictError> {
    let columns: Vec<&Column> = keep.iter().map(|n| scored.batch.column(n)).collect::<Result<_, _>>()?;
    let mut line = String::new();
    for row in 0..scored.batch.num_rows {
        line.clear();
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            if let Some(text) = column.cell(row).text() {
                line.push_str(&csv_field(&text));
            }
        }
        for (i, column) in values.iter().enumerate() {
            if i > 0 || !columns.is_empty() {
                line.push(',');
            }
            if let Some(value) = scored.value(row, column) {
                // Rust prints the shortest text that reads back as the same f32.
                line.push_str(&value.to_string());
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(io_error(path))?;
    }
    Ok(())
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
