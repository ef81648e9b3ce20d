//! `fg_mode: FG_NONE`: every column holds feature generation's output, read as TorchEasyRec's
//! `_parse_fg_encoded_{sparse,dense,sequence_sparse,sequence_dense}_feature_impl` (`tzrec/features/feature.py`)
//! read it: an id is its table row whatever transform the config names, multi-values are joined by
//! `data_config.fg_encoded_multival_sep`, a missing value takes the feature's `fg_encoded_default_value` (never
//! `default_value`), and a sequence keeps every position (`sequence_length` bounds feature generation only).

use plec_spec::{MultiValue, Transform};

use super::defined::DefinedKind;
use super::validator::Validator;

/// The fields of one feature config that FG_NONE reads instead of the transform's own.
pub(super) struct EncodedFields<'a> {
    /// `default_value` is set (it has no effect under FG_NONE: worth a warning).
    pub has_default_value: bool,
    /// `fg_encoded_default_value`, where set and not empty (TorchEasyRec reads "" as unset).
    pub fg_encoded_default_value: Option<&'a str>,
    /// The feature is one position of a sequence.
    pub in_sequence: bool,
}

/// `kind` as FG_NONE reads it; `separator` is `data_config.fg_encoded_multival_sep`.
pub(super) fn encoded(
    v: &mut Validator,
    kind: DefinedKind,
    fields: &EncodedFields<'_>,
    separator: &str,
    path: &str,
) -> DefinedKind {
    if fields.has_default_value {
        v.warn(
            &format!("{path}.default_value"),
            "has no effect under fg_mode FG_NONE: TorchEasyRec (and plec) fill a missing value from \
             fg_encoded_default_value",
        );
    }
    let default_path = format!("{path}.fg_encoded_default_value");
    let default = fields.fg_encoded_default_value;
    if default.is_some() && fields.in_sequence {
        v.error(&default_path, "not supported yet: fg_encoded_default_value on a sequence feature");
        return DefinedKind::Invalid;
    }
    if default.is_some_and(|d| d.contains(separator)) {
        v.error(
            &default_path,
            "not supported yet: a default of several values (joined by fg_encoded_multival_sep); give one value",
        );
        return DefinedKind::Invalid;
    }
    match kind {
        DefinedKind::Embedding { table, dim, transform, multi, .. } => {
            let rows = transform.rows();
            // `num_buckets` already reads the id as its row; every other transform is feature generation's.
            let transform = match transform {
                Transform::NumBuckets(n) => Transform::NumBuckets(n),
                other => Transform::FgEncoded(other.rows()),
            };
            let weighted = multi.as_ref().is_some_and(|m| m.weighted);
            if weighted && default.is_some() {
                v.error(
                    &default_path,
                    "not supported yet: fg_encoded_default_value on a weighted id_feature (a missing value is an \
                     empty bag)",
                );
            }
            if weighted && separator.contains(':') {
                v.error(
                    "data_config.fg_encoded_multival_sep",
                    "must not contain `:` with a weighted id_feature (its values are `id:weight` pairs)",
                );
            }
            let default_value = default.map(|d| d.trim().to_string());
            if let Some(d) = &default_value {
                match d.parse::<i64>() {
                    Ok(row) if row >= 0 && (row as u64) < rows => {}
                    Ok(row) => v.error(&default_path, format!("row {row} is outside the table's 0..{rows}")),
                    Err(_) => v.error(&default_path, format!("expected an integer table row, found `{d}`")),
                }
            }
            let multi = multi.map(|m| MultiValue { separator: separator.to_string(), ..m });
            DefinedKind::Embedding { table, dim, transform, multi, default_value }
        }
        DefinedKind::Dense { value_dim, .. } => {
            if value_dim > 1 && !fields.in_sequence {
                v.error(
                    &format!("{path}.value_dim"),
                    format!(
                        "not supported yet: value_dim {value_dim} on a dense raw_feature under fg_mode FG_NONE \
                         (TorchEasyRec joins its values by fg_encoded_multival_sep)"
                    ),
                );
            }
            // Without a default TorchEasyRec's parser leaves NaN (a NaN score); plec fills 0 (docs/config.md).
            let default_value = match default.map(|d| d.trim().parse::<f32>()) {
                None => 0.0,
                Some(Ok(x)) => x,
                Some(Err(_)) => {
                    v.error(&default_path, format!("expected a number, found `{}`", default.unwrap_or_default()));
                    0.0
                }
            };
            DefinedKind::Dense { value_dim, default_value }
        }
        other => other,
    }
}
