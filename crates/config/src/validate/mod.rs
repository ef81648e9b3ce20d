//! EasyRecConfig -> ModelSpec: every rule of the semantics page, all errors collected with field paths.

mod audit;
mod features;
mod fg_encoded;
mod model;
mod sequence;
mod settings;

use crate::diagnostics::{ConfigError, Diagnostic};
use crate::proto::tzrec::EasyRecConfig;
use crate::spec::{FgMode, ModelSpec, Paths};
use audit::Policy;

/// What validation found besides the spec.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub warnings: Vec<Diagnostic>,
    /// Fields accepted without effect in plec.
    pub ignored: Vec<Diagnostic>,
}

#[derive(Default)]
pub(crate) struct Validator {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    ignored: Vec<Diagnostic>,
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

const ROOT: Policy = Policy {
    used: &[
        "train_input_path",
        "eval_input_path",
        "model_dir",
        "train_config",
        "eval_config",
        "data_config",
        "feature_configs",
        "model_config",
    ],
    inert: &[("export_config", "`plec compile` replaces tzrec's export")],
};

pub(crate) fn validate(config: &EasyRecConfig) -> Result<(ModelSpec, Findings), ConfigError> {
    let mut v = Validator::default();
    v.audit(config, "", &ROOT);
    // The audit above produced paths like ".model_dir"; fields of the root have no leading dot.
    for d in v.errors.iter_mut().chain(v.ignored.iter_mut()) {
        if let Some(stripped) = d.location.strip_prefix('.') {
            d.location = stripped.to_string();
        }
    }
    let data = settings::data(&mut v, config);
    let train = settings::train(&mut v, config);
    let fg_mode = data.as_ref().map_or(FgMode::None, |d| d.fg_mode);
    let defined = features::defined(&mut v, config, fg_mode);
    let group = model::feature_group(&mut v, config);
    let (features, mut tables, features_width) = features::assemble(&mut v, &defined, &group);
    let (sequence_groups, encoders, input_width) =
        sequence::sequences(&mut v, &defined, &group, &mut tables, features_width);
    let (layers, towers) = model::ple(&mut v, config, input_width, &data);
    if v.errors.is_empty() {
        let (Some(data), Some(train)) = (data, train) else {
            return Err(ConfigError::Invalid(vec![Diagnostic::new("", "internal: settings missing without error")]));
        };
        let spec = ModelSpec {
            group_name: group.name,
            features,
            tables: tables.tables,
            input_width,
            sequence_groups,
            encoders,
            layers,
            towers,
            data,
            train,
            paths: Paths {
                train_input: config.train_input_path().to_string(),
                eval_input: config.eval_input_path().to_string(),
                model_dir: config.model_dir().to_string(),
            },
        };
        Ok((spec, Findings { warnings: v.warnings, ignored: v.ignored }))
    } else {
        Err(ConfigError::Invalid(v.errors))
    }
}
