//! `model_config`: the feature group, extraction layers, MLPs and towers.

use crate::proto::tzrec::loss_config::Loss as LossKind;
use crate::proto::tzrec::metric_config::Metric as MetricKind;
use crate::proto::tzrec::{
    BayesTaskTower, EasyRecConfig, FeatureGroupType, JRCLoss, LossConfig, MetricConfig, SeqEncoderConfig,
    SeqGroupConfig, TaskTower, MLP,
};
use plec_spec::{
    head_outputs, Activation, ExtractionLayer, LayerModule, Loss, LossWeighting, Metric, Mlp, MlpLayer, ModelKind,
    Norm, TaskSpace, Tower,
};

use super::audit::Policy;
use super::validator::Validator;

/// The feature group the model reads.
pub(crate) struct Group {
    pub name: String,
    pub path: String,
    pub feature_names: Vec<String>,
    pub sequence_groups: Vec<SeqGroupConfig>,
    pub sequence_encoders: Vec<SeqEncoderConfig>,
}

impl Group {
    /// Every feature name the group's sequence groups list.
    pub fn sequence_feature_names(&self) -> impl Iterator<Item = &String> {
        self.sequence_groups.iter().flat_map(|g| g.feature_names.iter())
    }
}

const MODEL_CONFIG: Policy = Policy {
    used: &["feature_groups", "ple", "mmoe", "dbmtl"],
    inert: &[("kernel", "plec runs its own kernels (libtorch on CPU/CUDA, ONNX Runtime)")],
};
const FEATURE_GROUP: Policy =
    Policy { used: &["group_name", "feature_names", "group_type", "sequence_groups", "sequence_encoders"], inert: &[] };
const PLE: Policy = Policy { used: &["extraction_networks", "task_towers"], inert: &[] };
const EXTRACTION_NETWORK: Policy = Policy {
    used: &["network_name", "expert_num_per_task", "share_num", "task_expert_net", "share_expert_net"],
    inert: &[],
};
const MLP_POLICY: Policy =
    Policy { used: &["hidden_units", "dropout_ratio", "activation", "use_bn", "bias", "use_ln"], inert: &[] };
pub(super) const TASK_TOWER: Policy = Policy {
    used: &[
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
    ],
    inert: &[],
};
const LOSS: Policy = Policy {
    used: &["binary_cross_entropy", "softmax_cross_entropy", "l2_loss", "binary_focal_loss", "jrc_loss"],
    inert: &[],
};
const METRIC: Policy =
    Policy { used: &["auc", "mean_absolute_error", "mean_squared_error", "accuracy", "grouped_auc"], inert: &[] };
const ACCURACY: Policy = Policy { used: &["threshold"], inert: &[] };

pub(crate) fn feature_group(v: &mut Validator, config: &EasyRecConfig) -> Group {
    let model = &config.model_config;
    v.audit(&**model, "model_config", &MODEL_CONFIG);
    let groups = &model.feature_groups;
    let Some(first) = groups.first() else {
        v.error("model_config.feature_groups", "a PLE model needs a feature group (group_type DEEP)");
        return Group {
            name: String::new(),
            path: String::new(),
            feature_names: Vec::new(),
            sequence_groups: Vec::new(),
            sequence_encoders: Vec::new(),
        };
    };
    let path = "model_config.feature_groups[0]".to_string();
    v.audit(first, &path, &FEATURE_GROUP);
    if first.group_type() != FeatureGroupType::DEEP {
        v.error(
            &format!("{path}.group_type"),
            format!("not supported yet: group_type {:?} (PLE reads one DEEP group)", first.group_type()),
        );
    }
    if first.feature_names.is_empty() && first.sequence_groups.is_empty() {
        v.error(&format!("{path}.feature_names"), format!("feature group `{}` is empty", first.group_name()));
    }
    for (j, name) in first.feature_names.iter().enumerate() {
        if first.feature_names[..j].contains(name) {
            v.error(&format!("{path}.feature_names[{j}]"), format!("feature `{name}` appears twice in the group"));
        }
    }
    for (i, extra) in groups.iter().enumerate().skip(1) {
        v.warn(
            &format!("model_config.feature_groups[{i}]"),
            format!("feature group `{}` is ignored: PLE reads only the first group", extra.group_name()),
        );
    }
    Group {
        name: first.group_name().to_string(),
        path,
        feature_names: first.feature_names.clone(),
        sequence_groups: first.sequence_groups.clone(),
        sequence_encoders: first.sequence_encoders.clone(),
    }
}

/// The model part of a spec: its kind, bottom MLP, layers and towers.
pub(super) struct Network {
    pub kind: ModelKind,
    pub bottom_mlp: Option<Mlp>,
    pub layers: Vec<ExtractionLayer>,
    pub towers: Vec<Tower>,
}

/// The label and sample-weight columns towers may name, and the id features a `jrc_loss` may take its sessions from.
pub(super) struct Columns<'a> {
    pub labels: &'a [String],
    pub sample_weights: &'a [String],
    pub id_features: &'a [String],
}

pub(super) fn ple(
    v: &mut Validator,
    ple: &crate::proto::tzrec::PLE,
    input_width: usize,
    columns: &Columns,
) -> (Vec<ExtractionLayer>, Vec<Tower>) {
    let base = "model_config.ple";
    v.audit(ple, base, &PLE);
    let tasks = ple.task_towers.len();
    if tasks == 0 {
        v.error(&format!("{base}.task_towers"), "a PLE model needs at least one task tower");
    }
    if ple.extraction_networks.is_empty() {
        v.error(&format!("{base}.extraction_networks"), "a PLE model needs at least one extraction network");
    }
    let mut layers = Vec::new();
    let mut width = input_width;
    let count = ple.extraction_networks.len();
    for (i, net) in ple.extraction_networks.iter().enumerate() {
        let path = format!("{base}.extraction_networks[{i}]");
        v.audit(net, &path, &EXTRACTION_NETWORK);
        let name = net.network_name().to_string();
        v.check_name(&format!("{path}.network_name"), "network_name", &name);
        if layers.iter().any(|l: &ExtractionLayer| l.name == name) {
            v.error(&format!("{path}.network_name"), format!("duplicate network_name `{name}`"));
        }
        let experts_per_task = net.expert_num_per_task() as usize;
        let shared_experts = net.share_num() as usize;
        if experts_per_task + shared_experts == 0 {
            v.error(&path, "a layer needs experts: expert_num_per_task and share_num are both 0");
        }
        if experts_per_task > 0 && net.task_expert_net.is_none() {
            v.error(
                &format!("{path}.task_expert_net"),
                format!("expert_num_per_task is {experts_per_task} but task_expert_net is missing"),
            );
        }
        let task_expert = mlp(v, &net.task_expert_net, &format!("{path}.task_expert_net"), width);
        let shared_expert = if net.share_expert_net.is_some() {
            mlp(v, &net.share_expert_net, &format!("{path}.share_expert_net"), width)
        } else {
            if shared_experts > 0 {
                v.error(
                    &format!("{path}.share_expert_net"),
                    format!("share_num is {shared_experts} but share_expert_net is missing"),
                );
            }
            Mlp { input_width: width, layers: Vec::new() }
        };
        if experts_per_task > 0 && net.task_expert_net.is_some() && task_expert.layers.is_empty() {
            v.error(
                &format!("{path}.task_expert_net.hidden_units"),
                "task experts need at least one hidden unit count",
            );
        }
        if shared_experts > 0 && net.share_expert_net.is_some() && shared_expert.layers.is_empty() {
            v.error(
                &format!("{path}.share_expert_net.hidden_units"),
                "shared experts need at least one hidden unit count",
            );
        }
        let task_out = task_expert.output_width();
        let shared_out = shared_expert.output_width();
        if experts_per_task > 0 && shared_experts > 0 && task_out != shared_out {
            v.error(
                &format!("{path}.share_expert_net.hidden_units"),
                format!("last width {shared_out} of the shared experts differs from the task experts' {task_out}: the gates mix them, so they must match"),
            );
        }
        let output_width = if experts_per_task > 0 { task_out } else { shared_out };
        layers.push(ExtractionLayer {
            name,
            input_width: width,
            experts_per_task,
            task_expert,
            shared_experts,
            shared_expert,
            has_shared_gate: i + 1 < count,
            output_width,
            gate_mlp: None,
            module: LayerModule::Ple,
        });
        width = output_width;
    }
    let towers = task_towers(v, &ple.task_towers, base, width, columns, &TASK_TOWER);
    (layers, towers)
}

/// Every tower of `configs` reading `width` columns, names checked for duplicates.
pub(super) fn task_towers<T: TowerConfig + protobuf::MessageDyn>(
    v: &mut Validator,
    configs: &[T],
    base: &str,
    width: usize,
    columns: &Columns,
    policy: &Policy,
) -> Vec<Tower> {
    let mut towers: Vec<Tower> = Vec::new();
    for (i, tower) in configs.iter().enumerate() {
        let path = format!("{base}.task_towers[{i}]");
        let t = task_tower(v, tower, &path, width, columns, policy);
        if towers.iter().any(|other| other.name == t.name) {
            v.error(&format!("{path}.tower_name"), format!("duplicate tower_name `{}`", t.name));
        }
        towers.push(t);
    }
    towers
}

/// The fields TorchEasyRec's `TaskTower` and DBMTL's `BayesTaskTower` share.
pub(super) trait TowerConfig {
    fn name(&self) -> &str;
    fn label(&self) -> &str;
    fn metric_configs(&self) -> &[MetricConfig];
    fn loss_configs(&self) -> &[LossConfig];
    fn classes(&self) -> u32;
    fn tower_mlp(&self) -> Option<&MLP>;
    fn task_weight(&self) -> Option<f32>;
    fn sample_weight(&self) -> Option<&str>;
    /// `(task_space_indicator_label, in_task_space_weight, out_task_space_weight)`.
    fn task_space(&self) -> Option<(&str, f32, f32)>;
}

macro_rules! tower_config {
    ($t:ty) => {
        impl TowerConfig for $t {
            fn name(&self) -> &str {
                self.tower_name()
            }
            fn label(&self) -> &str {
                self.label_name()
            }
            fn metric_configs(&self) -> &[MetricConfig] {
                &self.metrics
            }
            fn loss_configs(&self) -> &[LossConfig] {
                &self.losses
            }
            fn classes(&self) -> u32 {
                self.num_class()
            }
            fn tower_mlp(&self) -> Option<&MLP> {
                self.mlp.as_ref()
            }
            fn task_weight(&self) -> Option<f32> {
                self.has_weight().then(|| self.weight())
            }
            fn sample_weight(&self) -> Option<&str> {
                self.has_sample_weight_name().then(|| self.sample_weight_name())
            }
            fn task_space(&self) -> Option<(&str, f32, f32)> {
                self.has_task_space_indicator_label().then(|| {
                    (self.task_space_indicator_label(), self.in_task_space_weight(), self.out_task_space_weight())
                })
            }
        }
    };
}
tower_config!(TaskTower);
tower_config!(BayesTaskTower);

pub(super) fn mlp(v: &mut Validator, config: &MLP, path: &str, input_width: usize) -> Mlp {
    v.audit(config, path, &MLP_POLICY);
    let units = &config.hidden_units;
    if let Some(j) = units.iter().position(|&u| u == 0) {
        v.error(&format!("{path}.hidden_units[{j}]"), "hidden units must be positive");
    }
    if config.use_bn() && config.use_ln() {
        v.error(path, "use_bn and use_ln are both set: choose one normalisation");
    }
    let dropout = &config.dropout_ratio;
    if !(dropout.len() <= 1 || dropout.len() == units.len()) {
        v.error(
            &format!("{path}.dropout_ratio"),
            format!("{} dropout ratios for {} layers: give none, one, or one per layer", dropout.len(), units.len()),
        );
    }
    if let Some(j) = dropout.iter().position(|d| !(0.0..1.0).contains(d)) {
        v.error(&format!("{path}.dropout_ratio[{j}]"), format!("dropout ratio {} is outside [0, 1)", dropout[j]));
    }
    let activation = activation(v, config.activation(), &format!("{path}.activation"));
    let norm = if config.use_bn() {
        Norm::Batch
    } else if config.use_ln() {
        Norm::Layer
    } else {
        Norm::None
    };
    let layers = units
        .iter()
        .enumerate()
        .map(|(j, &u)| MlpLayer {
            units: u as usize,
            bias: config.bias() && !config.use_bn(),
            norm,
            activation,
            dropout: match dropout.len() {
                0 => 0.0,
                1 => dropout[0],
                _ => dropout.get(j).copied().unwrap_or(0.0),
            },
        })
        .collect();
    Mlp { input_width, layers }
}

/// tzrec's activation strings: a torch.nn class name, optionally with arguments.
fn activation(v: &mut Validator, text: &str, path: &str) -> Activation {
    let text = text.trim();
    let (name, args) = match text.find('(') {
        Some(open) if text.ends_with(')') => (&text[..open], &text[open + 1..text.len() - 1]),
        _ => (text, ""),
    };
    let arg = |key: &str, default: f32, v: &mut Validator| -> f32 {
        let value = args.split(',').map(str::trim).find_map(|a| {
            let (k, val) = a.split_once('=')?;
            (k.trim() == key).then(|| val.trim().to_string())
        });
        let positional = args.split(',').map(str::trim).find(|a| !a.is_empty() && !a.contains('='));
        match value.or(positional.map(str::to_string)) {
            None => default,
            Some(s) => s.parse().unwrap_or_else(|_| {
                v.error(path, format!("expected a number for `{key}` in `{text}`"));
                default
            }),
        }
    };
    match name.strip_prefix("nn.").unwrap_or(name) {
        "" | "Identity" => Activation::Identity,
        "ReLU" => Activation::Relu,
        "Sigmoid" => Activation::Sigmoid,
        "Tanh" => Activation::Tanh,
        "GELU" => Activation::Gelu,
        "SiLU" => Activation::Silu,
        "LeakyReLU" => Activation::LeakyRelu { negative_slope: arg("negative_slope", 0.01, v) },
        "ELU" => Activation::Elu { alpha: arg("alpha", 1.0, v) },
        other => {
            v.error(path, format!("not supported yet: activation `{other}` (plec supports nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.Identity)"));
            Activation::Relu
        }
    }
}

/// The tower's losses, each checked against its `num_class`.
fn tower_losses(
    v: &mut Validator,
    tower: &dyn TowerConfig,
    path: &str,
    name: &str,
    num_class: usize,
    columns: &Columns,
) -> Vec<Loss> {
    let mut losses = Vec::new();
    if tower.loss_configs().is_empty() {
        v.error(&format!("{path}.losses"), format!("tower `{name}` has no loss"));
    }
    for (k, loss) in tower.loss_configs().iter().enumerate() {
        let loss_path = format!("{path}.losses[{k}]");
        v.audit(loss, &loss_path, &LOSS);
        let spec = match &loss.loss {
            Some(LossKind::BinaryCrossEntropy(l)) => Loss::BinaryCrossEntropy { label_smoothing: l.label_smoothing() },
            Some(LossKind::BinaryFocalLoss(l)) => Loss::BinaryFocal { gamma: l.gamma(), alpha: l.alpha() },
            Some(LossKind::SoftmaxCrossEntropy(l)) => {
                Loss::SoftmaxCrossEntropy { label_smoothing: l.label_smoothing() }
            }
            Some(LossKind::L2Loss(_)) => Loss::L2,
            Some(LossKind::JrcLoss(l)) => jrc_loss(v, l, &format!("{loss_path}.jrc_loss"), columns),
            None => {
                v.error(&loss_path, "loss config names no loss");
                continue;
            }
        };
        let (fits, needs) = match spec {
            Loss::SoftmaxCrossEntropy { .. } => (num_class >= 2, "num_class >= 2"),
            Loss::Jrc { .. } => (num_class == 2, "num_class 2"),
            _ => (num_class == 1, "num_class 1"),
        };
        if !fits {
            v.error(&loss_path, format!("{} needs {needs}, but tower `{name}` has num_class {num_class}", spec.name()));
        }
        if let Loss::BinaryCrossEntropy { label_smoothing } | Loss::SoftmaxCrossEntropy { label_smoothing } = &spec {
            let label_smoothing = *label_smoothing;
            if !(0.0..1.0).contains(&label_smoothing) {
                v.error(&loss_path, format!("label_smoothing {label_smoothing} is outside [0, 1)"));
            }
        }
        losses.push(spec);
    }
    losses
}

/// `jrc_loss`: its sessions come from an id feature of the model (TorchEasyRec reads `session_name` from the
/// batch's sparse features), and `alpha` weighs its cross entropy.
fn jrc_loss(v: &mut Validator, config: &JRCLoss, path: &str, columns: &Columns) -> Loss {
    let session_feature = config.session_name().to_string();
    if !columns.id_features.contains(&session_feature) {
        v.error(
            &format!("{path}.session_name"),
            format!(
                "`{session_feature}` is not an id feature of the model's feature group: jrc_loss takes each sample's \
                 session from the first id of that feature (id features: [{}])",
                columns.id_features.join(", ")
            ),
        );
    }
    let alpha = config.alpha();
    if !alpha.is_finite() {
        v.error(&format!("{path}.alpha"), format!("alpha {alpha} is not a finite number"));
    }
    Loss::Jrc { alpha, session_feature }
}

/// The tower's metrics, each checked against its `num_class`.
fn tower_metrics(v: &mut Validator, tower: &dyn TowerConfig, path: &str, name: &str, num_class: usize) -> Vec<Metric> {
    let mut metrics = Vec::new();
    for (k, metric) in tower.metric_configs().iter().enumerate() {
        let metric_path = format!("{path}.metrics[{k}]");
        v.audit(metric, &metric_path, &METRIC);
        let spec = match &metric.metric {
            Some(MetricKind::Auc(m)) => {
                if num_class > 2 {
                    v.error(
                        &metric_path,
                        format!("auc needs a binary tower (num_class 1 or 2), `{name}` has {num_class}"),
                    );
                }
                if m.thresholds() < 2 {
                    v.error(&format!("{metric_path}.auc.thresholds"), "thresholds must be at least 2");
                }
                Metric::Auc { thresholds: m.thresholds() }
            }
            Some(MetricKind::GroupedAuc(m)) => {
                if num_class > 2 {
                    v.error(
                        &metric_path,
                        format!("grouped_auc needs a binary tower, `{name}` has num_class {num_class}"),
                    );
                }
                Metric::GroupedAuc { grouping_key: m.grouping_key().to_string() }
            }
            Some(MetricKind::Accuracy(m)) => {
                v.audit(m, &format!("{metric_path}.accuracy"), &ACCURACY);
                Metric::Accuracy { threshold: m.threshold() }
            }
            Some(MetricKind::MeanAbsoluteError(_)) => Metric::MeanAbsoluteError,
            Some(MetricKind::MeanSquaredError(_)) => Metric::MeanSquaredError,
            Some(_) => continue, // reported by the audit as not supported yet
            None => {
                v.error(&metric_path, "metric config names no metric");
                continue;
            }
        };
        if matches!(spec, Metric::MeanAbsoluteError | Metric::MeanSquaredError) && num_class != 1 {
            v.error(&metric_path, format!("{} needs num_class 1, `{name}` has {num_class}", spec.name()));
        }
        metrics.push(spec);
    }
    metrics
}

/// Sample weights, a task weight and task-space weighting, when the tower asks for any.
fn loss_weighting(v: &mut Validator, tower: &dyn TowerConfig, path: &str, columns: &Columns) -> Option<LossWeighting> {
    let (labels, sample_weights) = (columns.labels, columns.sample_weights);
    let weighted = tower.sample_weight().is_some() || tower.task_weight().is_some() || tower.task_space().is_some();
    let weighting = weighted.then(|| {
        let sample_weight = tower.sample_weight().map(str::to_string);
        if let Some(column) = &sample_weight {
            if !sample_weights.contains(column) {
                v.error(
                    &format!("{path}.sample_weight_name"),
                    format!("`{column}` is not in data_config.sample_weight_fields [{}]", sample_weights.join(", ")),
                );
            }
        }
        let task_space = tower.task_space().map(|(indicator, in_weight, out_weight)| {
            let indicator = indicator.to_string();
            if !labels.contains(&indicator) {
                v.error(
                    &format!("{path}.task_space_indicator_label"),
                    format!("indicator `{indicator}` is not in data_config.label_fields [{}]", labels.join(", ")),
                );
            }
            TaskSpace { indicator_label: indicator, in_weight, out_weight }
        });
        LossWeighting { sample_weight, task_space, weight: tower.task_weight().unwrap_or(1.0) }
    });
    weighting
}

fn task_tower<T: TowerConfig + protobuf::MessageDyn>(
    v: &mut Validator,
    tower: &T,
    path: &str,
    input_width: usize,
    columns: &Columns,
    policy: &Policy,
) -> Tower {
    v.audit(tower, path, policy);
    let name = tower.name().to_string();
    v.check_name(&format!("{path}.tower_name"), "tower_name", &name);
    if name == "shared" {
        v.error(&format!("{path}.tower_name"), "tower_name `shared` is reserved (it names the shared gate)");
    }
    let labels = columns.labels;
    let label = tower.label().to_string();
    if !labels.contains(&label) {
        v.error(
            &format!("{path}.label_name"),
            format!("label `{label}` is not in data_config.label_fields [{}]", labels.join(", ")),
        );
    }
    let num_class = tower.classes() as usize;
    if num_class == 0 {
        v.error(&format!("{path}.num_class"), "num_class must be at least 1");
    }
    let mlp_spec = tower.tower_mlp().map(|m| mlp(v, m, &format!("{path}.mlp"), input_width));
    let losses = tower_losses(v, tower, path, &name, num_class, columns);
    let metrics = tower_metrics(v, tower, path, &name, num_class);
    let weighting = loss_weighting(v, tower, path, columns);
    let outputs = head_outputs(&name, num_class, &losses);
    Tower { name, label, input_width, mlp: mlp_spec, num_class, losses, metrics, weighting, outputs, relation: None }
}
