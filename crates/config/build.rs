//! Generates Rust types for plec's copy of the TorchEasyRec schema (proto/tzrec.proto) with rust-protobuf's
//! pure-Rust codegen, so no `protoc` is needed.
fn main() {
    let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    println!("cargo:rerun-if-changed={proto_dir}/tzrec.proto");
    protobuf_codegen::Codegen::new()
        .pure()
        .include(proto_dir)
        .input(format!("{proto_dir}/tzrec.proto"))
        .cargo_out_dir("proto")
        .run_from_script();
}
