//! The Rust types protobuf-codegen generates for golden sets' one ONNX message (`proto/onnx_tensor.proto`).
// Generated code: its accessors unwrap by design.
#![allow(renamed_and_removed_lints, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]

include!(concat!(env!("OUT_DIR"), "/proto/mod.rs"));
