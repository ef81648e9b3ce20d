//! A small ONNX graph builder: nodes in emission order (callers emit producers first), initializers moved out of
//! the weights, shared scalar constants emitted once, and attribute/tensor helpers.
//!
//! Convention: a node's (first) output tensor has the node's name, so tensor names and node names coincide and
//! both follow the parameter names.

use std::collections::{BTreeMap, BTreeSet};

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{dimension, Dimension};
use onnx_protobuf::{type_proto, AttributeProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto};

use super::dense::{DenseLayer, DenseRole, Structure, TableLookup};
use crate::error::CompileError;
use crate::weights::{Tensor, Weights};

pub(crate) const MS_DOMAIN: &str = "com.microsoft";
pub(crate) const ML_DOMAIN: &str = "ai.onnx.ml";

/// A graph dimension: fixed or named (dynamic).
#[derive(Debug, Clone)]
pub(crate) enum Dim {
    Fixed(usize),
    Named(&'static str),
    /// A symbolic dimension of one input only (ONNX Runtime plans buffers as if equal names were equal sizes).
    Own(String),
}

pub(crate) struct Graph {
    pub opset: i64,
    pub nodes: Vec<NodeProto>,
    pub initializers: BTreeMap<String, TensorProto>,
    pub inputs: Vec<ValueInfoProto>,
    pub outputs: Vec<ValueInfoProto>,
    /// Exposed gate softmaxes, listed after the model's own outputs.
    pub gate_outputs: Vec<ValueInfoProto>,
    pub domains: BTreeSet<&'static str>,
    /// Which Gemm is which layer, which Gather reads which table (`super::dense`; read by `crate::quantize`).
    pub structure: Structure,
    weights: Weights,
    constants: BTreeSet<String>,
    names: BTreeSet<String>,
}

impl Graph {
    pub fn new(weights: Weights, opset: i64) -> Graph {
        Graph {
            opset,
            nodes: Vec::new(),
            initializers: BTreeMap::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            gate_outputs: Vec::new(),
            domains: BTreeSet::new(),
            structure: Structure::default(),
            weights,
            constants: BTreeSet::new(),
            names: BTreeSet::new(),
        }
    }

    /// Adds a node whose single output is named like the node; returns that name.
    pub fn node(&mut self, op: &str, name: &str, inputs: &[&str], attributes: Vec<AttributeProto>) -> String {
        self.node_in("", op, name, inputs, attributes)
    }

    pub fn node_in(
        &mut self,
        domain: &'static str,
        op: &str,
        name: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        debug_assert!(self.names.insert(name.to_string()), "duplicate node name {name}");
        if !domain.is_empty() {
            self.domains.insert(domain);
        }
        self.nodes.push(node_proto(domain, op, name, inputs, &[name], attributes));
        name.to_string()
    }

    /// `Gemm(input, weight, bias) {transB=1}` named `name` (weight `[out, in]` already an initializer), recorded
    /// in [`Graph::structure`] as a dense layer in `role`.
    pub fn dense(&mut self, role: DenseRole, name: &str, inputs: &[&str]) -> Result<String, CompileError> {
        let (input, weight) = match inputs {
            [input, weight, ..] => (*input, *weight),
            _ => return Err(CompileError::Internal(format!("dense layer `{name}` has no weight"))),
        };
        let (out, width) = match self.initializers.get(weight).map(|w| w.dims.as_slice()) {
            Some([o, i]) => (*o as usize, *i as usize),
            _ => {
                return Err(CompileError::Internal(format!("dense layer `{name}` reads no 2-D initializer `{weight}`")))
            }
        };
        let DenseRole { kind, block, experts, mlp_weights } = role;
        let mlp_weights = if mlp_weights == 0 { out * width } else { mlp_weights };
        let input = input.to_string();
        let layer = DenseLayer { node: name.to_string(), kind, block, experts, mlp_weights, input, out, inputs: width };
        self.structure.dense.push(layer);
        Ok(self.node("Gemm", name, inputs, vec![attr_int("transB", 1)]))
    }

    /// `Gather(table, rows) {axis=0}` named `name`, recorded in [`Graph::structure`] as a lookup of `table`.
    pub fn lookup(&mut self, name: &str, table: &str, rows: &str) -> String {
        self.structure.lookups.push(TableLookup { node: name.to_string(), table: table.to_string() });
        self.node("Gather", name, &[table, rows], vec![attr_int("axis", 0)])
    }

    /// Adds a node with several outputs (named `outputs`, the first usually the node's name); returns them.
    pub fn node_outputs(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> Vec<String> {
        debug_assert!(self.names.insert(name.to_string()), "duplicate node name {name}");
        self.nodes.push(node_proto("", op, name, inputs, outputs, attributes));
        outputs.iter().map(|s| s.to_string()).collect()
    }

    /// Moves parameter `name` out of the weights into an initializer of the same name.
    pub fn param(&mut self, name: &str) -> Result<String, CompileError> {
        let tensor = self.take(name)?;
        self.add_initializer(name, tensor);
        Ok(name.to_string())
    }

    /// Moves embedding table `name` out of the weights into an initializer of the same name, recorded in
    /// [`Graph::structure`].
    pub fn table(&mut self, name: &str) -> Result<String, CompileError> {
        self.structure.tables.push(name.to_string());
        self.param(name)
    }

    /// Removes parameter `name` from the weights, for callers that transform it.
    pub fn take(&mut self, name: &str) -> Result<Tensor, CompileError> {
        self.weights
            .tensors
            .remove(name)
            .ok_or_else(|| CompileError::Internal(format!("parameter `{name}` is missing or used twice")))
    }

    pub fn add_initializer(&mut self, name: &str, tensor: Tensor) {
        let proto = TensorProto {
            name: name.to_string(),
            dims: tensor.shape.iter().map(|&d| d as i64).collect(),
            data_type: DataType::FLOAT as i32,
            raw_data: tensor.data,
            ..Default::default()
        };
        self.initializers.insert(name.to_string(), proto);
    }

    pub fn add_f32_initializer(&mut self, name: &str, shape: Vec<usize>, values: &[f32]) -> String {
        self.add_initializer(name, Tensor::from_f32(shape, values));
        name.to_string()
    }

    /// A Constant node holding `tensor` (its name is set here).
    pub fn constant(&mut self, name: &str, mut tensor: TensorProto) -> String {
        tensor.name = name.to_string();
        let attr = AttributeProto {
            name: "value".into(),
            type_: AttributeType::TENSOR.into(),
            t: Some(tensor).into(),
            ..Default::default()
        };
        self.node("Constant", name, &[], vec![attr])
    }

    /// A shared constant, emitted once under a name derived from its value.
    fn shared(&mut self, name: String, tensor: TensorProto) -> String {
        if self.constants.insert(name.clone()) {
            self.constant(&name, tensor);
        }
        name
    }

    pub fn scalar_f32(&mut self, value: f32) -> String {
        self.shared(format!("const.f32.{value:?}"), f32_tensor(&[], &[value]))
    }

    pub fn scalar_bool(&mut self, value: bool) -> String {
        let tensor =
            TensorProto { data_type: DataType::BOOL as i32, int32_data: vec![i32::from(value)], ..Default::default() };
        self.shared(format!("const.bool.{value}"), tensor)
    }

    /// A shared string scalar, named after its text (`const.str.empty` for ""): only for short texts that are
    /// numbers or words, never "empty" itself.
    pub fn scalar_string(&mut self, value: &str) -> String {
        let label = if value.is_empty() { "empty" } else { value };
        self.shared(format!("const.str.{label}"), string_tensor(&[], &[value]))
    }

    pub fn scalar_i64(&mut self, value: i64) -> String {
        self.shared(format!("const.i64.{value}"), i64_tensor(&[], &[value]))
    }

    /// A 1-D int64 constant (axes, shapes, indices).
    pub fn ints(&mut self, values: &[i64]) -> String {
        let text: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.shared(format!("const.i64s.{}", text.join("_")), i64_tensor(&[values.len()], values))
    }

    pub fn add_input(&mut self, name: &str, elem: DataType, dims: &[Dim]) {
        self.inputs.push(value_info(name, elem, dims));
    }

    pub fn has_input(&self, name: &str) -> bool {
        self.inputs.iter().any(|i| i.name == name)
    }

    pub fn add_output(&mut self, name: &str, elem: DataType, dims: &[Dim]) {
        self.outputs.push(value_info(name, elem, dims));
    }

    /// Parameters not consumed by lowering (should be none: weights were checked against the spec).
    pub fn leftover_params(&self) -> Vec<String> {
        self.weights.tensors.keys().cloned().collect()
    }
}

/// A node of `domain` ("" for ai.onnx).
pub(crate) fn node_proto(
    domain: &str,
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attributes: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        name: name.to_string(),
        op_type: op.to_string(),
        domain: domain.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attributes,
        ..Default::default()
    }
}

pub(crate) fn value_info(name: &str, elem: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => dimension::Value::DimValue(*n as i64),
                Dim::Named(p) => dimension::Value::DimParam(p.to_string()),
                Dim::Own(p) => dimension::Value::DimParam(p.clone()),
            }),
            ..Default::default()
        })
        .collect();
    let tensor = type_proto::Tensor {
        elem_type: elem as i32,
        shape: Some(TensorShapeProto { dim, ..Default::default() }).into(),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.to_string(),
        type_: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor)), ..Default::default() }).into(),
        ..Default::default()
    }
}

pub(crate) fn f32_tensor(dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::FLOAT as i32,
        float_data: values.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn i64_tensor(dims: &[usize], values: &[i64]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::INT64 as i32,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn string_tensor(dims: &[usize], values: &[&str]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::STRING as i32,
        string_data: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

pub(crate) fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { name: name.into(), type_: AttributeType::INT.into(), i: value, ..Default::default() }
}

pub(crate) fn attr_float(name: &str, value: f32) -> AttributeProto {
    AttributeProto { name: name.into(), type_: AttributeType::FLOAT.into(), f: value, ..Default::default() }
}

pub(crate) fn attr_string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::STRING.into(),
        s: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub(crate) fn attr_ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), type_: AttributeType::INTS.into(), ints: values.to_vec(), ..Default::default() }
}

pub(crate) fn attr_strings(name: &str, values: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::STRINGS.into(),
        strings: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}
