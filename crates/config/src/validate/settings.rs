//! `data_config`, `train_config`, `eval_config`.

use crate::proto::tzrec::dense_optimizer::Optimizer as DenseOpt;
use crate::proto::tzrec::sparse_optimizer::Optimizer as SparseOpt;
use crate::proto::tzrec::{
    DatasetType, DenseOptimizer as DenseOptimizerConfig, EasyRecConfig, ExponentialDecayLR, FgMode,
    GradClipping as GradClippingConfig, ManualStepLR, SparseOptimizer as SparseOptimizerConfig, WeightDecayMode,
};
use plec_spec::{
    self, DataSettings, DatasetKind, DenseOptimizer, GradClipping, LrSchedule, SparseOptimizer, TrainSettings,
};

use super::audit::Policy;
use super::validator::Validator;

const DATA_CONFIG: Policy = Policy {
    used: &[
        "batch_size",
        "dataset_type",
        "label_fields",
        "input_fields",
        "delimiter",
        "with_header",
        "eval_batch_size",
        "drop_remainder",
        "sample_weight_fields",
        "shuffle",
        "shuffle_buffer_size",
        "fg_mode",
        "fg_encoded_multival_sep",
    ],
    inert: &[
        ("num_workers", "plec decodes data on its own reader thread"),
        ("pin_memory", "plec copies batches itself"),
        ("fg_threads", "plec applies feature transforms itself"),
        ("odps_data_quota_name", "plec reads local CSV or Parquet files"),
        ("odps_data_compression", "plec reads local CSV or Parquet files"),
        ("is_orderby_partition", "plec reads local CSV or Parquet files"),
        ("in_order", "plec always reads in order"),
    ],
};
const TRAIN_CONFIG: Policy = Policy {
    used: &[
        "sparse_optimizer",
        "dense_optimizer",
        "num_steps",
        "num_epochs",
        "save_checkpoints_steps",
        "fine_tune_checkpoint",
        "log_step_count_steps",
        "keep_checkpoint_max",
        "grad_clipping",
    ],
    inert: &[
        ("is_profiling", "use `plec bench --profile` on the compiled model"),
        ("use_tensorboard", "plec writes training curves as PNG"),
        ("tensorboard_summaries", "plec writes training curves as PNG"),
        ("cudnn_allow_tf32", "plec trains in fp32"),
        ("cuda_matmul_allow_tf32", "plec trains in fp32"),
        ("global_embedding_constraints", "a sharding hint for distributed embedding"),
    ],
};
const EVAL_CONFIG: Policy =
    Policy { used: &["num_steps"], inert: &[("log_step_count_steps", "evaluation prints once")] };
const GRAD_CLIPPING: Policy = Policy {
    used: &["clipping_type", "max_gradient", "norm_type"],
    inert: &[("enable_global_grad_clip", "plec clips over all dense gradients on one process")],
};
const SPARSE_OPTIMIZER: Policy = Policy {
    used: &[
        "sgd_optimizer",
        "adagrad_optimizer",
        "adam_optimizer",
        "rowwise_adagrad_optimizer",
        "constant_learning_rate",
        "exponential_decay_learning_rate",
        "manual_step_learning_rate",
    ],
    inert: &[],
};
const DENSE_OPTIMIZER: Policy = Policy {
    used: &[
        "sgd_optimizer",
        "adagrad_optimizer",
        "adam_optimizer",
        "adamw_optimizer",
        "constant_learning_rate",
        "exponential_decay_learning_rate",
        "manual_step_learning_rate",
    ],
    inert: &[],
};
const LR_FIELDS: Policy = Policy { used: &["lr"], inert: &[] };
const FUSED_ADAGRAD: Policy = Policy { used: &["lr", "initial_accumulator_value"], inert: &[] };
const FUSED_ADAM: Policy = Policy { used: &["lr", "beta1", "beta2", "weight_decay"], inert: &[] };
const ROWWISE_ADAGRAD: Policy = Policy { used: &["lr", "weight_decay", "weight_decay_mode"], inert: &[] };
const SGD: Policy = Policy {
    used: &["lr", "momentum", "weight_decay", "dampening", "nesterov"],
    inert: &[("fused", "a PyTorch kernel choice")],
};
const ADAGRAD: Policy = Policy {
    used: &["lr", "weight_decay", "initial_accumulator_value", "eps"],
    inert: &[("fused", "a PyTorch kernel choice")],
};
const ADAM: Policy = Policy {
    used: &["lr", "beta1", "beta2", "weight_decay", "eps", "amsgrad"],
    inert: &[("fused", "a PyTorch kernel choice")],
};
const EXPONENTIAL_DECAY: Policy = Policy {
    used: &["decay_size", "decay_factor", "staircase", "warmup_learning_rate", "warmup_size", "min_learning_rate"],
    inert: &[],
};
const MANUAL_STEP: Policy = Policy { used: &["schedule_sizes", "learning_rates", "warmup"], inert: &[] };

pub(crate) fn data(v: &mut Validator, config: &EasyRecConfig) -> Option<DataSettings> {
    let Some(d) = config.data_config.as_ref() else {
        v.error("data_config", "missing data_config (label_fields, batch_size, dataset_type)");
        return None;
    };
    v.audit(d, "data_config", &DATA_CONFIG);
    let dataset = match d.dataset_type() {
        DatasetType::CsvDataset => DatasetKind::Csv,
        DatasetType::ParquetDataset => DatasetKind::Parquet,
        DatasetType::OdpsDataset | DatasetType::OdpsDatasetV1 => DatasetKind::Odps,
        DatasetType::KafkaDataset => DatasetKind::Kafka,
    };
    let fg_mode = match d.fg_mode() {
        FgMode::FG_NONE => plec_spec::FgMode::None,
        FgMode::FG_DAG => plec_spec::FgMode::Dag,
        FgMode::FG_NORMAL => plec_spec::FgMode::Normal,
        FgMode::FG_BUCKETIZE => {
            v.error("data_config.fg_mode", "not supported yet: FG_BUCKETIZE (plec reads raw feature values)");
            plec_spec::FgMode::None
        }
    };
    if d.label_fields.is_empty() {
        v.error("data_config.label_fields", "at least one label field is needed");
    }
    if d.batch_size() == 0 {
        v.error("data_config.batch_size", "batch_size must be positive");
    }
    if d.delimiter().is_empty() {
        v.error("data_config.delimiter", "delimiter must not be empty");
    }
    if fg_mode == plec_spec::FgMode::None && d.fg_encoded_multival_sep().is_empty() {
        v.error("data_config.fg_encoded_multival_sep", "must not be empty under fg_mode FG_NONE");
    }
    let batch_size = d.batch_size() as usize;
    Some(DataSettings {
        dataset,
        batch_size,
        eval_batch_size: if d.has_eval_batch_size() { d.eval_batch_size() as usize } else { batch_size },
        label_fields: d.label_fields.clone(),
        sample_weight_fields: d.sample_weight_fields.clone(),
        input_fields: d.input_fields.iter().map(|f| f.input_name().to_string()).collect(),
        delimiter: d.delimiter().to_string(),
        with_header: d.with_header(),
        shuffle: d.shuffle(),
        shuffle_buffer_size: d.shuffle_buffer_size() as usize,
        drop_remainder: d.drop_remainder(),
        fg_mode,
    })
}

pub(crate) fn train(v: &mut Validator, config: &EasyRecConfig) -> Option<TrainSettings> {
    if let Some(eval) = config.eval_config.as_ref() {
        v.audit(eval, "eval_config", &EVAL_CONFIG);
    }
    let Some(t) = config.train_config.as_ref() else {
        v.error("train_config", "missing train_config (sparse_optimizer and dense_optimizer are needed)");
        return None;
    };
    v.audit(t, "train_config", &TRAIN_CONFIG);
    let sparse = &t.sparse_optimizer;
    v.audit(&**sparse, "train_config.sparse_optimizer", &SPARSE_OPTIMIZER);
    let sparse_path = "train_config.sparse_optimizer";
    let sparse_optimizer = sparse_optimizer(v, sparse, sparse_path);
    let sparse_lr = schedule(
        v,
        sparse_path,
        sparse.has_exponential_decay_learning_rate().then(|| sparse.exponential_decay_learning_rate()),
        sparse.has_manual_step_learning_rate().then(|| sparse.manual_step_learning_rate()),
    );
    let dense = &t.dense_optimizer;
    let dense_path = "train_config.dense_optimizer";
    v.audit(&**dense, dense_path, &DENSE_OPTIMIZER);
    let dense_optimizer = dense_optimizer(v, dense, dense_path);
    let dense_lr = schedule(
        v,
        dense_path,
        dense.has_exponential_decay_learning_rate().then(|| dense.exponential_decay_learning_rate()),
        dense.has_manual_step_learning_rate().then(|| dense.manual_step_learning_rate()),
    );
    // TorchEasyRec's `create_scheduler` reads the `learning_rate` oneof unconditionally (`getattr(config, None)`
    // raises a TypeError): an optimizer without a schedule trains in plec (constant) but not in TorchEasyRec.
    let unscheduled = [(sparse_path, sparse.learning_rate.is_none()), (dense_path, dense.learning_rate.is_none())];
    for (path, missing) in unscheduled {
        if missing {
            v.warn(
                path,
                "no learning-rate schedule: plec trains at a constant rate, but TorchEasyRec's create_scheduler \
                 fails on this config; add `constant_learning_rate {}`",
            );
        }
    }
    let grad_clipping = t.grad_clipping.as_ref().and_then(|g| grad_clipping(v, g));
    Some(TrainSettings {
        sparse_optimizer,
        sparse_lr,
        dense_optimizer,
        dense_lr,
        num_steps: t.has_num_steps().then(|| t.num_steps() as u64),
        num_epochs: t.has_num_epochs().then(|| t.num_epochs() as u64),
        save_checkpoints_steps: t.save_checkpoints_steps() as u64,
        log_step_count_steps: t.log_step_count_steps().max(1) as u64,
        keep_checkpoint_max: t.keep_checkpoint_max() as usize,
        fine_tune_checkpoint: Some(t.fine_tune_checkpoint().to_string()).filter(|s| !s.is_empty()),
        grad_clipping,
    })
}

/// The sparse (embedding) optimizer; a missing one is an error.
fn sparse_optimizer(v: &mut Validator, sparse: &SparseOptimizerConfig, sparse_path: &str) -> SparseOptimizer {
    match &sparse.optimizer {
        Some(SparseOpt::SgdOptimizer(o)) => {
            v.audit(o, &format!("{sparse_path}.sgd_optimizer"), &LR_FIELDS);
            SparseOptimizer::Sgd { lr: o.lr() }
        }
        Some(SparseOpt::AdagradOptimizer(o)) => {
            v.audit(o, &format!("{sparse_path}.adagrad_optimizer"), &FUSED_ADAGRAD);
            SparseOptimizer::Adagrad { lr: o.lr(), initial_accumulator_value: o.initial_accumulator_value() }
        }
        Some(SparseOpt::AdamOptimizer(o)) => {
            v.audit(o, &format!("{sparse_path}.adam_optimizer"), &FUSED_ADAM);
            SparseOptimizer::Adam { lr: o.lr(), beta1: o.beta1(), beta2: o.beta2(), weight_decay: o.weight_decay() }
        }
        Some(SparseOpt::RowwiseAdagradOptimizer(o)) => {
            let path = format!("{sparse_path}.rowwise_adagrad_optimizer");
            v.audit(o, &path, &ROWWISE_ADAGRAD);
            if o.weight_decay_mode() == WeightDecayMode::DECOUPLE {
                v.error(&format!("{path}.weight_decay_mode"), "not supported yet: DECOUPLE weight decay");
            }
            SparseOptimizer::RowwiseAdagrad { lr: o.lr(), weight_decay: o.weight_decay() }
        }
        Some(_) => SparseOptimizer::Sgd { lr: 0.0 }, // reported by the audit as not supported yet
        None => {
            v.error(sparse_path, "sparse_optimizer names no optimizer (e.g. `adagrad_optimizer { lr: 0.001 }`)");
            SparseOptimizer::Sgd { lr: 0.0 }
        }
    }
}

/// The dense optimizer; a missing one is an error.
fn dense_optimizer(v: &mut Validator, dense: &DenseOptimizerConfig, dense_path: &str) -> DenseOptimizer {
    match &dense.optimizer {
        Some(DenseOpt::SgdOptimizer(o)) => {
            v.audit(o, &format!("{dense_path}.sgd_optimizer"), &SGD);
            DenseOptimizer::Sgd {
                lr: o.lr(),
                momentum: o.momentum(),
                weight_decay: o.weight_decay(),
                dampening: o.dampening(),
                nesterov: o.nesterov(),
            }
        }
        Some(DenseOpt::AdagradOptimizer(o)) => {
            v.audit(o, &format!("{dense_path}.adagrad_optimizer"), &ADAGRAD);
            DenseOptimizer::Adagrad {
                lr: o.lr(),
                weight_decay: o.weight_decay(),
                initial_accumulator_value: o.initial_accumulator_value(),
                eps: o.eps(),
            }
        }
        Some(DenseOpt::AdamOptimizer(o)) => {
            v.audit(o, &format!("{dense_path}.adam_optimizer"), &ADAM);
            DenseOptimizer::Adam {
                lr: o.lr(),
                beta1: o.beta1(),
                beta2: o.beta2(),
                weight_decay: o.weight_decay(),
                eps: o.eps(),
                amsgrad: o.amsgrad(),
            }
        }
        Some(DenseOpt::AdamwOptimizer(o)) => {
            v.audit(o, &format!("{dense_path}.adamw_optimizer"), &ADAM);
            DenseOptimizer::AdamW {
                lr: o.lr(),
                beta1: o.beta1(),
                beta2: o.beta2(),
                weight_decay: o.weight_decay(),
                eps: o.eps(),
                amsgrad: o.amsgrad(),
            }
        }
        Some(_) => DenseOptimizer::Sgd { lr: 0.0, momentum: 0.0, weight_decay: 0.0, dampening: 0.0, nesterov: false },
        None => {
            v.error(dense_path, "dense_optimizer names no optimizer (e.g. `adam_optimizer { lr: 0.001 }`)");
            DenseOptimizer::Sgd { lr: 0.0, momentum: 0.0, weight_decay: 0.0, dampening: 0.0, nesterov: false }
        }
    }
}

/// `grad_clipping`: by norm, by value, or none.
fn grad_clipping(v: &mut Validator, g: &GradClippingConfig) -> Option<GradClipping> {
    v.audit(g, "train_config.grad_clipping", &GRAD_CLIPPING);
    if g.max_gradient() <= 0.0 {
        v.error("train_config.grad_clipping.max_gradient", "max_gradient must be positive");
    }
    match g.clipping_type() {
        "none" => None,
        "norm" => Some(GradClipping::Norm { max_gradient: g.max_gradient(), norm_type: g.norm_type() }),
        "value" => Some(GradClipping::Value { max_gradient: g.max_gradient() }),
        other => {
            v.error(
                "train_config.grad_clipping.clipping_type",
                format!("unknown clipping_type `{other}`: expected none, norm or value"),
            );
            None
        }
    }
}

/// An optimizer's `learning_rate` oneof: constant when unset or `constant_learning_rate` (other members are
/// reported by the optimizer's audit as not supported yet).
fn schedule(
    v: &mut Validator,
    optimizer_path: &str,
    exponential_decay: Option<&ExponentialDecayLR>,
    manual_step: Option<&ManualStepLR>,
) -> LrSchedule {
    match (exponential_decay, manual_step) {
        (Some(e), _) => exponential(v, e, &format!("{optimizer_path}.exponential_decay_learning_rate")),
        (None, Some(m)) => manual(v, m, &format!("{optimizer_path}.manual_step_learning_rate")),
        (None, None) => LrSchedule::Constant,
    }
}

fn exponential(v: &mut Validator, e: &ExponentialDecayLR, path: &str) -> LrSchedule {
    v.audit(e, path, &EXPONENTIAL_DECAY);
    if e.decay_size() == 0 {
        v.error(&format!("{path}.decay_size"), "decay_size must be positive");
    }
    LrSchedule::ExponentialDecay {
        decay_size: e.decay_size() as u64,
        decay_factor: e.decay_factor(),
        staircase: e.staircase(),
        warmup_learning_rate: e.warmup_learning_rate(),
        warmup_size: e.warmup_size() as u64,
        min_learning_rate: e.min_learning_rate(),
    }
}

fn manual(v: &mut Validator, m: &ManualStepLR, path: &str) -> LrSchedule {
    v.audit(m, path, &MANUAL_STEP);
    if m.schedule_sizes.len() != m.learning_rates.len() {
        v.error(
            path,
            format!(
                "{} schedule_sizes but {} learning_rates: they pair up",
                m.schedule_sizes.len(),
                m.learning_rates.len()
            ),
        );
    }
    if m.schedule_sizes.windows(2).any(|w| w[0] >= w[1]) {
        v.error(&format!("{path}.schedule_sizes"), "schedule_sizes must increase strictly");
    }
    LrSchedule::ManualStep {
        schedule_sizes: m.schedule_sizes.iter().map(|&s| s as u64).collect(),
        learning_rates: m.learning_rates.clone(),
        warmup: m.warmup(),
    }
}
