//! Sequence groups and their encoders (docs/semantics.md section 2b): `[batch]` strings -> the encoders' outputs,
//! which follow the features in the group input.
//!
//! Per sequence feature: `StringSplit` by the delimiter (tokens `[batch, T]` padded with "", and counts), one more
//! "" column so that `T >= 1` even when every row is empty, positions past `max_length` sliced off, then the
//! transform per position: `num_buckets` ("" -> "-1", Cast to int64, range mask), `boundaries` ("" -> "NaN",
//! Cast to float), hash / vocab on the text itself, dense numbers ("" -> `default_value`, Cast to float). A
//! group's sequence `s` `[batch, T, Ds]` is its features side by side at every position, zero at `t >= n`, where
//! `n` (`[batch]`) is the first feature's count clamped to `max_length`; its query `q` `[batch, Dq]` is the query
//! features lowered as ordinary features (section 2) on the sequence tables.
//!
//! Each encoder reads the first `max_seq_length` positions (all with 0) and reduces them to `[batch, Ds]`:
//! - DIN: `[q, s, q - s, q * s]` (q zero-padded to Ds) -> attention MLP and a Linear to one score per position,
//!   on the flattened `[batch * T, ...]` (the first block without that input: `super::din`); masked softmax over
//!   `t`; weighted sum of `s`.
//! - simple attention: score `s_t . q`; masked softmax; weighted sum.
//! - pooling: sum over `t`, or for mean divided by `max(n, 1)`.
//!
//! Masked scores are [`MASKED_SCORE`], so an empty row (all positions masked, all zero) gives a zero vector.

use onnx_protobuf::tensor_proto::DataType;
use plec_spec::artifact::names::{self, seq_encoder, seq_encoder_output};
use plec_spec::{
    EncoderKind, ModelSpec, Pooling, SequenceEncoder, SequenceEncoding, SequenceFeature, SequenceGroup, Transform,
    MASKED_SCORE,
};

use super::dense::{DenseKind, DenseRole};
use super::din::attention_mlp;
use super::features::{gather, lower_feature, rows, string_missing};
use super::graph::{attr_int, attr_string, Dim, Graph};
use crate::error::CompileError;
use crate::opset::SEQUENCE_MIN_OPSET;

/// A lowered sequence group: tensors the encoders read.
struct Lowered {
    /// `[batch, Dq]`, if the group has query features.
    query: Option<String>,
    query_width: usize,
    /// `[batch, T, Ds]`, zero at `t >= n`.
    sequence: String,
    width: usize,
    /// `n`, `[batch]` int64.
    length: String,
    /// `t < n`, `[batch, T]` bool.
    mask: String,
}

/// Declares the sequence groups' inputs (query features not yet inputs, then sequence features, group by group)
/// and returns every encoder's output `[batch, width]`, in `spec.encoders` order.
pub(crate) fn lower_sequences(g: &mut Graph, spec: &ModelSpec) -> Result<Vec<String>, CompileError> {
    if spec.sequence_groups.is_empty() {
        return Ok(Vec::new());
    }
    if g.opset < SEQUENCE_MIN_OPSET {
        return Err(CompileError::Internal(format!("sequence features lowered at opset {}", g.opset)));
    }
    let mut groups = Vec::new();
    for group in &spec.sequence_groups {
        groups.push(lower_group(g, spec, group)?);
    }
    let mut outputs = Vec::new();
    for (i, encoder) in spec.encoders.iter().enumerate() {
        let group = groups.get(encoder.input).ok_or_else(|| {
            CompileError::Internal(format!(
                "sequence encoder {i} reads sequence group {}, which does not exist",
                encoder.input
            ))
        })?;
        outputs.push(lower_encoder(g, spec, i, encoder, group)?);
    }
    Ok(outputs)
}

fn lower_group(g: &mut Graph, spec: &ModelSpec, group: &SequenceGroup) -> Result<Lowered, CompileError> {
    let gp = format!("sequence.{}", group.name);
    let mut query_parts = Vec::new();
    for feature in &group.query {
        query_parts.push(lower_feature(g, spec, feature, &format!("{gp}.query.{}", feature.name))?);
    }
    let query = if query_parts.is_empty() {
        None
    } else {
        let refs: Vec<&str> = query_parts.iter().map(String::as_str).collect();
        Some(g.node("Concat", &format!("{gp}.query"), &refs, vec![attr_int("axis", 1)]))
    };
    let mut parts = Vec::new();
    let mut first_split = None;
    for (j, feature) in group.sequence.iter().enumerate() {
        let split = split(g, &format!("{gp}.{}", feature.name), feature, j == 0);
        parts.push(positions(g, spec, &format!("{gp}.{}", feature.name), feature, &split.tokens)?);
        if first_split.is_none() {
            first_split = Some(split);
        }
    }
    let Some(Split { tokens, count: length }) = first_split else {
        return Err(CompileError::Internal(format!("sequence group `{}` has no sequence feature", group.name)));
    };
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let raw = g.node("Concat", &format!("{gp}.positions"), &refs, vec![attr_int("axis", -1)]);
    // t < n over the first feature's T (every feature of a group keeps the same number of positions).
    let steps = g.node("Shape", &format!("{gp}.steps"), &[&tokens], vec![attr_int("start", 1), attr_int("end", 2)]);
    let axis0 = g.ints(&[0]);
    let steps = g.node("Squeeze", &format!("{gp}.steps_scalar"), &[&steps, &axis0], vec![]);
    let (zero, one) = (g.scalar_i64(0), g.scalar_i64(1));
    let t = g.node("Range", &format!("{gp}.t"), &[&zero, &steps, &one], vec![]);
    let t_row = g.node("Unsqueeze", &format!("{gp}.t_row"), &[&t, &axis0], vec![]);
    let last = g.ints(&[-1]);
    let n_col = g.node("Unsqueeze", &format!("{gp}.length_column"), &[&length, &last], vec![]);
    let mask = g.node("Less", &format!("{gp}.mask"), &[&t_row, &n_col], vec![]);
    let mask3 = g.node("Unsqueeze", &format!("{gp}.mask_unsqueeze"), &[&mask, &last], vec![]);
    let zero_f = g.scalar_f32(0.0);
    let sequence = g.node("Where", &format!("{gp}.sequence"), &[&mask3, &raw, &zero_f], vec![]);
    Ok(Lowered { query, query_width: group.query_width, sequence, width: group.sequence_width, length, mask })
}

/// A sequence input split into positions: `tokens` `[batch, T]` (T >= 1, pads ""), `count` `[batch]` int64 (the
/// row's positions, at most `max_length`, when asked for: only the group's first feature sets `n`).
struct Split {
    tokens: String,
    count: String,
}

fn split(g: &mut Graph, p: &str, feature: &SequenceFeature, with_count: bool) -> Split {
    let x = feature.name.as_str();
    if !g.has_input(x) {
        g.add_input(x, DataType::STRING, &[Dim::Named("batch")]);
    }
    let outputs = [format!("{p}.split"), format!("{p}.count")];
    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    g.node_outputs("StringSplit", &outputs[0], &[x], &refs, vec![attr_string("delimiter", &feature.delimiter)]);
    let [split, count] = outputs;
    // One more "" column: a batch of empty rows splits into [batch, 0], which must still give [batch, 1].
    let last = g.ints(&[-1]);
    let column = g.node("Unsqueeze", &format!("{p}.column"), &[x, &last], vec![]);
    let never = g.scalar_bool(false);
    let empty = g.scalar_string("");
    let pad = g.node("Where", &format!("{p}.pad"), &[&never, &column, &empty], vec![]);
    let padded = g.node("Concat", &format!("{p}.padded"), &[&split, &pad], vec![attr_int("axis", 1)]);
    if feature.max_length == 0 {
        return Split { tokens: padded, count };
    }
    let (starts, ends, axes) = (g.ints(&[0]), g.ints(&[feature.max_length as i64]), g.ints(&[1]));
    let tokens = g.node("Slice", &format!("{p}.tokens"), &[&padded, &starts, &ends, &axes], vec![]);
    if !with_count {
        return Split { tokens, count };
    }
    let max = g.scalar_i64(feature.max_length as i64);
    let count = g.node("Min", &format!("{p}.length"), &[&count, &max], vec![]);
    Split { tokens, count }
}

/// Replaces "" in `tokens` by `text`.
fn fill_empty(g: &mut Graph, p: &str, tokens: &str, text: &str) -> String {
    let empty = string_missing(g, &format!("{p}.text"), tokens);
    let fill = g.scalar_string(text);
    g.node("Where", &format!("{p}.text_filled"), &[&empty, &fill, tokens], vec![])
}

fn cast(g: &mut Graph, name: &str, x: &str, to: DataType) -> String {
    g.node("Cast", name, &[x], vec![attr_int("to", to as i64)])
}

/// One feature at every position, `[batch, T, width]` (positions without a row are zero vectors).
fn positions(
    g: &mut Graph,
    spec: &ModelSpec,
    p: &str,
    feature: &SequenceFeature,
    tokens: &str,
) -> Result<String, CompileError> {
    match &feature.encoding {
        SequenceEncoding::Dense { default_value } => {
            let filled = fill_empty(g, p, tokens, &default_value.to_string());
            let values = cast(g, &format!("{p}.values"), &filled, DataType::FLOAT);
            let last = g.ints(&[-1]);
            Ok(g.node("Unsqueeze", &format!("{p}.unsqueeze"), &[&values, &last], vec![]))
        }
        SequenceEncoding::Embedding { table, transform } => {
            let table = spec.tables.get(*table).ok_or_else(|| CompileError::Feature {
                feature: feature.name.clone(),
                message: format!("table index {table} out of range"),
            })?;
            let table_name = table.param_name();
            if !g.initializers.contains_key(&table_name) {
                g.table(&table_name)?;
            }
            let r = match transform {
                Transform::NumBuckets(_) | Transform::FgEncoded(_) => {
                    let filled = fill_empty(g, p, tokens, "-1");
                    let ids = cast(g, &format!("{p}.ids"), &filled, DataType::INT64);
                    rows(g, p, &ids, transform, true)
                }
                Transform::Boundaries(_) => {
                    let filled = fill_empty(g, p, tokens, "NaN");
                    let values = cast(g, &format!("{p}.values"), &filled, DataType::FLOAT);
                    rows(g, p, &values, transform, true)
                }
                // An empty vocab_list position is row 0, a present one; the others mask "".
                Transform::VocabList(_) => rows(g, p, tokens, transform, false),
                Transform::HashBucket(_) | Transform::VocabDict(_) => rows(g, p, tokens, transform, true),
            };
            Ok(gather(g, p, &table_name, &r).0)
        }
    }
}

fn lower_encoder(
    g: &mut Graph,
    spec: &ModelSpec,
    i: usize,
    encoder: &SequenceEncoder,
    group: &Lowered,
) -> Result<String, CompileError> {
    let ep = seq_encoder(&spec.group_name, i);
    let (sequence, mask, length) = if encoder.max_seq_length > 0 {
        let (starts, ends, axes) = (g.ints(&[0]), g.ints(&[encoder.max_seq_length as i64]), g.ints(&[1]));
        let s = g.node("Slice", &format!("{ep}.sequence"), &[&group.sequence, &starts, &ends, &axes], vec![]);
        let m = g.node("Slice", &format!("{ep}.mask"), &[&group.mask, &starts, &ends, &axes], vec![]);
        let max = g.scalar_i64(encoder.max_seq_length as i64);
        let n = g.node("Min", &format!("{ep}.length"), &[&group.length, &max], vec![]);
        (s, m, n)
    } else {
        (group.sequence.clone(), group.mask.clone(), group.length.clone())
    };
    let query = |kind: &str| {
        group.query.clone().ok_or_else(|| {
            CompileError::Internal(format!("sequence encoder {i} ({kind}) reads a sequence group without a query"))
        })
    };
    let axis1 = g.ints(&[1]);
    let last = g.ints(&[-1]);
    let scores = match &encoder.kind {
        EncoderKind::Pooling { pooling } => {
            let sum = g.node("ReduceSum", &format!("{ep}.sum"), &[&sequence, &axis1], vec![attr_int("keepdims", 0)]);
            return Ok(match pooling {
                Pooling::Sum => sum,
                Pooling::Mean => {
                    let n = cast(g, &format!("{ep}.length_f32"), &length, DataType::FLOAT);
                    let n = g.node("Unsqueeze", &format!("{ep}.length_column"), &[&n, &last], vec![]);
                    let one = g.scalar_f32(1.0);
                    let n = g.node("Max", &format!("{ep}.length_min1"), &[&n, &one], vec![]);
                    g.node("Div", &format!("{ep}.mean"), &[&sum, &n], vec![])
                }
            });
        }
        EncoderKind::SimpleAttention => {
            let q = query("simple_attention")?;
            let q = g.node("Unsqueeze", &format!("{ep}.query_column"), &[&q, &last], vec![]);
            let scores = g.node("MatMul", &format!("{ep}.dot"), &[&sequence, &q], vec![]);
            g.node("Squeeze", &format!("{ep}.scores"), &[&scores, &last], vec![])
        }
        EncoderKind::Din { mlp } => {
            let mut q = query("din_encoder")?;
            if group.query_width < group.width {
                let pads = g.ints(&[0, 0, 0, (group.width - group.query_width) as i64]);
                q = g.node("Pad", &format!("{ep}.query_padded"), &[&q, &pads], vec![]);
            }
            let hidden = attention_mlp(g, &ep, mlp, &q, &sequence, group.width)?;
            let head = seq_encoder_output(&spec.group_name, i);
            let w = g.param(&names::weight(&head))?;
            let b = g.param(&names::bias(&head))?;
            let scores = g.dense(DenseRole::linear(DenseKind::Attention), &head, &[&hidden, &w, &b])?;
            let steps = g.node(
                "Shape",
                &format!("{ep}.scores_shape"),
                &[&sequence],
                vec![attr_int("start", 0), attr_int("end", 2)],
            );
            g.node("Reshape", &format!("{ep}.scores"), &[&scores, &steps], vec![])
        }
    };
    let masked_score = g.scalar_f32(MASKED_SCORE);
    let masked = g.node("Where", &format!("{ep}.masked_scores"), &[&mask, &scores, &masked_score], vec![]);
    let weights = g.node("Softmax", &format!("{ep}.weights"), &[&masked], vec![attr_int("axis", -1)]);
    let weights = g.node("Unsqueeze", &format!("{ep}.weights_row"), &[&weights, &axis1], vec![]);
    let weighted = g.node("MatMul", &format!("{ep}.weighted"), &[&weights, &sequence], vec![]);
    Ok(g.node("Squeeze", &format!("{ep}.attention"), &[&weighted, &axis1], vec![]))
}
