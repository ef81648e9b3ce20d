//! The one writer of tabular files, for generated data sets (`plec datagen`) and predictions (`plec predict`):
//! Arrow record batches to CSV (a header, RFC 4180 quoting, nulls as empty fields, numbers in Rust's shortest
//! round-trip text) or Parquet (snappy). Each file is written to `<path>.partial` and renamed into place by
//! [`TableWriter::finish`], so a failed run never leaves a file that looks complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::{DataError, FileFormat};

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;

enum Sink {
    /// Parquet needs the first batch's schema, so its writer is made by the first `write`.
    Parquet {
        file: Option<File>,
        writer: Option<Box<ArrowWriter<File>>>,
    },
    Csv {
        out: BufWriter<File>,
        header_written: bool,
    },
}

/// Writes record batches with one schema to one file.
pub struct TableWriter {
    path: PathBuf,
    partial: PathBuf,
    sink: Sink,
    rows: u64,
}

impl TableWriter {
    /// Creates `<path>.partial` (and `path`'s folder).
    pub fn create(path: &Path, format: FileFormat) -> Result<TableWriter, DataError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
        }
        let partial = partial_path(path);
        let file = File::create(&partial).map_err(|e| DataError::io(&partial, e))?;
        let sink = match format {
            FileFormat::Parquet => Sink::Parquet { file: Some(file), writer: None },
            FileFormat::Csv => Sink::Csv { out: BufWriter::with_capacity(1 << 20, file), header_written: false },
        };
        Ok(TableWriter { path: path.to_path_buf(), partial, sink, rows: 0 })
    }

    /// Whether nothing has been written yet (not even an empty batch).
    pub fn is_empty(&self) -> bool {
        match &self.sink {
            Sink::Parquet { writer, .. } => writer.is_none(),
            Sink::Csv { header_written, .. } => !header_written,
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let partial = &self.partial;
        let parquet_error = |source| DataError::ParquetWrite { path: partial.clone(), source };
        match &mut self.sink {
            Sink::Parquet { file, writer } => {
                if writer.is_none() {
                    let Some(file) = file.take() else { unreachable!("the file is taken once, with the writer") };
                    let properties = WriterProperties::builder()
                        .set_compression(Compression::SNAPPY)
                        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                        .build();
                    let created =
                        ArrowWriter::try_new(file, batch.schema(), Some(properties)).map_err(parquet_error)?;
                    *writer = Some(Box::new(created));
                }
                let Some(writer) = writer.as_mut() else { unreachable!("created above") };
                writer.write(batch).map_err(parquet_error)?;
            }
            Sink::Csv { out, header_written } => {
                write_csv(out, batch, !*header_written).map_err(|e| DataError::io(partial, e))?;
                *header_written = true;
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Flushes, closes and moves the file into place; returns the rows written.
    pub fn finish(self) -> Result<u64, DataError> {
        let partial = &self.partial;
        match self.sink {
            Sink::Parquet { writer: Some(writer), .. } => {
                writer.close().map_err(|source| DataError::ParquetWrite { path: partial.clone(), source })?;
            }
            Sink::Parquet { writer: None, .. } => {
                return Err(DataError::io(
                    partial,
                    std::io::Error::other("a Parquet file needs a schema: write at least one (possibly empty) batch"),
                ))
            }
            Sink::Csv { mut out, .. } => out.flush().map_err(|e| DataError::io(partial, e))?,
        }
        std::fs::rename(partial, &self.path).map_err(|e| DataError::io(&self.path, e))?;
        Ok(self.rows)
    }

    /// Removes the partial file after a failure.
    pub fn abandon(self) {
        drop(self.sink);
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// `<path>.partial`: where a file is written before it is complete.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

fn write_csv(out: &mut impl Write, batch: &RecordBatch, header: bool) -> std::io::Result<()> {
    let mut line = String::new();
    if header {
        for (j, field) in batch.schema().fields().iter().enumerate() {
            if j > 0 {
                line.push(',');
            }
            push_csv_text(&mut line, field.name());
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    for row in 0..batch.num_rows() {
        line.clear();
        for (j, column) in batch.columns().iter().enumerate() {
            if j > 0 {
                line.push(',');
            }
            push_cell(&mut line, column.as_ref(), row)?;
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// One cell's text: empty for null; Rust prints the shortest text that reads back as the same number.
fn push_cell(line: &mut String, column: &dyn Array, row: usize) -> std::io::Result<()> {
    if column.is_null(row) {
        return Ok(());
    }
    match column.data_type() {
        DataType::Int64 => line.push_str(&column.as_primitive::<Int64Type>().value(row).to_string()),
        DataType::Float64 => line.push_str(&column.as_primitive::<Float64Type>().value(row).to_string()),
        DataType::Float32 => line.push_str(&column.as_primitive::<Float32Type>().value(row).to_string()),
        DataType::Utf8 => push_csv_text(line, column.as_string::<i32>().value(row)),
        other => return Err(std::io::Error::other(format!("no CSV text for a {other} column"))),
    }
    Ok(())
}

/// Quotes a field holding a comma, a quote or a line break (RFC 4180).
fn push_csv_text(line: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, StringArray};

    use super::*;

    fn batch() -> RecordBatch {
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(Int64Array::from(vec![Some(7), None, Some(-3)]))),
            ("x", Arc::new(Float64Array::from(vec![Some(0.1), Some(2.5), None]))),
            ("p", Arc::new(Float32Array::from(vec![Some(0.1f32), None, Some(1.0 / 3.0)]))),
            ("a,b", Arc::new(StringArray::from(vec![Some("plain"), Some("say \"hi\", twice"), None]))),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn csv_quotes_what_needs_it_and_leaves_nulls_empty() {
        let dir = plec_spec::test_dir::TestDir::new("tabular_csv");
        let path = dir.join("out.csv");
        let mut writer = TableWriter::create(&path, FileFormat::Csv).unwrap();
        assert!(!path.exists() && partial_path(&path).exists(), "written under .partial until finished");
        writer.write(&batch()).unwrap();
        assert_eq!(writer.finish().unwrap(), 3);
        let expected = "id,x,p,\"a,b\"\n7,0.1,0.1,plain\n,2.5,,\"say \"\"hi\"\", twice\"\n-3,,0.33333334,\n";
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        assert!(!partial_path(&path).exists());
    }

    #[test]
    fn parquet_round_trips_and_an_abandoned_file_is_removed() {
        let dir = plec_spec::test_dir::TestDir::new("tabular_parquet");
        let path = dir.join("out.parquet");
        let mut writer = TableWriter::create(&path, FileFormat::Parquet).unwrap();
        writer.write(&batch()).unwrap();
        writer.write(&batch()).unwrap();
        assert_eq!(writer.finish().unwrap(), 6);
        let file = File::open(&path).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024).unwrap();
        let read: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        let rows: usize = read.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 6);
        assert_eq!(read[0].slice(0, 3), batch());

        let abandoned = dir.join("gone.csv");
        let writer = TableWriter::create(&abandoned, FileFormat::Csv).unwrap();
        writer.abandon();
        assert!(!abandoned.exists() && !partial_path(&abandoned).exists());
    }
}
