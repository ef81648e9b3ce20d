//! Writing generated columns, chunk by chunk, through the one tabular writer ([`crate::tabular`]): Parquet
//! (snappy) or CSV (with a header; missing = empty).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

use crate::tabular::TableWriter;
use crate::FileFormat;
use crate::{Column, DataError};

/// What a generator writes: `rows` training rows and `eval_rows` evaluation rows (0: no eval file) from `seed`.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitOptions {
    pub rows: u64,
    pub eval_rows: u64,
    pub seed: u64,
    pub format: FileFormat,
}

/// Named columns of equal length.
pub type Chunk = Vec<(String, Column)>;

/// Writes chunks with the same columns to one file.
pub struct ChunkWriter {
    table: TableWriter,
    path: PathBuf,
}

impl ChunkWriter {
    /// Creates `path` (written as `<path>.partial` until [`ChunkWriter::finish`]).
    pub fn create(path: &Path, format: FileFormat) -> Result<ChunkWriter, DataError> {
        Ok(ChunkWriter { table: TableWriter::create(path, format)?, path: path.to_path_buf() })
    }

    pub fn write(&mut self, chunk: &Chunk) -> Result<(), DataError> {
        self.table.write(&record_batch(&self.path, chunk)?)
    }

    /// Flushes, closes and moves the file into place; returns the rows written.
    pub fn finish(self) -> Result<u64, DataError> {
        self.table.finish()
    }
}

/// Writes `rows` rows to `path`, `chunk_rows` at a time: `make(size)` builds each chunk and `seen` looks at it
/// before it is written. The file exists even for 0 rows (a header or a schema only). Returns the rows written.
pub fn write_in_chunks(
    path: &Path,
    format: FileFormat,
    rows: u64,
    chunk_rows: usize,
    mut make: impl FnMut(usize) -> Chunk,
    mut seen: impl FnMut(&Chunk),
) -> Result<u64, DataError> {
    let mut writer = ChunkWriter::create(path, format)?;
    let mut left = rows;
    loop {
        let size = left.min(chunk_rows as u64) as usize;
        let chunk = make(size);
        seen(&chunk);
        writer.write(&chunk)?;
        left -= size as u64;
        if left == 0 {
            return writer.finish();
        }
    }
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
