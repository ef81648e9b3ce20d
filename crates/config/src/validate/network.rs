//! `model_config`'s `oneof model`: which of plec's model readers a config goes to.

use plec_spec::{DataSettings, Encoding, Feature, ModelKind};

use super::family;
use super::model::{self, Columns, Network};
use super::validator::Validator;
use crate::proto::tzrec::model_config::Model;
use crate::proto::tzrec::EasyRecConfig;

/// The `oneof model` block plec reads: `ple`, `mmoe` or `dbmtl`.
pub(super) fn network(
    v: &mut Validator,
    config: &EasyRecConfig,
    input_width: usize,
    data: &Option<DataSettings>,
    features: &[Feature],
) -> Network {
    let labels: &[String] = data.as_ref().map_or(&[], |d| &d.label_fields);
    let sample_weights: &[String] = data.as_ref().map_or(&[], |d| &d.sample_weight_fields);
    let id_features: Vec<String> =
        features.iter().filter(|f| matches!(f.encoding, Encoding::Embedding { .. })).map(|f| f.name.clone()).collect();
    let columns = Columns { labels, sample_weights, id_features: &id_features };
    match &config.model_config.model {
        Some(Model::Ple(ple_config)) => {
            let (layers, towers) = model::ple(v, ple_config, input_width, &columns);
            Network { kind: ModelKind::Ple, bottom_mlp: None, layers, towers }
        }
        Some(Model::Mmoe(mmoe)) => family::mmoe(v, mmoe, input_width, &columns),
        Some(Model::Dbmtl(dbmtl)) => family::dbmtl(v, dbmtl, input_width, &columns),
        None => {
            v.error(
                "model_config",
                "model_config has no model block: plec compiles `ple`, `mmoe` and `dbmtl` models (TorchEasyRec's PLE, MMoE and DBMTL)",
            );
            Network { kind: ModelKind::Ple, bottom_mlp: None, layers: Vec::new(), towers: Vec::new() }
        }
    }
}
