//! One Parquet file -> batches of wanted columns. Integer and boolean columns become `Int64`, floating columns
//! `Float64`, string columns (plain, large, view or dictionary-encoded) `Utf8`; nulls are missing cells.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use super::column::{Column, ColumnBatch, StringColumn};
use super::error::{BadCell, DataError, RowRef};
use super::parquet_pages::check_pages;

/// A Parquet file whose reads are checked against its length before a buffer is allocated: the footer and the
/// page headers claim sizes, and parquet's own `File` reader reserves whatever a range claims before reading it.
struct BoundedFile {
    file: File,
    len: u64,
}

impl BoundedFile {
    fn new(file: File) -> std::io::Result<BoundedFile> {
        let len = file.metadata()?.len();
        Ok(BoundedFile { file, len })
    }
}

impl Length for BoundedFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for BoundedFile {
    type T = <File as ChunkReader>::T;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        self.file.get_read(start)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        if start.checked_add(length as u64).is_none_or(|end| end > self.len) {
            return Err(ParquetError::EOF(format!(
                "a range of {length} bytes at byte {start} lies past the end of the file ({} bytes)",
                self.len
            )));
        }
        self.file.get_bytes(start, length)
    }
}

pub(crate) struct ParquetFileReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    columns: Vec<String>,
    next_row: u64,
}

fn supported(dtype: &DataType) -> bool {
    match dtype {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => matches!(**values, DataType::Utf8 | DataType::LargeUtf8),
        _ => false,
    }
}

impl ParquetFileReader {
    pub(crate) fn open(path: &Path, columns: &[String], batch_size: usize) -> Result<ParquetFileReader, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let parquet_error =
            |source: parquet::errors::ParquetError| DataError::Parquet { path: path.to_path_buf(), source };
        let builder_file = file.try_clone().map_err(|e| DataError::io(path, e))?;
        let file = BoundedFile::new(file).map_err(|e| DataError::io(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
        let schema = builder.schema().clone();
        let mut roots = Vec::with_capacity(columns.len());
        for column in columns {
            let Some((index, field)) = schema.column_with_name(column) else {
                return Err(DataError::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.clone(),
                    available: schema.fields().iter().map(|f| f.name().clone()).collect(),
                });
            };
            if !supported(field.data_type()) {
                return Err(DataError::UnsupportedType {
                    path: path.to_path_buf(),
                    column: column.clone(),
                    dtype: field.data_type().to_string(),
                });
            }
            roots.push(index);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        check_pages(&builder_file, builder.metadata(), &mask)
            .map_err(|message| DataError::ParquetContent { path: path.to_path_buf(), message })?;
        let reader = builder.with_projection(mask).with_batch_size(batch_size).build().map_err(parquet_error)?;
        Ok(ParquetFileReader { path: path.to_path_buf(), reader, columns: columns.to_vec(), next_row: 0 })
    }

    pub(crate) fn next_batch(&mut self) -> Result<Option<ColumnBatch>, DataError> {
        let batch: RecordBatch = match self.reader.next() {
            None => return Ok(None),
            Some(Err(source)) => {
                return Err(DataError::ParquetBatch { path: self.path.clone(), after_row: Some(self.next_row), source })
            }
            Some(Ok(batch)) => batch,
        };
        let first_row = self.next_row;
        let mut columns = BTreeMap::new();
        for name in &self.columns {
            let array = batch.column_by_name(name).ok_or_else(|| DataError::ParquetContent {
                path: self.path.clone(),
                message: format!("column {name:?} vanished from a record batch"),
            })?;
            columns.insert(name.clone(), self.convert(name, array, first_row)?);
        }
        self.next_row += batch.num_rows() as u64;
        Ok(Some(ColumnBatch { source: self.path.clone(), first_row, num_rows: batch.num_rows(), columns, lines: None }))
    }

    fn convert(&self, name: &str, array: &ArrayRef, first_row: u64) -> Result<Column, DataError> {
        Ok(match array.data_type() {
            DataType::Int8 => ints::<Int8Type>(array),
            DataType::Int16 => ints::<Int16Type>(array),
            DataType::Int32 => ints::<Int32Type>(array),
            DataType::Int64 => ints::<Int64Type>(array),
            DataType::UInt8 => ints::<UInt8Type>(array),
            DataType::UInt16 => ints::<UInt16Type>(array),
            DataType::UInt32 => ints::<UInt32Type>(array),
            DataType::UInt64 => {
                let mut values = Vec::with_capacity(array.len());
                for (i, value) in array.as_primitive::<UInt64Type>().iter().enumerate() {
                    let value = value.map(i64::try_from).transpose().map_err(|_| {
                        DataError::BadCells(vec![BadCell {
                            at: RowRef { file: self.path.clone(), row: first_row + i as u64, line: None },
                            column: name.to_string(),
                            reason: "unsigned value above the int64 range".into(),
                        }])
                    })?;
                    values.push(value);
                }
                Column::Int64(values)
            }
            DataType::Boolean => Column::Int64(array.as_boolean().iter().map(|v| v.map(i64::from)).collect()),
            DataType::Float32 => {
                Column::Float64(array.as_primitive::<Float32Type>().iter().map(|v| v.map(f64::from)).collect())
            }
            DataType::Float64 => Column::Float64(array.as_primitive::<Float64Type>().iter().collect()),
            DataType::Utf8 => Column::Utf8(array.as_string::<i32>().iter().collect()),
            DataType::LargeUtf8 => Column::Utf8(array.as_string::<i64>().iter().collect()),
            DataType::Utf8View => Column::Utf8(array.as_string_view().iter().collect()),
            DataType::Dictionary(_, _) => dictionary_strings(array),
            other => {
                return Err(DataError::UnsupportedType {
                    path: self.path.clone(),
                    column: name.to_string(),
                    dtype: other.to_string(),
                })
            }
        })
    }
}

fn ints<T: ArrowPrimitiveType>(array: &ArrayRef) -> Column
where
    T::Native: Into<i64>,
{
    Column::Int64(array.as_primitive::<T>().iter().map(|v| v.map(Into::into)).collect())
}

fn dictionary_strings(array: &ArrayRef) -> Column {
    let dictionary = array.as_any_dictionary();
    let keys = dictionary.normalized_keys();
    let values = dictionary.values();
    let text = |key: usize| -> Option<&str> {
        match values.data_type() {
            DataType::LargeUtf8 => {
                values.as_string::<i64>().is_valid(key).then(|| values.as_string::<i64>().value(key))
            }
            _ => values.as_string::<i32>().is_valid(key).then(|| values.as_string::<i32>().value(key)),
        }
    };
    Column::Utf8(
        (0..array.len()).map(|i| if array.is_null(i) { None } else { text(keys[i]) }).collect::<StringColumn>(),
    )
}
