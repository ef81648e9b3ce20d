//! Files for the data tests in temporary folders (`plec_spec::test_dir`; hand-built specs come from
//! `plec_spec::testing`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;

pub use plec_spec::test_dir::TestDir;

/// Parquet files in a test folder.
pub trait ParquetFile {
    /// Writes `columns` to `name` in this folder and returns the file's path.
    fn parquet(&self, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf;
}

impl ParquetFile for TestDir {
    fn parquet(&self, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
        let path = self.join(name);
        write_parquet(&path, columns);
        path
    }
}

pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

pub fn ints(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(arrow_array::Int64Array::from(values.to_vec()))
}

pub fn floats(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(arrow_array::Float64Array::from(values.to_vec()))
}

pub fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(arrow_array::StringArray::from(values.to_vec()))
}
