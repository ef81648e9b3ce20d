//! Errors and warnings about a config: a location (`file:line:col` or a field path) and what was expected.

use std::fmt;

/// One problem with a config. `location` is `file:line:col` for text errors and a field path such as
/// `model_config.ple.extraction_networks[1].task_expert_net.hidden_units` for meaning errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { location: location.into(), message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {message}")]
    Io { path: String, message: String },
    /// The text is not a well-formed `EasyRecConfig` (the first error stops parsing).
    #[error("{0}")]
    Syntax(Diagnostic),
    /// The config parsed but does not describe a valid PLE model: every problem found.
    #[error("{}", list(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// All diagnostics carried by this error.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            ConfigError::Io { path, message } => vec![Diagnostic::new(path, message)],
            ConfigError::Syntax(d) => vec![d.clone()],
            ConfigError::Invalid(ds) => ds.clone(),
        }
    }
}

fn list(diagnostics: &[Diagnostic]) -> String {
    let mut out =
        format!("invalid config ({} error{}):", diagnostics.len(), if diagnostics.len() == 1 { "" } else { "s" });
    for d in diagnostics {
        out.push_str("\n  ");
        out.push_str(&d.to_string());
    }
    out
}
