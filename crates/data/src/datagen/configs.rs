//! Config texts for generated data sets: the PLE paper's baselines (single-task, MMoE, CGC, PLE) over one set
//! of features, differing only in `model_config.ple`, and TorchEasyRec's own `mmoe` and `dbmtl` blocks beside them.

use std::fmt::Write;

use crate::DataError;
use plec_spec::Norm;

/// Which multi-task shape a config describes (PLE paper, section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// One tower (the task's index); one layer with one task expert.
    SingleTask(usize),
    /// One layer of `experts` shared experts, no task experts.
    Mmoe { experts: usize },
    /// One layer of task and shared experts.
    Cgc { per_task: usize, shared: usize },
    /// `layers` layers of task and shared experts.
    Ple { layers: usize, per_task: usize, shared: usize },
    /// TorchEasyRec's `model_config.mmoe`: `experts` experts, one softmax gate per task.
    MmoeModel { experts: usize },
    /// TorchEasyRec's `model_config.dbmtl`: an MMoE of `experts` experts, task MLPs, and each later task's relation
    /// MLP (of `relation_hidden`) reading the task before it.
    Dbmtl { experts: usize, relation_hidden: usize },
}

/// A task: its tower and label, and the loss and metric of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskText {
    pub tower: String,
    pub label: String,
    /// `binary_cross_entropy {}` or `l2_loss {}`.
    pub loss: String,
    /// `auc {}`, `mean_squared_error {}`, ...
    pub metric: String,
}

/// Everything but the model shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigText {
    /// Comment lines at the top (without `# `).
    pub header: Vec<String>,
    pub train_input: String,
    pub eval_input: String,
    pub model_dir: String,
    pub batch_size: usize,
    pub num_epochs: u64,
    pub sparse_lr: f64,
    pub dense_lr: f64,
    /// `feature_configs { ... }` bodies, in group order, with their feature names.
    pub features: Vec<(String, String)>,
    pub tasks: Vec<TaskText>,
    pub expert_hidden: Vec<usize>,
    pub tower_hidden: Vec<usize>,
    /// Normalisation in the towers' hidden layers (`use_bn` / `use_ln`).
    pub tower_norm: Norm,
}

/// Quotes text for the config format.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list<T: std::fmt::Display>(values: &[T]) -> String {
    let items: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(", "))
}

impl ConfigText {
    pub fn render(&self, architecture: Architecture) -> String {
        let mut out = String::new();
        for line in &self.header {
            let _ = writeln!(out, "# {line}");
        }
        let tasks: Vec<&TaskText> = match architecture {
            Architecture::SingleTask(i) => self.tasks.get(i).into_iter().collect(),
            _ => self.tasks.iter().collect(),
        };
        let _ = writeln!(out, "train_input_path: {}", quote(&self.train_input));
        let _ = writeln!(out, "eval_input_path: {}", quote(&self.eval_input));
        let _ = writeln!(out, "model_dir: {}", quote(&self.model_dir));
        let _ = write!(
            out,
            "train_config {{\n    sparse_optimizer {{\n        adagrad_optimizer {{\n            lr: {}\n        }}\n        \
             constant_learning_rate {{\n        }}\n    }}\n    dense_optimizer {{\n        adam_optimizer {{\n            \
             lr: {}\n        }}\n        constant_learning_rate {{\n        }}\n    }}\n    num_epochs: {}\n}}\n\
             eval_config {{\n}}\n",
            self.sparse_lr, self.dense_lr, self.num_epochs
        );
        let _ = write!(
            out,
            "data_config {{\n    fg_mode: FG_DAG\n    batch_size: {}\n    dataset_type: ParquetDataset\n",
            self.batch_size
        );
        for task in &tasks {
            let _ = writeln!(out, "    label_fields: {}", quote(&task.label));
        }
        let _ = writeln!(out, "}}");
        for (_, body) in &self.features {
            let _ = writeln!(out, "feature_configs {{\n{body}\n}}");
        }
        let _ = write!(out, "model_config {{\n    feature_groups {{\n        group_name: \"all\"\n");
        for (name, _) in &self.features {
            let _ = writeln!(out, "        feature_names: {}", quote(name));
        }
        let _ = writeln!(out, "        group_type: DEEP\n    }}");
        match architecture {
            Architecture::MmoeModel { experts } => self.mmoe_block(&mut out, experts, &tasks),
            Architecture::Dbmtl { experts, relation_hidden } => {
                self.dbmtl_block(&mut out, experts, relation_hidden, &tasks)
            }
            _ => self.ple_block(&mut out, architecture, &tasks),
        }
        let _ = write!(out, "    }}\n}}\n");
        out
    }

    /// `ple { ... }` of the PLE paper's shapes.
    fn ple_block(&self, out: &mut String, architecture: Architecture, tasks: &[&TaskText]) {
        let _ = writeln!(out, "    ple {{");
        let hidden = list(&self.expert_hidden);
        let layers: Vec<(String, usize, usize)> = match architecture {
            Architecture::SingleTask(_) => vec![("single".into(), 1, 0)],
            Architecture::Mmoe { experts } => vec![("mmoe".into(), 0, experts)],
            Architecture::Cgc { per_task, shared } => vec![("cgc".into(), per_task, shared)],
            Architecture::Ple { layers, per_task, shared } => {
                (1..=layers).map(|i| (format!("layer{i}"), per_task, shared)).collect()
            }
            Architecture::MmoeModel { .. } | Architecture::Dbmtl { .. } => Vec::new(),
        };
        for (name, per_task, shared) in layers {
            let _ = write!(
                out,
                "        extraction_networks {{\n            network_name: {}\n            expert_num_per_task: {per_task}\n            \
                 share_num: {shared}\n",
                quote(&name)
            );
            // tzrec requires both nets, even where a count is 0.
            let _ =
                writeln!(out, "            task_expert_net {{\n                hidden_units: {hidden}\n            }}");
            let _ = writeln!(
                out,
                "            share_expert_net {{\n                hidden_units: {hidden}\n            }}"
            );
            let _ = writeln!(out, "        }}");
        }
        for task in tasks {
            self.tower(out, task, "");
        }
    }

    /// `mmoe { ... }`: the experts of `expert_hidden`, a gate per task.
    fn mmoe_block(&self, out: &mut String, experts: usize, tasks: &[&TaskText]) {
        self.experts_header(out, "mmoe", experts);
        for task in tasks {
            self.tower(out, task, "");
        }
    }

    /// `dbmtl { ... }`: the MMoE of `mmoe_block`, and each task after the first reading the one before it.
    fn dbmtl_block(&self, out: &mut String, experts: usize, relation_hidden: usize, tasks: &[&TaskText]) {
        self.experts_header(out, "dbmtl", experts);
        for (i, task) in tasks.iter().enumerate() {
            let relation = match i.checked_sub(1).and_then(|previous| tasks.get(previous)) {
                Some(previous) => format!(
                    "            relation_tower_names: {}\n            relation_mlp {{\n                hidden_units: [{relation_hidden}]\n            }}\n",
                    quote(&previous.tower)
                ),
                None => String::new(),
            };
            self.tower(out, task, &relation);
        }
    }

    /// Opens `block { ... }` with its MMoE fields: `experts` experts of `expert_hidden`.
    fn experts_header(&self, out: &mut String, block: &str, experts: usize) {
        let _ = write!(
            out,
            "    {block} {{\n        expert_mlp {{\n            hidden_units: {}\n        }}\n        num_expert: {experts}\n",
            list(&self.expert_hidden)
        );
    }

    /// One `task_towers { ... }`, with `extra` fields (a DBMTL relation) before its closing brace.
    fn tower(&self, out: &mut String, task: &TaskText, extra: &str) {
        let tower_norm = match self.tower_norm {
            Norm::None => "",
            Norm::Batch => "                use_bn: true\n",
            Norm::Layer => "                use_ln: true\n",
        };
        let _ = write!(
            out,
            "        task_towers {{\n            tower_name: {}\n            label_name: {}\n            mlp {{\n                \
             hidden_units: {}\n{tower_norm}            }}\n            metrics {{\n                {}\n            }}\n            \
             losses {{\n                {}\n            }}\n{extra}        }}\n",
            quote(&task.tower),
            quote(&task.label),
            list(&self.tower_hidden),
            task.metric,
            task.loss
        );
    }
}

/// Writes `(file name, text)` configs into `dir`; returns their paths.
pub fn write_configs(configs: &[(&str, String)], dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    configs
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| DataError::io(&path, e))?;
            Ok(path)
        })
        .collect()
}
