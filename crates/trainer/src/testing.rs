//! Training test data (here and in the root package's `tests/`): a small two-task config and synthetic rows for it.
//! Hand-built specs come from `plec_spec::testing`.

use plec_spec::splitmix::SplitMix64;

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
  fg_mode: FG_DAG
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

/// SplitMix64 with uniform floats, for synthetic data.
struct SplitMix(SplitMix64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
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
    let mut effects = SplitMix(SplitMix64::new(effects_seed));
    let user: Vec<f64> = (0..200).map(|_| (effects.uniform() - 0.5) * 6.0).collect();
    let item: Vec<f64> = (0..100).map(|_| (effects.uniform() - 0.5) * 6.0).collect();
    let mut rng = SplitMix(SplitMix64::new(rows_seed));
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
