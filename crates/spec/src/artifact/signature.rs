//! The feature signature: what a compiled model's callers feed and get back. The compiler writes it as JSON into
//! the ONNX model's `metadata_props` (key `plec.signature`); the runtime and other languages read it from there.

use serde::{Deserialize, Serialize};

use crate::{
    Encoding, Feature, ModelSpec, OutputKind, Pooling, SequenceEncoding, SequenceFeature, Transform, ValueType,
};

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
    /// On a sequence feature: how its one string per row splits into positions. `transform`, `valid_range` and
    /// `default_value` then apply to each position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceSignature>,
}

/// A sequence input: `[batch]` strings, each `delimiter`-joined positions (`""`: an empty sequence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceSignature {
    pub delimiter: String,
    /// Positions past this many are dropped (the first ones kept); 0 keeps all.
    pub max_length: usize,
    /// The type each position's text holds.
    pub element: ValueType,
    /// The sequence groups that read this input: within a group every row must have equally many positions in
    /// each of its sequences.
    #[serde(default)]
    pub groups: Vec<String>,
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
        let mut inputs: Vec<InputSignature> = self.features.iter().flat_map(feature_inputs).collect();
        // A query feature the group reads as well is one input; so is a sequence two groups share.
        for group in &self.sequence_groups {
            for feature in &group.query {
                if !inputs.iter().any(|i| i.name == feature.name) {
                    inputs.extend(feature_inputs(feature));
                }
            }
            for feature in &group.sequence {
                match inputs.iter_mut().find(|i| i.name == feature.name) {
                    Some(input) => {
                        if let Some(sequence) = input.sequence.as_mut() {
                            sequence.groups.push(group.name.clone());
                        }
                    }
                    None => {
                        let mut input = sequence_input(feature);
                        if let Some(sequence) = input.sequence.as_mut() {
                            sequence.groups.push(group.name.clone());
                        }
                        inputs.push(input);
                    }
                }
            }
        }
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

fn blank_input(name: &str, dtype: ValueType) -> InputSignature {
    InputSignature {
        name: name.to_string(),
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
        sequence: None,
    }
}

/// The input of a (non-sequence) feature, and of its weights if it is weighted.
fn feature_inputs(feature: &Feature) -> Vec<InputSignature> {
    let mut input = blank_input(&feature.name, feature.value_type());
    match &feature.encoding {
        Encoding::Embedding { transform, multi, default_value, .. } => {
            if let Some(multi) = multi {
                input.shape.push("len".into());
                input.separator = Some(multi.separator.clone());
                input.pooling = Some(multi.pooling);
            }
            if let Transform::NumBuckets(n) | Transform::FgEncoded(n) = transform {
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
    if !feature.is_weighted() {
        return vec![input];
    }
    let mut weights = blank_input(&weight_input(&feature.name), ValueType::Float);
    weights.shape = input.shape.clone();
    weights.separator = input.separator.clone();
    weights.weight_of = Some(feature.name.clone());
    input.weights = Some(weights.name.clone());
    vec![input, weights]
}

/// A sequence feature's input: one string per row.
fn sequence_input(feature: &SequenceFeature) -> InputSignature {
    let mut input = blank_input(&feature.name, ValueType::String);
    input.sequence = Some(SequenceSignature {
        delimiter: feature.delimiter.clone(),
        max_length: feature.max_length,
        element: feature.element_type(),
        groups: Vec::new(),
    });
    match &feature.encoding {
        SequenceEncoding::Embedding { transform, .. } => {
            if let Transform::NumBuckets(n) | Transform::FgEncoded(n) = transform {
                input.valid_range = Some([0, *n as i64]);
            }
            input.transform = Some(transform.clone());
        }
        SequenceEncoding::Dense { default_value } => input.default_value = Some(default_value.to_string()),
    }
    input
}
