//! `model_config.mmoe` and `model_config.dbmtl` (TorchEasyRec's `models/mmoe.py`, `models/dbmtl.py`): the MMoE
//! module as one layer of shared experts, DBMTL's bottom MLP and Bayesian relation towers (semantics section 4b).

use plec_spec::{ExtractionLayer, LayerModule, Mlp, ModelKind, Relation, Tower};

use super::audit::Policy;
use super::model::{mlp, task_towers, Columns, Network, TASK_TOWER};
use super::validator::Validator;
use crate::proto::tzrec::{BayesTaskTower, MMoE, DBMTL, MLP};

const MMOE: Policy = Policy { used: &["expert_mlp", "gate_mlp", "num_expert", "task_towers"], inert: &[] };
const DBMTL_POLICY: Policy =
    Policy { used: &["mask_net", "bottom_mlp", "expert_mlp", "gate_mlp", "num_expert", "task_towers"], inert: &[] };

/// TaskTower's fields plus the relation ones.
fn bayes_tower_policy() -> Policy {
    const USED: &[&str] = &[
        "tower_name",
        "label_name",
        "metrics",
        "losses",
        "num_class",
        "mlp",
        "weight",
        "sample_weight_name",
        "task_space_indicator_label",
        "in_task_space_weight",
        "out_task_space_weight",
        "relation_tower_names",
        "relation_mlp",
    ];
    debug_assert!(TASK_TOWER.used.iter().all(|f| USED.contains(f)));
    Policy { used: USED, inert: TASK_TOWER.inert }
}

pub(crate) fn mmoe(v: &mut Validator, config: &MMoE, input_width: usize, columns: &Columns) -> Network {
    let base = "model_config.mmoe";
    v.audit(config, base, &MMOE);
    let layer = mmoe_module(v, base, &config.expert_mlp, config.gate_mlp.as_ref(), config.num_expert(), input_width);
    if config.task_towers.is_empty() {
        v.error(&format!("{base}.task_towers"), "an MMoE model needs at least one task tower");
    }
    let towers = task_towers(v, &config.task_towers, base, layer.output_width, columns, &TASK_TOWER);
    Network { kind: ModelKind::Mmoe, bottom_mlp: None, layers: vec![layer], towers }
}

/// TorchEasyRec's `modules/mmoe.py`: `num_expert` experts of `expert_mlp` and one gate per task over them.
fn mmoe_module(
    v: &mut Validator,
    base: &str,
    expert_mlp: &MLP,
    gate_mlp: Option<&MLP>,
    num_expert: u32,
    input_width: usize,
) -> ExtractionLayer {
    if num_expert == 0 {
        v.error(&format!("{base}.num_expert"), "num_expert must be at least 1");
    }
    let expert = mlp(v, expert_mlp, &format!("{base}.expert_mlp"), input_width);
    if expert.layers.is_empty() {
        v.error(&format!("{base}.expert_mlp.hidden_units"), "experts need at least one hidden unit count");
    }
    let gate_mlp = gate_mlp.map(|gate| {
        let gate_spec = mlp(v, gate, &format!("{base}.gate_mlp"), input_width);
        if gate_spec.layers.is_empty() {
            v.error(&format!("{base}.gate_mlp.hidden_units"), "a gate MLP needs at least one hidden unit count");
        }
        gate_spec
    });
    ExtractionLayer {
        name: "mmoe".into(),
        input_width,
        experts_per_task: 0,
        task_expert: Mlp { input_width, layers: Vec::new() },
        shared_experts: num_expert as usize,
        output_width: expert.output_width(),
        shared_expert: expert,
        has_shared_gate: false,
        gate_mlp,
        module: LayerModule::Mmoe,
    }
}

pub(crate) fn dbmtl(v: &mut Validator, config: &DBMTL, input_width: usize, columns: &Columns) -> Network {
    let base = "model_config.dbmtl";
    v.audit(config, base, &DBMTL_POLICY);
    if config.mask_net.is_some() {
        v.error(
            &format!("{base}.mask_net"),
            "not supported yet: DBMTL's `mask_net` (a MaskNet bottom); plec builds DBMTL with `bottom_mlp` and the MMoE only",
        );
    }
    let mut width = input_width;
    let bottom_mlp = config.bottom_mlp.as_ref().map(|bottom| {
        let spec = mlp(v, bottom, &format!("{base}.bottom_mlp"), width);
        if spec.layers.is_empty() {
            v.error(&format!("{base}.bottom_mlp.hidden_units"), "a bottom MLP needs at least one hidden unit count");
        }
        spec
    });
    if let Some(bottom) = &bottom_mlp {
        width = bottom.output_width();
    }
    let mut layers = Vec::new();
    match config.expert_mlp.as_ref() {
        Some(expert_mlp) => {
            let layer = mmoe_module(v, base, expert_mlp, config.gate_mlp.as_ref(), config.num_expert(), width);
            width = layer.output_width;
            layers.push(layer);
        }
        None => {
            let why = "TorchEasyRec builds DBMTL's MMoE only with expert_mlp";
            if config.gate_mlp.is_some() {
                v.note_ignored(&format!("{base}.gate_mlp"), why);
            }
            if config.has_num_expert() {
                v.note_ignored(&format!("{base}.num_expert"), why);
            }
        }
    }
    if config.task_towers.is_empty() {
        v.error(&format!("{base}.task_towers"), "a DBMTL model needs at least one task tower");
    }
    let mut towers = task_towers(v, &config.task_towers, base, width, columns, &bayes_tower_policy());
    for (i, tower_config) in config.task_towers.iter().enumerate() {
        let path = format!("{base}.task_towers[{i}]");
        if let Some(relation) = relation(v, tower_config, &path, i, &towers) {
            if let Some(tower) = towers.get_mut(i) {
                tower.relation = Some(relation);
            }
        }
    }
    Network { kind: ModelKind::Dbmtl, bottom_mlp, layers, towers }
}

/// Tower `i`'s relation MLP: it reads the tower's task output, then each related tower's relation output, in
/// `relation_tower_names` order; TorchEasyRec's forward only has the outputs of earlier towers at hand.
fn relation(v: &mut Validator, config: &BayesTaskTower, path: &str, i: usize, towers: &[Tower]) -> Option<Relation> {
    let Some(relation_mlp) = config.relation_mlp.as_ref() else {
        if !config.relation_tower_names.is_empty() {
            v.note_ignored(
                &format!("{path}.relation_tower_names"),
                "without relation_mlp TorchEasyRec's DBMTL reads no related tower",
            );
        }
        return None;
    };
    let own = towers.get(i)?;
    let mut reads = own.task_output_width();
    let mut related = Vec::new();
    for (k, name) in config.relation_tower_names.iter().enumerate() {
        match towers[..i].iter().position(|t| &t.name == name) {
            Some(r) => {
                reads += towers[r].head_input_width();
                related.push(r);
            }
            None => v.error(
                &format!("{path}.relation_tower_names[{k}]"),
                format!("`{name}` is not a task tower before `{}`: a relation reads earlier towers' outputs", own.name),
            ),
        }
    }
    let spec = mlp(v, relation_mlp, &format!("{path}.relation_mlp"), reads);
    if spec.layers.is_empty() {
        v.error(&format!("{path}.relation_mlp.hidden_units"), "a relation MLP needs at least one hidden unit count");
    }
    Some(Relation { towers: related, mlp: spec })
}
