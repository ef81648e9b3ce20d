//! Batches of wanted columns over a list of CSV and Parquet files.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::column::ColumnBatch;
use super::csv_reader::{CsvFileReader, CsvOptions};
use super::error::DataError;
use super::parquet_reader::ParquetFileReader;
use plec_spec::artifact::signature::Signature;
use plec_spec::{Feature, Metric, ModelSpec};

pub use super::format::FileFormat;

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Rows per batch (the last batch of each file may be shorter).
    pub batch_size: usize,
    /// Columns to read; every one must exist in every file.
    pub columns: Vec<String>,
    pub csv: CsvOptions,
}

impl ReadOptions {
    /// The columns `spec` needs ([`required_columns`]) with its CSV settings.
    pub fn for_spec(spec: &ModelSpec, batch_size: usize) -> Result<ReadOptions, DataError> {
        Ok(ReadOptions { batch_size, columns: required_columns(spec), csv: CsvOptions::from_settings(&spec.data)? })
    }
}

impl ReadOptions {
    /// The raw inputs of a compiled model (one column per signature input, labels not needed), e.g. for
    /// `plec predict`.
    pub fn for_signature(signature: &Signature, batch_size: usize, csv: CsvOptions) -> ReadOptions {
        ReadOptions { batch_size, columns: signature.columns(), csv }
    }
}

/// The column a feature reads: the one named like the feature (also its graph input's name).
pub fn feature_column(feature: &Feature) -> &str {
    &feature.name
}

/// Every column training and evaluation read, without repeats, in this order: features (group order), each
/// sequence group's query features and sequence features, labels, sample weights, grouping keys of `grouped_auc`
/// metrics. A query feature that is also a group feature is one column, as it is one graph input.
pub fn required_columns(spec: &ModelSpec) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !columns.iter().any(|c| c == name) {
            columns.push(name.to_string());
        }
    };
    spec.features.iter().for_each(|f| add(feature_column(f)));
    for group in &spec.sequence_groups {
        group.query.iter().for_each(|f| add(feature_column(f)));
        group.sequence.iter().for_each(|s| add(&s.name));
    }
    spec.data.label_fields.iter().for_each(|c| add(c));
    spec.towers.iter().for_each(|t| add(&t.label));
    spec.data.sample_weight_fields.iter().for_each(|c| add(c));
    for tower in &spec.towers {
        if let Some(weight) = tower.weighting.as_ref().and_then(|w| w.sample_weight.as_ref()) {
            add(weight);
        }
        for metric in &tower.metrics {
            if let Metric::GroupedAuc { grouping_key } = metric {
                add(grouping_key);
            }
        }
    }
    columns
}

enum FileBatches {
    Csv(CsvFileReader),
    Parquet(ParquetFileReader),
}

impl FileBatches {
    fn open(path: &Path, options: &ReadOptions) -> Result<FileBatches, DataError> {
        Ok(match FileFormat::detect(path)? {
            FileFormat::Csv => FileBatches::Csv(CsvFileReader::open(path, &options.columns, &options.csv)?),
            FileFormat::Parquet => {
                FileBatches::Parquet(ParquetFileReader::open(path, &options.columns, options.batch_size)?)
            }
        })
    }

    fn next_batch(&mut self, batch_size: usize) -> Result<Option<ColumnBatch>, DataError> {
        match self {
            FileBatches::Csv(reader) => reader.next_batch(batch_size),
            FileBatches::Parquet(reader) => reader.next_batch(),
        }
    }
}

/// Iterates over the batches of `files` in order; stops after the first error.
pub struct BatchReader {
    pending: VecDeque<PathBuf>,
    current: Option<FileBatches>,
    options: ReadOptions,
    failed: bool,
}

impl BatchReader {
    /// Checks every file up front (it exists, is readable as its format, has every wanted column), so that a bad
    /// file fails at the start rather than hours into training.
    pub fn open(files: Vec<PathBuf>, options: ReadOptions) -> Result<BatchReader, DataError> {
        if options.batch_size == 0 {
            return Err(DataError::Settings("batch size must be at least 1".into()));
        }
        for file in &files {
            FileBatches::open(file, &options)?;
        }
        Ok(BatchReader { pending: files.into(), current: None, options, failed: false })
    }

    fn next_result(&mut self) -> Result<Option<ColumnBatch>, DataError> {
        loop {
            if let Some(current) = self.current.as_mut() {
                if let Some(batch) = current.next_batch(self.options.batch_size)? {
                    if batch.num_rows > 0 {
                        return Ok(Some(batch));
                    }
                }
                self.current = None;
            }
            match self.pending.pop_front() {
                Some(path) => self.current = Some(FileBatches::open(&path, &self.options)?),
                None => return Ok(None),
            }
        }
    }
}

impl Iterator for BatchReader {
    type Item = Result<ColumnBatch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_result() {
            Ok(batch) => batch.map(Ok),
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}
