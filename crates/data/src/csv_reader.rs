//! One CSV file -> batches of wanted columns, all `Utf8` (an empty field is missing).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::column::{Column, ColumnBatch, StringColumn};
use super::error::{BadCell, DataError, RowRef};
use super::limits::MAX_RECORD_BYTES;
use plec_spec::DataSettings;

/// CSV settings (`data_config`): Parquet files ignore them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// The first line names the columns.
    pub with_header: bool,
    pub delimiter: u8,
    /// Column names of header-less files, in file order.
    pub input_fields: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { with_header: true, delimiter: b',', input_fields: Vec::new() }
    }
}

impl CsvOptions {
    /// From `data_config`: `with_header`, `delimiter` (one byte, e.g. `,` or `\t`), `input_fields`.
    pub fn from_settings(data: &DataSettings) -> Result<CsvOptions, DataError> {
        let delimiter = match data.delimiter.as_bytes() {
            [byte] => *byte,
            _ => {
                return Err(DataError::Settings(format!(
                    "data_config.delimiter {:?}: CSV files need a one-byte delimiter",
                    data.delimiter
                )))
            }
        };
        Ok(CsvOptions { with_header: data.with_header, delimiter, input_fields: data.input_fields.clone() })
    }
}

/// The CSV reader's buffer.
const READ_AHEAD: usize = 1 << 20;

/// Bytes reserved per cell when a batch starts (grows as needed).
const BYTES_PER_CELL_GUESS: usize = 8;

pub(crate) struct CsvFileReader {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    /// (column name, field index) of each wanted column.
    wanted: Vec<(String, usize)>,
    fields: usize,
    next_row: u64,
    record: csv::ByteRecord,
    /// Bytes read since the last whole record ([`RecordLimit`]).
    since_record: Rc<Cell<u64>>,
}

/// Fails the read once more than [`MAX_RECORD_BYTES`] (plus the CSV reader's read-ahead) arrive without a whole
/// record: the csv crate would otherwise grow one record to whatever a (gzip) file holds.
struct RecordLimit {
    inner: Box<dyn Read>,
    since_record: Rc<Cell<u64>>,
}

impl Read for RecordLimit {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let since = self.since_record.get() + read as u64;
        self.since_record.set(since);
        if since > MAX_RECORD_BYTES + READ_AHEAD as u64 {
            return Err(std::io::Error::other(format!(
                "a record longer than {MAX_RECORD_BYTES} bytes (the limit of one CSV record)"
            )));
        }
        Ok(read)
    }
}

impl CsvFileReader {
    pub(crate) fn open(path: &Path, columns: &[String], options: &CsvOptions) -> Result<CsvFileReader, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let input: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
        } else {
            Box::new(file)
        };
        let since_record = Rc::new(Cell::new(0));
        let input: Box<dyn Read> = Box::new(RecordLimit { inner: input, since_record: since_record.clone() });
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(options.delimiter)
            .flexible(true)
            .buffer_capacity(READ_AHEAD)
            .from_reader(input);
        let names: Vec<String> = if options.with_header {
            let mut header = csv::StringRecord::new();
            match reader.read_record(&mut header) {
                Ok(true) => header.iter().map(str::to_string).collect(),
                Ok(false) => Vec::new(),
                Err(source) => return Err(DataError::CsvHeader { path: path.to_path_buf(), source }),
            }
        } else if options.input_fields.is_empty() {
            return Err(DataError::Settings(format!(
                "{}: CSV without a header (with_header: false) needs data_config.input_fields to name its columns",
                path.display()
            )));
        } else {
            options.input_fields.clone()
        };
        since_record.set(0);
        let mut wanted = Vec::with_capacity(columns.len());
        for column in columns {
            match names.iter().position(|name| name == column) {
                Some(index) => wanted.push((column.clone(), index)),
                None => {
                    return Err(DataError::MissingColumn {
                        path: path.to_path_buf(),
                        column: column.clone(),
                        available: names.clone(),
                    })
                }
            }
        }
        Ok(CsvFileReader {
            path: path.to_path_buf(),
            reader,
            wanted,
            fields: names.len(),
            next_row: 0,
            record: csv::ByteRecord::new(),
            since_record,
        })
    }

    pub(crate) fn next_batch(&mut self, batch_size: usize) -> Result<Option<ColumnBatch>, DataError> {
        let mut columns: Vec<StringColumn> = (0..self.wanted.len())
            .map(|_| StringColumn::with_capacity(batch_size, batch_size * BYTES_PER_CELL_GUESS))
            .collect();
        let mut lines = Vec::with_capacity(batch_size);
        let first_row = self.next_row;
        while lines.len() < batch_size {
            let more = self.reader.read_byte_record(&mut self.record).map_err(|e| self.read_error(e))?;
            if !more {
                break;
            }
            self.since_record.set(0);
            let line = self.record.position().map_or(0, |p| p.line());
            let at = || RowRef { file: self.path.clone(), row: self.next_row, line: Some(line) };
            if self.record.len() != self.fields {
                return Err(DataError::FieldCount { at: at(), expected: self.fields, found: self.record.len() });
            }
            for ((name, index), column) in self.wanted.iter().zip(columns.iter_mut()) {
                let bytes = &self.record[*index];
                if bytes.is_empty() {
                    column.push(None);
                    continue;
                }
                match std::str::from_utf8(bytes) {
                    Ok(text) => column.push(Some(text)),
                    Err(_) => {
                        return Err(DataError::BadCells(vec![BadCell {
                            at: at(),
                            column: name.clone(),
                            reason: "not valid UTF-8 text".into(),
                        }]))
                    }
                }
            }
            lines.push(line);
            self.next_row += 1;
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let columns: BTreeMap<String, Column> =
            self.wanted.iter().zip(columns).map(|((name, _), column)| (name.clone(), Column::Utf8(column))).collect();
        Ok(Some(ColumnBatch {
            source: self.path.clone(),
            first_row,
            num_rows: lines.len(),
            columns,
            lines: Some(lines),
        }))
    }

    fn read_error(&self, source: csv::Error) -> DataError {
        let line = source.position().map(|p| p.line());
        DataError::Csv { path: self.path.clone(), line, source }
    }
}
