//! CSV or Parquet: the one format enum for reading (`detect`) and writing ([`crate::tabular`]) tabular files.

use std::io::Read;
use std::path::Path;

use plec_spec::{DataSettings, DatasetKind};

use crate::DataError;

/// How a file is read: `.parquet` / `.pq` files and files starting with Parquet's magic `PAR1` are Parquet;
/// everything else is CSV (gzip-compressed when the name ends in `.gz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
}

impl FileFormat {
    pub fn detect(path: &Path) -> Result<FileFormat, DataError> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match extension.as_str() {
            "parquet" | "pq" => return Ok(FileFormat::Parquet),
            "csv" | "tsv" | "txt" | "gz" => return Ok(FileFormat::Csv),
            _ => {}
        }
        let mut magic = [0u8; 4];
        let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let read = file.read(&mut magic).map_err(|e| DataError::io(path, e))?;
        Ok(if read == 4 && &magic == b"PAR1" { FileFormat::Parquet } else { FileFormat::Csv })
    }

    /// Points `data` at files of this format, as `plec train` does for a path given on the command line: the
    /// dataset kind follows the files, and CSV read in place of another kind has a header line unless the config
    /// names its `input_fields`.
    pub fn apply_to(self, data: &mut DataSettings) {
        let kind = match self {
            FileFormat::Csv => DatasetKind::Csv,
            FileFormat::Parquet => DatasetKind::Parquet,
        };
        if kind == DatasetKind::Csv && data.dataset != kind && data.input_fields.is_empty() {
            data.with_header = true;
        }
        data.dataset = kind;
    }
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        }
    }

    /// The format an output file's name asks for: `.csv`, or `.parquet` / `.pq` (any case).
    pub fn of_output(path: &Path) -> Option<FileFormat> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Some(FileFormat::Csv),
            Some("parquet" | "pq") => Some(FileFormat::Parquet),
            _ => None,
        }
    }
}

impl std::str::FromStr for FileFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "parquet" => Ok(FileFormat::Parquet),
            "csv" => Ok(FileFormat::Csv),
            other => Err(format!("unknown format {other:?}: expected parquet or csv")),
        }
    }
}
