//! Which TorchEasyRec multi-task model a spec describes (semantics section 4b). PLE, MMoE and DBMTL share
//! plec's experts, gates and towers; the kind decides the module tree around them (a bottom MLP, relation towers)
//! and the parameter names (`artifact::names`), which follow each model's TorchEasyRec state dict.

use serde::{Deserialize, Serialize};

use super::Mlp;

/// `model_config`'s `oneof model`, as far as plec reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// `ple`: extraction layers (CGC), one tower per task.
    #[default]
    Ple,
    /// `mmoe`: one layer of `num_expert` shared experts and one gate per task (optionally after a gate MLP).
    Mmoe,
    /// `dbmtl`: optional bottom MLP, optional MMoE, task MLPs and Bayesian relation MLPs.
    Dbmtl,
}

impl ModelKind {
    /// Left out of the spec's JSON, so PLE specs and their structure hashes are unchanged.
    pub fn is_ple(&self) -> bool {
        matches!(self, ModelKind::Ple)
    }

    /// The config's `oneof model` field name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Ple => "ple",
            ModelKind::Mmoe => "mmoe",
            ModelKind::Dbmtl => "dbmtl",
        }
    }
}

/// Whose module a layer of experts is: a PLE extraction network or an MMoE module (decides its names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerModule {
    #[default]
    Ple,
    /// TorchEasyRec's `modules/mmoe.py`: shared experts only, no shared gate, optional gate MLPs.
    Mmoe,
}

impl LayerModule {
    pub fn is_ple(&self) -> bool {
        matches!(self, LayerModule::Ple)
    }
}

/// A DBMTL Bayesian relation MLP: it reads the tower's own task output (its MLP's, or the tower input) followed by
/// the relation outputs of `towers` in `relation_tower_names` order (each an earlier tower: its relation MLP's
/// output, or its task output when it has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// Indices of the related towers, in `relation_tower_names` order; each is smaller than the tower's own.
    pub towers: Vec<usize>,
    pub mlp: Mlp,
}
