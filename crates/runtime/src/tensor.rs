//! Named, typed tensors going into and coming out of a model, independent of ONNX Runtime's types.

use plec_config::spec::ValueType;

/// The elements of a raw input tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Int64(Vec<i64>),
    Float(Vec<f32>),
    String(Vec<String>),
}

impl TensorData {
    pub fn dtype(&self) -> ValueType {
        match self {
            TensorData::Int64(_) => ValueType::Int64,
            TensorData::Float(_) => ValueType::Float,
            TensorData::String(_) => ValueType::String,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            TensorData::Int64(v) => v.len(),
            TensorData::Float(v) => v.len(),
            TensorData::String(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One input tensor: raw feature values as callers supply them (ids, strings, floats), shape `[batch]` or
/// `[batch, n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl RawTensor {
    pub fn int64(shape: Vec<usize>, values: Vec<i64>) -> Self {
        RawTensor { shape, data: TensorData::Int64(values) }
    }

    pub fn float(shape: Vec<usize>, values: Vec<f32>) -> Self {
        RawTensor { shape, data: TensorData::Float(values) }
    }

    pub fn string(shape: Vec<usize>, values: Vec<String>) -> Self {
        RawTensor { shape, data: TensorData::String(values) }
    }

    /// Rows `start..end` (along the batch axis) as a new tensor.
    pub fn rows(&self, start: usize, end: usize) -> RawTensor {
        let row_len: usize = self.shape.iter().skip(1).product();
        let (lo, hi) = (start * row_len, end * row_len);
        let data = match &self.data {
            TensorData::Int64(v) => TensorData::Int64(v[lo..hi].to_vec()),
            TensorData::Float(v) => TensorData::Float(v[lo..hi].to_vec()),
            TensorData::String(v) => TensorData::String(v[lo..hi].to_vec()),
        };
        let mut shape = self.shape.clone();
        if let Some(batch) = shape.first_mut() {
            *batch = end - start;
        }
        RawTensor { shape, data }
    }
}

/// A batch of named input tensors. Names are kept in insertion order; a name given twice is an input error at run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawInputs {
    pub tensors: Vec<(String, RawTensor)>,
}

impl RawInputs {
    pub fn new() -> Self {
        RawInputs::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, tensor: RawTensor) -> &mut Self {
        self.tensors.push((name.into(), tensor));
        self
    }

    pub fn with(mut self, name: impl Into<String>, tensor: RawTensor) -> Self {
        self.insert(name, tensor);
        self
    }

    pub fn get(&self, name: &str) -> Option<&RawTensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Rows `start..end` of every tensor.
    pub fn rows(&self, start: usize, end: usize) -> RawInputs {
        RawInputs { tensors: self.tensors.iter().map(|(n, t)| (n.clone(), t.rows(start, end))).collect() }
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
