//! `feature_configs` -> features with their transforms, and the group's input layout with shared tables.

use std::collections::BTreeMap;

use crate::proto::tzrec::feature_config::Feature as FeatureKind;
use crate::proto::tzrec::seq_feature_config::Feature as SubFeatureKind;
use crate::proto::tzrec::{EasyRecConfig, IdFeature, RawFeature, SequenceFeature as SequenceFeatureConfig};
use plec_spec::placement::TableClaim;
pub(super) use plec_spec::placement::Tables;
use plec_spec::{Encoding, Feature, FgMode, MultiValue, Pooling, SequenceEncoding, TableCollection, Transform};

use super::audit::Policy;
pub(super) use super::defined::{Defined, DefinedKind};
use super::fg_encoded::EncodedFields;
use super::model::Group;
use super::validator::Validator;

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
        "fg_encoded_default_value",
    ],
    inert: &[("embedding_constraints", "a sharding hint for distributed embedding")],
};

const SEQUENCE_ID_FEATURE: Policy = Policy {
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
        "default_value",
        "sequence_length",
        "sequence_delim",
        "fg_encoded_default_value",
    ],
    inert: &[("embedding_constraints", "a sharding hint for distributed embedding")],
};

const SEQUENCE_RAW_FEATURE: Policy = Policy {
    used: &[
        "feature_name",
        "expression",
        "embedding_name",
        "embedding_dim",
        "boundaries",
        "value_dim",
        "default_value",
        "sequence_length",
        "sequence_delim",
        "fg_encoded_default_value",
    ],
    inert: &[("embedding_constraints", "a sharding hint for distributed embedding")],
};

const SEQUENCE_FEATURE: Policy = Policy {
    used: &["sequence_name", "sequence_length", "sequence_delim", "features"],
    inert: &[(
        "sequence_pk",
        "a serving-side key for looking up item attributes; plec's model takes every sub-sequence as input",
    )],
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
        "fg_encoded_default_value",
    ],
    inert: &[("embedding_constraints", "a sharding hint for distributed embedding")],
};

/// `fg_mode` is the validated `data_config.fg_mode` (FG_NONE when data_config itself is in error).
pub(crate) fn defined(v: &mut Validator, config: &EasyRecConfig, fg_mode: FgMode) -> BTreeMap<String, Defined> {
    let mut out: BTreeMap<String, Defined> = BTreeMap::new();
    // Under FG_NONE the columns hold feature generation's output (`fg_encoded`); the separator of its multi-values.
    let separator = config.data_config.as_ref().map_or("\x03", |d| d.fg_encoded_multival_sep());
    let fg_none = (fg_mode == FgMode::None).then_some(separator);
    for (i, fc) in config.feature_configs.iter().enumerate() {
        let base = format!("feature_configs[{i}]");
        let entries: Vec<(String, Defined)> = match &fc.feature {
            Some(FeatureKind::IdFeature(f)) => {
                let path = format!("{base}.id_feature");
                v.audit(f, &path, &ID_FEATURE);
                input_column(v, fg_mode, f.feature_name(), f.expression.as_deref(), &path);
                let kind = id_feature(v, f, &path);
                let kind =
                    encoded(v, kind, fg_none, (f.has_default_value(), &f.fg_encoded_default_value, false), &path);
                vec![(f.feature_name().to_string(), Defined { kind, path })]
            }
            Some(FeatureKind::RawFeature(f)) => {
                let path = format!("{base}.raw_feature");
                v.audit(f, &path, &RAW_FEATURE);
                input_column(v, fg_mode, f.feature_name(), f.expression.as_deref(), &path);
                let kind = raw_feature(v, f, &path);
                let kind =
                    encoded(v, kind, fg_none, (f.has_default_value(), &f.fg_encoded_default_value, false), &path);
                vec![(f.feature_name().to_string(), Defined { kind, path })]
            }
            Some(FeatureKind::SequenceIdFeature(f)) => {
                let path = format!("{base}.sequence_id_feature");
                v.audit(f, &path, &SEQUENCE_ID_FEATURE);
                input_column(v, fg_mode, f.feature_name(), f.expression.as_deref(), &path);
                let kind = id_feature(v, f, &path);
                let kind = encoded(v, kind, fg_none, (f.has_default_value(), &f.fg_encoded_default_value, true), &path);
                let element = sequence_element(v, kind, &path);
                let kind =
                    sequence_kind(v, &path, f.sequence_delim(), max_length(fg_none, f.sequence_length()), element);
                vec![(f.feature_name().to_string(), Defined { kind, path })]
            }
            Some(FeatureKind::SequenceRawFeature(f)) => {
                let path = format!("{base}.sequence_raw_feature");
                v.audit(f, &path, &SEQUENCE_RAW_FEATURE);
                input_column(v, fg_mode, f.feature_name(), f.expression.as_deref(), &path);
                let kind = raw_feature(v, f, &path);
                let kind = encoded(v, kind, fg_none, (f.has_default_value(), &f.fg_encoded_default_value, true), &path);
                let element = sequence_element(v, kind, &path);
                let kind =
                    sequence_kind(v, &path, f.sequence_delim(), max_length(fg_none, f.sequence_length()), element);
                vec![(f.feature_name().to_string(), Defined { kind, path })]
            }
            Some(FeatureKind::SequenceFeature(f)) => {
                let path = format!("{base}.sequence_feature");
                v.audit(f, &path, &SEQUENCE_FEATURE);
                grouped_sequence(v, f, &path, fg_mode, fg_none)
            }
            Some(other) => {
                let (kind, name) = other_kind(other);
                let path = format!("{base}.{kind}");
                vec![(name, Defined { kind: DefinedKind::Unsupported { kind }, path })]
            }
            None => {
                v.error(&base, "feature config has no feature (expected e.g. `id_feature { ... }`)");
                continue;
            }
        };
        for (name, defined) in entries {
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
    }
    out
}

/// The sub-features of a `sequence_feature`, each named `<sequence_name>__<feature_name>` (TorchEasyRec's
/// grouped-sequence prefix), which is also its data column.
fn grouped_sequence(
    v: &mut Validator,
    f: &SequenceFeatureConfig,
    path: &str,
    fg_mode: FgMode,
    fg_none: Option<&str>,
) -> Vec<(String, Defined)> {
    let sequence = f.sequence_name();
    v.check_name(&format!("{path}.sequence_name"), "sequence_name", sequence);
    if f.features.is_empty() {
        v.error(&format!("{path}.features"), format!("sequence_feature `{sequence}` has no sub-features"));
    }
    let mut out = Vec::new();
    for (j, sub) in f.features.iter().enumerate() {
        // (path, feature_name, embedding_name, expression, the defined kind) of an id or raw sub-feature.
        let (sub_path, feature_name, embedding_name, expression, kind) = match &sub.feature {
            Some(SubFeatureKind::IdFeature(g)) => {
                let sub_path = format!("{path}.features[{j}].id_feature");
                v.audit(g, &sub_path, &ID_FEATURE);
                let kind = id_feature(v, g, &sub_path);
                let kind =
                    encoded(v, kind, fg_none, (g.has_default_value(), &g.fg_encoded_default_value, true), &sub_path);
                (sub_path, g.feature_name(), g.embedding_name(), g.expression.as_deref(), kind)
            }
            Some(SubFeatureKind::RawFeature(g)) => {
                let sub_path = format!("{path}.features[{j}].raw_feature");
                v.audit(g, &sub_path, &RAW_FEATURE);
                let kind = raw_feature(v, g, &sub_path);
                let kind =
                    encoded(v, kind, fg_none, (g.has_default_value(), &g.fg_encoded_default_value, true), &sub_path);
                (sub_path, g.feature_name(), g.embedding_name(), g.expression.as_deref(), kind)
            }
            Some(_) => {
                let sub_path = format!("{path}.features[{j}]");
                v.error(
                    &sub_path,
                    "not supported yet: this sub-feature kind in a sequence_feature (plec supports id_feature and \
                     raw_feature)",
                );
                continue;
            }
            None => {
                v.error(&format!("{path}.features[{j}]"), "sub-feature config has no feature");
                continue;
            }
        };
        let name = format!("{sequence}__{feature_name}");
        input_column(v, fg_mode, feature_name, expression, &sub_path);
        let mut kind = kind;
        if let DefinedKind::Embedding { table, .. } = &mut kind {
            if embedding_name.is_empty() {
                // tzrec names the table after the full (prefixed) feature name.
                *table = format!("{name}_emb");
            }
        }
        let element = (sequence_element(v, kind, &sub_path), sub_path);
        let (element, sub_path) = element;
        let kind = sequence_kind(v, path, f.sequence_delim(), max_length(fg_none, f.sequence_length()), element);
        out.push((name, Defined { kind, path: sub_path }));
    }
    out
}

/// `kind` as `fg_mode` reads it: unchanged under FG_DAG / FG_NORMAL (`fg_none` is `None`), FG-encoded under FG_NONE
/// (`fg_none` is `fg_encoded_multival_sep`). `fields`: whether `default_value` is set, `fg_encoded_default_value`,
/// whether the feature is a sequence's.
fn encoded(
    v: &mut Validator,
    kind: DefinedKind,
    fg_none: Option<&str>,
    fields: (bool, &Option<String>, bool),
    path: &str,
) -> DefinedKind {
    let Some(separator) = fg_none else {
        return kind;
    };
    let (has_default_value, fg_default, in_sequence) = fields;
    let fields = EncodedFields {
        has_default_value,
        fg_encoded_default_value: fg_default.as_deref().filter(|d| !d.is_empty()),
        in_sequence,
    };
    super::fg_encoded::encoded(v, kind, &fields, separator, path)
}

/// Positions a sequence keeps: under FG_NONE every one (TorchEasyRec's FG-encoded parser keeps them all;
/// `sequence_length` bounds feature generation), else the first `sequence_length`.
fn max_length(fg_none: Option<&str>, sequence_length: u32) -> u32 {
    if fg_none.is_some() {
        0
    } else {
        sequence_length
    }
}

/// Checks that `kind` can be one position of a sequence: a single id (no bag, no weights, no default) or a single
/// number.
fn sequence_element(v: &mut Validator, kind: DefinedKind, path: &str) -> DefinedKind {
    match &kind {
        DefinedKind::Embedding { multi: Some(_), .. } => {
            v.error(
                path,
                "not supported yet: multi-valued positions in a sequence (value_dim 0 or weighted ids); each \
                 position holds one value",
            );
            DefinedKind::Invalid
        }
        DefinedKind::Embedding { default_value: Some(_), transform, .. }
            if !matches!(transform, Transform::Boundaries(_)) =>
        {
            v.error(
                &format!("{path}.default_value"),
                "not supported yet: default_value on a sequence id feature (an empty position has no row)",
            );
            DefinedKind::Invalid
        }
        DefinedKind::Dense { value_dim, .. } if *value_dim != 1 => {
            v.error(
                &format!("{path}.value_dim"),
                format!("not supported yet: value_dim {value_dim} in a sequence (each position holds one number)"),
            );
            DefinedKind::Invalid
        }
        _ => kind,
    }
}

fn sequence_kind(v: &mut Validator, path: &str, delimiter: &str, max_length: u32, element: DefinedKind) -> DefinedKind {
    if delimiter.is_empty() {
        v.error(&format!("{path}.sequence_delim"), "sequence_delim must not be empty");
    }
    if matches!(element, DefinedKind::Invalid | DefinedKind::Unsupported { .. }) {
        return element;
    }
    DefinedKind::Sequence {
        delimiter: delimiter.to_string(),
        max_length: max_length as usize,
        element: Box::new(element),
    }
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

/// Claims a table through the one placement rule ([`Tables::claim`]); a conflict is an error at `path`.
fn claim(v: &mut Validator, tables: &mut Tables, claim: TableClaim<'_>, feature: &str, path: &str) -> Option<usize> {
    tables.claim(claim, feature).map_err(|conflict| v.error(path, conflict.to_string())).ok()
}

/// The encoding and width of the non-sequence feature `def`, its table placed in `collection`.
pub(super) fn place(
    tables: &mut Tables,
    v: &mut Validator,
    def: &Defined,
    name: &str,
    collection: TableCollection,
) -> Option<(Encoding, usize)> {
    match &def.kind {
        DefinedKind::Unsupported { kind } => {
            v.error(
                &def.path,
                format!(
                    "not supported yet: {kind} `{name}` (plec supports id_feature, raw_feature and the sequence \
                         kinds sequence_feature, sequence_id_feature, sequence_raw_feature)"
                ),
            );
            None
        }
        DefinedKind::Invalid => None,
        DefinedKind::Sequence { .. } => None,
        DefinedKind::Dense { value_dim, default_value } => {
            Some((Encoding::Dense { value_dim: *value_dim, default_value: *default_value }, *value_dim))
        }
        DefinedKind::Embedding { table, dim, transform, multi, default_value } => {
            let index = claim(
                v,
                tables,
                TableClaim { collection, name: table, rows: transform.rows(), dim: *dim },
                name,
                &def.path,
            )?;
            let encoding = Encoding::Embedding {
                table: index,
                transform: transform.clone(),
                multi: multi.clone(),
                default_value: default_value.clone(),
            };
            Some((encoding, *dim))
        }
    }
}

/// The sequence feature `def` (a `DefinedKind::Sequence`), its table among the sequence tables; `None` for
/// other kinds.
pub(super) fn place_sequence(
    tables: &mut Tables,
    v: &mut Validator,
    def: &Defined,
    name: &str,
) -> Option<(String, usize, SequenceEncoding, usize)> {
    let DefinedKind::Sequence { delimiter, max_length, element } = &def.kind else {
        return None;
    };
    let (encoding, width) = match &**element {
        DefinedKind::Embedding { table, dim, transform, .. } => {
            let collection = TableCollection::Sequence;
            let index = claim(
                v,
                tables,
                TableClaim { collection, name: table, rows: transform.rows(), dim: *dim },
                name,
                &def.path,
            )?;
            (SequenceEncoding::Embedding { table: index, transform: transform.clone() }, *dim)
        }
        DefinedKind::Dense { default_value, .. } => (SequenceEncoding::Dense { default_value: *default_value }, 1),
        _ => return None,
    };
    Some((delimiter.clone(), *max_length, encoding, width))
}

/// Places the group's features: offsets, widths, shared tables. Returns (features, tables, width of the features).
pub(crate) fn assemble(
    v: &mut Validator,
    defined: &BTreeMap<String, Defined>,
    group: &Group,
) -> (Vec<Feature>, Tables, usize) {
    let mut features = Vec::new();
    let mut tables = Tables::default();
    let mut offset = 0;
    for (j, name) in group.feature_names.iter().enumerate() {
        let path = format!("{}.feature_names[{j}]", group.path);
        let Some(def) = lookup(v, defined, name, &path) else {
            continue;
        };
        if matches!(def.kind, DefinedKind::Sequence { .. }) {
            v.error(
                &path,
                format!(
                    "sequence feature `{name}` belongs in the group's sequence_groups (read by a sequence encoder)"
                ),
            );
            continue;
        }
        let Some((encoding, width)) = place(&mut tables, v, def, name, TableCollection::Bag) else {
            continue;
        };
        features.push(Feature { name: name.clone(), encoding, width, offset });
        offset += width;
    }
    for (name, def) in defined {
        if !group.feature_names.contains(name) && !group.sequence_feature_names().any(|n| n == name) {
            v.warn(
                &def.path,
                format!("feature `{name}` is not in feature group `{}`: the model does not use it", group.name),
            );
        }
    }
    (features, tables, offset)
}

/// The definition of feature `name`, or an error at `path` (with the closest defined name).
pub(super) fn lookup<'a>(
    v: &mut Validator,
    defined: &'a BTreeMap<String, Defined>,
    name: &str,
    path: &str,
) -> Option<&'a Defined> {
    let def = defined.get(name);
    if def.is_none() {
        let mut message = format!("unknown feature `{name}`: no feature_configs entry has this feature_name");
        if let Some(best) = crate::textformat::closest_name(name, defined.keys().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        v.error(path, message);
    }
    def
}
