//! The validated model description that the trainer, the compiler and the runtime share.
//!
//! Plain Rust: no protobuf types and no `Option`s standing for "unset" — every default has been applied by
//! the config reader (plec-config), so consumers never re-interpret the config. What each field computes is
//! `docs/semantics.md`; the section numbers below refer to it.

use serde::{Deserialize, Serialize};

mod family;
mod sequence;
pub use family::{LayerModule, ModelKind, Relation};
pub use sequence::{
    EncoderKind, SequenceEncoder, SequenceEncoding, SequenceFeature, SequenceGroup, TableCollection, MASKED_SCORE,
};

/// A whole multi-task pipeline (PLE, MMoE or DBMTL): features, model, data and training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Which model (decides the module tree and the parameter names); left out of the JSON for PLE.
    #[serde(default, skip_serializing_if = "ModelKind::is_ple")]
    pub kind: ModelKind,
    /// The feature group the model reads (the first one, section 1).
    pub group_name: String,
    /// The group's features in `feature_names` order; their outputs are concatenated in this order.
    pub features: Vec<Feature>,
    /// Embedding tables in order of first use by `features` (shared tables appear once).
    pub tables: Vec<EmbeddingTable>,
    /// Width of the concatenated group input: the features, then the sequence encoders' outputs.
    pub input_width: usize,
    /// The group's `sequence_groups` (section 2b); empty without sequences (and then left out of the JSON).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequence_groups: Vec<SequenceGroup>,
    /// The group's `sequence_encoders`, in config order; their outputs follow `features` in the group input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encoders: Vec<SequenceEncoder>,
    /// DBMTL's `bottom_mlp`, applied to the group input before the layers (section 4b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom_mlp: Option<Mlp>,
    /// Extraction layers (CGC), first to last (section 4); MMoE's module is one such layer.
    pub layers: Vec<ExtractionLayer>,
    /// One tower per task, in config order (section 5).
    pub towers: Vec<Tower>,
    pub data: DataSettings,
    pub train: TrainSettings,
    pub paths: Paths,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paths {
    pub train_input: String,
    pub eval_input: String,
    pub model_dir: String,
}

/// The type of a raw feature value as callers supply it (a graph input's element type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    Int64,
    String,
    Float,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub encoding: Encoding,
    /// Columns this feature occupies in the group input, starting at `offset`.
    pub width: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Encoding {
    /// Raw value -> table row (section 2) -> embedding row of `tables[table]`.
    Embedding {
        table: usize,
        transform: Transform,
        /// `Some` for multi-valued ids (`value_dim: 0`): values joined by `separator`, pooled.
        multi: Option<MultiValue>,
        /// Used in place of a missing value (`default_value`), if set; otherwise a missing value is a zero vector
        /// (an empty bag), except for `VocabList`, whose row 0 is the missing row.
        default_value: Option<String>,
    },
    /// Dense raw feature: the float value(s) themselves, `value_dim` wide; a missing value is `default_value`.
    Dense { value_dim: usize, default_value: f32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiValue {
    pub separator: String,
    pub pooling: Pooling,
    /// `weighted: true`: each value is an `id:weight` pair and the bag is the weighted sum of its embeddings
    /// (section 2); the graph takes the weights as a second input (`<feature>__weight`).
    #[serde(default)]
    pub weighted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Sum,
    Mean,
}

/// How a raw value becomes a table row (section 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Integer id, valid ids `0..n`.
    NumBuckets(u64),
    /// `murmur3_x86_32(utf8 text, seed 0) mod n`, hash taken as unsigned.
    HashBucket(u64),
    /// Row 0 = default/missing, row 1 = out of vocabulary, `vocab[i]` -> row `i + 2`.
    VocabList(Vec<String>),
    /// Value -> mapped row, sorted by key; table rows = max row + 1. Unknown keys are a zero vector.
    VocabDict(Vec<(String, u64)>),
    /// Row = number of boundaries `<= x` (searchsorted right); `len + 1` rows.
    Boundaries(Vec<f32>),
    /// `fg_mode: FG_NONE`: the value is already the row (feature generation's output), valid rows `0..n`, whatever
    /// transform the config names; `n` is the rows of the table that transform would index.
    FgEncoded(u64),
}

impl Transform {
    /// Rows of the table this transform indexes.
    pub fn rows(&self) -> u64 {
        match self {
            Transform::NumBuckets(n) | Transform::HashBucket(n) | Transform::FgEncoded(n) => *n,
            Transform::VocabList(v) => v.len() as u64 + 2,
            Transform::VocabDict(m) => m.iter().map(|(_, row)| row + 1).max().unwrap_or(0),
            Transform::Boundaries(b) => b.len() as u64 + 1,
        }
    }

    /// The element type callers feed for this transform.
    pub fn value_type(&self) -> ValueType {
        match self {
            Transform::NumBuckets(_) | Transform::FgEncoded(_) => ValueType::Int64,
            Transform::HashBucket(_) | Transform::VocabList(_) | Transform::VocabDict(_) => ValueType::String,
            Transform::Boundaries(_) => ValueType::Float,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            Transform::NumBuckets(_) => "num_buckets",
            Transform::HashBucket(_) => "hash_bucket_size",
            Transform::VocabList(_) => "vocab_list",
            Transform::VocabDict(_) => "vocab_dict",
            Transform::Boundaries(_) => "boundaries",
            Transform::FgEncoded(_) => "fg_encoded",
        }
    }
}

impl Feature {
    /// The element type of this feature's raw input.
    pub fn value_type(&self) -> ValueType {
        match &self.encoding {
            Encoding::Embedding { transform, .. } => transform.value_type(),
            Encoding::Dense { .. } => ValueType::Float,
        }
    }

    pub fn is_multi_valued(&self) -> bool {
        matches!(&self.encoding, Encoding::Embedding { multi: Some(_), .. })
    }

    /// A weighted id feature (`weighted: true`): `id:weight` pairs, weighted-sum pooled.
    pub fn is_weighted(&self) -> bool {
        matches!(&self.encoding, Encoding::Embedding { multi: Some(MultiValue { weighted: true, .. }), .. })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingTable {
    /// `embedding_name`, or `<feature_name>_emb`.
    pub name: String,
    pub rows: u64,
    pub dim: usize,
    /// Features that read this table, in group order.
    pub features: Vec<String>,
    /// Bag tables serve the group's features; sequence tables the sequence groups' queries and sequences.
    /// Left out of the JSON for bag tables, so specs and structure hashes without sequences are unchanged.
    #[serde(default, skip_serializing_if = "TableCollection::is_bag")]
    pub collection: TableCollection,
}

impl EmbeddingTable {
    /// The table's parameter name (`embedding.<name>.weight` or `sequence_embedding.<name>.weight`).
    pub fn param_name(&self) -> String {
        crate::artifact::names::embedding(self.collection, &self.name)
    }
}

/// One extraction layer (CGC) of `tasks` task groups plus a shared group (section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractionLayer {
    /// `network_name`.
    pub name: String,
    /// Width of each task's input `x_t` (and of the shared input `s`: they are equal at every layer).
    pub input_width: usize,
    pub experts_per_task: usize,
    pub task_expert: Mlp,
    pub shared_experts: usize,
    pub shared_expert: Mlp,
    /// Every layer but the last mixes a shared output for the next layer.
    pub has_shared_gate: bool,
    /// Width of each `y_t` (the experts' last hidden width).
    pub output_width: usize,
    /// MMoE's `gate_mlp`: each task gate has its own MLP of this shape and its Linear reads that MLP's output
    /// instead of the layer input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_mlp: Option<Mlp>,
    /// Whose module this is (decides the names); left out of the JSON for PLE.
    #[serde(default, skip_serializing_if = "LayerModule::is_ple")]
    pub module: LayerModule,
}

impl ExtractionLayer {
    /// Experts a task gate mixes: the task's own, then the shared ones.
    pub fn task_gate_width(&self) -> usize {
        self.experts_per_task + self.shared_experts
    }

    /// Experts the shared gate mixes: every task's, in task order, then the shared ones.
    pub fn shared_gate_width(&self, tasks: usize) -> usize {
        tasks * self.experts_per_task + self.shared_experts
    }

    /// Width a task gate's final Linear reads: the gate MLP's output, or the layer input.
    pub fn gate_input_width(&self) -> usize {
        self.gate_mlp.as_ref().map_or(self.input_width, Mlp::output_width)
    }
}

/// A stack of Linear -> norm -> activation -> dropout blocks (section 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    pub input_width: usize,
    pub layers: Vec<MlpLayer>,
}

impl Mlp {
    pub fn output_width(&self) -> usize {
        self.layers.last().map_or(self.input_width, |l| l.units)
    }

    /// (input width, layer) pairs in order.
    pub fn widths(&self) -> impl Iterator<Item = (usize, &MlpLayer)> {
        let mut width = self.input_width;
        self.layers.iter().map(move |layer| {
            let input = width;
            width = layer.units;
            (input, layer)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpLayer {
    pub units: usize,
    /// Linear bias: `bias` unless `use_bn` (BatchNorm's shift replaces it).
    pub bias: bool,
    pub norm: Norm,
    pub activation: Activation,
    /// Training-time dropout probability; inference drops Dropout.
    pub dropout: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    None,
    /// BatchNorm1d (eps 1e-5, momentum 0.1): folded into the Gemm at inference.
    Batch,
    /// LayerNorm over the layer's units (eps 1e-5).
    Layer,
}

/// Epsilon of BatchNorm1d and LayerNorm, PyTorch's default.
pub const NORM_EPS: f32 = 1e-5;
/// BatchNorm1d running-statistics momentum, PyTorch's default.
pub const BN_MOMENTUM: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Identity,
    Relu,
    Sigmoid,
    Tanh,
    /// Exact (erf) GELU, PyTorch's default.
    Gelu,
    /// SiLU / Swish: x * sigmoid(x).
    Silu,
    LeakyRelu {
        negative_slope: f32,
    },
    Elu {
        alpha: f32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tower {
    /// `tower_name`.
    pub name: String,
    /// `label_name`, one of `data.label_fields`.
    pub label: String,
    pub input_width: usize,
    /// Optional tower MLP (`mlp`), before the final Linear.
    pub mlp: Option<Mlp>,
    pub num_class: usize,
    pub losses: Vec<Loss>,
    pub metrics: Vec<Metric>,
    /// `Some` when the tower is weighted (section 6).
    pub weighting: Option<LossWeighting>,
    pub outputs: Vec<Output>,
    /// DBMTL's Bayesian relation MLP (section 4b), between the tower MLP and the final Linear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<Relation>,
}

impl Tower {
    /// Width of the tower's task output (its MLP's output, or its input): what relation MLPs read first.
    pub fn task_output_width(&self) -> usize {
        self.mlp.as_ref().map_or(self.input_width, Mlp::output_width)
    }

    /// Width of the final Linear's input.
    pub fn head_input_width(&self) -> usize {
        match &self.relation {
            Some(relation) => relation.mlp.output_width(),
            None => self.task_output_width(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    BinaryCrossEntropy {
        label_smoothing: f32,
    },
    BinaryFocal {
        gamma: f32,
        alpha: f32,
    },
    SoftmaxCrossEntropy {
        label_smoothing: f32,
    },
    L2,
    /// TorchEasyRec's `jrc_loss` (num_class 2): `alpha` x cross entropy + (1 - `alpha`) x each sample's
    /// competition with the opposite-label samples of its session in the batch (semantics section 6).
    /// `session_feature` names an id feature of `ModelSpec::features`; its first table row per sample (0 for an
    /// empty value) is the session id, as TorchEasyRec's `to_padded_dense(1)[:, 0]`.
    Jrc {
        alpha: f32,
        session_feature: String,
    },
}

impl Loss {
    pub fn name(&self) -> &'static str {
        match self {
            Loss::BinaryCrossEntropy { .. } => "binary_cross_entropy",
            Loss::BinaryFocal { .. } => "binary_focal_loss",
            Loss::SoftmaxCrossEntropy { .. } => "softmax_cross_entropy",
            Loss::L2 => "l2_loss",
            Loss::Jrc { .. } => "jrc_loss",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossWeighting {
    pub sample_weight: Option<String>,
    pub task_space: Option<TaskSpace>,
    /// The task's `weight`, applied after normalisation.
    pub weight: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpace {
    pub indicator_label: String,
    pub in_weight: f32,
    pub out_weight: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Auc { thresholds: u32 },
    GroupedAuc { grouping_key: String },
    Accuracy { threshold: f32 },
    MeanAbsoluteError,
    MeanSquaredError,
}

impl Metric {
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Auc { .. } => "auc",
            Metric::GroupedAuc { .. } => "grouped_auc",
            Metric::Accuracy { .. } => "accuracy",
            Metric::MeanAbsoluteError => "mean_absolute_error",
            Metric::MeanSquaredError => "mean_squared_error",
        }
    }
}

/// A named model output (section 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub name: String,
    pub kind: OutputKind,
    /// Per-sample dimensions after the batch dimension: `[]` or `[num_class]`.
    pub dims: Vec<usize>,
}

/// Output names per loss kind (section 5), each once, in a fixed order.
pub fn head_outputs(tower: &str, num_class: usize, losses: &[Loss]) -> Vec<Output> {
    let dims = if num_class > 1 { vec![num_class] } else { Vec::new() };
    let classification = losses.iter().any(|l| !matches!(l, Loss::L2));
    let mut out = Vec::new();
    if classification {
        out.push(Output { name: format!("logits_{tower}"), kind: OutputKind::Logits, dims: dims.clone() });
        out.push(Output { name: format!("probs_{tower}"), kind: OutputKind::Probs, dims: dims.clone() });
        if num_class == 2 {
            out.push(Output { name: format!("probs1_{tower}"), kind: OutputKind::Probs1, dims: Vec::new() });
        }
    }
    if losses.iter().any(|l| matches!(l, Loss::L2)) {
        out.push(Output { name: format!("y_{tower}"), kind: OutputKind::Regression, dims: Vec::new() });
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// `logits_<t>`.
    Logits,
    /// `probs_<t>`: sigmoid (num_class 1) or softmax.
    Probs,
    /// `probs1_<t>`: the positive class's probability of a 2-class softmax.
    Probs1,
    /// `y_<t>`: a regression value.
    Regression,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSettings {
    pub dataset: DatasetKind,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub label_fields: Vec<String>,
    pub sample_weight_fields: Vec<String>,
    /// Column names when a CSV has no header (`input_fields`).
    pub input_fields: Vec<String>,
    pub delimiter: String,
    pub with_header: bool,
    pub shuffle: bool,
    pub shuffle_buffer_size: usize,
    pub drop_remainder: bool,
    /// `fg_mode`, which decides how input columns are named.
    #[serde(default)]
    pub fg_mode: FgMode,
}

/// TorchEasyRec's feature-generation mode: which column each feature reads, and whether plec applies the transforms
/// of semantics section 2 itself (`FG_DAG`, `FG_NORMAL`) or reads their output (`FG_NONE`, every sparse feature's
/// transform is then [`Transform::FgEncoded`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FgMode {
    /// `FG_NONE` (TorchEasyRec's default): each feature reads the column named by its `feature_name`, which holds
    /// feature generation's output (table rows, multi-values joined by `fg_encoded_multival_sep`).
    #[default]
    None,
    /// `FG_DAG`: each feature reads the input its `expression` names (`user:user_id` -> `user_id`).
    Dag,
    /// `FG_NORMAL`: as `FG_DAG`.
    Normal,
}

impl FgMode {
    /// The config's spelling.
    pub fn name(self) -> &'static str {
        match self {
            FgMode::None => "FG_NONE",
            FgMode::Dag => "FG_DAG",
            FgMode::Normal => "FG_NORMAL",
        }
    }

    /// Where a feature's input column name comes from under this mode.
    pub fn column_rule(self) -> &'static str {
        match self {
            FgMode::None => "each feature's feature_name",
            FgMode::Dag | FgMode::Normal => "the input name of each feature's expression (`side:name`)",
        }
    }

    /// What a feature's column holds under this mode.
    pub fn value_rule(self) -> &'static str {
        match self {
            FgMode::None => {
                "FG-encoded values: an id is its table row, as TorchEasyRec reads them (plec applies no transform)"
            }
            FgMode::Dag | FgMode::Normal => "raw values: plec applies each feature's transform (feature generation)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DatasetKind {
    Csv,
    Parquet,
    /// Read by tzrec from MaxCompute; plec reads local files only (paths can be overridden on the command line).
    Odps,
    Kafka,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    pub sparse_optimizer: SparseOptimizer,
    pub sparse_lr: LrSchedule,
    pub dense_optimizer: DenseOptimizer,
    pub dense_lr: LrSchedule,
    pub num_steps: Option<u64>,
    pub num_epochs: Option<u64>,
    pub save_checkpoints_steps: u64,
    pub log_step_count_steps: u64,
    /// 0 keeps every checkpoint.
    pub keep_checkpoint_max: usize,
    pub fine_tune_checkpoint: Option<String>,
    pub grad_clipping: Option<GradClipping>,
}

/// Optimizers for embedding tables; each updates only the rows a batch touched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SparseOptimizer {
    Sgd {
        lr: f32,
    },
    /// fbgemm's exact row-sparse Adagrad (eps 1e-8).
    Adagrad {
        lr: f32,
        initial_accumulator_value: f32,
    },
    /// Row-sparse Adam (eps 1e-8); bias correction uses the global step.
    Adam {
        lr: f32,
        beta1: f32,
        beta2: f32,
        weight_decay: f32,
    },
    /// One accumulator per row: the mean of the squared gradient over the row (eps 1e-8).
    RowwiseAdagrad {
        lr: f32,
        weight_decay: f32,
    },
}

impl SparseOptimizer {
    pub fn lr(&self) -> f32 {
        match *self {
            SparseOptimizer::Sgd { lr }
            | SparseOptimizer::Adagrad { lr, .. }
            | SparseOptimizer::Adam { lr, .. }
            | SparseOptimizer::RowwiseAdagrad { lr, .. } => lr,
        }
    }
}

/// Optimizers for every non-embedding parameter, with PyTorch's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenseOptimizer {
    Sgd { lr: f32, momentum: f32, weight_decay: f32, dampening: f32, nesterov: bool },
    Adagrad { lr: f32, weight_decay: f32, initial_accumulator_value: f32, eps: f32 },
    Adam { lr: f32, beta1: f32, beta2: f32, weight_decay: f32, eps: f32, amsgrad: bool },
    AdamW { lr: f32, beta1: f32, beta2: f32, weight_decay: f32, eps: f32, amsgrad: bool },
}

impl DenseOptimizer {
    pub fn lr(&self) -> f32 {
        match *self {
            DenseOptimizer::Sgd { lr, .. }
            | DenseOptimizer::Adagrad { lr, .. }
            | DenseOptimizer::Adam { lr, .. }
            | DenseOptimizer::AdamW { lr, .. } => lr,
        }
    }
}

/// Learning-rate schedule, as a multiplier-free function of the step (see `LrSchedule::lr_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    Constant,
    ExponentialDecay {
        decay_size: u64,
        decay_factor: f32,
        staircase: bool,
        warmup_learning_rate: f32,
        warmup_size: u64,
        min_learning_rate: f32,
    },
    /// `learning_rates[i]` after step `schedule_sizes[i]` (tzrec: `bisect_left(schedule_sizes, step)`, so the new
    /// rate starts at step `boundary + 1`; the base lr before); with `warmup`, linear from the base lr to
    /// `learning_rates[0]` over the first boundary.
    ManualStep {
        schedule_sizes: Vec<u64>,
        learning_rates: Vec<f32>,
        warmup: bool,
    },
}

impl LrSchedule {
    /// The learning rate at `step` (0-based) for base rate `base`, following tzrec's schedulers.
    pub fn lr_at(&self, base: f32, step: u64) -> f32 {
        // tzrec's schedulers scale the optimizer's rate: a zero base rate stays zero.
        if base == 0.0 {
            return 0.0;
        }
        match self {
            LrSchedule::Constant => base,
            LrSchedule::ExponentialDecay {
                decay_size,
                decay_factor,
                staircase,
                warmup_learning_rate,
                warmup_size,
                min_learning_rate,
            } => {
                if step < *warmup_size {
                    let frac = step as f32 / *warmup_size as f32;
                    return warmup_learning_rate + (base - warmup_learning_rate) * frac;
                }
                let decay_size = (*decay_size).max(1) as f32;
                let mut exponent = (step - warmup_size) as f32 / decay_size;
                if *staircase {
                    exponent = exponent.floor();
                }
                (base * decay_factor.powf(exponent)).max(*min_learning_rate)
            }
            LrSchedule::ManualStep { schedule_sizes, learning_rates, warmup } => {
                if *warmup {
                    if let (Some(&first), Some(&target)) = (schedule_sizes.first(), learning_rates.first()) {
                        if step < first {
                            return base + (target - base) * step as f32 / first.max(1) as f32;
                        }
                    }
                }
                let passed = schedule_sizes.iter().take_while(|&&boundary| step > boundary).count();
                if passed == 0 {
                    base
                } else {
                    learning_rates[passed - 1]
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradClipping {
    /// Clip the global norm (`norm_type`) of all dense gradients to `max_gradient`.
    Norm { max_gradient: f32, norm_type: f32 },
    /// Clamp every dense gradient element to `[-max_gradient, max_gradient]`.
    Value { max_gradient: f32 },
}

#[cfg(test)]
mod tests {
    use super::LrSchedule;

    #[test]
    fn manual_step_switches_after_each_boundary_like_bisect_left() {
        let schedule =
            LrSchedule::ManualStep { schedule_sizes: vec![10, 20], learning_rates: vec![0.5, 0.25], warmup: false };
        // bisect_left([10, 20], step): 0 for step <= 10, 1 for 11..=20, 2 after.
        let rates: Vec<f32> = [0, 10, 11, 20, 21, 100].iter().map(|&s| schedule.lr_at(1.0, s)).collect();
        assert_eq!(rates, vec![1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
        assert_eq!(schedule.lr_at(0.0, 50), 0.0);
    }

    #[test]
    fn exponential_decay_with_warmup_staircase_and_floor() {
        let schedule = LrSchedule::ExponentialDecay {
            decay_size: 10,
            decay_factor: 0.5,
            staircase: true,
            warmup_learning_rate: 0.0,
            warmup_size: 4,
            min_learning_rate: 0.1,
        };
        // Warm-up 0 -> 1 over 4 steps, then 0.5^floor((step - 4) / 10), never below 0.1.
        assert_eq!(schedule.lr_at(1.0, 2), 0.5);
        assert_eq!(schedule.lr_at(1.0, 4), 1.0);
        assert_eq!(schedule.lr_at(1.0, 13), 1.0);
        assert_eq!(schedule.lr_at(1.0, 14), 0.5);
        assert_eq!(schedule.lr_at(1.0, 100), 0.1);
    }
}
