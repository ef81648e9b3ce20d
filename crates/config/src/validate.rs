//! EasyRecConfig -> ModelSpec (in progress).
use crate::diagnostics::{ConfigError, Diagnostic};
use crate::proto::tzrec::EasyRecConfig;
use crate::spec::ModelSpec;

pub(crate) fn validate(_config: &EasyRecConfig) -> Result<(ModelSpec, Vec<Diagnostic>), ConfigError> {
    Err(ConfigError::Invalid(vec![Diagnostic::new("model_config", "validation not written yet")]))
}
