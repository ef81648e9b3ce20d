//! Small hand-built specs for tests (here and in the root package's `tests/`), independent of the config parser.

use plec_config::spec::*;

/// One MLP layer with ReLU, no norm, no dropout.
pub fn plain_layer(units: usize) -> MlpLayer {
    MlpLayer { units, bias: true, norm: Norm::None, activation: Activation::Relu, dropout: 0.0 }
}

pub fn mlp(input_width: usize, layers: Vec<MlpLayer>) -> Mlp {
    Mlp { input_width, layers }
}

/// Outputs of section 5 for a tower with this loss and class count.
pub fn outputs_for(name: &str, loss: &Loss, num_class: usize) -> Vec<Output> {
    let o = |prefix: &str, kind, dims: Vec<usize>| Output { name: format!("{prefix}_{name}"), kind, dims };
    match loss {
        Loss::BinaryCrossEntropy { .. } | Loss::BinaryFocal { .. } => {
            vec![o("logits", OutputKind::Logits, vec![]), o("probs", OutputKind::Probs, vec![])]
        }
        Loss::SoftmaxCrossEntropy { .. } => {
            let mut v =
                vec![o("logits", OutputKind::Logits, vec![num_class]), o("probs", OutputKind::Probs, vec![num_class])];
            if num_class == 2 {
                v.push(o("probs1", OutputKind::Probs1, vec![]));
            }
            v
        }
        Loss::L2 => vec![o("y", OutputKind::Regression, vec![])],
    }
}

pub fn tower(
    name: &str,
    label: &str,
    input_width: usize,
    tower_mlp: Option<Mlp>,
    loss: Loss,
    num_class: usize,
) -> Tower {
    let metrics = match loss {
        Loss::L2 => vec![Metric::MeanSquaredError],
        _ => vec![Metric::Auc { thresholds: 200 }],
    };
    Tower {
        name: name.into(),
        label: label.into(),
        input_width,
        mlp: tower_mlp,
        num_class,
        outputs: outputs_for(name, &loss, num_class),
        losses: vec![loss],
        metrics,
        weighting: None,
    }
}

/// Features: `(name, table rows or None for a dense feature of width 1, multi-valued)`; tables of width `dim`,
/// one per id feature unless `shared` names a feature whose table it reuses.
pub struct FeatureDef {
    pub name: &'static str,
    /// `None`: dense value of width `dense_width`.
    pub rows: Option<u64>,
    pub multi: Option<Pooling>,
    pub shares_table_of: Option<&'static str>,
    pub dense_width: usize,
}

pub fn id(name: &'static str, rows: u64) -> FeatureDef {
    FeatureDef { name, rows: Some(rows), multi: None, shares_table_of: None, dense_width: 0 }
}

pub fn dense(name: &'static str, width: usize) -> FeatureDef {
    FeatureDef { name, rows: None, multi: None, shares_table_of: None, dense_width: width }
}

/// A spec from features, layers and towers (layer/tower input widths must already be right).
pub fn spec(defs: &[FeatureDef], dim: usize, layers: Vec<ExtractionLayer>, towers: Vec<Tower>) -> ModelSpec {
    let mut features = Vec::new();
    let mut tables: Vec<EmbeddingTable> = Vec::new();
    let mut offset = 0;
    for def in defs {
        let (encoding, width) = match def.rows {
            Some(rows) => {
                let table = match def.shares_table_of {
                    Some(other) => {
                        let idx = tables.iter().position(|t| t.name == format!("{other}_emb")).unwrap_or(0);
                        tables[idx].features.push(def.name.into());
                        idx
                    }
                    None => {
                        tables.push(EmbeddingTable {
                            name: format!("{}_emb", def.name),
                            rows,
                            dim,
                            features: vec![def.name.into()],
                        });
                        tables.len() - 1
                    }
                };
                let multi = def.multi.map(|pooling| MultiValue { separator: "|".into(), pooling });
                (Encoding::Embedding { table, transform: Transform::NumBuckets(rows), multi, default_value: None }, dim)
            }
            None => (Encoding::Dense { value_dim: def.dense_width, default_value: 0.0 }, def.dense_width),
        };
        features.push(Feature { name: def.name.into(), encoding, width, offset });
        offset += width;
    }
    let labels: Vec<String> = towers.iter().map(|t| t.label.clone()).collect();
    ModelSpec {
        group_name: "all".into(),
        features,
        tables,
        input_width: offset,
        layers,
        towers,
        data: DataSettings {
            dataset: DatasetKind::Csv,
            batch_size: 64,
            eval_batch_size: 64,
            label_fields: labels,
            sample_weight_fields: vec![],
            input_fields: vec![],
            delimiter: ",".into(),
            with_header: true,
            shuffle: false,
            shuffle_buffer_size: 32,
            drop_remainder: false,
            fg_mode: Default::default(),
        },
        train: TrainSettings {
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
        },
        paths: Paths { train_input: String::new(), eval_input: String::new(), model_dir: String::new() },
    }
}

/// An extraction layer whose task and shared experts use `task` and `shared`.
pub fn layer(
    name: &str,
    input_width: usize,
    per_task: usize,
    task: Mlp,
    shared_n: usize,
    shared: Mlp,
    last: bool,
) -> ExtractionLayer {
    let output_width = task.output_width();
    ExtractionLayer {
        name: name.into(),
        input_width,
        experts_per_task: per_task,
        task_expert: task,
        shared_experts: shared_n,
        shared_expert: shared,
        has_shared_gate: !last,
        output_width,
    }
}

/// A small two-task config over the columns of [`write_synthetic_csv`]; paths are filled in by callers.
pub fn small_config(train: &str, eval: &str, model_dir: &str, extra_train: &str) -> String {
    format!(
        r#"train_input_path: "{train}"
eval_input_path: "{eval}"
model_dir: "{model_dir}"
train_config {{
  sparse_optimizer {{ adagrad_optimizer {{ lr: 0.05 }} constant_learning_rate {{}} }}
  dense_optimizer {{ adam_optimizer {{ lr: 0.003 }} constant_learning_rate {{}} }}
  log_step_count_steps: 5
  {extra_train}
}}
data_config {{
  batch_size: 128
  dataset_type: CsvDataset
  with_header: true
  label_fields: "clk"
  label_fields: "buy"
}}
feature_configs {{ id_feature {{ feature_name: "user_id" expression: "user:user_id" num_buckets: 200 embedding_dim: 8 }} }}
feature_configs {{ id_feature {{ feature_name: "item_id" expression: "item:item_id" num_buckets: 100 embedding_dim: 8 }} }}
feature_configs {{ id_feature {{ feature_name: "pid" expression: "context:pid" hash_bucket_size: 10 embedding_dim: 8 }} }}
feature_configs {{ raw_feature {{ feature_name: "price" expression: "item:price" boundaries: [1.0, 5.0, 10.0] embedding_dim: 8 }} }}
model_config {{
  feature_groups {{ group_name: "all" feature_names: "user_id" feature_names: "item_id" feature_names: "pid" feature_names: "price" group_type: DEEP }}
  ple {{
    extraction_networks {{ network_name: "layer1" expert_num_per_task: 2 share_num: 1
      task_expert_net {{ hidden_units: [32, 16] }} share_expert_net {{ hidden_units: [32, 16] }} }}
    extraction_networks {{ network_name: "layer2" expert_num_per_task: 1 share_num: 2
      task_expert_net {{ hidden_units: [16, 8] }} share_expert_net {{ hidden_units: [16, 8] }} }}
    task_towers {{ tower_name: "ctr" label_name: "clk" mlp {{ hidden_units: [8] }} metrics {{ auc {{}} }} losses {{ binary_cross_entropy {{}} }} }}
    task_towers {{ tower_name: "cvr" label_name: "buy" mlp {{ hidden_units: [8] }} metrics {{ auc {{ thresholds: 1000 }} }} losses {{ binary_cross_entropy {{}} }} }}
  }}
}}
"#
    )
}

/// splitmix64: a tiny deterministic generator for synthetic data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `rows` rows of `user_id,item_id,pid,price,clk,buy` with signal: P(clk) = sigmoid(a[user] + b[item]) with
/// per-id effects fixed by `effects_seed` (share it between train and eval), `buy` only after a click.
pub fn write_synthetic_csv(
    path: &std::path::Path,
    rows: usize,
    effects_seed: u64,
    rows_seed: u64,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut effects = SplitMix(effects_seed);
    let user: Vec<f64> = (0..200).map(|_| (effects.uniform() - 0.5) * 6.0).collect();
    let item: Vec<f64> = (0..100).map(|_| (effects.uniform() - 0.5) * 6.0).collect();
    let mut rng = SplitMix(rows_seed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "user_id,item_id,pid,price,clk,buy")?;
    for _ in 0..rows {
        let u = (rng.next() % 200) as usize;
        let i = (rng.next() % 100) as usize;
        let pid = ["a", "b", "c"][(rng.next() % 3) as usize];
        let price = rng.uniform() * 20.0;
        let z = user[u] + item[i];
        let clk = rng.uniform() < 1.0 / (1.0 + (-z).exp());
        let buy = clk && rng.uniform() < 1.0 / (1.0 + (-(z - 1.0)).exp());
        writeln!(out, "{u},{i},{pid},{price:.2},{},{}", clk as u8, buy as u8)?;
    }
    out.flush()
}
