//! plec's config reader: TorchEasyRec pipeline config text -> validated [`plec_spec::ModelSpec`].
//!
//! ```text
//! text --textformat--> proto::tzrec::EasyRecConfig --validate--> plec_spec::ModelSpec (+ warnings)
//! ```
//! Every error names `file:line:col` (syntax, types) or a field path (meaning); validation collects all of them.
//! [`summary`] is what `plec check` prints. The model description itself, its invariants, the transforms and the
//! artifact formats are plec-spec's, so the crates that only consume a spec never build the config schema.
//!
//! Reading data files and generating data sets is plec-data's job.

pub mod diagnostics;
pub mod summary;
pub mod textformat;
mod validate;

pub mod proto;

use std::path::{Path, PathBuf};

pub use diagnostics::{ConfigError, Diagnostic};
use plec_spec::ModelSpec;

/// A config read and validated, with what the user should hear about but that does not stop them.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub spec: ModelSpec,
    pub warnings: Vec<Diagnostic>,
    /// Fields that plec accepts but that have no effect in plec, with why (nothing is ignored silently).
    pub ignored: Vec<Diagnostic>,
    /// The config text exactly as read (the compiler stores it in the model's metadata).
    pub text: String,
    /// Where it came from, for messages.
    pub source: PathBuf,
}

/// Reads, parses and validates a config file.
pub fn load_file(path: impl AsRef<Path>) -> Result<LoadedConfig, ConfigError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Io { path: path.display().to_string(), message: e.to_string() })?;
    load_str(&text, path)
}

/// Parses and validates config text; `source` names it in messages.
pub fn load_str(text: &str, source: impl AsRef<Path>) -> Result<LoadedConfig, ConfigError> {
    let source = source.as_ref();
    let (config, mut warnings) =
        textformat::parse_with_warnings::<proto::tzrec::EasyRecConfig>(text, &source.display().to_string())?;
    let (spec, findings) = validate::validate(&config)?;
    warnings.extend(findings.warnings);
    Ok(LoadedConfig { spec, warnings, ignored: findings.ignored, text: text.to_string(), source: source.to_path_buf() })
}
