//! plec's data: CSV / Parquet files -> [`ColumnBatch`]es -> model inputs, and the data-set generators
//! ([`datagen`]). Its parquet, arrow, csv, glob and flate2 dependencies stay out of plec-spec, so the config reader
//! and the compiler build without them.
//!
//! ```text
//! resolve_inputs("a.parquet,dir/*.csv") -> files
//! BatchReader::open(files, ReadOptions::for_spec(spec, batch_size)) -> ColumnBatch, ColumnBatch, ...
//!   encode(spec, &batch, &EncodeOptions)  -> EncodedBatch   (trainer: table rows, dense values, labels)
//!   raw_inputs(&signature, &batch)        -> Vec<RawTensor> (runtime: the compiled graph's raw inputs)
//! ```
//! Batches never span files: each holds rows of one file, so every row stays reportable as file + row (and the
//! 1-based line for CSV). A file's last batch may be shorter than the batch size.
//!
//! A feature reads the column named like the feature (which is also the compiled graph's input name).

mod column;
mod csv_reader;
mod edge_cases;
mod edge_sequences;
mod encode;
mod encoded;
mod error;
mod feature_encoding;
mod format;
mod inputs;
pub mod limits;
mod parquet_pages;
mod parquet_reader;
mod raw;
mod reader;
mod sequence;
pub mod tabular;
mod weighted;

pub use column::{Cell, Column, ColumnBatch, StringColumn};
pub use csv_reader::CsvOptions;
pub use edge_cases::{edge_case_batch, random_batch};
pub use encode::encode;
pub use encoded::{
    EncodeOptions, EncodedBatch, EncodedFeature, EncodedSequence, EncodedSequenceGroup, SequenceValues, DENSE_SEPARATOR,
};
pub use error::{BadCell, DataError, RowRef};
pub use inputs::resolve_inputs;
pub use raw::{
    bad_positions, check_raw, position_counts, raw_inputs, BadPosition, OutOfRangeId, RawData, RawProblem, RawTensor,
};
pub use reader::{feature_column, required_columns, BatchReader, FileFormat, ReadOptions};

pub mod datagen;

#[cfg(test)]
pub(crate) mod tests;
