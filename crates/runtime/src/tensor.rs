//! Named, typed tensors going into and coming out of a model, independent of ONNX Runtime's types.

use plec_spec::ValueType;

pub use plec_spec::artifact::tensor::{RawData, RawTensor};

/// The element type of raw data.
pub fn dtype(data: &RawData) -> ValueType {
    match data {
        RawData::Int64(_) => ValueType::Int64,
        RawData::Float(_) => ValueType::Float,
        RawData::String(_) => ValueType::String,
    }
}

/// An int64 input tensor (`shape` `[batch]` or `[batch, n]`, row-major values).
pub fn int64(name: &str, shape: Vec<usize>, values: Vec<i64>) -> RawTensor {
    RawTensor { name: name.to_string(), shape, data: RawData::Int64(values) }
}

/// A float input tensor.
pub fn float(name: &str, shape: Vec<usize>, values: Vec<f32>) -> RawTensor {
    RawTensor { name: name.to_string(), shape, data: RawData::Float(values) }
}

/// A string input tensor.
pub fn string(name: &str, shape: Vec<usize>, values: Vec<String>) -> RawTensor {
    RawTensor { name: name.to_string(), shape, data: RawData::String(values) }
}

/// Rows `start..end` (along the batch axis) of a tensor whose data fits its shape (see `validate`); rows past the
/// end are left out.
pub fn rows(tensor: &RawTensor, start: usize, end: usize) -> RawTensor {
    let row_len: usize = tensor.shape.iter().skip(1).product();
    let clamp = |len: usize| (start * row_len).min(len)..(end * row_len).min(len);
    let data = match &tensor.data {
        RawData::Int64(v) => RawData::Int64(v[clamp(v.len())].to_vec()),
        RawData::Float(v) => RawData::Float(v[clamp(v.len())].to_vec()),
        RawData::String(v) => RawData::String(v[clamp(v.len())].to_vec()),
    };
    let mut shape = tensor.shape.clone();
    if let Some(batch) = shape.first_mut() {
        *batch = data.len().checked_div(row_len).unwrap_or(end.saturating_sub(start));
    }
    RawTensor { name: tensor.name.clone(), shape, data }
}

/// A batch of named raw input tensors (plec-data builds them from CSV/Parquet columns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawInputs {
    pub tensors: Vec<RawTensor>,
}

impl From<Vec<RawTensor>> for RawInputs {
    fn from(tensors: Vec<RawTensor>) -> Self {
        RawInputs { tensors }
    }
}

impl RawInputs {
    pub fn new() -> Self {
        RawInputs::default()
    }

    pub fn insert(&mut self, tensor: RawTensor) -> &mut Self {
        self.tensors.push(tensor);
        self
    }

    pub fn with(mut self, tensor: RawTensor) -> Self {
        self.insert(tensor);
        self
    }

    pub fn get(&self, name: &str) -> Option<&RawTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Rows `start..end` of every tensor.
    pub fn rows(&self, start: usize, end: usize) -> RawInputs {
        RawInputs { tensors: self.tensors.iter().map(|t| rows(t, start, end)).collect() }
    }
}

/// One float output tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl OutputTensor {
    /// Values of one batch row (`[batch]` outputs give one value, `[batch, C]` give C).
    pub fn row(&self, row: usize) -> &[f32] {
        let width: usize = self.shape.iter().skip(1).product();
        &self.values[row * width..(row + 1) * width]
    }
}

/// A model's outputs, in the signature's output order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    pub tensors: Vec<(String, OutputTensor)>,
}

impl Outputs {
    pub fn get(&self, name: &str) -> Option<&OutputTensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// As plec-spec artifact tensors (float data), e.g. for `plec_spec::artifact::golden::compare`.
    pub fn to_raw_tensors(&self) -> Vec<RawTensor> {
        self.tensors
            .iter()
            .map(|(name, t)| RawTensor {
                name: name.clone(),
                shape: t.shape.clone(),
                data: RawData::Float(t.values.clone()),
            })
            .collect()
    }

    pub fn batch_size(&self) -> usize {
        self.tensors.first().and_then(|(_, t)| t.shape.first().copied()).unwrap_or(0)
    }

    /// Appends another batch's outputs (same names, same order) along the batch axis.
    pub fn append(&mut self, other: Outputs) {
        if self.tensors.is_empty() {
            *self = other;
            return;
        }
        for ((_, mine), (_, theirs)) in self.tensors.iter_mut().zip(other.tensors) {
            if let (Some(a), Some(b)) = (mine.shape.first_mut(), theirs.shape.first()) {
                *a += b;
            }
            mine.values.extend(theirs.values);
        }
    }
}
