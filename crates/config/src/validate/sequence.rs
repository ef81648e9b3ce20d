//! `sequence_groups` and `sequence_encoders` of the DEEP group (semantics section 7), with TorchEasyRec's rules
//! (`EmbeddingGroup._inspect_and_supplement_feature_group` in `tzrec/modules/embedding.py`): one unnamed sequence
//! group takes the feature group's name, an encoder without `input` reads the only sequence group, and every
//! sequence group needs an encoder.

use std::collections::BTreeMap;

use crate::proto::tzrec::seq_encoder_config::Seq_module as EncoderConfig;
use plec_spec::{EncoderKind, Pooling, SequenceEncoder, SequenceFeature, SequenceGroup, TableCollection};

use super::audit::Policy;
use super::defined::{Defined, DefinedKind};
use super::features::{lookup, place, place_sequence, Tables};
use super::model::{mlp, Group};
use super::validator::Validator;

const SEQ_GROUP: Policy = Policy { used: &["group_name", "feature_names"], inert: &[] };
const DIN: Policy = Policy { used: &["name", "input", "attn_mlp", "max_seq_length"], inert: &[] };
const SIMPLE_ATTENTION: Policy = Policy { used: &["name", "input", "max_seq_length"], inert: &[] };
const POOLING: Policy = Policy { used: &["name", "input", "pooling_type", "max_seq_length"], inert: &[] };

/// The group's sequence groups and encoders; the encoders' outputs start at column `offset` of the group input.
/// Returns them and the group input's full width.
pub(crate) fn sequences(
    v: &mut Validator,
    defined: &BTreeMap<String, Defined>,
    group: &Group,
    tables: &mut Tables,
    offset: usize,
) -> (Vec<SequenceGroup>, Vec<SequenceEncoder>, usize) {
    let path = &group.path;
    match (group.sequence_groups.is_empty(), group.sequence_encoders.is_empty()) {
        (true, true) => return (Vec::new(), Vec::new(), offset),
        (false, true) => {
            v.error(&format!("{path}.sequence_encoders"), "the group has sequence_groups but no sequence_encoders");
        }
        (true, false) => {
            v.error(&format!("{path}.sequence_groups"), "the group has sequence_encoders but no sequence_groups");
        }
        (false, false) => {}
    }
    v.check_name(&format!("{path}.group_name"), "group_name of a group with sequence encoders", &group.name);
    let (groups, complete) = sequence_groups(v, defined, group, tables);
    let mut encoders = Vec::new();
    let mut offset = offset;
    let mut has_encoder = vec![false; groups.len()];
    for (i, config) in group.sequence_encoders.iter().enumerate() {
        let enc_path = format!("{path}.sequence_encoders[{i}]");
        let Some(module) = &config.seq_module else {
            v.error(&enc_path, "sequence encoder config has no encoder (expected e.g. `din_encoder { ... }`)");
            continue;
        };
        let Some((kind_path, input, max_seq_length)) = encoder_settings(v, module, &enc_path) else { continue };
        let Some(index) = encoder_input(v, input.as_deref(), &groups, &kind_path) else { continue };
        has_encoder[index] = true;
        if max_seq_length < 0 {
            v.error(&format!("{kind_path}.max_seq_length"), "max_seq_length must not be negative");
        }
        let seq = &groups[index];
        let Some(kind) = encoder_kind(v, module, seq, complete[index], &kind_path) else { continue };
        let width = seq.sequence_width;
        encoders.push(SequenceEncoder {
            input: index,
            kind,
            max_seq_length: max_seq_length.max(0) as usize,
            width,
            offset,
        });
        offset += width;
    }
    for (i, used) in has_encoder.iter().enumerate() {
        if !used && !group.sequence_encoders.is_empty() {
            v.error(
                &format!("{path}.sequence_groups[{i}]"),
                format!("sequence group `{}` has no sequence encoder reading it", groups[i].name),
            );
        }
    }
    (groups, encoders, offset)
}

/// The group's sequence groups, and per group whether all its features are valid (a group with a feature already in
/// error has its widths not checked again: one error, not a cascade).
fn sequence_groups(
    v: &mut Validator,
    defined: &BTreeMap<String, Defined>,
    group: &Group,
    tables: &mut Tables,
) -> (Vec<SequenceGroup>, Vec<bool>) {
    let path = &group.path;
    let single = group.sequence_groups.len() == 1;
    let mut groups: Vec<SequenceGroup> = Vec::new();
    let mut complete: Vec<bool> = Vec::new();
    for (i, config) in group.sequence_groups.iter().enumerate() {
        let seq_path = format!("{path}.sequence_groups[{i}]");
        v.audit(config, &seq_path, &SEQ_GROUP);
        let name = match config.group_name.as_deref() {
            Some(name) => name.to_string(),
            None if single => group.name.clone(),
            None => {
                v.error(
                    &format!("{seq_path}.group_name"),
                    "a group with several sequence_groups must name each of them",
                );
                format!("sequence_groups[{i}]")
            }
        };
        if let Some(first) = groups.iter().position(|g| g.name == name) {
            v.error(
                &format!("{seq_path}.group_name"),
                format!("sequence group name `{name}` repeats sequence_groups[{first}]"),
            );
        }
        let (group, whole) = sequence_group(v, defined, &name, &config.feature_names, &seq_path, tables);
        groups.push(group);
        complete.push(whole);
    }
    (groups, complete)
}

/// An encoder's config path, `input` and `max_seq_length`; `None` (with an error) for kinds plec lacks.
fn encoder_settings(
    v: &mut Validator,
    module: &EncoderConfig,
    enc_path: &str,
) -> Option<(String, Option<String>, i32)> {
    let settings = match module {
        EncoderConfig::DinEncoder(c) => {
            let p = format!("{enc_path}.din_encoder");
            v.audit(c, &p, &DIN);
            (p, c.input.clone(), c.max_seq_length())
        }
        EncoderConfig::SimpleAttention(c) => {
            let p = format!("{enc_path}.simple_attention");
            v.audit(c, &p, &SIMPLE_ATTENTION);
            (p, c.input.clone(), c.max_seq_length())
        }
        EncoderConfig::PoolingEncoder(c) => {
            let p = format!("{enc_path}.pooling_encoder");
            v.audit(c, &p, &POOLING);
            (p, c.input.clone(), c.max_seq_length())
        }
        EncoderConfig::MultiWindowDinEncoder(_) | EncoderConfig::SelfAttentionEncoder(_) => {
            let kind = if matches!(module, EncoderConfig::MultiWindowDinEncoder(_)) {
                "multi_window_din_encoder"
            } else {
                "self_attention_encoder"
            };
            v.error(
                &format!("{enc_path}.{kind}"),
                format!("not supported yet: {kind} (plec supports din_encoder, simple_attention, pooling_encoder)"),
            );
            return None;
        }
    };
    Some(settings)
}

/// The index of the sequence group an encoder reads: its `input`, or the only group.
fn encoder_input(v: &mut Validator, input: Option<&str>, groups: &[SequenceGroup], kind_path: &str) -> Option<usize> {
    match input {
        None if groups.len() == 1 => Some(0),
        None => {
            v.error(
                &format!("{kind_path}.input"),
                "the group has several sequence_groups: the encoder must name its input",
            );
            None
        }
        Some(input) => {
            let index = groups.iter().position(|g| g.name == input);
            if index.is_none() {
                let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                v.error(
                    &format!("{kind_path}.input"),
                    format!("`{input}` names no sequence group (the group has: {})", names.join(", ")),
                );
            }
            index
        }
    }
}

/// What an encoder computes over `seq`; its widths are checked when `check_widths` (the group is valid).
fn encoder_kind(
    v: &mut Validator,
    module: &EncoderConfig,
    seq: &SequenceGroup,
    check_widths: bool,
    kind_path: &str,
) -> Option<EncoderKind> {
    let width = seq.sequence_width;
    let kind = match module {
        EncoderConfig::DinEncoder(c) => {
            if check_widths && seq.query_width > width {
                v.error(
                    kind_path,
                    format!(
                        "the query of `{}` is {} wide, its sequence {width}: DIN needs query <= sequence",
                        seq.name, seq.query_width
                    ),
                );
            }
            if check_widths && seq.query.is_empty() {
                v.error(kind_path, format!("sequence group `{}` has no query feature: DIN needs one", seq.name));
            }
            let attention = mlp(v, &c.attn_mlp, &format!("{kind_path}.attn_mlp"), 4 * width);
            if attention.layers.is_empty() {
                v.error(&format!("{kind_path}.attn_mlp.hidden_units"), "the attention MLP needs a layer");
            }
            EncoderKind::Din { mlp: attention }
        }
        EncoderConfig::SimpleAttention(_) => {
            if check_widths && seq.query_width != width {
                v.error(
                    kind_path,
                    format!(
                        "the query of `{}` is {} wide, its sequence {width}: simple_attention needs them equal",
                        seq.name, seq.query_width
                    ),
                );
            }
            EncoderKind::SimpleAttention
        }
        EncoderConfig::PoolingEncoder(c) => {
            let pooling = match c.pooling_type() {
                "mean" => Pooling::Mean,
                "sum" => Pooling::Sum,
                other => {
                    v.error(
                        &format!("{kind_path}.pooling_type"),
                        format!("unknown pooling_type `{other}`: expected `sum` or `mean`"),
                    );
                    Pooling::Mean
                }
            };
            EncoderKind::Pooling { pooling }
        }
        EncoderConfig::MultiWindowDinEncoder(_) | EncoderConfig::SelfAttentionEncoder(_) => return None,
    };
    Some(kind)
}

fn sequence_group(
    v: &mut Validator,
    defined: &BTreeMap<String, Defined>,
    name: &str,
    feature_names: &[String],
    path: &str,
    tables: &mut Tables,
) -> (SequenceGroup, bool) {
    let mut whole = true;
    let mut group = SequenceGroup {
        name: name.to_string(),
        query: Vec::new(),
        query_width: 0,
        sequence: Vec::new(),
        sequence_width: 0,
    };
    for (j, feature) in feature_names.iter().enumerate() {
        let feature_path = format!("{path}.feature_names[{j}]");
        if feature_names[..j].contains(feature) {
            v.error(&feature_path, format!("feature `{feature}` appears twice in the sequence group"));
            continue;
        }
        let Some(def) = lookup(v, defined, feature, &feature_path) else {
            whole = false;
            continue;
        };
        if matches!(def.kind, DefinedKind::Invalid) {
            whole = false;
            continue;
        }
        if let DefinedKind::Sequence { .. } = def.kind {
            let Some((delimiter, max_length, encoding, width)) = place_sequence(tables, v, def, feature) else {
                whole = false;
                continue;
            };
            if let Some(first) = group.sequence.first() {
                if first.max_length != max_length {
                    v.error(
                        &feature_path,
                        format!(
                            "not supported yet: `{feature}` keeps {max_length} positions, `{}` {}: the sequences of \
                             one group share their sequence_length",
                            first.name, first.max_length
                        ),
                    );
                }
            }
            let offset = group.sequence_width;
            group.sequence.push(SequenceFeature {
                name: feature.clone(),
                delimiter,
                max_length,
                encoding,
                width,
                offset,
            });
            group.sequence_width += width;
        } else {
            if def.kind.is_weighted() {
                v.error(
                    &feature_path,
                    format!("not supported yet: the weighted feature `{feature}` as a sequence group's query"),
                );
                continue;
            }
            let Some((encoding, width)) = place(tables, v, def, feature, TableCollection::Sequence) else {
                whole = false;
                continue;
            };
            let offset = group.query_width;
            group.query.push(plec_spec::Feature { name: feature.clone(), encoding, width, offset });
            group.query_width += width;
        }
    }
    if whole && group.sequence.is_empty() {
        v.error(path, format!("sequence group `{name}` has no sequence feature"));
    }
    (group, whole)
}
