//! `feature_configs` -> features with their transforms, and the group's input layout with shared tables.

use std::collections::BTreeMap;

use crate::proto::tzrec::feature_config::Feature as FeatureKind;
use crate::proto::tzrec::{EasyRecConfig, IdFeature, RawFeature};
use crate::spec::{EmbeddingTable, Encoding, Feature, FgMode, MultiValue, Pooling, Transform};

use super::audit::Policy;
use super::model::Group;
use super::Validator;

/// A feature as defined in `feature_configs`, before the group places it.
pub(crate) struct Defined {
    path: String,
    kind: DefinedKind,
}

enum DefinedKind {
    Embedding {
        table: String,
        dim: usize,
        transform: Transform,
        multi: Option<MultiValue>,
        default_value: Option<String>,
    },
    Dense {
        value_dim: usize,
        default_value: f32,
    },
    /// A feature kind plec cannot compute yet: an error only if the model uses it.
    Unsupported {
        kind: &'static str,
    },
    /// Defined but invalid: errors already reported.
    Invalid,
}

const ID_FEATURE: Policy = Policy {
    used: &[
        "feature_name",
        "expression",
        "embedding_name",
        "embedding_dim",
        "hash_bucket_size",
        "num_buckets",
        "vocab_list",
        "vocab_dict",
        "value_dim",
        "pooling",
        "default_value",
        "separator",
        "weighted",
    ],
    inert: &[("embedding_constraints", "a sharding hint for distributed embedding")],
};

const RAW_FEATURE: Policy = Policy {
    used: &[
        "feature_name",
        "expression",
        "embedding_name",
        "embedding_dim",
        "boundaries",
        "value_dim",
        "default_value",
    ],
    inert: &[("embedding_constraints", "a sharding hint for distributed embedding")],
};

/// `fg_mode` is the validated `data_config.fg_mode` (FG_NONE when data_config itself is in error).
pub(crate) fn defined(v: &mut Validator, config: &EasyRecConfig, fg_mode: FgMode) -> BTreeMap<String, Defined> {
    let mut out: BTreeMap<String, Defined> = BTreeMap::new();
    for (i, fc) in config.feature_configs.iter().enumerate() {
        let base = format!("feature_configs[{i}]");
        let (name, defined) = match &fc.feature {
            Some(FeatureKind::IdFeature(f)) => {
                let path = format!("{base}.id_feature");
                v.audit(f, &path, &ID_FEATURE);
                input_column(v, fg_mode, f.feature_name(), f.expression.as_deref(), &path);
                (f.feature_name().to_string(), Defined { kind: id_feature(v, f, &path), path })
            }
            Some(FeatureKind::RawFeature(f)) => {
                let path = format!("{base}.raw_feature");
                v.audit(f, &path, &RAW_FEATURE);
                input_column(v, fg_mode, f.feature_name(), f.expression.as_deref(), &path);
                (f.feature_name().to_string(), Defined { kind: raw_feature(v, f, &path), path })
            }
            Some(other) => {
                let (kind, name) = other_kind(other);
                let path = format!("{base}.{kind}");
                (name, Defined { kind: DefinedKind::Unsupported { kind }, path })
            }
            None => {
                v.error(&base, "feature config has no feature (expected e.g. `id_feature { ... }`)");
                continue;
            }
        };
        match out.get(&name) {
            Some(first) => {
                let message = format!("duplicate feature name `{name}` (first defined at {})", first.path);
                v.error(&format!("{}.feature_name", defined.path), message);
            }
            None => {
                out.insert(name, defined);
            }
        }
    }
    out
}

/// The input sides TorchEasyRec's feature generation knows (`tzrec/features/feature.py`, `side_inputs`).
const SIDES: &[&str] = &["user", "item", "context", "feature", "const"];

/// Checks which column the feature reads. Under FG_NONE (TorchEasyRec's default) it is the `feature_name` and
/// `expression` is not needed; under FG_DAG / FG_NORMAL it is the input that `expression` (`side:name`) names,
/// which plec reads only where it is the `feature_name` too (one input per feature, named like the feature).
fn input_column(v: &mut Validator, fg_mode: FgMode, feature: &str, expression: Option<&str>, path: &str) {
    if fg_mode == FgMode::None {
        return;
    }
    let mode = fg_mode.name();
    let expression_path = format!("{path}.expression");
    let Some(expression) = expression else {
        let message = format!(
            "missing field `expression`: under fg_mode {mode} it names the input `{feature}` reads (e.g. `user:{feature}`)"
        );
        v.error(&expression_path, message);
        return;
    };
    match expression.split(':').collect::<Vec<_>>().as_slice() {
        [side, input] if SIDES.contains(side) && !input.is_empty() => {
            if *input != feature {
                v.error(
                    &expression_path,
                    format!(
                        "not supported yet: `{feature}` reads the input `{input}` (expression `{expression}`); plec \
                         reads each feature from the input named like the feature"
                    ),
                );
            }
        }
        _ => v.error(
            &expression_path,
            format!("expected `side:name` with side one of {}, found `{expression}`", SIDES.join(", ")),
        ),
    }
}

fn id_feature(v: &mut Validator, f: &IdFeature, path: &str) -> DefinedKind {
    let name = f.feature_name();
    v.check_name(&format!("{path}.feature_name"), "feature_name", name);
    let mut transforms = Vec::new();
    if f.has_num_buckets() {
        transforms.push(("num_buckets", Transform::NumBuckets(f.num_buckets())));
    }
    if f.has_hash_bucket_size() {
        transforms.push(("hash_bucket_size", Transform::HashBucket(f.hash_bucket_size())));
    }
    if !f.vocab_list.is_empty() {
        transforms.push(("vocab_list", Transform::VocabList(f.vocab_list.clone())));
    }
    if !f.vocab_dict.is_empty() {
        let mut entries: Vec<(String, u64)> = f.vocab_dict.iter().map(|(k, &row)| (k.clone(), row)).collect();
        entries.sort();
        transforms.push(("vocab_dict", Transform::VocabDict(entries)));
    }
    let transform = match transforms.len() {
        1 => transforms.remove(0).1,
        0 => {
            v.error(
                path,
                format!("id_feature `{name}` needs one of num_buckets, hash_bucket_size, vocab_list, vocab_dict"),
            );
            return DefinedKind::Invalid;
        }
        _ => {
            let names: Vec<&str> = transforms.iter().map(|(n, _)| *n).collect();
            v.error(path, format!("id_feature `{name}` sets {}: exactly one is allowed", names.join(" and ")));
            return DefinedKind::Invalid;
        }
    };
    if transform.rows() == 0 {
        v.error(&format!("{path}.{}", transform.kind_name()), format!("`{name}` would have an empty embedding table"));
    }
    if let Transform::VocabList(vocab) = &transform {
        let mut sorted = vocab.clone();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            v.error(&format!("{path}.vocab_list"), format!("value `{}` appears twice", w[0]));
        }
    }
    let dim = f.embedding_dim() as usize;
    if dim == 0 {
        v.error(&format!("{path}.embedding_dim"), "embedding_dim must be positive");
    }
    let pooling = pooling(v, f.pooling(), &format!("{path}.pooling"));
    // An explicit `value_dim: 0` marks multi-valued ids; unset (or 1) is one id per row. (tzrec splits every id
    // value on `separator`; for single ids that is the same row.)
    // A weighted feature is always a bag of `id:weight` pairs (tzrec parses it so whatever value_dim says).
    let weighted = f.weighted();
    let multi = match (f.has_value_dim(), f.value_dim()) {
        (true, 0) => Some(MultiValue { separator: f.separator().to_string(), pooling, weighted }),
        (_, 0 | 1) if weighted => Some(MultiValue { separator: f.separator().to_string(), pooling, weighted }),
        (_, 0 | 1) => None,
        (_, other) => {
            v.error(
                &format!("{path}.value_dim"),
                format!("not supported yet: value_dim {other} on an id_feature (use 0 for multi-valued ids or 1)"),
            );
            None
        }
    };
    if weighted && pooling == Pooling::Mean {
        // torch's EmbeddingBag (which TorchEasyRec's unsharded embedding runs) refuses per-sample weights unless
        // the mode is sum, so a weighted mean has no reference to agree with.
        v.error(
            &format!("{path}.pooling"),
            "a weighted id_feature pools by sum only (TorchEasyRec's EmbeddingBag takes per-sample weights only \
             with sum)",
        );
    }
    if weighted && f.separator().contains(':') {
        v.error(&format!("{path}.separator"), "the separator of a weighted id_feature must not contain `:`");
    }
    if multi.as_ref().is_some_and(|m| m.separator.is_empty()) {
        v.error(&format!("{path}.separator"), "separator of a multi-valued feature must not be empty");
    }
    let default_value = Some(f.default_value().to_string()).filter(|d| !d.is_empty());
    if weighted && default_value.is_some() {
        v.error(
            &format!("{path}.default_value"),
            "not supported yet: default_value on a weighted id_feature (a missing value is an empty bag)",
        );
    }
    let table = table_name(v, f.embedding_name(), name, path);
    DefinedKind::Embedding { table, dim, transform, multi, default_value }
}

fn raw_feature(v: &mut Validator, f: &RawFeature, path: &str) -> DefinedKind {
    let name = f.feature_name();
    v.check_name(&format!("{path}.feature_name"), "feature_name", name);
    let value_dim = f.value_dim() as usize;
    if f.boundaries.is_empty() {
        if value_dim == 0 {
            v.error(&format!("{path}.value_dim"), "value_dim of a dense raw_feature must be positive");
        }
        if f.has_embedding_dim() {
            v.warn(&format!("{path}.embedding_dim"), format!("raw_feature `{name}` has no boundaries: its value enters the model as is and embedding_dim is unused"));
        }
        let default_value = match f.default_value().trim().parse::<f32>() {
            Ok(x) => x,
            Err(_) => {
                v.error(&format!("{path}.default_value"), format!("expected a number, found `{}`", f.default_value()));
                0.0
            }
        };
        return DefinedKind::Dense { value_dim, default_value };
    }
    if value_dim != 1 {
        v.error(
            &format!("{path}.value_dim"),
            format!("not supported yet: value_dim {value_dim} with boundaries (only 1)"),
        );
    }
    if let Some(i) = f.boundaries.windows(2).position(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less)) {
        v.error(
            &format!("{path}.boundaries"),
            format!(
                "boundaries must increase strictly: [{}] = {} is not below [{}] = {}",
                i,
                f.boundaries[i],
                i + 1,
                f.boundaries[i + 1]
            ),
        );
    }
    if f.boundaries.iter().any(|b| b.is_nan()) {
        v.error(&format!("{path}.boundaries"), "boundaries must not be NaN");
    }
    let dim = f.embedding_dim() as usize;
    if dim == 0 {
        v.error(
            &format!("{path}.embedding_dim"),
            format!("raw_feature `{name}` has boundaries and needs a positive embedding_dim"),
        );
    }
    // The default value of a bucketized raw feature is a number as well; it replaces missing values.
    let default_value = match f.default_value().trim().parse::<f32>() {
        Ok(_) => Some(f.default_value().trim().to_string()),
        Err(_) => {
            v.error(&format!("{path}.default_value"), format!("expected a number, found `{}`", f.default_value()));
            None
        }
    };
    let table = table_name(v, f.embedding_name(), name, path);
    DefinedKind::Embedding {
        table,
        dim,
        transform: Transform::Boundaries(f.boundaries.clone()),
        multi: None,
        default_value,
    }
}

fn pooling(v: &mut Validator, text: &str, path: &str) -> Pooling {
    match text {
        "sum" => Pooling::Sum,
        "mean" => Pooling::Mean,
        other => {
            v.error(path, format!("unknown pooling `{other}`: expected `sum` or `mean`"));
            Pooling::Sum
        }
    }
}

fn table_name(v: &mut Validator, embedding_name: &str, feature: &str, path: &str) -> String {
    if embedding_name.is_empty() {
        format!("{feature}_emb")
    } else {
        v.check_name(&format!("{path}.embedding_name"), "embedding_name", embedding_name);
        embedding_name.to_string()
    }
}

fn other_kind(kind: &FeatureKind) -> (&'static str, String) {
    use FeatureKind as K;
    match kind {
        K::IdFeature(f) => ("id_feature", f.feature_name().into()),
        K::RawFeature(f) => ("raw_feature", f.feature_name().into()),
        K::ComboFeature(f) => ("combo_feature", f.feature_name().into()),
        K::LookupFeature(f) => ("lookup_feature", f.feature_name().into()),
        K::MatchFeature(f) => ("match_feature", f.feature_name().into()),
        K::SequenceFeature(f) => ("sequence_feature", f.sequence_name().into()),
        K::ExprFeature(f) => ("expr_feature", f.feature_name().into()),
        K::OverlapFeature(f) => ("overlap_feature", f.feature_name().into()),
        K::TokenizeFeature(f) => ("tokenize_feature", f.feature_name().into()),
        K::CustomFeature(f) => ("custom_feature", f.feature_name().into()),
        K::KvDotProduct(f) => ("kv_dot_product", f.feature_name().into()),
        K::BoolMaskFeature(f) => ("bool_mask_feature", f.feature_name().into()),
        K::CombineFeature(f) => ("combine_feature", f.feature_name().into()),
        K::SequenceIdFeature(f) => ("sequence_id_feature", f.feature_name().into()),
        K::SequenceRawFeature(f) => ("sequence_raw_feature", f.feature_name().into()),
        K::SequenceComboFeature(f) => ("sequence_combo_feature", f.feature_name().into()),
        K::SequenceLookupFeature(f) => ("sequence_lookup_feature", f.feature_name().into()),
        K::SequenceMatchFeature(f) => ("sequence_match_feature", f.feature_name().into()),
        K::SequenceExprFeature(f) => ("sequence_expr_feature", f.feature_name().into()),
        K::SequenceOverlapFeature(f) => ("sequence_overlap_feature", f.feature_name().into()),
        K::SequenceTokenizeFeature(f) => ("sequence_tokenize_feature", f.feature_name().into()),
        K::SequenceCustomFeature(f) => ("sequence_custom_feature", f.feature_name().into()),
        K::SequenceKvDotProduct(f) => ("sequence_kv_dot_product", f.feature_name().into()),
        K::SequenceBoolMaskFeature(f) => ("sequence_bool_mask_feature", f.feature_name().into()),
        K::SequenceCombineFeature(f) => ("sequence_combine_feature", f.feature_name().into()),
    }
}

/// Places the group's features: offsets, widths, shared tables. Returns (features, tables, input width).
pub(crate) fn assemble(
    v: &mut Validator,
    defined: &BTreeMap<String, Defined>,
    group: &Group,
) -> (Vec<Feature>, Vec<EmbeddingTable>, usize) {
    let mut features = Vec::new();
    let mut tables: Vec<EmbeddingTable> = Vec::new();
    // For each table, the feature (and its path) that first defined its shape.
    let mut table_owner: Vec<String> = Vec::new();
    let mut offset = 0;
    for (j, name) in group.feature_names.iter().enumerate() {
        let path = format!("{}.feature_names[{j}]", group.path);
        let Some(def) = defined.get(name) else {
            let mut message = format!("unknown feature `{name}`: no feature_configs entry has this feature_name");
            if let Some(best) = crate::textformat::closest_name(name, defined.keys().map(String::as_str)) {
                message.push_str(&format!("; did you mean `{best}`?"));
            }
            v.error(&path, message);
            continue;
        };
        let (encoding, width) = match &def.kind {
            DefinedKind::Unsupported { kind } => {
                v.error(
                    &def.path,
                    format!("not supported yet: {kind} `{name}` (plec supports id_feature and raw_feature)"),
                );
                continue;
            }
            DefinedKind::Invalid => continue,
            DefinedKind::Dense { value_dim, default_value } => {
                (Encoding::Dense { value_dim: *value_dim, default_value: *default_value }, *value_dim)
            }
            DefinedKind::Embedding { table, dim, transform, multi, default_value } => {
                let rows = transform.rows();
                let index = match tables.iter().position(|t| &t.name == table) {
                    Some(index) => {
                        let existing = &tables[index];
                        if existing.dim != *dim || existing.rows != rows {
                            v.error(
                                &def.path,
                                format!(
                                    "feature `{name}` shares table `{table}` with `{}` but needs {rows} rows of {dim}, not {} rows of {}",
                                    table_owner[index], existing.rows, existing.dim
                                ),
                            );
                        }
                        tables[index].features.push(name.clone());
                        index
                    }
                    None => {
                        tables.push(EmbeddingTable {
                            name: table.clone(),
                            rows,
                            dim: *dim,
                            features: vec![name.clone()],
                        });
                        table_owner.push(name.clone());
                        tables.len() - 1
                    }
                };
                let encoding = Encoding::Embedding {
                    table: index,
                    transform: transform.clone(),
                    multi: multi.clone(),
                    default_value: default_value.clone(),
                };
                (encoding, *dim)
            }
        };
        features.push(Feature { name: name.clone(), encoding, width, offset });
        offset += width;
    }
    for (name, def) in defined {
        if !group.feature_names.contains(name) {
            v.warn(
                &def.path,
                format!("feature `{name}` is not in feature group `{}`: the model does not use it", group.name),
            );
        }
    }
    (features, tables, offset)
}
