//! The one builder of hand-made [`ModelSpec`]s for tests (cargo feature `testing`), independent of the config
//! parser so tests can state shapes directly. Tables, offsets and every width follow from the definitions, each
//! tower's outputs from its head ([`head_outputs`]), and every spec built passes [`ModelSpec::check`] (the builder
//! panics naming the broken invariant otherwise). [`catalog`] holds the named specs the compiler's snapshots use.

use crate::placement::{TableClaim, Tables};
use crate::*;

mod family;
pub use family::{dbmtl, family_catalog, mmoe, mmoe_module, relation, MmoeDef, RelationDef};

/// A feature under construction; [`build`] fills in tables and offsets.
#[derive(Debug, Clone)]
pub struct FeatureDef {
    pub name: String,
    pub kind: FeatureKind,
    pub multi: Option<Pooling>,
    /// `id:weight` pairs, weighted-sum pooled (implies `multi`).
    pub weighted: bool,
    pub separator: String,
    pub default_value: Option<String>,
    /// Shared table name (`embedding_name`); default `<name>_emb`.
    pub table: Option<String>,
}

#[derive(Debug, Clone)]
pub enum FeatureKind {
    Embedded { transform: Transform, dim: usize },
    Dense { value_dim: usize, default_value: f32 },
}

impl FeatureDef {
    fn embedded(name: &str, transform: Transform, dim: usize) -> FeatureDef {
        FeatureDef {
            name: name.into(),
            kind: FeatureKind::Embedded { transform, dim },
            multi: None,
            weighted: false,
            // TorchEasyRec's default separator of multi-valued features.
            separator: "\u{1d}".into(),
            default_value: None,
            table: None,
        }
    }
    pub fn multi(mut self, pooling: Pooling) -> Self {
        self.multi = Some(pooling);
        self
    }
    /// A weighted id feature: a bag of `id:weight` pairs, summed with those weights.
    pub fn weighted(mut self) -> Self {
        self.multi = Some(Pooling::Sum);
        self.weighted = true;
        self
    }
    pub fn separator(mut self, separator: &str) -> Self {
        self.separator = separator.into();
        self
    }
    pub fn default_value(mut self, text: &str) -> Self {
        self.default_value = Some(text.into());
        self
    }
    /// Reads the table called `name` (another feature's `<feature>_emb` to share it).
    pub fn table(mut self, name: &str) -> Self {
        self.table = Some(name.into());
        self
    }
}

pub fn id(name: &str, buckets: u64, dim: usize) -> FeatureDef {
    FeatureDef::embedded(name, Transform::NumBuckets(buckets), dim)
}
pub fn hash(name: &str, buckets: u64, dim: usize) -> FeatureDef {
    FeatureDef::embedded(name, Transform::HashBucket(buckets), dim)
}
pub fn vocab(name: &str, words: &[&str], dim: usize) -> FeatureDef {
    FeatureDef::embedded(name, Transform::VocabList(words.iter().map(|w| w.to_string()).collect()), dim)
}
pub fn dict(name: &str, pairs: &[(&str, u64)], dim: usize) -> FeatureDef {
    let mut map: Vec<(String, u64)> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    map.sort();
    FeatureDef::embedded(name, Transform::VocabDict(map), dim)
}
pub fn bounds(name: &str, boundaries: &[f32], dim: usize) -> FeatureDef {
    FeatureDef::embedded(name, Transform::Boundaries(boundaries.to_vec()), dim)
}
pub fn dense(name: &str, value_dim: usize, default_value: f32) -> FeatureDef {
    FeatureDef {
        name: name.into(),
        kind: FeatureKind::Dense { value_dim, default_value },
        multi: None,
        weighted: false,
        separator: String::new(),
        default_value: None,
        table: None,
    }
}

/// A sequence feature under construction (semantics section 2b).
#[derive(Debug, Clone)]
pub struct SeqDef {
    pub name: String,
    /// `None`: a dense number per position.
    pub embedded: Option<(Transform, usize)>,
    pub delimiter: String,
    pub max_length: usize,
    pub table: Option<String>,
}

impl SeqDef {
    pub fn delimiter(mut self, delimiter: &str) -> Self {
        self.delimiter = delimiter.into();
        self
    }
    pub fn max_length(mut self, max_length: usize) -> Self {
        self.max_length = max_length;
        self
    }
    pub fn table(mut self, name: &str) -> Self {
        self.table = Some(name.into());
        self
    }
}

fn seq(name: &str, embedded: Option<(Transform, usize)>) -> SeqDef {
    SeqDef { name: name.into(), embedded, delimiter: "|".into(), max_length: 8, table: None }
}
pub fn seq_id(name: &str, buckets: u64, dim: usize) -> SeqDef {
    seq(name, Some((Transform::NumBuckets(buckets), dim)))
}
pub fn seq_hash(name: &str, buckets: u64, dim: usize) -> SeqDef {
    seq(name, Some((Transform::HashBucket(buckets), dim)))
}
pub fn seq_vocab(name: &str, words: &[&str], dim: usize) -> SeqDef {
    seq(name, Some((Transform::VocabList(words.iter().map(|w| w.to_string()).collect()), dim)))
}
pub fn seq_dict(name: &str, pairs: &[(&str, u64)], dim: usize) -> SeqDef {
    let mut map: Vec<(String, u64)> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    map.sort();
    seq(name, Some((Transform::VocabDict(map), dim)))
}
pub fn seq_bounds(name: &str, boundaries: &[f32], dim: usize) -> SeqDef {
    seq(name, Some((Transform::Boundaries(boundaries.to_vec()), dim)))
}
pub fn seq_dense(name: &str) -> SeqDef {
    seq(name, None)
}

/// A sequence group with its encoders (each `(kind, max_seq_length)`; a DIN's MLP input width is filled in).
#[derive(Debug, Clone)]
pub struct SeqGroupDef {
    pub name: String,
    pub query: Vec<FeatureDef>,
    pub sequence: Vec<SeqDef>,
    pub encoders: Vec<(EncoderKind, usize)>,
}

pub fn seq_group(name: &str, query: Vec<FeatureDef>, sequence: Vec<SeqDef>) -> SeqGroupDef {
    SeqGroupDef { name: name.into(), query, sequence, encoders: Vec::new() }
}

impl SeqGroupDef {
    /// A DIN encoder whose attention MLP has `units` (ReLU, no norm).
    pub fn din(mut self, units: &[usize], max_seq_length: usize) -> Self {
        let attention = mlp(0, units, Norm::None, Activation::Relu);
        self.encoders.push((EncoderKind::Din { mlp: attention }, max_seq_length));
        self
    }
    pub fn din_mlp(mut self, attention: Mlp, max_seq_length: usize) -> Self {
        self.encoders.push((EncoderKind::Din { mlp: attention }, max_seq_length));
        self
    }
    pub fn simple_attention(mut self, max_seq_length: usize) -> Self {
        self.encoders.push((EncoderKind::SimpleAttention, max_seq_length));
        self
    }
    pub fn pooling(mut self, pooling: Pooling, max_seq_length: usize) -> Self {
        self.encoders.push((EncoderKind::Pooling { pooling }, max_seq_length));
        self
    }
}

/// One MLP layer without dropout; BatchNorm's shift replaces the Linear bias, as validation decides.
pub fn mlp_layer(units: usize, norm: Norm, activation: Activation) -> MlpLayer {
    MlpLayer { units, bias: norm != Norm::Batch, norm, activation, dropout: 0.0 }
}

/// One MLP layer with ReLU, no norm, no dropout.
pub fn plain_layer(units: usize) -> MlpLayer {
    mlp_layer(units, Norm::None, Activation::Relu)
}

/// MLP hidden units with one norm and activation for every layer.
pub fn mlp(input: usize, units: &[usize], norm: Norm, activation: Activation) -> Mlp {
    Mlp { input_width: input, layers: units.iter().map(|&u| mlp_layer(u, norm, activation)).collect() }
}

#[derive(Debug, Clone)]
pub struct LayerDef {
    pub name: String,
    pub experts_per_task: usize,
    pub shared_experts: usize,
    pub task_units: Vec<usize>,
    pub shared_units: Vec<usize>,
    pub norm: Norm,
    pub activation: Activation,
    /// Explicit expert layers, in place of `*_units` with `norm` and `activation`.
    pub task_layers: Option<Vec<MlpLayer>>,
    pub shared_layers: Option<Vec<MlpLayer>>,
}

/// An extraction layer whose task and shared experts have `units` (ReLU, no norm).
pub fn layer(name: &str, experts_per_task: usize, shared: usize, units: &[usize]) -> LayerDef {
    LayerDef {
        name: name.into(),
        experts_per_task,
        shared_experts: shared,
        task_units: units.to_vec(),
        shared_units: units.to_vec(),
        norm: Norm::None,
        activation: Activation::Relu,
        task_layers: None,
        shared_layers: None,
    }
}

impl LayerDef {
    pub fn norm(mut self, norm: Norm) -> Self {
        self.norm = norm;
        self
    }
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }
    pub fn shared_units(mut self, units: &[usize]) -> Self {
        self.shared_units = units.to_vec();
        self
    }
    /// Task and shared experts made of exactly these layers.
    pub fn expert_layers(mut self, layers: Vec<MlpLayer>) -> Self {
        self.task_layers = Some(layers.clone());
        self.shared_layers = Some(layers);
        self
    }
    pub fn shared_layers(mut self, layers: Vec<MlpLayer>) -> Self {
        self.shared_layers = Some(layers);
        self
    }

    fn expert(&self, input: usize, explicit: &Option<Vec<MlpLayer>>, units: &[usize]) -> Mlp {
        match explicit {
            Some(layers) => Mlp { input_width: input, layers: layers.clone() },
            None => mlp(input, units, self.norm, self.activation),
        }
    }
}

/// A tower's head: its class count and default loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head {
    Binary,
    Softmax(usize),
    Regression,
}

#[derive(Debug, Clone)]
pub struct TowerDef {
    pub name: String,
    pub label: String,
    pub units: Vec<usize>,
    /// Explicit tower MLP layers, in place of `units` (ReLU, no norm).
    pub layers: Option<Vec<MlpLayer>>,
    pub num_class: usize,
    pub loss: Loss,
}

/// A tower with MLP `units` (none: the head reads the towers' input directly), labelled `label_<name>`.
pub fn tower(name: &str, units: &[usize], head: Head) -> TowerDef {
    let (num_class, loss) = match head {
        Head::Binary => (1, Loss::BinaryCrossEntropy { label_smoothing: 0.0 }),
        Head::Softmax(classes) => (classes, Loss::SoftmaxCrossEntropy { label_smoothing: 0.0 }),
        Head::Regression => (1, Loss::L2),
    };
    TowerDef { name: name.into(), label: format!("label_{name}"), units: units.to_vec(), layers: None, num_class, loss }
}

impl TowerDef {
    pub fn label(mut self, label: &str) -> Self {
        self.label = label.into();
        self
    }
    /// Replaces the head's default loss (same class count).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }
    pub fn layers(mut self, layers: Vec<MlpLayer>) -> Self {
        self.layers = Some(layers);
        self
    }

    /// The tower reading `input_width` columns, with the outputs its head gives.
    pub fn build(&self, input_width: usize) -> Tower {
        let tower_mlp = match &self.layers {
            Some(layers) => Some(Mlp { input_width, layers: layers.clone() }),
            None if self.units.is_empty() => None,
            None => Some(mlp(input_width, &self.units, Norm::None, Activation::Relu)),
        };
        let metrics = match self.loss {
            Loss::L2 => vec![Metric::MeanSquaredError],
            _ => vec![Metric::Auc { thresholds: 200 }],
        };
        let losses = vec![self.loss.clone()];
        Tower {
            name: self.name.clone(),
            label: self.label.clone(),
            input_width,
            mlp: tower_mlp,
            num_class: self.num_class,
            outputs: head_outputs(&self.name, self.num_class, &losses),
            losses,
            metrics,
            weighting: None,
            relation: None,
        }
    }
}

/// A tower on its own (loss and metric tests): no MLP, `loss` with `num_class` classes, reading `input_width`.
pub fn head_tower(name: &str, label: &str, input_width: usize, loss: Loss, num_class: usize) -> Tower {
    let def = TowerDef { name: name.into(), label: label.into(), units: vec![], layers: None, num_class, loss };
    def.build(input_width)
}

/// Claims `name`'s table through the reader's rule ([`Tables::claim`]); a conflict is a broken test definition.
fn claim(tables: &mut Tables, claim: TableClaim<'_>, feature: &str) -> usize {
    match tables.claim(claim, feature) {
        Ok(index) => index,
        Err(conflict) => panic!("the test spec is inconsistent: {conflict}"),
    }
}

/// The features' encodings, offsets from 0 and total width; their tables claimed in `collection`.
fn place_features(features: &[FeatureDef], tables: &mut Tables, collection: TableCollection) -> (Vec<Feature>, usize) {
    let mut placed = Vec::new();
    let mut offset = 0;
    for f in features {
        let (encoding, width) = match &f.kind {
            FeatureKind::Dense { value_dim, default_value } => {
                (Encoding::Dense { value_dim: *value_dim, default_value: *default_value }, *value_dim)
            }
            FeatureKind::Embedded { transform, dim } => {
                let name = f.table.clone().unwrap_or_else(|| format!("{}_emb", f.name));
                let table =
                    claim(tables, TableClaim { collection, name: &name, rows: transform.rows(), dim: *dim }, &f.name);
                let multi =
                    f.multi.map(|pooling| MultiValue { separator: f.separator.clone(), pooling, weighted: f.weighted });
                let encoding = Encoding::Embedding {
                    table,
                    transform: transform.clone(),
                    multi,
                    default_value: f.default_value.clone(),
                };
                (encoding, *dim)
            }
        };
        placed.push(Feature { name: f.name.clone(), encoding, width, offset });
        offset += width;
    }
    (placed, offset)
}

/// One sequence group's sequence features (offsets within the group) and their width.
fn place_sequence_features(defs: &[SeqDef], tables: &mut Tables) -> (Vec<SequenceFeature>, usize) {
    let mut sequence = Vec::new();
    let mut width = 0;
    for s in defs {
        let (encoding, w) = match &s.embedded {
            None => (SequenceEncoding::Dense { default_value: 0.0 }, 1),
            Some((transform, dim)) => {
                let name = s.table.clone().unwrap_or_else(|| format!("{}_emb", s.name));
                let collection = TableCollection::Sequence;
                let table =
                    claim(tables, TableClaim { collection, name: &name, rows: transform.rows(), dim: *dim }, &s.name);
                (SequenceEncoding::Embedding { table, transform: transform.clone() }, *dim)
            }
        };
        sequence.push(SequenceFeature {
            name: s.name.clone(),
            delimiter: s.delimiter.clone(),
            max_length: s.max_length,
            encoding,
            width: w,
            offset: width,
        });
        width += w;
    }
    (sequence, width)
}

/// The sequence groups and encoders of `groups`, their tables claimed in `tables`, encoders from column `offset`.
fn place_sequences(
    groups: &[SeqGroupDef],
    tables: &mut Tables,
    mut offset: usize,
) -> (Vec<SequenceGroup>, Vec<SequenceEncoder>, usize) {
    let mut placed = Vec::new();
    let mut encoders = Vec::new();
    for (g, def) in groups.iter().enumerate() {
        let (query, query_width) = place_features(&def.query, tables, TableCollection::Sequence);
        let (sequence, width) = place_sequence_features(&def.sequence, tables);
        for (kind, max_seq_length) in &def.encoders {
            let kind = match kind {
                EncoderKind::Din { mlp } => EncoderKind::Din { mlp: Mlp { input_width: 4 * width, ..mlp.clone() } },
                other => other.clone(),
            };
            encoders.push(SequenceEncoder { input: g, kind, max_seq_length: *max_seq_length, width, offset });
            offset += width;
        }
        placed.push(SequenceGroup { name: def.name.clone(), query, query_width, sequence, sequence_width: width });
    }
    (placed, encoders, offset)
}

/// Data and training settings of every test spec (CSV with a header; Adagrad for tables, Adam for the rest).
pub fn settings(label_fields: Vec<String>) -> (DataSettings, TrainSettings) {
    let data = DataSettings {
        dataset: DatasetKind::Csv,
        batch_size: 64,
        eval_batch_size: 64,
        label_fields,
        sample_weight_fields: vec![],
        input_fields: vec![],
        delimiter: ",".into(),
        with_header: true,
        shuffle: false,
        shuffle_buffer_size: 32,
        drop_remainder: false,
        fg_mode: Default::default(),
    };
    let train = TrainSettings {
        sparse_optimizer: SparseOptimizer::Adagrad { lr: 0.05, initial_accumulator_value: 0.0 },
        sparse_lr: LrSchedule::Constant,
        dense_optimizer: DenseOptimizer::Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            weight_decay: 0.0,
            eps: 1e-8,
            amsgrad: false,
        },
        dense_lr: LrSchedule::Constant,
        num_steps: None,
        num_epochs: Some(1),
        save_checkpoints_steps: 1000,
        log_step_count_steps: 100,
        keep_checkpoint_max: 0,
        fine_tune_checkpoint: None,
        grad_clipping: None,
    };
    (data, train)
}

/// The spec of `features`, `layers` (first to last) and `towers`; panics if it breaks an invariant.
pub fn build(features: &[FeatureDef], layers: &[LayerDef], towers: &[TowerDef]) -> ModelSpec {
    build_with_sequences(features, &[], layers, towers)
}

/// [`build`] with sequence groups and their encoders after the features.
pub fn build_with_sequences(
    features: &[FeatureDef],
    sequences: &[SeqGroupDef],
    layers: &[LayerDef],
    towers: &[TowerDef],
) -> ModelSpec {
    let mut tables = Tables::default();
    let (features, features_width) = place_features(features, &mut tables, TableCollection::Bag);
    let (sequence_groups, encoders, input_width) = place_sequences(sequences, &mut tables, features_width);
    let tables = tables.into_tables();
    let mut width = input_width;
    let mut built_layers = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let task_expert = l.expert(width, &l.task_layers, &l.task_units);
        let shared_expert = l.expert(width, &l.shared_layers, &l.shared_units);
        let output_width =
            if l.experts_per_task > 0 { task_expert.output_width() } else { shared_expert.output_width() };
        built_layers.push(ExtractionLayer {
            name: l.name.clone(),
            input_width: width,
            experts_per_task: l.experts_per_task,
            task_expert,
            shared_experts: l.shared_experts,
            shared_expert,
            has_shared_gate: i + 1 < layers.len(),
            output_width,
            gate_mlp: None,
            module: crate::LayerModule::Ple,
        });
        width = output_width;
    }
    let (data, train) = settings(towers.iter().map(|t| t.label.clone()).collect());
    let spec = ModelSpec {
        kind: crate::ModelKind::Ple,
        bottom_mlp: None,
        group_name: "all".into(),
        features,
        tables,
        input_width,
        sequence_groups,
        encoders,
        layers: built_layers,
        towers: towers.iter().map(|t| t.build(width)).collect(),
        data,
        train,
        paths: Paths { train_input: String::new(), eval_input: String::new(), model_dir: String::new() },
    };
    if let Err(error) = spec.check() {
        panic!("the test spec is inconsistent: {error}");
    }
    spec
}

/// Every feature kind the catalog's first spec reads: ids, hashes, vocabularies, boundaries, dense values, shared
/// tables, multi-values and defaults.
fn catalog_features() -> Vec<FeatureDef> {
    vec![
        id("user_id", 50, 4),
        id("item_id", 30, 4).default_value("7"),
        hash("pid", 13, 3),
        hash("city", 11, 3).default_value("beijing"),
        vocab("gender", &["m", "f", "u"], 2),
        vocab("color", &["red", "green"], 2).default_value("green"),
        dict("brand", &[("nike", 3), ("adidas", 0), ("puma", 5)], 3),
        bounds("price", &[1.0, 2.5, 10.0, 100.0], 3),
        bounds("age", &[18.0, 30.0, 50.0], 2).default_value("25"),
        dense("score", 1, 0.5),
        dense("vec3", 3, -1.0),
        id("clicks", 50, 4).table("user_id_emb").multi(Pooling::Mean),
        id("tags", 20, 3).multi(Pooling::Sum),
        hash("words", 17, 3).multi(Pooling::Mean),
        vocab("langs", &["en", "zh", "fr"], 2).multi(Pooling::Sum).default_value("en"),
        dict("cats", &[("a", 1), ("b", 2), ("c", 4)], 2).multi(Pooling::Mean),
        vocab("moods", &["calm", "busy"], 2).multi(Pooling::Sum),
    ]
}

/// Named test specs covering every feature kind, norms, depths and heads.
pub fn catalog() -> Vec<(&'static str, ModelSpec)> {
    [ple_catalog(), family_catalog()].concat()
}

/// The catalog's PLE specs.
fn ple_catalog() -> Vec<(&'static str, ModelSpec)> {
    use Head::*;
    let all_features = catalog_features;
    let simple = || vec![id("user_id", 10, 4), dense("score", 1, 0.0), hash("pid", 7, 3)];
    vec![
        (
            "all_features_two_layers",
            build(
                &all_features(),
                &[layer("layer1", 2, 1, &[16, 8]), layer("layer2", 1, 2, &[8])],
                &[tower("ctr", &[8], Binary), tower("cvr", &[], Binary)],
            ),
        ),
        (
            "bn_three_layers_softmax",
            build(
                &simple(),
                &[
                    layer("l1", 1, 1, &[8, 6]).norm(Norm::Batch),
                    layer("l2", 2, 1, &[6]).norm(Norm::Batch).shared_units(&[5, 6]).activation(Activation::Sigmoid),
                    layer("l3", 1, 2, &[4]).norm(Norm::Batch).activation(Activation::Elu { alpha: 0.7 }),
                ],
                &[tower("a", &[4], Softmax(3)), tower("b", &[], Softmax(2)), tower("c", &[3], Regression)],
            ),
        ),
        (
            "ln_gelu",
            build(
                &simple(),
                &[
                    layer("l1", 2, 2, &[8]).norm(Norm::Layer).activation(Activation::Gelu),
                    layer("l2", 1, 1, &[6, 4]).norm(Norm::Layer).activation(Activation::Silu),
                ],
                &[tower("ctr", &[4], Binary), tower("val", &[], Regression)],
            ),
        ),
        (
            "mmoe",
            build(
                &simple(),
                &[layer("mmoe", 0, 3, &[8, 4]).activation(Activation::LeakyRelu { negative_slope: 0.1 })],
                &[tower("ctr", &[], Binary), tower("cvr", &[2], Binary)],
            ),
        ),
        (
            "single_task",
            build(
                &simple(),
                &[layer("l1", 2, 1, &[6]).activation(Activation::Tanh)],
                &[tower("only", &[4], Softmax(2))],
            ),
        ),
        (
            "sequences",
            build_with_sequences(
                &[id("user_id", 10, 4), id("item_id", 30, 4), dense("score", 1, 0.0)],
                &[
                    seq_group(
                        "clicks",
                        vec![id("item_id", 30, 4), hash("cate", 7, 2)],
                        vec![
                            seq_id("clicks__item_id", 30, 4),
                            seq_hash("clicks__cate", 7, 3),
                            seq_dense("clicks__price"),
                            seq_bounds("clicks__dwell", &[1.0, 5.0, 30.0], 2),
                            seq_dict("clicks__brand", &[("nike", 3), ("puma", 1)], 2),
                        ],
                    )
                    .din(&[8, 4], 0)
                    .pooling(Pooling::Mean, 3),
                    seq_group(
                        "views",
                        vec![vocab("gender", &["m", "f"], 3)],
                        vec![seq_vocab("views", &["a", "b", "c"], 3)],
                    )
                    .simple_attention(5)
                    .pooling(Pooling::Sum, 0),
                ],
                &[layer("l1", 1, 1, &[6])],
                &[tower("ctr", &[], Binary), tower("cvr", &[], Binary)],
            ),
        ),
        (
            "weighted_ids",
            build(
                &[
                    id("user_id", 10, 4),
                    id("shops", 20, 3).weighted(),
                    hash("brands", 20, 3).weighted().table("shops_emb"),
                    vocab("intents", &["buy", "look", "compare"], 2).weighted().separator(";"),
                    dense("score", 1, 0.0),
                ],
                &[layer("l1", 1, 1, &[6])],
                &[tower("ctr", &[], Binary), tower("cvr", &[], Binary)],
            ),
        ),
    ]
}
