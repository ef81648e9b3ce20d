//! TorchEasyRec's state-dict key for every plec parameter, from the module tree TorchEasyRec builds for a PLE
//! (`tzrec/models/ple.py`, `modules/extraction_net.py`, `modules/mlp.py`, `modules/task_tower.py`,
//! `modules/embedding.py`, `modules/sequence.py`):
//!
//! ```text
//! embedding.<t>.weight            embedding_group.emb_impls.__BASE__.ebc.embedding_bags.<t>.weight
//! sequence_embedding.<t>.weight   embedding_group.seq_emb_impls.__BASE__.ec_dict.<dim>.embeddings.<t>.weight
//! seq_encoder.<g>.<i>.fc_<j>.*    embedding_group._group_name_to_seq_encoders.<g>.<i>.mlp.mlp.<j>.perceptron.*
//! seq_encoder.<g>.<i>.output.*    embedding_group._group_name_to_seq_encoders.<g>.<i>.linear.*
//! ple.<L>.task_<T>.expert_<e>.*   _extraction_nets.<l>._task_layers.<t>.<e>.mlp.<j>.perceptron.*
//! ple.<L>.shared.expert_<e>.*     _extraction_nets.<l>._shared_layers.<e>.mlp.<j>.perceptron.*
//! ple.<L>.gate_<T>.*              _extraction_nets.<l>._task_gates.<t>.*
//! ple.<L>.gate_shared.*           _extraction_nets.<l>._shared_gate.*
//! tower.<T>.fc_<j>.*              _task_tower.<t>.tower_mlp.mlp.<j>.perceptron.*
//! tower.<T>.output.*              _task_tower.<t>.linear.*
//! ```
//! MMoE (`models/mmoe.py`, `modules/mmoe.py`) and DBMTL (`models/dbmtl.py`):
//! ```text
//! mmoe.expert_<e>.fc_<j>.*         mmoe.expert_mlps.<e>.mlp.<j>.perceptron.*
//! mmoe.gate_<T>.fc_<j>.*           mmoe.gate_mlps.<t>.mlp.<j>.perceptron.*
//! mmoe.gate_<T>.*                  mmoe.gate_finals.<t>.*
//! tower.<T>.fc_<j>.*               _task_tower.<t>.tower_mlp.mlp.<j>.perceptron.*   (MMoE, as PLE)
//! tower.<T>.output.*               _task_tower.<t>.linear.*                         (MMoE, as PLE)
//! bottom_mlp.fc_<j>.*              bottom_mlp.mlp.<j>.perceptron.*                  (DBMTL)
//! tower.<T>.fc_<j>.*               task_mlps.<T>.mlp.<j>.perceptron.*               (DBMTL: keyed by name)
//! tower.<T>.relation.fc_<j>.*      relation_mlps.<T>.mlp.<j>.perceptron.*           (DBMTL: keyed by name)
//! tower.<T>.output.*               task_outputs.<t>.*                               (DBMTL)
//! ```
//! `<l>`, `<t>` are the layer's and tower's positions in the config. Inside a Perceptron, `perceptron.0` is the
//! Linear, then BatchNorm1d (`perceptron.1`; `perceptron.2` in a DIN's attention MLP, which transposes around it)
//! or LayerNorm (`perceptron.1`). Distributed training wraps the model in `TrainWrapper`, so a checkpoint's keys
//! carry one more leading `model.` ([`MODEL_PREFIX`]).

use std::collections::BTreeMap;

use plec_spec::artifact::names::{self as plec, leaf};
use plec_spec::{EncoderKind, ExtractionLayer, LayerModule, Mlp, ModelKind, ModelSpec, Norm, TableCollection};

/// What `TrainWrapper` (TorchEasyRec's training entry point) puts before every key.
pub const MODEL_PREFIX: &str = "model.";
/// TorchEasyRec's data group of every feature without negative sampling.
pub const BASE_DATA_GROUP: &str = "__BASE__";
/// BatchNorm's step counter: saved by PyTorch, not used at inference.
pub const UNUSED_BUFFER: &str = "num_batches_tracked";

/// Where the BatchNorm of a Perceptron sits.
#[derive(Clone, Copy)]
enum PerceptronInput {
    /// `[batch, features]`: BatchNorm1d right after the Linear.
    Flat,
    /// `[batch, positions, features]`: Transpose, BatchNorm1d, Transpose.
    Sequence,
}

/// `plec name -> TorchEasyRec key` (without [`MODEL_PREFIX`]) for every parameter of `spec`.
pub fn tzrec_keys(spec: &ModelSpec) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for table in &spec.tables {
        let key = match table.collection {
            TableCollection::Bag => {
                format!("embedding_group.emb_impls.{BASE_DATA_GROUP}.ebc.embedding_bags.{}.weight", table.name)
            }
            TableCollection::Sequence => format!(
                "embedding_group.seq_emb_impls.{BASE_DATA_GROUP}.ec_dict.{}.embeddings.{}.weight",
                table.dim, table.name
            ),
        };
        out.insert(table.param_name(), key);
    }
    for (i, encoder) in spec.encoders.iter().enumerate() {
        if let EncoderKind::Din { mlp: attention } = &encoder.kind {
            let module = format!("embedding_group._group_name_to_seq_encoders.{}.{i}", spec.group_name);
            mlp(
                &mut out,
                &plec::seq_encoder(&spec.group_name, i),
                &format!("{module}.mlp"),
                attention,
                PerceptronInput::Sequence,
            );
            linear(&mut out, &plec::seq_encoder_output(&spec.group_name, i), &format!("{module}.linear"), true);
        }
    }
    if let Some(bottom) = &spec.bottom_mlp {
        mlp(&mut out, plec::BOTTOM_MLP, "bottom_mlp", bottom, PerceptronInput::Flat);
    }
    for (l, layer) in spec.layers.iter().enumerate() {
        match layer.module {
            LayerModule::Ple => extraction_net(&mut out, spec, l, layer),
            LayerModule::Mmoe => mmoe_module(&mut out, spec, layer),
        }
    }
    for (t, tower) in spec.towers.iter().enumerate() {
        let (tower_mlp, head) = match spec.kind {
            ModelKind::Ple | ModelKind::Mmoe => {
                (format!("_task_tower.{t}.tower_mlp"), format!("_task_tower.{t}.linear"))
            }
            ModelKind::Dbmtl => (format!("task_mlps.{}", tower.name), format!("task_outputs.{t}")),
        };
        if let Some(m) = &tower.mlp {
            mlp(&mut out, &plec::tower(&tower.name), &tower_mlp, m, PerceptronInput::Flat);
        }
        if let Some(relation) = &tower.relation {
            let module = format!("relation_mlps.{}", tower.name);
            mlp(&mut out, &plec::relation(&tower.name), &module, &relation.mlp, PerceptronInput::Flat);
        }
        linear(&mut out, &plec::tower_output(&tower.name), &head, true);
    }
    out
}

/// PLE's `ExtractionNet` number `l`.
fn extraction_net(out: &mut BTreeMap<String, String>, spec: &ModelSpec, l: usize, layer: &ExtractionLayer) {
    let net = format!("_extraction_nets.{l}");
    for (t, tower) in spec.towers.iter().enumerate() {
        for e in 0..layer.experts_per_task {
            let plec_name = layer.task_expert_module(&tower.name, e);
            let module = format!("{net}._task_layers.{t}.{e}");
            mlp(out, &plec_name, &module, &layer.task_expert, PerceptronInput::Flat);
        }
        linear(out, &layer.task_gate_module(&tower.name), &format!("{net}._task_gates.{t}"), true);
    }
    for e in 0..layer.shared_experts {
        let module = format!("{net}._shared_layers.{e}");
        mlp(out, &layer.shared_expert_module(e), &module, &layer.shared_expert, PerceptronInput::Flat);
    }
    if layer.has_shared_gate {
        linear(out, &layer.shared_gate_module(), &format!("{net}._shared_gate"), true);
    }
}

/// `modules/mmoe.py`'s `MMoE` as `self.mmoe`: `expert_mlps`, `gate_mlps` and `gate_finals` ModuleLists.
fn mmoe_module(out: &mut BTreeMap<String, String>, spec: &ModelSpec, layer: &ExtractionLayer) {
    for e in 0..layer.shared_experts {
        let module = format!("mmoe.expert_mlps.{e}");
        mlp(out, &layer.shared_expert_module(e), &module, &layer.shared_expert, PerceptronInput::Flat);
    }
    for (t, tower) in spec.towers.iter().enumerate() {
        let gate = layer.task_gate_module(&tower.name);
        if let Some(gate_mlp) = &layer.gate_mlp {
            mlp(out, &gate, &format!("mmoe.gate_mlps.{t}"), gate_mlp, PerceptronInput::Flat);
        }
        linear(out, &gate, &format!("mmoe.gate_finals.{t}"), true);
    }
}

fn linear(out: &mut BTreeMap<String, String>, plec_prefix: &str, tzrec_prefix: &str, bias: bool) {
    out.insert(plec::weight(plec_prefix), format!("{tzrec_prefix}.weight"));
    if bias {
        out.insert(plec::bias(plec_prefix), format!("{tzrec_prefix}.bias"));
    }
}

/// An `MLP` module: `<module>.mlp.<j>` is Perceptron j.
fn mlp(out: &mut BTreeMap<String, String>, plec_module: &str, tzrec_module: &str, mlp: &Mlp, input: PerceptronInput) {
    for (j, layer) in mlp.layers.iter().enumerate() {
        let plec_prefix = plec::fc(plec_module, j);
        let perceptron = format!("{tzrec_module}.mlp.{j}.perceptron");
        linear(out, &plec_prefix, &format!("{perceptron}.0"), layer.bias);
        let norm_index = match (layer.norm, input) {
            (Norm::Batch, PerceptronInput::Sequence) => 2,
            _ => 1,
        };
        let leaves: &[(&str, &str)] = match layer.norm {
            Norm::None => &[],
            Norm::Batch => &[
                (leaf::BN_WEIGHT, "weight"),
                (leaf::BN_BIAS, "bias"),
                (leaf::BN_RUNNING_MEAN, "running_mean"),
                (leaf::BN_RUNNING_VAR, "running_var"),
            ],
            Norm::Layer => &[(leaf::LN_WEIGHT, "weight"), (leaf::LN_BIAS, "bias")],
        };
        for (plec_leaf, tzrec_leaf) in leaves {
            out.insert(plec::param(&plec_prefix, plec_leaf), format!("{perceptron}.{norm_index}.{tzrec_leaf}"));
        }
    }
}
