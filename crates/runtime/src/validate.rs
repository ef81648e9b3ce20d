//! Checking raw inputs against a model's signature before ONNX Runtime sees them, so that a bad request gets an
//! error naming the input, row and value rather than an ONNX Runtime shape message (or, worse, a silent result).

use std::fmt;

use plec_spec::artifact::signature::{InputSignature, Signature, INT64_MISSING};
use plec_spec::ValueType;

use crate::tensor::{self, RawData, RawInputs, RawTensor};

/// At most this many bad values are listed in one error; the count says how many there were in all.
pub const MAX_LISTED_BAD_VALUES: usize = 10;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("missing input `{name}` ({expected}); the model's inputs are: {all}")]
    Missing { name: String, expected: String, all: String },
    #[error("unknown input `{name}`; the model's inputs are: {all}")]
    Unknown { name: String, all: String },
    #[error("input `{name}` is given twice")]
    Duplicate { name: String },
    #[error("input `{name}`: expected {expected} values, got {got}")]
    DType { name: String, expected: ValueTypeName, got: ValueTypeName },
    #[error("input `{name}`: expected shape {expected}, got {got}")]
    Shape { name: String, expected: String, got: String },
    #[error("input `{name}`: shape {shape} holds {expected} values, but {got} were given")]
    DataLength { name: String, shape: String, expected: usize, got: usize },
    #[error("input `{name}` has batch size {batch}, but `{first}` has {first_batch}: all inputs need the same rows")]
    BatchMismatch { name: String, batch: usize, first: String, first_batch: usize },
    #[error("{}", bad_values_message(.values, *.total))]
    BadValues { values: Vec<BadValue>, total: usize },
}

/// A `ValueType` printed the way signatures spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueTypeName(pub ValueType);

impl fmt::Display for ValueTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(dtype_name(self.0))
    }
}

pub fn dtype_name(dtype: ValueType) -> &'static str {
    match dtype {
        ValueType::Int64 => "int64",
        ValueType::Float => "float",
        ValueType::String => "string",
    }
}

/// One value that does not fit its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub input: String,
    pub row: usize,
    /// Position inside the row, for `[batch, n]` inputs.
    pub position: Option<usize>,
    /// The value as text.
    pub value: String,
    pub reason: String,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input `{}` row {}", self.input, self.row)?;
        if let Some(position) = self.position {
            write!(f, " position {position}")?;
        }
        write!(f, ": value {} {}", self.value, self.reason)
    }
}

fn bad_values_message(values: &[BadValue], total: usize) -> String {
    let mut text = format!("{total} bad input value{}:", if total == 1 { "" } else { "s" });
    for value in values {
        text.push_str(&format!("\n  {value}"));
    }
    if total > values.len() {
        text.push_str(&format!("\n  ... and {} more", total - values.len()));
    }
    text
}

/// A signature shape like `[batch, len]` or `[batch, 4]`, as text.
pub fn shape_text(shape: &[serde_json::Value]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| match d {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

fn concrete_shape_text(shape: &[usize]) -> String {
    format!("[{}]", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))
}

fn input_names(signature: &Signature) -> String {
    signature.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Checks names, types and shapes; returns the batch size. Values are not looked at (see [`find_bad_values`]).
pub fn check_structure(signature: &Signature, inputs: &RawInputs) -> Result<usize, InputError> {
    for (i, tensor) in inputs.tensors.iter().enumerate() {
        let name = &tensor.name;
        if !signature.inputs.iter().any(|s| &s.name == name) {
            return Err(InputError::Unknown { name: name.clone(), all: input_names(signature) });
        }
        if inputs.tensors[..i].iter().any(|t| &t.name == name) {
            return Err(InputError::Duplicate { name: name.clone() });
        }
    }
    let mut batch: Option<(usize, &str)> = None;
    for input in &signature.inputs {
        let Some(tensor) = inputs.get(&input.name) else {
            let expected = format!("{} {}", dtype_name(input.dtype), shape_text(&input.shape));
            return Err(InputError::Missing { name: input.name.clone(), expected, all: input_names(signature) });
        };
        check_one(input, tensor)?;
        if let Some(ids) = input.weight_of.as_deref().and_then(|ids| inputs.get(ids)) {
            if ids.shape != tensor.shape {
                return Err(InputError::Shape {
                    name: input.name.clone(),
                    expected: format!(
                        "{} (the shape of `{}`, whose weights it holds)",
                        concrete_shape_text(&ids.shape),
                        ids.name
                    ),
                    got: concrete_shape_text(&tensor.shape),
                });
            }
        }
        let rows = tensor.shape[0];
        match batch {
            None => batch = Some((rows, &input.name)),
            Some((first_batch, first)) if first_batch != rows => {
                return Err(InputError::BatchMismatch {
                    name: input.name.clone(),
                    batch: rows,
                    first: first.to_string(),
                    first_batch,
                });
            }
            Some(_) => {}
        }
    }
    Ok(batch.map_or(0, |(rows, _)| rows))
}

fn check_one(input: &InputSignature, tensor: &RawTensor) -> Result<(), InputError> {
    let name = &input.name;
    let got = tensor::dtype(&tensor.data);
    if got != input.dtype {
        return Err(InputError::DType {
            name: name.clone(),
            expected: ValueTypeName(input.dtype),
            got: ValueTypeName(got),
        });
    }
    let shape_error = || InputError::Shape {
        name: name.clone(),
        expected: shape_text(&input.shape),
        got: concrete_shape_text(&tensor.shape),
    };
    if tensor.shape.len() != input.shape.len() || tensor.shape.is_empty() {
        return Err(shape_error());
    }
    for (dim, expected) in tensor.shape.iter().zip(&input.shape).skip(1) {
        if let Some(fixed) = expected.as_u64() {
            if *dim as u64 != fixed {
                return Err(shape_error());
            }
        }
    }
    let expected_len = tensor.shape.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d));
    if expected_len != Some(tensor.data.len()) {
        return Err(InputError::DataLength {
            name: name.clone(),
            shape: concrete_shape_text(&tensor.shape),
            expected: expected_len.unwrap_or(usize::MAX),
            got: tensor.data.len(),
        });
    }
    Ok(())
}

/// Every value that does not fit its input (after [`check_structure`] passed), in input order then row order:
/// int64 ids outside `valid_range` (other than the missing value -1), strings ONNX Runtime cannot hold, weights
/// that are not finite numbers where their feature has an id.
pub fn find_bad_values(signature: &Signature, inputs: &RawInputs) -> Vec<BadValue> {
    let mut bad = Vec::new();
    for input in &signature.inputs {
        let Some(tensor) = inputs.get(&input.name) else { continue };
        let row_len: usize = tensor.shape.iter().skip(1).product();
        let multi = tensor.shape.len() > 1;
        let locate = |index: usize| {
            let row = index.checked_div(row_len).unwrap_or(0);
            (row, multi.then(|| index % row_len.max(1)))
        };
        if let (Some(sequence), RawData::String(texts)) = (&input.sequence, &tensor.data) {
            // The graph casts each kept position to its element type: a bad one would fail inside ONNX Runtime.
            for p in plec_data::bad_positions(input, sequence, texts) {
                bad.push(BadValue {
                    input: p.input,
                    row: p.row,
                    position: Some(p.position),
                    value: quoted_text(texts.get(p.row).map_or("", String::as_str)),
                    reason: format!("is invalid: {}", p.reason),
                });
            }
            continue;
        }
        match (&tensor.data, input.valid_range) {
            (RawData::Int64(values), Some([lo, hi])) => {
                for (index, &value) in values.iter().enumerate() {
                    if value != INT64_MISSING && !(lo..hi).contains(&value) {
                        let (row, position) = locate(index);
                        bad.push(BadValue {
                            input: input.name.clone(),
                            row,
                            position,
                            value: value.to_string(),
                            reason: format!("is outside the valid ids [{lo}, {hi}) (missing is {INT64_MISSING})"),
                        });
                    }
                }
            }
            (RawData::String(values), _) => {
                for (index, value) in values.iter().enumerate() {
                    if value.contains('\0') {
                        let (row, position) = locate(index);
                        bad.push(BadValue {
                            input: input.name.clone(),
                            row,
                            position,
                            value: format!("{value:?}"),
                            reason: "contains a NUL character, which ONNX Runtime strings cannot hold".to_string(),
                        });
                    }
                }
            }
            (RawData::Float(weights), _) => {
                let Some(ids) = input.weight_of.as_deref().and_then(|ids| inputs.get(ids)) else { continue };
                for (index, weight) in weights.iter().enumerate() {
                    if !weight.is_finite() && id_present(&ids.data, index) {
                        let (row, position) = locate(index);
                        bad.push(BadValue {
                            input: input.name.clone(),
                            row,
                            position,
                            value: weight.to_string(),
                            reason: format!("is not a finite weight, but `{}` has an id there", ids.name),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    bad.extend(unequal_sequences(signature, inputs));
    bad
}

/// A sequence's text for an error message, quoted, its middle elided past 60 characters.
fn quoted_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 60 {
        return format!("{text:?}");
    }
    let head: String = chars[..40].iter().collect();
    let tail: String = chars[chars.len() - 15..].iter().collect();
    format!("{head:?}...{tail:?} ({} characters)", chars.len())
}

/// Rows where the sequences of one group differ in length (the graph lines their positions up): each such input
/// against the group's first sequence input.
fn unequal_sequences(signature: &Signature, inputs: &RawInputs) -> Vec<BadValue> {
    let mut bad = Vec::new();
    // (group, first input, its counts)
    let mut firsts: Vec<(String, String, Vec<usize>)> = Vec::new();
    for input in &signature.inputs {
        let (Some(sequence), Some(tensor)) = (&input.sequence, inputs.get(&input.name)) else { continue };
        let RawData::String(texts) = &tensor.data else { continue };
        let counts = plec_data::position_counts(sequence, texts);
        for group in &sequence.groups {
            match firsts.iter().find(|(g, _, _)| g == group) {
                None => firsts.push((group.clone(), input.name.clone(), counts.clone())),
                Some((_, first, first_counts)) => {
                    for (row, (&n, &m)) in counts.iter().zip(first_counts).enumerate() {
                        if n != m {
                            bad.push(BadValue {
                                input: input.name.clone(),
                                row,
                                position: None,
                                value: quoted_text(texts.get(row).map_or("", String::as_str)),
                                reason: format!(
                                    "has {n} positions, but `{first}` has {m}: the sequences of group `{group}` need \
                                     equally many"
                                ),
                            });
                        }
                    }
                }
            }
        }
    }
    bad
}

/// Whether element `index` of an ids tensor holds an id (not the missing value / pad).
fn id_present(ids: &RawData, index: usize) -> bool {
    match ids {
        RawData::Int64(values) => values.get(index).is_some_and(|&v| v != INT64_MISSING),
        RawData::String(values) => values.get(index).is_some_and(|v| !v.is_empty()),
        RawData::Float(values) => values.get(index).is_some_and(|v| !v.is_nan()),
    }
}

/// The error for a non-empty list of bad values.
pub fn bad_values_error(mut values: Vec<BadValue>) -> InputError {
    let total = values.len();
    values.truncate(MAX_LISTED_BAD_VALUES);
    InputError::BadValues { values, total }
}

/// Structure and values: the batch size, or the first problem (all bad values, listed).
pub fn check(signature: &Signature, inputs: &RawInputs) -> Result<usize, InputError> {
    let batch = check_structure(signature, inputs)?;
    let bad = find_bad_values(signature, inputs);
    if bad.is_empty() {
        Ok(batch)
    } else {
        Err(bad_values_error(bad))
    }
}
