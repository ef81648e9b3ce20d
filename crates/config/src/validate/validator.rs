//! The collector every validation step reports to: errors, warnings and fields accepted without effect.

use crate::diagnostics::Diagnostic;

/// What validation found besides the spec.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub warnings: Vec<Diagnostic>,
    /// Fields accepted without effect in plec.
    pub ignored: Vec<Diagnostic>,
}

#[derive(Default)]
pub(crate) struct Validator {
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
    pub(super) ignored: Vec<Diagnostic>,
}

impl Validator {
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(Diagnostic::new(path, message));
    }

    pub(crate) fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(Diagnostic::new(path, message));
    }

    /// Names used in parameter paths must be non-empty and free of dots (the scheme in `names.rs`).
    pub(crate) fn check_name(&mut self, path: &str, what: &str, name: &str) {
        if name.is_empty() {
            self.error(path, format!("{what} must not be empty"));
        } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            self.error(
                path,
                format!("{what} `{name}` may only contain letters, digits, `_` and `-` (it names parameters)"),
            );
        }
    }
}
