//! Writing generated columns, chunk by chunk, as Parquet (snappy) or CSV (with a header; missing = empty).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::{Column, DataError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Parquet,
    Csv,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "parquet" => Ok(OutputFormat::Parquet),
            "csv" => Ok(OutputFormat::Csv),
            other => Err(format!("unknown format {other:?}: expected parquet or csv")),
        }
    }
}

/// What a generator writes: `rows` training rows and `eval_rows` evaluation rows (0: no eval file) from `seed`.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitOptions {
    pub rows: u64,
    pub eval_rows: u64,
    pub seed: u64,
    pub format: OutputFormat,
}

/// Named columns of equal length.
pub type Chunk = Vec<(String, Column)>;

enum Sink {
    Parquet(Box<ArrowWriter<File>>),
    Csv { out: BufWriter<File>, header_written: bool },
}

/// Writes chunks with the same columns to one file.
pub struct ChunkWriter {
    path: PathBuf,
    sink: Sink,
    rows: u64,
}

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;

impl ChunkWriter {
    /// Creates `path`; Parquet needs the first chunk's schema, so the file is opened by the first `write`.
    pub fn create(path: &Path, format: OutputFormat, first: &Chunk) -> Result<ChunkWriter, DataError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
        }
        let file = File::create(path).map_err(|e| DataError::io(path, e))?;
        let sink = match format {
            OutputFormat::Parquet => {
                let schema = record_batch(path, first)?.schema();
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .build();
                let writer =
                    ArrowWriter::try_new(file, schema, Some(properties)).map_err(|e| parquet_error(path, e))?;
                Sink::Parquet(Box::new(writer))
            }
            OutputFormat::Csv => Sink::Csv { out: BufWriter::with_capacity(1 << 20, file), header_written: false },
        };
        Ok(ChunkWriter { path: path.to_path_buf(), sink, rows: 0 })
    }

    pub fn write(&mut self, chunk: &Chunk) -> Result<(), DataError> {
        let rows = chunk.first().map_or(0, |(_, c)| c.len());
        match &mut self.sink {
            Sink::Parquet(writer) => {
                let batch = record_batch(&self.path, chunk)?;
                writer.write(&batch).map_err(|e| parquet_error(&self.path, e))?;
            }
            Sink::Csv { out, header_written } => {
                write_csv(out, chunk, !*header_written).map_err(|e| DataError::io(&self.path, e))?;
                *header_written = true;
            }
        }
        self.rows += rows as u64;
        Ok(())
    }

    /// Flushes and closes the file; returns the rows written.
    pub fn finish(self) -> Result<u64, DataError> {
        match self.sink {
            Sink::Parquet(writer) => {
                writer.close().map_err(|e| parquet_error(&self.path, e))?;
            }
            Sink::Csv { mut out, .. } => out.flush().map_err(|e| DataError::io(&self.path, e))?,
        }
        Ok(self.rows)
    }
}

/// Writes `rows` rows to `path`, `chunk_rows` at a time: `make(size)` builds each chunk and `seen` looks at it
/// before it is written. The file exists even for 0 rows (a header or a schema only). Returns the rows written.
pub fn write_in_chunks(
    path: &Path,
    format: OutputFormat,
    rows: u64,
    chunk_rows: usize,
    mut make: impl FnMut(usize) -> Chunk,
    mut seen: impl FnMut(&Chunk),
) -> Result<u64, DataError> {
    let mut writer: Option<ChunkWriter> = None;
    let mut left = rows;
    while left > 0 || writer.is_none() {
        let size = left.min(chunk_rows as u64) as usize;
        let chunk = make(size);
        seen(&chunk);
        let out = match writer.as_mut() {
            Some(out) => out,
            None => writer.insert(ChunkWriter::create(path, format, &chunk)?),
        };
        out.write(&chunk)?;
        left -= size as u64;
    }
    writer.map_or(Ok(0), ChunkWriter::finish)
}

fn parquet_error(path: &Path, source: parquet::errors::ParquetError) -> DataError {
    DataError::Parquet { path: path.to_path_buf(), source }
}

fn record_batch(path: &Path, chunk: &Chunk) -> Result<RecordBatch, DataError> {
    let arrays: Vec<(&str, ArrayRef)> = chunk
        .iter()
        .map(|(name, column)| {
            let array: ArrayRef = match column {
                Column::Int64(values) => Arc::new(Int64Array::from(values.clone())),
                Column::Float64(values) => Arc::new(Float64Array::from(values.clone())),
                Column::Utf8(values) => Arc::new(values.iter().collect::<StringArray>()),
            };
            (name.as_str(), array)
        })
        .collect();
    RecordBatch::try_from_iter(arrays).map_err(|source| DataError::ParquetBatch {
        path: path.to_path_buf(),
        after_row: None,
        source,
    })
}

fn write_csv(out: &mut impl Write, chunk: &Chunk, header: bool) -> std::io::Result<()> {
    if header {
        let names: Vec<&str> = chunk.iter().map(|(name, _)| name.as_str()).collect();
        writeln!(out, "{}", names.join(","))?;
    }
    let rows = chunk.first().map_or(0, |(_, c)| c.len());
    for row in 0..rows {
        for (j, (_, column)) in chunk.iter().enumerate() {
            if j > 0 {
                out.write_all(b",")?;
            }
            match column {
                Column::Int64(values) => {
                    if let Some(v) = values[row] {
                        write!(out, "{v}")?;
                    }
                }
                Column::Float64(values) => {
                    if let Some(v) = values[row] {
                        write!(out, "{v}")?;
                    }
                }
                Column::Utf8(values) => {
                    if let Some(text) = values.get(row) {
                        write_csv_text(out, text)?;
                    }
                }
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Quotes a field holding a comma, a quote or a line break (RFC 4180).
fn write_csv_text(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    if text.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", text.replace('"', "\"\""))
    } else {
        out.write_all(text.as_bytes())
    }
}
