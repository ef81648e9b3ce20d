//! Input path strings (`train_input_path`, `--input`) -> files.

use std::path::{Path, PathBuf};

use super::error::DataError;

/// Files named by `spec`: comma-separated parts, each a file, a directory (its files, sorted, skipping names that
/// start with `.` or `_`) or a glob (`*`, `?`, `[...]`; matches sorted). Parts keep their order. A part that
/// matches nothing is an error naming it.
pub fn resolve_inputs(spec: &str) -> Result<Vec<PathBuf>, DataError> {
    let mut files = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        if part.contains("://") {
            return Err(DataError::BadPattern {
                pattern: part.to_string(),
                message: "plec reads local CSV and Parquet files only (give local paths on the command line)".into(),
            });
        }
        if part.contains(['*', '?', '[']) {
            files.extend(glob_files(part)?);
        } else {
            let path = Path::new(part);
            if path.is_dir() {
                files.extend(dir_files(path)?);
            } else if path.is_file() {
                files.push(path.to_path_buf());
            } else {
                return Err(DataError::NoMatch { pattern: part.to_string() });
            }
        }
    }
    if files.is_empty() {
        return Err(DataError::NoMatch { pattern: spec.to_string() });
    }
    Ok(files)
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, DataError> {
    let paths = glob::glob(pattern).map_err(|source| DataError::Pattern { pattern: pattern.to_string(), source })?;
    let mut files = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| DataError::io(e.path().to_path_buf(), e.into()))?;
        if path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(DataError::NoMatch { pattern: pattern.to_string() });
    }
    files.sort();
    Ok(files)
}

fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(['.', '_']));
        if path.is_file() && !hidden {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(DataError::NoMatch { pattern: dir.display().to_string() });
    }
    files.sort();
    Ok(files)
}
