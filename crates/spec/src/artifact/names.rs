//! The one dotted naming scheme for every parameter: the same string is the tch VarStore path, the safetensors
//! key, the ONNX initializer name and the prefix of the ONNX node names built from it.
//!
//! ```text
//! embedding.<table>.weight                         [rows, dim]   (bag tables: the group's features)
//! sequence_embedding.<table>.weight                [rows, dim]   (sequence groups' queries and sequences)
//! seq_encoder.<group>.<i>.fc_<j>...                (DIN attention MLP of sequence encoder i, as an MLP below)
//! seq_encoder.<group>.<i>.output.{weight,bias}     [1, last hidden], [1]
//! ple.<layer>.task_<tower>.expert_<e>.fc_<j>.weight  [units, in]   (PyTorch Linear layout, Gemm transB=1)
//! ple.<layer>.task_<tower>.expert_<e>.fc_<j>.bias    [units]       (absent with use_bn or bias: false)
//! ple.<layer>.task_<tower>.expert_<e>.fc_<j>.bn.{weight,bias,running_mean,running_var}   [units]
//! ple.<layer>.task_<tower>.expert_<e>.fc_<j>.ln.{weight,bias}                           [units]
//! ple.<layer>.shared.expert_<e>.fc_<j>...          (shared experts, same shapes)
//! ple.<layer>.gate_<tower>.{weight,bias}           [task experts + shared experts, in], [...]
//! ple.<layer>.gate_shared.{weight,bias}            (every layer but the last)
//! tower.<tower>.fc_<j>...                          (tower MLP; DBMTL's task MLP)
//! tower.<tower>.relation.fc_<j>...                 (DBMTL's relation MLP)
//! tower.<tower>.output.{weight,bias}               [num_class, in], [num_class]
//! ```
//! MMoE and DBMTL (`ModelKind`) name their parts after their TorchEasyRec modules; their one MMoE module is a layer
//! of shared experts only (`LayerModule::Mmoe`):
//! ```text
//! bottom_mlp.fc_<j>...                             (DBMTL's shared bottom MLP)
//! mmoe.expert_<e>.fc_<j>...                        (MMoE experts, as PLE's shared experts)
//! mmoe.gate_<tower>.fc_<j>...                      (the task's gate MLP, with gate_mlp)
//! mmoe.gate_<tower>.{weight,bias}                  [experts, gate input], [experts]
//! ```
//! `<layer>` is `network_name`, `<tower>` is `tower_name`, `<table>` is the table name, `<group>` the feature
//! group's name; validation guarantees that
//! they are unique, free of dots and that no tower is called `shared`, so the names are unambiguous.

use serde::{Deserialize, Serialize};

use crate::{EncoderKind, ExtractionLayer, LayerModule, Mlp, ModelSpec, Norm, TableCollection};

/// What a parameter is, which decides its optimizer and initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// An embedding table: sparse optimizer, uniform(-sqrt(1/rows), sqrt(1/rows)) init (torchrec's default).
    Embedding,
    /// Linear weight [out, in]: dense optimizer, PyTorch default init uniform(-1/sqrt(in), 1/sqrt(in)).
    LinearWeight,
    /// Linear bias [out]: dense optimizer, uniform(-1/sqrt(in), 1/sqrt(in)).
    LinearBias,
    /// Norm scale: dense optimizer, init 1.
    NormWeight,
    /// Norm shift: dense optimizer, init 0.
    NormBias,
    /// BatchNorm running mean: not trained, init 0.
    RunningMean,
    /// BatchNorm running variance: not trained, init 1.
    RunningVar,
}

impl ParamKind {
    pub fn is_trainable(self) -> bool {
        !matches!(self, ParamKind::RunningMean | ParamKind::RunningVar)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: ParamKind,
    /// The `in` of the Linear this belongs to (sets the PyTorch default init bound); rows for embeddings.
    pub fan_in: usize,
}

impl Param {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The leaf names of the parameters under a module prefix (a Linear, its norm, a gate, an embedding table).
pub mod leaf {
    pub const WEIGHT: &str = "weight";
    pub const BIAS: &str = "bias";
    pub const BN_WEIGHT: &str = "bn.weight";
    pub const BN_BIAS: &str = "bn.bias";
    pub const BN_RUNNING_MEAN: &str = "bn.running_mean";
    pub const BN_RUNNING_VAR: &str = "bn.running_var";
    pub const LN_WEIGHT: &str = "ln.weight";
    pub const LN_BIAS: &str = "ln.bias";
}

/// Parameter `leaf` (one of [`leaf`]) of the module named `prefix`: `<prefix>.<leaf>`.
pub fn param(prefix: &str, leaf: &str) -> String {
    format!("{prefix}.{leaf}")
}

/// `<prefix>.weight`.
pub fn weight(prefix: &str) -> String {
    param(prefix, leaf::WEIGHT)
}

/// `<prefix>.bias`.
pub fn bias(prefix: &str) -> String {
    param(prefix, leaf::BIAS)
}

/// The table `table` of `collection`: bag tables and sequence tables are separate modules in tzrec, so a name
/// may occur in both.
pub fn embedding(collection: TableCollection, table: &str) -> String {
    match collection {
        TableCollection::Bag => weight(&format!("embedding.{table}")),
        TableCollection::Sequence => weight(&format!("sequence_embedding.{table}")),
    }
}

/// Prefix of sequence encoder `i` of the feature group `group`.
pub fn seq_encoder(group: &str, i: usize) -> String {
    format!("seq_encoder.{group}.{i}")
}

/// The Linear after a DIN encoder's attention MLP (one score per position).
pub fn seq_encoder_output(group: &str, i: usize) -> String {
    format!("{}.output", seq_encoder(group, i))
}

/// Prefix of task expert `e` of `tower` in `layer`.
pub fn task_expert(layer: &str, tower: &str, expert: usize) -> String {
    format!("ple.{layer}.task_{tower}.expert_{expert}")
}

pub fn shared_expert(layer: &str, expert: usize) -> String {
    format!("ple.{layer}.shared.expert_{expert}")
}

pub fn task_gate(layer: &str, tower: &str) -> String {
    format!("ple.{layer}.gate_{tower}")
}

pub fn shared_gate(layer: &str) -> String {
    format!("ple.{layer}.gate_shared")
}

pub fn tower(tower: &str) -> String {
    format!("tower.{tower}")
}

/// DBMTL's relation MLP of `tower`.
pub fn relation(tower: &str) -> String {
    format!("tower.{tower}.relation")
}

/// DBMTL's shared bottom MLP.
pub const BOTTOM_MLP: &str = "bottom_mlp";

/// The MMoE module's prefix (TorchEasyRec's `self.mmoe`).
const MMOE: &str = "mmoe";

/// The module names of a layer's experts and gates, by whose module it is.
impl ExtractionLayer {
    pub fn task_expert_module(&self, tower: &str, expert: usize) -> String {
        task_expert(&self.name, tower, expert)
    }

    pub fn shared_expert_module(&self, expert: usize) -> String {
        match self.module {
            LayerModule::Ple => shared_expert(&self.name, expert),
            LayerModule::Mmoe => format!("{MMOE}.expert_{expert}"),
        }
    }

    /// The task gate's final Linear (and, with a gate MLP, the MLP's module).
    pub fn task_gate_module(&self, tower: &str) -> String {
        match self.module {
            LayerModule::Ple => task_gate(&self.name, tower),
            LayerModule::Mmoe => format!("{MMOE}.gate_{tower}"),
        }
    }

    pub fn shared_gate_module(&self) -> String {
        shared_gate(&self.name)
    }

    /// Prefix of the nodes a layout adds for the layer as a whole (`ple.<layer>`, or `mmoe`).
    pub fn node_prefix(&self) -> String {
        match self.module {
            LayerModule::Ple => format!("ple.{}", self.name),
            LayerModule::Mmoe => MMOE.to_string(),
        }
    }
}

/// What ends the name of the graph output that carries a gate's softmax when gates are exposed
/// (`plec compile --expose-gates`): `<gate>.softmax`, `[batch, experts the gate mixes]`, e.g.
/// `ple.layer1.gate_ctr.softmax`, `ple.layer1.gate_shared.softmax`, `mmoe.gate_ctr.softmax`.
pub const GATE_OUTPUT_SUFFIX: &str = ".softmax";

/// The graph output (and node) holding the softmax of gate `gate` (a gate module: [`task_gate`], [`shared_gate`],
/// or [`ExtractionLayer::task_gate_module`] for MMoE).
pub fn gate_output(gate: &str) -> String {
    format!("{gate}{GATE_OUTPUT_SUFFIX}")
}

/// The gate module whose softmax graph output is `output`, if `output` is one: `<gate>.softmax` where `<gate>` is
/// `gate_<...>` of a PLE layer (`ple.<layer>`) or of the MMoE module (`mmoe`).
pub fn gate_of_output(output: &str) -> Option<&str> {
    let gate = output.strip_suffix(GATE_OUTPUT_SUFFIX)?;
    let (module, last) = gate.rsplit_once('.')?;
    let of_a_layer = module == MMOE || module.strip_prefix("ple.").is_some_and(|layer| !layer.contains('.'));
    (of_a_layer && last.starts_with("gate_")).then_some(gate)
}

pub fn tower_output(tower: &str) -> String {
    format!("tower.{tower}.output")
}

/// Prefix of MLP block `j` under `module`.
pub fn fc(module: &str, j: usize) -> String {
    format!("{module}.fc_{j}")
}

fn linear(out: &mut Vec<Param>, prefix: &str, input: usize, units: usize, has_bias: bool) {
    out.push(Param { name: weight(prefix), shape: vec![units, input], kind: ParamKind::LinearWeight, fan_in: input });
    if has_bias {
        out.push(Param { name: bias(prefix), shape: vec![units], kind: ParamKind::LinearBias, fan_in: input });
    }
}

fn mlp(out: &mut Vec<Param>, module: &str, mlp: &Mlp) {
    for (j, (input, layer)) in mlp.widths().enumerate() {
        let prefix = fc(module, j);
        linear(out, &prefix, input, layer.units, layer.bias);
        let norm =
            |suffix: &str, kind| Param { name: param(&prefix, suffix), shape: vec![layer.units], kind, fan_in: input };
        match layer.norm {
            Norm::None => {}
            Norm::Batch => out.extend([
                norm(leaf::BN_WEIGHT, ParamKind::NormWeight),
                norm(leaf::BN_BIAS, ParamKind::NormBias),
                norm(leaf::BN_RUNNING_MEAN, ParamKind::RunningMean),
                norm(leaf::BN_RUNNING_VAR, ParamKind::RunningVar),
            ]),
            Norm::Layer => {
                out.extend([norm(leaf::LN_WEIGHT, ParamKind::NormWeight), norm(leaf::LN_BIAS, ParamKind::NormBias)])
            }
        }
    }
}

impl ModelSpec {
    /// Every parameter and buffer, in module-tree order (embeddings, layers, towers). Emitters that need a
    /// canonical order sort by name.
    pub fn params(&self) -> Vec<Param> {
        let mut out = Vec::new();
        for table in &self.tables {
            out.push(Param {
                name: table.param_name(),
                shape: vec![table.rows as usize, table.dim],
                kind: ParamKind::Embedding,
                fan_in: table.rows as usize,
            });
        }
        for (i, encoder) in self.encoders.iter().enumerate() {
            if let EncoderKind::Din { mlp: attention } = &encoder.kind {
                mlp(&mut out, &seq_encoder(&self.group_name, i), attention);
                linear(&mut out, &seq_encoder_output(&self.group_name, i), attention.output_width(), 1, true);
            }
        }
        if let Some(bottom) = &self.bottom_mlp {
            mlp(&mut out, BOTTOM_MLP, bottom);
        }
        for layer in &self.layers {
            self.layer_params(&mut out, layer);
        }
        for tower in &self.towers {
            if let Some(tower_mlp) = &tower.mlp {
                mlp(&mut out, &self::tower(&tower.name), tower_mlp);
            }
            if let Some(rel) = &tower.relation {
                mlp(&mut out, &relation(&tower.name), &rel.mlp);
            }
            linear(&mut out, &tower_output(&tower.name), tower.head_input_width(), tower.num_class, true);
        }
        out
    }

    fn layer_params(&self, out: &mut Vec<Param>, layer: &ExtractionLayer) {
        for tower in &self.towers {
            for e in 0..layer.experts_per_task {
                mlp(out, &layer.task_expert_module(&tower.name, e), &layer.task_expert);
            }
        }
        for e in 0..layer.shared_experts {
            mlp(out, &layer.shared_expert_module(e), &layer.shared_expert);
        }
        for tower in &self.towers {
            let gate = layer.task_gate_module(&tower.name);
            if let Some(gate_mlp) = &layer.gate_mlp {
                mlp(out, &gate, gate_mlp);
            }
            linear(out, &gate, layer.gate_input_width(), layer.task_gate_width(), true);
        }
        if layer.has_shared_gate {
            let width = layer.shared_gate_width(self.towers.len());
            linear(out, &layer.shared_gate_module(), layer.input_width, width, true);
        }
    }

    /// Trainable dense parameters (everything but embeddings and BatchNorm running statistics).
    pub fn dense_param_count(&self) -> usize {
        self.params().iter().filter(|p| p.kind.is_trainable() && p.kind != ParamKind::Embedding).map(Param::numel).sum()
    }

    pub fn embedding_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn embedding_param_count(&self) -> u64 {
        self.tables.iter().map(|t| t.rows * t.dim as u64).sum()
    }

    /// Dense FLOPs per sample at inference: 2 per multiply-add of every Linear (experts, gates, towers).
    pub fn flops_per_sample(&self) -> u64 {
        let linear = |p: &Param| 2 * p.numel() as u64;
        let encoder_prefix = "seq_encoder.";
        let dense: u64 = self
            .params()
            .iter()
            .filter(|p| p.kind == ParamKind::LinearWeight && !p.name.starts_with(encoder_prefix))
            .map(linear)
            .sum();
        // Sequence encoders at full length: DIN's MLP and score Linear at every position, and each attention's
        // scores (simple attention) and weighted sum.
        let mut sequences = 0;
        for (i, encoder) in self.encoders.iter().enumerate() {
            let positions = self.encoder_positions(encoder) as u64;
            let width = encoder.width as u64;
            sequences += match &encoder.kind {
                EncoderKind::Din { .. } => {
                    let prefix = format!("{}.", seq_encoder(&self.group_name, i));
                    let per_position: u64 = self
                        .params()
                        .iter()
                        .filter(|p| p.kind == ParamKind::LinearWeight && p.name.starts_with(&prefix))
                        .map(linear)
                        .sum();
                    positions * (per_position + 2 * width)
                }
                EncoderKind::SimpleAttention => positions * 4 * width,
                EncoderKind::Pooling { .. } => 0,
            };
        }
        dense + sequences
    }

    /// The most positions an encoder reads: its `max_seq_length`, else its group's `sequence_length` (1 when
    /// neither bounds it, so FLOPs count one position).
    pub fn encoder_positions(&self, encoder: &crate::SequenceEncoder) -> usize {
        let group_length =
            self.sequence_groups.get(encoder.input).and_then(|g| g.sequence.first()).map_or(0, |s| s.max_length);
        match (encoder.max_seq_length, group_length) {
            (0, 0) => 1,
            (0, n) | (n, 0) => n,
            (a, b) => a.min(b),
        }
    }
}

impl ModelSpec {
    /// sha256 (hex) of everything that decides the parameters' names and shapes and what the graph computes from
    /// them (features, transforms, layers, towers); not data or training settings. Checkpoints record it.
    pub fn structure_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut structure = serde_json::json!({
            "features": self.features,
            "tables": self.tables,
            "layers": self.layers,
            "towers": self.towers.iter().map(|t| {
                let mut tower = serde_json::json!({
                    "name": t.name, "mlp": t.mlp, "num_class": t.num_class, "outputs": t.outputs,
                });
                if let Some(relation) = &t.relation {
                    tower["relation"] = serde_json::json!(relation);
                }
                tower
            }).collect::<Vec<_>>(),
        });
        // Only for MMoE and DBMTL, so PLE specs keep their hash.
        if !self.kind.is_ple() {
            structure["kind"] = serde_json::json!(self.kind);
            structure["bottom_mlp"] = serde_json::json!(self.bottom_mlp);
        }
        // Only when present, so models without sequences keep their hash.
        if !self.sequence_groups.is_empty() {
            structure["sequence_groups"] = serde_json::json!(self.sequence_groups);
            structure["encoders"] = serde_json::json!(self.encoders);
        }
        let digest = Sha256::digest(structure.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_outputs_name_their_gate_and_nothing_else_does() {
        for gate in [task_gate("layer1", "ctr"), shared_gate("layer2"), format!("{MMOE}.gate_cvr")] {
            assert_eq!(gate_of_output(&gate_output(&gate)), Some(gate.as_str()));
        }
        for other in [
            "probs_ctr",
            "tower.ctr.output.softmax",
            "ple.layer1.gate_ctr",
            "mmoe.expert_0.softmax",
            "x.gate_a.softmax",
            "ple.a.b.gate_c.softmax",
        ] {
            assert_eq!(gate_of_output(other), None, "{other}");
        }
    }
}
