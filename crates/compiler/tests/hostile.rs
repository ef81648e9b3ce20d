//! Hostile weights and ONNX files: `read_safetensors`, the trainer's safetensors validation and `read_model` are
//! fuzzed from the repository's golden
//! weights and a compiled model (plec_spec::fuzz: deterministic cases, a counting allocator that refuses to pass
//! a bound), and crafted safetensors headers are refused before anything is allocated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use plec_compiler::{compile, read_model, CompileOptions, Weights};
use plec_spec::fuzz::{self, CountingAllocator, Target};
use plec_spec::test_dir::TestDir;
use plec_spec::testing::catalog;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn golden_weights() -> Vec<Vec<u8>> {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(golden).unwrap().map(|e| e.unwrap().path().join("weights.safetensors")).collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A safetensors file of one header and `data` bytes.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    [&(header.len() as u64).to_le_bytes()[..], header.as_bytes(), data].concat()
}

#[test]
fn safetensors_headers_claiming_more_than_the_file_are_refused() {
    let dir = TestDir::new("hostile-safetensors");
    let path = dir.join("w.safetensors");
    let cases = [
        // A shape whose size overflows, and one far past the file.
        (r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#, "do not hold"),
        (r#"{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}"#, "do not hold"),
        // Two tensors on the same bytes.
        (
            r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
            "overlap",
        ),
    ];
    for (header, expected) in cases {
        std::fs::write(&path, safetensors(header, &[0; 16])).unwrap();
        let (result, peak) = fuzz::with_bound("safetensors", 0, 1 << 20, || Weights::read_safetensors(&path));
        let error = result.unwrap_err().to_string();
        assert!(error.contains(expected) && error.contains("w.safetensors"), "{header}: {error}");
        assert!(peak < 1 << 20, "{peak} bytes");
    }
}

#[test]
fn fuzz_safetensors() {
    let dir = TestDir::new("fuzz-safetensors");
    let path = dir.join("w.safetensors");
    let bound = |len: usize| (16 << 20) + 64 * len;
    let target = Target { name: "safetensors", seeds: golden_weights(), cases: 300, bound: &bound };
    fuzz::run(&target, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        Weights::read_safetensors(&path).map(|_| ())
    });
}

#[test]
fn fuzz_trainer_safetensors() {
    // The trainer's loader (tch's `Tensor::read_safetensors`) reads the file whole, validates it with
    // `SafeTensors::deserialize` and copies each view: the validation is the part a file drives.
    let bound = |len: usize| (16 << 20) + 64 * len;
    let target = Target { name: "trainer_safetensors", seeds: golden_weights(), cases: 300, bound: &bound };
    fuzz::run(&target, |bytes| {
        let tensors = safetensors::SafeTensors::deserialize(bytes)?;
        let copied: usize = tensors.tensors().iter().map(|(_, view)| view.data().to_vec().len()).sum();
        assert!(copied <= bytes.len());
        Ok::<(), safetensors::SafeTensorError>(())
    });
}

#[test]
fn fuzz_onnx_model() {
    let dir = TestDir::new("fuzz-onnx");
    let seeds: Vec<Vec<u8>> = catalog()
        .into_iter()
        .take(2)
        .map(|(_, spec)| {
            let weights = Weights::random(&spec, 5);
            compile(&spec, &weights, &CompileOptions::default()).unwrap().to_bytes().unwrap()
        })
        .collect();
    let path = dir.join("m.onnx");
    // rust-protobuf reserves up to 10 million elements (80 MB) for a packed field before reading it: a constant
    // bound (ONNX has no descriptors in onnx-protobuf's lite code to check claimed lengths first).
    let bound = |len: usize| (96 << 20) + 64 * len;
    let target = Target { name: "onnx", seeds, cases: 200, bound: &bound };
    fuzz::run(&target, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        read_model(&path).map(|_| ())
    });
}
