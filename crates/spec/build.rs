//! Generates Rust types for the one ONNX message golden sets are made of (proto/onnx_tensor.proto), with
//! rust-protobuf's pure-Rust codegen, so no `protoc` is needed.
fn main() {
    let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    println!("cargo:rerun-if-changed={proto_dir}/onnx_tensor.proto");
    protobuf_codegen::Codegen::new()
        .pure()
        .include(proto_dir)
        .input(format!("{proto_dir}/onnx_tensor.proto"))
        .cargo_out_dir("proto")
        .run_from_script();
}
