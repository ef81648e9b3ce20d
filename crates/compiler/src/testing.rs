//! Small `ModelSpec`s built in code, for this crate's tests and the root package's compile tests. They do not go
//! through the config parser, so the compiler can be tested on shapes a config may not easily express.

use plec_config::spec::*;

/// A feature under construction; `build` fills in tables and offsets.
#[derive(Debug, Clone)]
pub struct FeatureDef {
    pub name: String,
    pub kind: FeatureKind,
    pub multi: Option<Pooling>,
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
            default_value: None,
            table: None,
        }
    }
    pub fn multi(mut self, pooling: Pooling) -> Self {
        self.multi = Some(pooling);
        self
    }
    pub fn default_value(mut self, text: &str) -> Self {
        self.default_value = Some(text.into());
        self
    }
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
        default_value: None,
        table: None,
    }
}

/// MLP hidden units with one norm and activation for every layer.
pub fn mlp(input: usize, units: &[usize], norm: Norm, activation: Activation) -> Mlp {
    Mlp {
        input_width: input,
        layers: units
            .iter()
            .map(|&u| MlpLayer { units: u, bias: norm != Norm::Batch, norm, activation, dropout: 0.0 })
            .collect(),
    }
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
}

pub fn layer(name: &str, experts_per_task: usize, shared: usize, units: &[usize]) -> LayerDef {
    LayerDef {
        name: name.into(),
        experts_per_task,
        shared_experts: shared,
        task_units: units.to_vec(),
        shared_units: units.to_vec(),
        norm: Norm::None,
        activation: Activation::Relu,
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
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head {
    Binary,
    Softmax(usize),
    Regression,
}

#[derive(Debug, Clone)]
pub struct TowerDef {
    pub name: String,
    pub units: Vec<usize>,
    pub head: Head,
}

pub fn tower(name: &str, units: &[usize], head: Head) -> TowerDef {
    TowerDef { name: name.into(), units: units.to_vec(), head }
}

pub fn build(features: &[FeatureDef], layers: &[LayerDef], towers: &[TowerDef]) -> ModelSpec {
    let mut tables: Vec<EmbeddingTable> = Vec::new();
    let mut out_features = Vec::new();
    let mut offset = 0;
    for f in features {
        let (encoding, width) = match &f.kind {
            FeatureKind::Dense { value_dim, default_value } => {
                (Encoding::Dense { value_dim: *value_dim, default_value: *default_value }, (*value_dim).max(1))
            }
            FeatureKind::Embedded { transform, dim } => {
                let table_name = f.table.clone().unwrap_or_else(|| format!("{}_emb", f.name));
                let index = match tables.iter().position(|t| t.name == table_name) {
                    Some(i) => {
                        tables[i].features.push(f.name.clone());
                        i
                    }
                    None => {
                        tables.push(EmbeddingTable {
                            name: table_name,
                            rows: transform.rows(),
                            dim: *dim,
                            features: vec![f.name.clone()],
                        });
                        tables.len() - 1
                    }
                };
                let multi = f.multi.map(|pooling| MultiValue { separator: "\u{1d}".into(), pooling });
                let encoding = Encoding::Embedding {
                    table: index,
                    transform: transform.clone(),
                    multi,
                    default_value: f.default_value.clone(),
                };
                (encoding, *dim)
            }
        };
        out_features.push(Feature { name: f.name.clone(), encoding, width, offset });
        offset += width;
    }
    let input_width = offset;
    let mut width = input_width;
    let mut out_layers = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let task_expert = mlp(width, &l.task_units, l.norm, l.activation);
        let shared_expert = mlp(width, &l.shared_units, l.norm, l.activation);
        let output_width = task_expert.output_width();
        out_layers.push(ExtractionLayer {
            name: l.name.clone(),
            input_width: width,
            experts_per_task: l.experts_per_task,
            task_expert,
            shared_experts: l.shared_experts,
            shared_expert,
            has_shared_gate: i + 1 < layers.len(),
            output_width,
        });
        width = output_width;
    }
    let out_towers = towers
        .iter()
        .map(|t| {
            let tower_mlp =
                if t.units.is_empty() { None } else { Some(mlp(width, &t.units, Norm::None, Activation::Relu)) };
            let n = &t.name;
            let output = |prefix: &str, kind, dims: Vec<usize>| Output { name: format!("{prefix}_{n}"), kind, dims };
            let (num_class, losses, outputs) = match t.head {
                Head::Binary => (
                    1,
                    vec![Loss::BinaryCrossEntropy { label_smoothing: 0.0 }],
                    vec![output("logits", OutputKind::Logits, vec![]), output("probs", OutputKind::Probs, vec![])],
                ),
                Head::Softmax(c) => {
                    let mut outs = vec![
                        output("logits", OutputKind::Logits, vec![c]),
                        output("probs", OutputKind::Probs, vec![c]),
                    ];
                    if c == 2 {
                        outs.push(output("probs1", OutputKind::Probs1, vec![]));
                    }
                    (c, vec![Loss::SoftmaxCrossEntropy { label_smoothing: 0.0 }], outs)
                }
                Head::Regression => (1, vec![Loss::L2], vec![output("y", OutputKind::Regression, vec![])]),
            };
            Tower {
                name: t.name.clone(),
                label: format!("label_{n}"),
                input_width: width,
                mlp: tower_mlp,
                num_class,
                losses,
                metrics: vec![],
                weighting: None,
                outputs,
            }
        })
        .collect();
    ModelSpec {
        group_name: "all".into(),
        features: out_features,
        tables,
        input_width,
        layers: out_layers,
        towers: out_towers,
        data: DataSettings {
            dataset: DatasetKind::Csv,
            batch_size: 32,
            eval_batch_size: 32,
            label_fields: towers.iter().map(|t| format!("label_{}", t.name)).collect(),
            sample_weight_fields: vec![],
            input_fields: vec![],
            delimiter: ",".into(),
            with_header: true,
            shuffle: false,
            shuffle_buffer_size: 0,
            drop_remainder: false,
            fg_mode: Default::default(),
        },
        train: TrainSettings {
            sparse_optimizer: SparseOptimizer::Sgd { lr: 0.1 },
            sparse_lr: LrSchedule::Constant,
            dense_optimizer: DenseOptimizer::Sgd {
                lr: 0.1,
                momentum: 0.0,
                weight_decay: 0.0,
                dampening: 0.0,
                nesterov: false,
            },
            dense_lr: LrSchedule::Constant,
            num_steps: Some(1),
            num_epochs: None,
            save_checkpoints_steps: 1,
            log_step_count_steps: 1,
            keep_checkpoint_max: 0,
            fine_tune_checkpoint: None,
            grad_clipping: None,
        },
        paths: Paths { train_input: String::new(), eval_input: String::new(), model_dir: String::new() },
    }
}

/// Named test specs covering every feature kind, norms, depths and heads.
pub fn catalog() -> Vec<(&'static str, ModelSpec)> {
    use Head::*;
    let all_features = || {
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
        ]
    };
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
    ]
}
