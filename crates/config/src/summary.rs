//! What `plec check` tells a user before training: features, tables, layers, towers, sizes, warnings.

use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::{Diagnostic, LoadedConfig};
use plec_spec::{
    Activation, EncoderKind, Encoding, LayerModule, Mlp, ModelKind, ModelSpec, Norm, SequenceEncoder, SequenceEncoding,
    SequenceFeature, Tower, Transform,
};

#[derive(Debug, Serialize)]
pub struct Summary {
    pub source: String,
    /// `ple`, `mmoe` or `dbmtl` (left out for PLE).
    #[serde(skip_serializing_if = "ModelKind::is_ple")]
    pub model: ModelKind,
    /// DBMTL's bottom MLP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottom_mlp: Option<String>,
    pub group: String,
    pub input_width: usize,
    /// `fg_mode` and where each feature's input column name comes from under it.
    pub fg_mode: &'static str,
    pub input_columns: &'static str,
    /// What those columns hold under `fg_mode`: FG-encoded rows or raw values.
    pub input_values: &'static str,
    pub features: Vec<FeatureRow>,
    pub tables: Vec<TableRow>,
    pub sequence_groups: Vec<SequenceGroupRow>,
    pub encoders: Vec<EncoderRow>,
    pub layers: Vec<LayerRow>,
    pub towers: Vec<TowerRow>,
    pub embedding_rows: u64,
    pub embedding_params: u64,
    pub dense_params: usize,
    pub flops_per_sample: u64,
    pub warnings: Vec<String>,
    pub ignored: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FeatureRow {
    pub name: String,
    pub kind: &'static str,
    pub transform: String,
    pub table: Option<String>,
    pub rows: Option<u64>,
    pub width: usize,
    pub input: String,
}

#[derive(Debug, Serialize)]
pub struct SequenceGroupRow {
    pub name: String,
    /// Query features, described like the group's features (their tables are sequence tables).
    pub query: Vec<FeatureRow>,
    pub query_width: usize,
    /// Sequence features: `input` says how a row's text splits.
    pub sequence: Vec<FeatureRow>,
    pub sequence_width: usize,
}

#[derive(Debug, Serialize)]
pub struct EncoderRow {
    pub kind: &'static str,
    pub input: String,
    pub detail: String,
    pub width: usize,
    pub offset: usize,
}

#[derive(Debug, Serialize)]
pub struct TableRow {
    pub name: String,
    pub rows: u64,
    pub dim: usize,
    pub features: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LayerRow {
    pub name: String,
    pub input_width: usize,
    pub experts_per_task: usize,
    pub task_expert: String,
    pub shared_experts: usize,
    pub shared_expert: String,
    pub task_gate_width: usize,
    pub shared_gate_width: Option<usize>,
    pub output_width: usize,
    /// An MMoE module's per-task gate MLP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_mlp: Option<String>,
    #[serde(skip_serializing_if = "LayerModule::is_ple")]
    pub module: LayerModule,
}

#[derive(Debug, Serialize)]
pub struct TowerRow {
    pub name: String,
    pub label: String,
    pub mlp: Option<String>,
    pub num_class: usize,
    /// Loss names; `jrc_loss` with its session feature and alpha.
    pub losses: Vec<String>,
    pub metrics: Vec<String>,
    pub weighted: bool,
    pub outputs: Vec<String>,
    /// DBMTL: the towers whose outputs the relation MLP reads after the tower's own, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<RelationRow>,
}

#[derive(Debug, Serialize)]
pub struct RelationRow {
    pub reads: Vec<String>,
    pub mlp: String,
}

fn relation_row(spec: &ModelSpec, tower: &Tower) -> Option<RelationRow> {
    let relation = tower.relation.as_ref()?;
    let reads = relation.towers.iter().filter_map(|&r| spec.towers.get(r)).map(|t| t.name.clone()).collect();
    Some(RelationRow { reads, mlp: describe_mlp(&relation.mlp) })
}

impl Summary {
    pub fn new(loaded: &LoadedConfig) -> Summary {
        let spec = &loaded.spec;
        let tasks = spec.towers.len();
        Summary {
            source: loaded.source.display().to_string(),
            model: spec.kind,
            bottom_mlp: spec.bottom_mlp.as_ref().map(describe_mlp),
            group: spec.group_name.clone(),
            input_width: spec.input_width,
            fg_mode: spec.data.fg_mode.name(),
            input_columns: spec.data.fg_mode.column_rule(),
            input_values: spec.data.fg_mode.value_rule(),
            features: spec
                .signature()
                .inputs
                .iter()
                .filter(|input| input.weight_of.is_none())
                .zip(&spec.features)
                .map(|(input, f)| feature_row(spec, f, input))
                .collect(),
            tables: spec
                .tables
                .iter()
                .map(|t| TableRow { name: t.name.clone(), rows: t.rows, dim: t.dim, features: t.features.clone() })
                .collect(),
            sequence_groups: sequence_group_rows(spec),
            encoders: spec
                .encoders
                .iter()
                .map(|e| EncoderRow {
                    kind: e.kind.name(),
                    input: spec.sequence_groups.get(e.input).map_or_else(String::new, |g| g.name.clone()),
                    detail: encoder_detail(spec, e),
                    width: e.width,
                    offset: e.offset,
                })
                .collect(),
            layers: spec
                .layers
                .iter()
                .map(|l| LayerRow {
                    name: l.name.clone(),
                    input_width: l.input_width,
                    experts_per_task: l.experts_per_task,
                    task_expert: describe_mlp(&l.task_expert),
                    shared_experts: l.shared_experts,
                    shared_expert: describe_mlp(&l.shared_expert),
                    task_gate_width: l.task_gate_width(),
                    shared_gate_width: l.has_shared_gate.then(|| l.shared_gate_width(tasks)),
                    output_width: l.output_width,
                    gate_mlp: l.gate_mlp.as_ref().map(describe_mlp),
                    module: l.module,
                })
                .collect(),
            towers: spec
                .towers
                .iter()
                .map(|t| TowerRow {
                    name: t.name.clone(),
                    label: t.label.clone(),
                    mlp: t.mlp.as_ref().map(describe_mlp),
                    num_class: t.num_class,
                    losses: t.losses.iter().map(loss_text).collect(),
                    metrics: t.metrics.iter().map(|m| format!("{}_{}", m.name(), t.name)).collect(),
                    weighted: t.weighting.is_some(),
                    outputs: t.outputs.iter().map(|o| o.name.clone()).collect(),
                    relation: relation_row(spec, t),
                })
                .collect(),
            embedding_rows: spec.embedding_rows(),
            embedding_params: spec.embedding_param_count(),
            dense_params: spec.dense_param_count(),
            flops_per_sample: spec.flops_per_sample(),
            warnings: loaded.warnings.iter().map(Diagnostic::to_string).collect(),
            ignored: loaded.ignored.iter().map(Diagnostic::to_string).collect(),
        }
    }
}

fn feature_row(
    spec: &ModelSpec,
    feature: &plec_spec::Feature,
    input: &plec_spec::artifact::signature::InputSignature,
) -> FeatureRow {
    let shape: Vec<String> =
        input.shape.iter().map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_string)).collect();
    let dtype = serde_json::to_value(input.dtype).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let mut input_text = format!("{dtype}[{}]", shape.join(", "));
    if feature.is_weighted() {
        input_text.push_str(&format!(" + float[{}] weights", shape.join(", ")));
    }
    match &feature.encoding {
        Encoding::Embedding { table, transform, multi, default_value } => {
            let table = &spec.tables[*table];
            let mut text = describe_transform(transform);
            if let Some(multi) = multi {
                let kind = if multi.weighted { "weighted id:weight pairs" } else { "multi-valued" };
                text.push_str(&format!(", {kind} ({:?} pooling)", multi.pooling).to_lowercase());
            }
            if let Some(default) = default_value {
                text.push_str(&format!(", default {default:?}"));
            }
            let kind = if matches!(transform, Transform::Boundaries(_)) { "raw_feature" } else { "id_feature" };
            FeatureRow {
                name: feature.name.clone(),
                kind,
                transform: text,
                table: Some(table.name.clone()),
                rows: Some(table.rows),
                width: feature.width,
                input: input_text,
            }
        }
        Encoding::Dense { value_dim, default_value } => FeatureRow {
            name: feature.name.clone(),
            kind: "raw_feature",
            transform: format!("dense value x{value_dim}, default {default_value}"),
            table: None,
            rows: None,
            width: feature.width,
            input: input_text,
        },
    }
}

fn sequence_group_rows(spec: &ModelSpec) -> Vec<SequenceGroupRow> {
    let signature = spec.signature();
    let input_of = |name: &str| signature.inputs.iter().find(|i| i.name == name && i.weight_of.is_none());
    spec.sequence_groups
        .iter()
        .map(|g| SequenceGroupRow {
            name: g.name.clone(),
            query: g.query.iter().filter_map(|f| input_of(&f.name).map(|input| feature_row(spec, f, input))).collect(),
            query_width: g.query_width,
            sequence: g.sequence.iter().map(|f| sequence_row(spec, f)).collect(),
            sequence_width: g.sequence_width,
        })
        .collect()
}

fn sequence_row(spec: &ModelSpec, feature: &SequenceFeature) -> FeatureRow {
    let keep = match feature.max_length {
        0 => "all positions".to_string(),
        n => format!("first {n} positions"),
    };
    let input = format!("string[batch], {:?}-joined, {keep}", feature.delimiter);
    match &feature.encoding {
        SequenceEncoding::Embedding { table, transform } => {
            let table = &spec.tables[*table];
            FeatureRow {
                name: feature.name.clone(),
                kind: if matches!(transform, Transform::Boundaries(_)) { "seq raw" } else { "seq id" },
                transform: describe_transform(transform),
                table: Some(table.name.clone()),
                rows: Some(table.rows),
                width: feature.width,
                input,
            }
        }
        SequenceEncoding::Dense { default_value } => FeatureRow {
            name: feature.name.clone(),
            kind: "seq raw",
            transform: format!("dense value, default {default_value}"),
            table: None,
            rows: None,
            width: feature.width,
            input,
        },
    }
}

fn encoder_detail(spec: &ModelSpec, encoder: &SequenceEncoder) -> String {
    let reads = match encoder.max_seq_length {
        0 => "all positions".to_string(),
        n => format!("the first {n} positions"),
    };
    match &encoder.kind {
        EncoderKind::Din { mlp } => {
            let query = spec.sequence_groups.get(encoder.input).map_or(0, |g| g.query_width);
            format!(
                "attention mlp {} on [q, s, q-s, q*s] (query {query} padded to {}), {reads}",
                describe_mlp(mlp),
                encoder.width
            )
        }
        EncoderKind::SimpleAttention => format!("dot-product attention, {reads}"),
        EncoderKind::Pooling { pooling } => format!("{} pooling, {reads}", format!("{pooling:?}").to_lowercase()),
    }
}

fn describe_transform(transform: &Transform) -> String {
    match transform {
        Transform::NumBuckets(n) => format!("num_buckets {n}"),
        Transform::HashBucket(n) => format!("hash_bucket_size {n} (murmur3)"),
        Transform::VocabList(v) => format!("vocab_list of {}", v.len()),
        Transform::VocabDict(m) => format!("vocab_dict of {}", m.len()),
        Transform::Boundaries(b) => format!("boundaries ({})", b.len()),
        Transform::FgEncoded(n) => format!("fg-encoded row < {n}"),
    }
}

fn describe_mlp(mlp: &Mlp) -> String {
    let Some(first) = mlp.layers.first() else {
        return "-".to_string();
    };
    let units: Vec<String> = mlp.layers.iter().map(|l| l.units.to_string()).collect();
    let mut text = format!("[{}] {}", units.join(", "), activation_name(first.activation));
    match first.norm {
        Norm::Batch => text.push_str(" +bn"),
        Norm::Layer => text.push_str(" +ln"),
        Norm::None => {}
    }
    if !first.bias {
        text.push_str(" no-bias");
    }
    if mlp.layers.iter().any(|l| l.dropout > 0.0) {
        let ratios: Vec<String> = mlp.layers.iter().map(|l| l.dropout.to_string()).collect();
        text.push_str(&format!(" dropout [{}]", ratios.join(", ")));
    }
    text
}

fn activation_name(activation: Activation) -> String {
    match activation {
        Activation::Identity => "identity".into(),
        Activation::Relu => "relu".into(),
        Activation::Sigmoid => "sigmoid".into(),
        Activation::Tanh => "tanh".into(),
        Activation::Gelu => "gelu".into(),
        Activation::Silu => "silu".into(),
        Activation::LeakyRelu { negative_slope } => format!("leaky_relu({negative_slope})"),
        Activation::Elu { alpha } => format!("elu({alpha})"),
    }
}

/// An MMoE module: its experts, one softmax gate per task over them (after the task's gate MLP, if any).
fn write_mmoe(out: &mut String, l: &LayerRow) -> fmt::Result {
    write!(
        out,
        "\nmmoe: input {}, {} experts {}; one gate per task over {}",
        l.input_width, l.shared_experts, l.shared_expert, l.task_gate_width
    )?;
    if let Some(gate) = &l.gate_mlp {
        write!(out, " after a gate mlp {gate}")?;
    }
    writeln!(out, "; output {}", l.output_width)
}

/// Thousands separators, for counts people read.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_header(&mut out)?;
        self.write_features(&mut out)?;
        self.write_model(&mut out)?;
        self.write_findings(&mut out)?;
        f.write_str(&out)
    }
}

/// Column widths shared by the group's features and the sequence groups' rows.
struct Widths {
    name: usize,
    transform: usize,
    table: usize,
}

impl Summary {
    fn write_header(&self, out: &mut String) -> fmt::Result {
        let towers: Vec<&str> = self.towers.iter().map(|t| t.name.as_str()).collect();
        let model = match self.model {
            ModelKind::Ple => format!("PLE, {} extraction layer(s)", self.layers.len()),
            ModelKind::Mmoe => "MMoE".to_string(),
            ModelKind::Dbmtl => {
                let parts = [self.bottom_mlp.as_ref().map(|_| "bottom MLP"), self.layers.first().map(|_| "MMoE")];
                let parts: Vec<&str> = parts.into_iter().flatten().collect();
                if parts.is_empty() {
                    "DBMTL".to_string()
                } else {
                    format!("DBMTL with {}", parts.join(" and "))
                }
            }
        };
        writeln!(out, "{}: {model}, {} task(s): {}", self.source, towers.len(), towers.join(", "))?;
        writeln!(
            out,
            "\nfeature group `{}`: {} features, input width {}",
            self.group,
            self.features.len(),
            self.input_width
        )?;
        writeln!(out, "  input columns (fg_mode {}): named by {}", self.fg_mode, self.input_columns)?;
        writeln!(out, "  input values: {}", self.input_values)
    }

    fn widths(&self) -> Widths {
        let all_rows =
            || self.features.iter().chain(self.sequence_groups.iter().flat_map(|g| g.query.iter().chain(&g.sequence)));
        Widths {
            name: all_rows().map(|r| r.name.len()).max().unwrap_or(0).max(7),
            transform: all_rows().map(|r| r.transform.len()).max().unwrap_or(0).max(9),
            table: all_rows().map(|r| r.table.as_deref().map_or(1, str::len)).max().unwrap_or(0).max(5),
        }
    }

    /// The features, the sequence groups and their encoders, and the embedding tables.
    fn write_features(&self, out: &mut String) -> fmt::Result {
        let Widths { name: name_w, transform: transform_w, table: table_w } = self.widths();
        writeln!(
            out,
            "  {:<name_w$}  {:<11}  {:<transform_w$}  {:<table_w$}  {:>9}  {:>5}  input",
            "feature", "kind", "transform", "table", "rows", "width"
        )?;
        for r in &self.features {
            let rows = r.rows.map_or("-".to_string(), grouped);
            let table = r.table.as_deref().unwrap_or("-");
            writeln!(
                out,
                "  {:<name_w$}  {:<11}  {:<transform_w$}  {:<table_w$}  {:>9}  {:>5}  {}",
                r.name, r.kind, r.transform, table, rows, r.width, r.input
            )?;
        }
        for g in &self.sequence_groups {
            writeln!(
                out,
                "\nsequence group `{}`: query {} wide, sequence {} wide per position",
                g.name, g.query_width, g.sequence_width
            )?;
            for r in g.query.iter().chain(&g.sequence) {
                let rows = r.rows.map_or("-".to_string(), grouped);
                let table = r.table.as_deref().unwrap_or("-");
                let role = if g.query.iter().any(|q| q.name == r.name) { "query" } else { "sequence" };
                writeln!(
                    out,
                    "  {:<name_w$}  {:<8}  {:<11}  {:<transform_w$}  {:<table_w$}  {:>9}  {:>5}  {}",
                    r.name, role, r.kind, r.transform, table, rows, r.width, r.input
                )?;
            }
        }
        if !self.encoders.is_empty() {
            writeln!(out, "\nsequence encoders (outputs after the features):")?;
            for (i, e) in self.encoders.iter().enumerate() {
                writeln!(
                    out,
                    "  {i}: {} on `{}`: {}; output {} at column {}",
                    e.kind, e.input, e.detail, e.width, e.offset
                )?;
            }
        }
        let shared: Vec<String> = self
            .tables
            .iter()
            .filter(|t| t.features.len() > 1)
            .map(|t| format!("{} ({})", t.name, t.features.join(", ")))
            .collect();
        writeln!(
            out,
            "\nembedding: {} tables, {} rows, {} parameters{}",
            self.tables.len(),
            grouped(self.embedding_rows),
            grouped(self.embedding_params),
            if shared.is_empty() { String::new() } else { format!("; shared: {}", shared.join(", ")) }
        )
    }

    /// Extraction layers, towers, parameter and FLOP counts.
    fn write_model(&self, out: &mut String) -> fmt::Result {
        if let Some(bottom) = &self.bottom_mlp {
            writeln!(out, "\nbottom mlp: {bottom} on {}", self.input_width)?;
        }
        if self.model.is_ple() {
            writeln!(out, "\nextraction layers:")?;
        }
        for l in &self.layers {
            if l.module == LayerModule::Mmoe {
                write_mmoe(out, l)?;
                continue;
            }
            write!(
                out,
                "  {}: input {}, task experts {} per task {}, shared experts {}",
                l.name, l.input_width, l.experts_per_task, l.task_expert, l.shared_experts
            )?;
            if l.shared_experts > 0 {
                write!(out, " {}", l.shared_expert)?;
            }
            write!(out, "; task gates over {}", l.task_gate_width)?;
            match l.shared_gate_width {
                Some(w) => write!(out, ", shared gate over {w}")?,
                None => write!(out, ", no shared gate (last layer)")?,
            }
            writeln!(out, "; output {}", l.output_width)?;
        }
        writeln!(out, "\ntowers:")?;
        for t in &self.towers {
            writeln!(
                out,
                "  {}: label {}, mlp {}, num_class {}, losses {}{}, metrics {}; outputs {}",
                t.name,
                t.label,
                t.mlp.as_deref().unwrap_or("-"),
                t.num_class,
                t.losses.join(", "),
                if t.weighted { " (weighted)" } else { "" },
                if t.metrics.is_empty() { "-".to_string() } else { t.metrics.join(", ") },
                t.outputs.join(", ")
            )?;
        }
        let relations: Vec<(&TowerRow, &RelationRow)> =
            self.towers.iter().filter_map(|t| t.relation.as_ref().map(|r| (t, r))).collect();
        if !relations.is_empty() {
            writeln!(out, "\nrelation towers (each reads its own output, then the named towers' in order):")?;
            for (t, r) in relations {
                writeln!(out, "  {} <- {}: relation mlp {}", t.name, r.reads.join(", "), r.mlp)?;
            }
        }
        writeln!(out, "\ndense parameters: {}", grouped(self.dense_params as u64))?;
        writeln!(out, "dense FLOPs per sample: {} (2 per multiply-add)", grouped(self.flops_per_sample))
    }

    fn write_findings(&self, out: &mut String) -> fmt::Result {
        if self.warnings.is_empty() {
            writeln!(out, "warnings: none")?;
        } else {
            writeln!(out, "warnings:")?;
            for w in &self.warnings {
                writeln!(out, "  {w}")?;
            }
        }
        if !self.ignored.is_empty() {
            writeln!(out, "settings accepted without effect in plec:")?;
            for i in &self.ignored {
                writeln!(out, "  {i}")?;
            }
        }
        Ok(())
    }
}

/// A loss as the summary names it: `jrc_loss` also says where its sessions come from.
fn loss_text(loss: &plec_spec::Loss) -> String {
    match loss {
        plec_spec::Loss::Jrc { alpha, session_feature } => {
            format!("jrc_loss (sessions by {session_feature}, alpha {alpha})")
        }
        other => other.name().to_string(),
    }
}
