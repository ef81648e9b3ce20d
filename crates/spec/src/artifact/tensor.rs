//! Named, typed, row-major tensors: the compiled graph's raw inputs and its outputs, as exchanged between the data
//! path, the golden sets and the runtime (no ONNX or ONNX Runtime types).

/// One graph input or output, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub name: String,
    /// `[batch]`, `[batch, len]` (multi-valued ids, padded with the missing value) or `[batch, width]`.
    pub shape: Vec<usize>,
    pub data: RawData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RawData {
    Int64(Vec<i64>),
    Float(Vec<f32>),
    String(Vec<String>),
}

impl RawData {
    pub fn len(&self) -> usize {
        match self {
            RawData::Int64(v) => v.len(),
            RawData::Float(v) => v.len(),
            RawData::String(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            RawData::Int64(_) => "int64",
            RawData::Float(_) => "float",
            RawData::String(_) => "string",
        }
    }
}

impl RawTensor {
    /// Equal names, shapes and values, floats compared bit for bit (so NaN, the missing value, equals itself).
    pub fn same_bits(&self, other: &RawTensor) -> bool {
        self.name == other.name
            && self.shape == other.shape
            && match (&self.data, &other.data) {
                (RawData::Float(a), RawData::Float(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
                }
                (a, b) => a == b,
            }
    }
}
