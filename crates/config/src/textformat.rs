//! Protobuf text-format reader (in progress).
use protobuf::MessageFull;

use crate::diagnostics::{ConfigError, Diagnostic};

pub fn parse<M: MessageFull>(_text: &str, source: &str) -> Result<M, ConfigError> {
    Err(ConfigError::Syntax(Diagnostic::new(source, "text-format reader not written yet")))
}
