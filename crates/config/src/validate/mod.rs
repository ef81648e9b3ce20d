//! EasyRecConfig -> ModelSpec: every rule of the semantics page, all errors collected with field paths.

mod audit;
mod defined;
mod family;
mod features;
mod fg_encoded;
mod model;
mod network;
mod sequence;
mod settings;
mod validator;

use crate::diagnostics::{ConfigError, Diagnostic};
use crate::proto::tzrec::EasyRecConfig;
use audit::Policy;
use plec_spec::{FgMode, ModelSpec, Paths};
pub(crate) use validator::Findings;
use validator::Validator;

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
    let network = network::network(&mut v, config, input_width, &data, &features);
    if v.errors.is_empty() {
        let (Some(data), Some(train)) = (data, train) else {
            return Err(ConfigError::Invalid(vec![Diagnostic::new("", "internal: settings missing without error")]));
        };
        let spec = ModelSpec {
            kind: network.kind,
            bottom_mlp: network.bottom_mlp,
            group_name: group.name,
            features,
            tables: tables.into_tables(),
            input_width,
            sequence_groups,
            encoders,
            layers: network.layers,
            towers: network.towers,
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
