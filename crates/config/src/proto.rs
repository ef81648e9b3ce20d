//! The Rust types protobuf-codegen generates from plec's copy of TorchEasyRec's schema (`proto/tzrec.proto`).
// Generated code: its accessors unwrap by design.
#![allow(renamed_and_removed_lints, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]

include!(concat!(env!("OUT_DIR"), "/proto/mod.rs"));
