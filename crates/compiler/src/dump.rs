//! A deterministic, human-readable text form of an ONNX model, for review and snapshot tests: opset imports,
//! inputs, initializers (shape and a short content hash, never values), one line per node, outputs and metadata
//! (long values shortened to their start, length and hash).

use std::fmt::Write;
use std::path::Path;

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::{DataLocation, DataType};
use onnx_protobuf::tensor_shape_proto::dimension;
use onnx_protobuf::{type_proto, AttributeProto, ModelProto, TensorProto, ValueInfoProto};
use sha2::{Digest, Sha256};

use crate::error::CompileError;
use crate::weights::hex;

/// Metadata values longer than this are shortened.
const META_INLINE: usize = 60;
/// Attribute lists longer than this show their first items only.
const LIST_INLINE: usize = 8;

pub fn dump_file(path: &Path) -> Result<String, CompileError> {
    Ok(dump(&crate::model::read_model(path)?))
}

pub fn dump(model: &ModelProto) -> String {
    let mut out = String::new();
    let graph = &model.graph;
    let _ = writeln!(
        out,
        "model ir_version={} producer={} {} graph={}",
        model.ir_version, model.producer_name, model.producer_version, graph.name
    );
    for opset in &model.opset_import {
        let domain = if opset.domain.is_empty() { "ai.onnx" } else { &opset.domain };
        let _ = writeln!(out, "opset {domain} {}", opset.version);
    }
    for input in &graph.input {
        let _ = writeln!(out, "input {}", value_info(input));
    }
    for init in &graph.initializer {
        let _ = writeln!(out, "initializer {} {} {}", init.name, tensor_type(init), tensor_content(init));
    }
    for node in &graph.node {
        let op =
            if node.domain.is_empty() { node.op_type.clone() } else { format!("{}.{}", node.domain, node.op_type) };
        let attrs: Vec<String> = node.attribute.iter().map(attribute).collect();
        let attrs = if attrs.is_empty() { String::new() } else { format!(" {{{}}}", attrs.join(", ")) };
        let _ =
            writeln!(out, "node {} = {op}({}) -> {}{attrs}", node.name, node.input.join(", "), node.output.join(", "));
    }
    for output in &graph.output {
        let _ = writeln!(out, "output {}", value_info(output));
    }
    for entry in &model.metadata_props {
        let _ = writeln!(out, "metadata {} = {}", entry.key, shorten(&entry.value));
    }
    out
}

fn short_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))[..12].to_string()
}

fn shorten(value: &str) -> String {
    let single_line = !value.contains('\n');
    if value.chars().count() <= META_INLINE && single_line {
        return format!("{value:?}");
    }
    let start: String = value.chars().take(META_INLINE).collect::<String>().replace('\n', "\\n");
    format!("\"{start}...\" ({} bytes, sha256 {})", value.len(), short_hash(value.as_bytes()))
}

fn type_name(elem: i32) -> String {
    match <DataType as protobuf::Enum>::from_i32(elem) {
        Some(DataType::FLOAT) => "float".into(),
        Some(DataType::INT64) => "int64".into(),
        Some(DataType::STRING) => "string".into(),
        Some(DataType::BOOL) => "bool".into(),
        Some(DataType::INT32) => "int32".into(),
        Some(DataType::DOUBLE) => "double".into(),
        Some(other) => format!("{other:?}").to_lowercase(),
        None => format!("type{elem}"),
    }
}

fn value_info(v: &ValueInfoProto) -> String {
    match &v.type_.value {
        Some(type_proto::Value::TensorType(t)) => {
            let dims: Vec<String> = t
                .shape
                .dim
                .iter()
                .map(|d| match &d.value {
                    Some(dimension::Value::DimValue(n)) => n.to_string(),
                    Some(dimension::Value::DimParam(p)) => p.clone(),
                    _ => "?".into(),
                })
                .collect();
            format!("{} {} [{}]", v.name, type_name(t.elem_type), dims.join(", "))
        }
        _ => format!("{} (non-tensor)", v.name),
    }
}

fn tensor_type(t: &TensorProto) -> String {
    let dims: Vec<String> = t.dims.iter().map(|d| d.to_string()).collect();
    format!("{} [{}]", type_name(t.data_type), dims.join(", "))
}

/// A content hash of whichever field holds the data, or where external data lives.
fn tensor_content(t: &TensorProto) -> String {
    if t.data_location.enum_value() == Ok(DataLocation::EXTERNAL) {
        let entries: Vec<String> = t.external_data.iter().map(|e| format!("{}={}", e.key, e.value)).collect();
        return format!("external({})", entries.join(" "));
    }
    let mut bytes = t.raw_data.clone();
    bytes.extend(t.float_data.iter().flat_map(|v| v.to_le_bytes()));
    bytes.extend(t.int64_data.iter().flat_map(|v| v.to_le_bytes()));
    bytes.extend(t.int32_data.iter().flat_map(|v| v.to_le_bytes()));
    for s in &t.string_data {
        bytes.extend((s.len() as u64).to_le_bytes());
        bytes.extend(s);
    }
    format!("sha256 {}", short_hash(&bytes))
}

/// Small constant tensors (up to `LIST_INLINE` values) are shown in full: they are code, not weights.
fn small_tensor(t: &TensorProto) -> String {
    let n: i64 = t.dims.iter().product();
    let values: Option<Vec<String>> = if n as usize > LIST_INLINE {
        None
    } else if !t.float_data.is_empty() || (t.data_type == DataType::FLOAT as i32 && n == 0) {
        Some(t.float_data.iter().map(|v| format!("{v:?}")).collect())
    } else if !t.int64_data.is_empty() {
        Some(t.int64_data.iter().map(|v| v.to_string()).collect())
    } else if t.data_type == DataType::BOOL as i32 && t.raw_data.is_empty() {
        Some(t.int32_data.iter().map(|&v| (v != 0).to_string()).collect())
    } else if !t.string_data.is_empty() {
        Some(t.string_data.iter().map(|s| format!("{:?}", String::from_utf8_lossy(s))).collect())
    } else {
        None
    };
    match values {
        Some(v) => format!("{} [{}]", tensor_type(t), v.join(", ")),
        None => format!("{} {}", tensor_type(t), tensor_content(t)),
    }
}

fn list<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    let mut shown: Vec<String> = items.iter().take(LIST_INLINE).map(show).collect();
    if items.len() > LIST_INLINE {
        shown.push(format!("... {} in all", items.len()));
    }
    format!("[{}]", shown.join(", "))
}

fn attribute(a: &AttributeProto) -> String {
    let value = match a.type_.enum_value() {
        Ok(AttributeType::INT) => a.i.to_string(),
        Ok(AttributeType::FLOAT) => format!("{:?}", a.f),
        Ok(AttributeType::STRING) => format!("{:?}", String::from_utf8_lossy(&a.s)),
        Ok(AttributeType::INTS) => list(&a.ints, |v| v.to_string()),
        Ok(AttributeType::FLOATS) => list(&a.floats, |v| format!("{v:?}")),
        Ok(AttributeType::STRINGS) => list(&a.strings, |s| format!("{:?}", String::from_utf8_lossy(s))),
        Ok(AttributeType::TENSOR) => small_tensor(&a.t),
        other => format!("<{other:?}>"),
    };
    format!("{}={value}", a.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_or_multiline_metadata_is_shortened() {
        assert_eq!(shorten("fused"), "\"fused\"");
        let long = "x".repeat(100);
        let short = shorten(&long);
        assert!(short.starts_with(&format!("\"{}...\" (100 bytes, sha256 ", "x".repeat(60))), "{short}");
        assert!(shorten("a\nb").starts_with("\"a\\nb...\" (3 bytes"));
    }
}
