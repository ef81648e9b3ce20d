//! The feature signature: what a compiled model's callers feed and get back. The compiler writes it as JSON into
//! the ONNX model's `metadata_props` (key `plec.signature`); the runtime and other languages read it from there.

use serde::{Deserialize, Serialize};

use crate::spec::{Encoding, ModelSpec, OutputKind, Pooling, Transform, ValueType};

/// Metadata key under which the signature JSON is stored.
pub const SIGNATURE_KEY: &str = "plec.signature";
/// Bumped whenever the signature's meaning changes.
pub const SIGNATURE_VERSION: u32 = 1;

/// Missing value / pad of int64 inputs: ids are never negative.
pub const INT64_MISSING: i64 = -1;
/// Missing value / pad of string inputs.
pub const STRING_MISSING: &str = "";
/// Suffix of the float input that carries a weighted id feature's weights (`<feature>__weight`).
pub const WEIGHT_INPUT_SUFFIX: &str = "__weight";

/// The graph input holding the weights of the weighted id feature `feature`.
pub fn weight_input(feature: &str) -> String {
    format!("{feature}{WEIGHT_INPUT_SUFFIX}")
}
// Float inputs use NaN as their missing value / pad.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub version: u32,
    pub inputs: Vec<InputSignature>,
    pub outputs: Vec<OutputSignature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSignature {
    /// The feature name, which is also the graph input's name.
    pub name: String,
    pub dtype: ValueType,
    /// `["batch"]`, `["batch", "len"]` for multi-valued ids, or `["batch", value_dim]` for wide dense values.
    pub shape: Vec<serde_json::Value>,
    /// The value meaning "missing" (and the pad of multi-valued inputs): `-1`, `""` or `"NaN"`.
    pub missing: serde_json::Value,
    /// For multi-valued ids: the separator joining values in text files, and the pooling.
    pub separator: Option<String>,
    pub pooling: Option<Pooling>,
    /// The in-graph transform (absent for dense values).
    pub transform: Option<Transform>,
    /// Replaces a missing value, if set.
    pub default_value: Option<String>,
    /// Valid integer ids, `[lo, hi)`; other values (but `missing`) are bad input.
    pub valid_range: Option<[i64; 2]>,
    /// On the ids of a weighted feature: the input holding their weights, element for element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// On the weights of a weighted feature: the feature (and ids input) they weigh. In text files both come from
    /// the feature's one column of `id:weight` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSignature {
    pub name: String,
    pub tower: String,
    pub kind: OutputKind,
    /// `["batch"]` or `["batch", num_class]`.
    pub shape: Vec<serde_json::Value>,
}

impl Signature {
    /// The data columns a caller's file needs: one per input, except weights, which come from their feature's
    /// column of `id:weight` pairs.
    pub fn columns(&self) -> Vec<String> {
        self.inputs.iter().filter(|i| i.weight_of.is_none()).map(|i| i.name.clone()).collect()
    }
}

fn missing_of(dtype: ValueType) -> serde_json::Value {
    match dtype {
        ValueType::Int64 => INT64_MISSING.into(),
        ValueType::String => STRING_MISSING.into(),
        ValueType::Float => "NaN".into(),
    }
}

impl ModelSpec {
    pub fn signature(&self) -> Signature {
        let inputs = self
            .features
            .iter()
            .flat_map(|feature| {
                let dtype = feature.value_type();
                let mut input = InputSignature {
                    name: feature.name.clone(),
                    dtype,
                    shape: vec!["batch".into()],
                    missing: missing_of(dtype),
                    separator: None,
                    pooling: None,
                    transform: None,
                    default_value: None,
                    valid_range: None,
                    weights: None,
                    weight_of: None,
                };
                match &feature.encoding {
                    Encoding::Embedding { transform, multi, default_value, .. } => {
                        if let Some(multi) = multi {
                            input.shape.push("len".into());
                            input.separator = Some(multi.separator.clone());
                            input.pooling = Some(multi.pooling);
                        }
                        if let Transform::NumBuckets(n) = transform {
                            input.valid_range = Some([0, *n as i64]);
                        }
                        input.transform = Some(transform.clone());
                        input.default_value = default_value.clone();
                    }
                    Encoding::Dense { value_dim, default_value } => {
                        if *value_dim > 1 {
                            input.shape.push((*value_dim).into());
                        }
                        input.default_value = Some(default_value.to_string());
                    }
                }
                let weights = feature.is_weighted().then(|| InputSignature {
                    name: weight_input(&feature.name),
                    dtype: ValueType::Float,
                    shape: input.shape.clone(),
                    missing: missing_of(ValueType::Float),
                    separator: input.separator.clone(),
                    pooling: None,
                    transform: None,
                    default_value: None,
                    valid_range: None,
                    weights: None,
                    weight_of: Some(feature.name.clone()),
                });
                input.weights = weights.as_ref().map(|w| w.name.clone());
                std::iter::once(input).chain(weights)
            })
            .collect();
        let outputs = self
            .towers
            .iter()
            .flat_map(|tower| {
                tower.outputs.iter().map(move |output| {
                    let mut shape = vec![serde_json::Value::from("batch")];
                    shape.extend(output.dims.iter().map(|&d| serde_json::Value::from(d)));
                    OutputSignature { name: output.name.clone(), tower: tower.name.clone(), kind: output.kind, shape }
                })
            })
            .collect();
        Signature { version: SIGNATURE_VERSION, inputs, outputs }
    }
}
