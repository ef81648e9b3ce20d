//! One raw feature's values -> its part of the group input (docs/semantics.md sections 1 and 2), in ONNX ops that
//! agree with `plec_spec::transform` exactly; the transform helpers here serve the sequence features too.
//!
//! Every embedding feature computes a table row (`idx`, int64) and, where some values give no row, a validity
//! mask; it then gathers `table[where(valid, idx, 0)]` and multiplies by the mask, so invalid values are zero
//! vectors:
//! - `num_buckets`, and `fg_encoded` (`fg_mode: FG_NONE`, whatever the config's transform: the value is the row):
//!   valid = 0 <= id < n (the missing id -1 and out-of-range ids give a zero vector);
//! - `hash_bucket_size`: MurmurHash3 (positive=1, seed=0) -> int64 -> mod n; the missing "" gives a zero vector;
//! - `vocab_list`: LabelEncoder, `v_i` -> i + 2, out of vocabulary -> 1, missing "" -> 0 (always valid);
//! - `vocab_dict`: LabelEncoder with default -1, masked;
//! - `boundaries`: row = count of boundaries <= x; NaN (missing) gives a zero vector.
//!
//! A `default_value` replaces the missing value (-1, "" or NaN) before the transform. Multi-valued inputs are
//! `[batch, len]`, padded with the missing value: pads and invalid values are masked out, the rest pooled (sum, or
//! mean over the present values, at least 1); a row without any present value is a zero vector, or, with a
//! `default_value`, the default's embedding (as if the row held that single value).
//! A weighted feature (`id:weight` pairs) takes its weights as a second input `<feature>__weight`, `[batch, len]`
//! float, element for element with the ids; each embedding is scaled by its weight before the sum, and a NaN
//! weight (the float pad) counts as 0.
//! Dense features: NaN -> `default_value`, `[batch]` becomes `[batch, 1]`.

use onnx_protobuf::tensor_proto::DataType;
use plec_spec::artifact::signature::{weight_input, INT64_MISSING};
use plec_spec::transform::Lookup;
use plec_spec::{Encoding, Feature, ModelSpec, MultiValue, Pooling, Transform, ValueType};

use super::graph::{attr_int, attr_ints, attr_strings, f32_tensor, string_tensor, Dim, Graph, ML_DOMAIN, MS_DOMAIN};
use crate::error::CompileError;

pub(crate) fn elem_type(t: ValueType) -> DataType {
    match t {
        ValueType::Int64 => DataType::INT64,
        ValueType::String => DataType::STRING,
        ValueType::Float => DataType::FLOAT,
    }
}

/// One feature's `[batch, width]` value, its nodes named under `p`; declares its graph input(s) unless another
/// lowering of the same feature (a sequence group's query) already did.
pub(crate) fn lower_feature(
    g: &mut Graph,
    spec: &ModelSpec,
    feature: &Feature,
    p: &str,
) -> Result<String, CompileError> {
    let name = feature.name.as_str();
    let declare = !g.has_input(name);
    let dtype = elem_type(feature.value_type());
    match &feature.encoding {
        Encoding::Dense { value_dim, default_value } => {
            let wide = *value_dim > 1;
            let dims: Vec<Dim> =
                if wide { vec![Dim::Named("batch"), Dim::Fixed(*value_dim)] } else { vec![Dim::Named("batch")] };
            if declare {
                g.add_input(name, dtype, &dims);
            }
            let filled = fill_nan(g, p, name, *default_value);
            if wide {
                Ok(filled)
            } else {
                let axes = g.ints(&[-1]);
                Ok(g.node("Unsqueeze", &format!("{p}.unsqueeze"), &[&filled, &axes], vec![]))
            }
        }
        Encoding::Embedding { table, transform, multi, default_value } => {
            // Each multi-valued feature pads to its own length: a shared `len` would let ONNX Runtime reuse one
            // feature's buffers for another's. A weighted feature's weights share its ids' length.
            let dims: Vec<Dim> = if multi.is_some() {
                vec![Dim::Named("batch"), Dim::Own(format!("{name}.len"))]
            } else {
                vec![Dim::Named("batch")]
            };
            if declare {
                g.add_input(name, dtype, &dims);
            }
            if declare && multi.as_ref().is_some_and(|m| m.weighted) {
                g.add_input(&weight_input(name), DataType::FLOAT, &dims);
            }
            // `ModelSpec::check` guarantees the index and that the table is [transform rows, feature width].
            let table = &spec.tables[*table];
            let table_name = table.param_name();
            if !g.initializers.contains_key(&table_name) {
                g.table(&table_name)?;
            }
            match multi {
                None => single(g, p, name, transform, default_value.as_deref(), &table_name),
                Some(multi) => pooled(g, p, name, transform, multi, default_value.as_deref(), &table_name),
            }
        }
    }
}

/// `where(isnan(x), default, x)`.
fn fill_nan(g: &mut Graph, prefix: &str, x: &str, default: f32) -> String {
    let nan = g.node("IsNaN", &format!("{prefix}.isnan"), &[x], vec![]);
    let d = g.scalar_f32(default);
    g.node("Where", &format!("{prefix}.fill"), &[&nan, &d, x], vec![])
}

/// Row and validity (None: always valid) of every element of `x`, missing values included.
pub(crate) struct Rows {
    pub idx: String,
    pub valid: Option<String>,
}

fn parse_default(feature: &str, transform: &Transform, text: &str) -> Result<(), CompileError> {
    match transform.lookup_text(text) {
        Lookup::Unparsable => Err(CompileError::Feature {
            feature: feature.into(),
            message: format!("default_value `{text}` is not a valid {} value", transform.kind_name()),
        }),
        _ => Ok(()),
    }
}

/// Missing mask of a string input: LabelEncoder("" -> 1, else 0) as bool (string Equal needs opset 19).
pub(crate) fn string_missing(g: &mut Graph, p: &str, x: &str) -> String {
    let attrs =
        vec![attr_strings("keys_strings", &[""]), attr_ints("values_int64s", &[1]), attr_int("default_int64", 0)];
    let flag = g.node_in(ML_DOMAIN, "LabelEncoder", &format!("{p}.is_missing_i64"), &[x], attrs);
    g.node("Cast", &format!("{p}.is_missing"), &[&flag], vec![attr_int("to", DataType::BOOL as i64)])
}

/// Replaces the missing value of `x` by `default` (compile-time text) before the transform.
fn with_default(g: &mut Graph, p: &str, x: &str, transform: &Transform, default: &str) -> Result<String, CompileError> {
    Ok(match transform.value_type() {
        ValueType::Int64 => {
            let value: i64 = default.trim().parse().map_err(|_| CompileError::Feature {
                feature: p.into(),
                message: format!("default_value `{default}` is not an integer"),
            })?;
            let missing = g.scalar_i64(INT64_MISSING);
            let is_missing = g.node("Equal", &format!("{p}.is_missing"), &[x, &missing], vec![]);
            let d = g.scalar_i64(value);
            g.node("Where", &format!("{p}.default"), &[&is_missing, &d, x], vec![])
        }
        ValueType::String => {
            let is_missing = string_missing(g, p, x);
            let d = g.constant(&format!("{p}.default_value"), string_tensor(&[], &[default]));
            g.node("Where", &format!("{p}.default"), &[&is_missing, &d, x], vec![])
        }
        ValueType::Float => {
            let value: f32 = default.trim().parse().map_err(|_| CompileError::Feature {
                feature: p.into(),
                message: format!("default_value `{default}` is not a number"),
            })?;
            let nan = g.node("IsNaN", &format!("{p}.is_missing"), &[x], vec![]);
            let d = g.scalar_f32(value);
            g.node("Where", &format!("{p}.default"), &[&nan, &d, x], vec![])
        }
    })
}

/// Element-wise rows of `x` (already default-filled where applicable); with `mask_missing`, missing values are
/// masked out (transforms whose range check already excludes them ignore it).
pub(crate) fn rows(g: &mut Graph, p: &str, x: &str, transform: &Transform, mask_missing: bool) -> Rows {
    match transform {
        Transform::NumBuckets(n) | Transform::FgEncoded(n) => {
            // Missing (-1) is out of range as well: one mask covers both.
            let zero = g.scalar_i64(0);
            let n = g.scalar_i64(*n as i64);
            let ge = g.node("GreaterOrEqual", &format!("{p}.ge0"), &[x, &zero], vec![]);
            let lt = g.node("Less", &format!("{p}.lt_n"), &[x, &n], vec![]);
            let valid = g.node("And", &format!("{p}.valid"), &[&ge, &lt], vec![]);
            let idx = g.node("Where", &format!("{p}.row"), &[&valid, x, &zero], vec![]);
            Rows { idx, valid: Some(valid) }
        }
        Transform::HashBucket(n) => {
            let valid = if mask_missing {
                let missing = string_missing(g, p, x);
                Some(g.node("Not", &format!("{p}.valid"), &[&missing], vec![]))
            } else {
                None
            };
            let hash = g.node_in(
                MS_DOMAIN,
                "MurmurHash3",
                &format!("{p}.murmur3"),
                &[x],
                vec![attr_int("positive", 1), attr_int("seed", 0)],
            );
            let wide = g.node("Cast", &format!("{p}.hash"), &[&hash], vec![attr_int("to", DataType::INT64 as i64)]);
            let n = g.scalar_i64(*n as i64);
            let idx = g.node("Mod", &format!("{p}.row"), &[&wide, &n], vec![]);
            Rows { idx, valid }
        }
        Transform::VocabList(vocab) => {
            // First occurrence wins, as in `Transform::lookup_text`; "" is the missing value (row 0).
            let mut keys: Vec<&str> = Vec::new();
            let mut values = Vec::new();
            for (i, v) in vocab.iter().enumerate() {
                if !keys.contains(&v.as_str()) {
                    keys.push(v);
                    values.push(i as i64 + 2);
                }
            }
            if !keys.contains(&"") {
                keys.push("");
                values.push(0);
            }
            let attrs = vec![
                attr_strings("keys_strings", &keys),
                attr_ints("values_int64s", &values),
                attr_int("default_int64", 1),
            ];
            let idx = g.node_in(ML_DOMAIN, "LabelEncoder", &format!("{p}.row"), &[x], attrs);
            let valid = if mask_missing {
                let missing = string_missing(g, p, x);
                Some(g.node("Not", &format!("{p}.valid"), &[&missing], vec![]))
            } else {
                None
            };
            Rows { idx, valid }
        }
        Transform::VocabDict(map) => {
            let keys: Vec<&str> = map.iter().map(|(k, _)| k.as_str()).filter(|k| !k.is_empty()).collect();
            let values: Vec<i64> = map.iter().filter(|(k, _)| !k.is_empty()).map(|(_, v)| *v as i64).collect();
            let attrs = vec![
                attr_strings("keys_strings", &keys),
                attr_ints("values_int64s", &values),
                attr_int("default_int64", -1),
            ];
            let mapped = g.node_in(ML_DOMAIN, "LabelEncoder", &format!("{p}.lookup"), &[x], attrs);
            let zero = g.scalar_i64(0);
            let valid = g.node("GreaterOrEqual", &format!("{p}.valid"), &[&mapped, &zero], vec![]);
            let idx = g.node("Where", &format!("{p}.row"), &[&valid, &mapped, &zero], vec![]);
            Rows { idx, valid: Some(valid) }
        }
        Transform::Boundaries(boundaries) => {
            let b = g.constant(&format!("{p}.boundaries"), f32_tensor(&[boundaries.len()], boundaries));
            let axes = g.ints(&[-1]);
            let x1 = g.node("Unsqueeze", &format!("{p}.unsqueeze"), &[x, &axes], vec![]);
            let ge = g.node("GreaterOrEqual", &format!("{p}.ge"), &[&x1, &b], vec![]);
            let count = g.node("Cast", &format!("{p}.ge_i64"), &[&ge], vec![attr_int("to", DataType::INT64 as i64)]);
            let idx = g.node("ReduceSum", &format!("{p}.row"), &[&count, &axes], vec![attr_int("keepdims", 0)]);
            let valid = if mask_missing {
                let nan = g.node("IsNaN", &format!("{p}.isnan"), &[x], vec![]);
                Some(g.node("Not", &format!("{p}.valid"), &[&nan], vec![]))
            } else {
                None
            };
            Rows { idx, valid }
        }
    }
}

/// Gathers rows and zeroes invalid ones; returns the embeddings and the float mask (if any).
pub(crate) fn gather(g: &mut Graph, p: &str, table: &str, rows: &Rows) -> (String, Option<String>) {
    let emb = g.lookup(&format!("{p}.gather"), table, &rows.idx);
    match &rows.valid {
        None => (emb, None),
        Some(valid) => {
            let mask = g.node("Cast", &format!("{p}.mask"), &[valid], vec![attr_int("to", DataType::FLOAT as i64)]);
            let axes = g.ints(&[-1]);
            let mask1 = g.node("Unsqueeze", &format!("{p}.mask_unsqueeze"), &[&mask, &axes], vec![]);
            (g.node("Mul", &format!("{p}.masked"), &[&emb, &mask1], vec![]), Some(mask))
        }
    }
}

fn single(
    g: &mut Graph,
    p: &str,
    name: &str,
    transform: &Transform,
    default: Option<&str>,
    table: &str,
) -> Result<String, CompileError> {
    let x = match default {
        Some(d) => {
            parse_default(name, transform, d)?;
            with_default(g, p, name, transform, d)?
        }
        None => name.to_string(),
    };
    // A missing single vocab_list value is row 0, not an empty bag.
    let mask_missing = default.is_none() && !matches!(transform, Transform::VocabList(_));
    let r = rows(g, p, &x, transform, mask_missing);
    Ok(gather(g, p, table, &r).0)
}

fn pooled(
    g: &mut Graph,
    p: &str,
    name: &str,
    transform: &Transform,
    multi: &MultiValue,
    default: Option<&str>,
    table: &str,
) -> Result<String, CompileError> {
    // Pads (missing values) never contribute, whatever the transform does with them.
    let mut r = rows(g, p, name, transform, false);
    let present = match transform.value_type() {
        ValueType::Int64 => {
            let missing = g.scalar_i64(INT64_MISSING);
            let eq = g.node("Equal", &format!("{p}.is_pad"), &[name, &missing], vec![]);
            g.node("Not", &format!("{p}.present"), &[&eq], vec![])
        }
        ValueType::String => {
            let missing = string_missing(g, &format!("{p}.pad"), name);
            g.node("Not", &format!("{p}.present"), &[&missing], vec![])
        }
        ValueType::Float => {
            let nan = g.node("IsNaN", &format!("{p}.is_pad"), &[name], vec![]);
            g.node("Not", &format!("{p}.present"), &[&nan], vec![])
        }
    };
    r.valid = Some(match r.valid.take() {
        Some(valid) => g.node("And", &format!("{p}.keep"), &[&valid, &present], vec![]),
        None => present.clone(),
    });
    let (mut masked, mask) = gather(g, p, table, &r);
    let mask = mask.ok_or_else(|| CompileError::Internal("pooled feature without a mask".into()))?;
    if multi.weighted {
        // Pads and absent ids are already zero vectors; a NaN weight (the float pad) must not turn them into NaN.
        let weights = weight_input(name);
        let nan = g.node("IsNaN", &format!("{p}.weight_is_pad"), &[&weights], vec![]);
        let zero = g.scalar_f32(0.0);
        let w = g.node("Where", &format!("{p}.weights"), &[&nan, &zero, &weights], vec![]);
        let axes = g.ints(&[-1]);
        let w1 = g.node("Unsqueeze", &format!("{p}.weight_unsqueeze"), &[&w, &axes], vec![]);
        masked = g.node("Mul", &format!("{p}.weighted"), &[&masked, &w1], vec![]);
    }
    let axis1 = g.ints(&[1]);
    let sum = g.node("ReduceSum", &format!("{p}.sum"), &[&masked, &axis1], vec![attr_int("keepdims", 0)]);
    let count = g.node("ReduceSum", &format!("{p}.count"), &[&mask, &axis1], vec![attr_int("keepdims", 1)]);
    let mut pooled = match multi.pooling {
        Pooling::Sum => sum,
        Pooling::Mean => {
            let one = g.scalar_f32(1.0);
            let denom = g.node("Max", &format!("{p}.count_min1"), &[&count, &one], vec![]);
            g.node("Div", &format!("{p}.mean"), &[&sum, &denom], vec![])
        }
    };
    // A row without any value is missing: the default's row, or vocab_list's row 0 (weighted bags: nothing).
    let fallback = match default {
        Some(d) => {
            parse_default(name, transform, d)?;
            transform.lookup_text(d)
        }
        None => transform.lookup_missing(),
    };
    if let (Lookup::Row(row), false) = (fallback, multi.weighted) {
        let presentf =
            g.node("Cast", &format!("{p}.present_f32"), &[&present], vec![attr_int("to", DataType::FLOAT as i64)]);
        let values = g.node("ReduceSum", &format!("{p}.values"), &[&presentf, &axis1], vec![attr_int("keepdims", 1)]);
        let zero = g.scalar_f32(0.0);
        let empty = g.node("Equal", &format!("{p}.empty"), &[&values, &zero], vec![]);
        let emptyf = g.node("Cast", &format!("{p}.empty_f32"), &[&empty], vec![attr_int("to", DataType::FLOAT as i64)]);
        let idx = g.ints(&[row as i64]);
        let drow = g.lookup(&format!("{p}.default_row"), table, &idx);
        let fill = g.node("Mul", &format!("{p}.default_fill"), &[&emptyf, &drow], vec![]);
        pooled = g.node("Add", &format!("{p}.pooled"), &[&pooled, &fill], vec![]);
    }
    Ok(pooled)
}
