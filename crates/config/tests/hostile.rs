//! Hostile configs, golden sets and model metadata: every reader of them is fuzzed from the repository's own
//! files (plec_spec::fuzz: deterministic cases, a counting allocator that refuses to pass a bound), and crafted
//! inputs are refused with a clear error and bounded memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use plec_spec::artifact::golden::{from_proto, parse_tensor, GoldenSet};
use plec_spec::artifact::signature::Signature;
use plec_spec::fuzz::{self, CountingAllocator, Target};
use plec_spec::proto::onnx_tensor::TensorProto;
use protobuf::Message;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Files under `dir` (recursively) whose name ends with `suffix`, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn configs() -> Vec<PathBuf> {
    let mut out = files(&repo().join("tests/configs"), ".config");
    out.extend(files(&repo().join("examples"), ".config"));
    out
}

fn read(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Live bytes a reader may hold: a few MiB plus a multiple of the input.
fn bound(len: usize) -> usize {
    (8 << 20) + 256 * len
}

#[test]
fn fuzz_config_text() {
    let target = Target { name: "config", seeds: read(&configs()), cases: 300, bound: &bound };
    fuzz::run(&target, |bytes| plec_config::load_str(&String::from_utf8_lossy(bytes), "fuzz.config").map(|_| ()));
}

#[test]
fn fuzz_golden_tensor_files() {
    let seeds = read(&files(&repo().join("tests/golden"), ".pb"));
    let target = Target { name: "golden_pb", seeds, cases: 400, bound: &bound };
    fuzz::run(&target, |bytes| from_proto(&parse_tensor(bytes)?).map(|_| ()));
}

#[test]
fn fuzz_golden_metadata_and_signature() {
    let sets: Vec<PathBuf> =
        files(&repo().join("tests/golden"), "input_0.pb").iter().map(|p| p.parent().unwrap().to_path_buf()).collect();
    let seeds: Vec<Vec<u8>> =
        sets.iter().filter_map(|dir| GoldenSet::read(dir).unwrap().to_metadata()).map(String::into_bytes).collect();
    let target = Target { name: "golden_metadata", seeds, cases: 200, bound: &bound };
    fuzz::run(&target, |bytes| GoldenSet::from_metadata(&String::from_utf8_lossy(bytes)).map(|_| ()));

    let seeds: Vec<Vec<u8>> = configs()
        .iter()
        .filter_map(|path| plec_config::load_file(path).ok())
        .map(|loaded| serde_json::to_vec(&loaded.spec.signature()).unwrap())
        .collect();
    let target = Target { name: "signature", seeds, cases: 300, bound: &bound };
    fuzz::run(&target, |bytes| serde_json::from_slice::<Signature>(bytes).map(|_| ()));
}

#[test]
fn a_golden_tensor_claiming_a_huge_shape_is_refused() {
    // dims 2^40 x 2^40: their product overflows; and 2^40 alone claims far more than the one value present.
    for dims in [vec![1i64 << 40, 1 << 40], vec![1 << 40]] {
        let mut proto = TensorProto::new();
        proto.dims = dims.clone();
        proto.set_data_type(1); // FLOAT
        proto.set_raw_data(vec![0; 4]);
        let bytes = proto.write_to_bytes().unwrap();
        let (result, peak) =
            fuzz::with_bound("huge shape", 0, 1 << 20, || from_proto(&TensorProto::parse_from_bytes(&bytes).unwrap()));
        let error = result.unwrap_err();
        assert!(error.contains("elements"), "{dims:?}: {error}");
        assert!(peak < 1 << 20, "{peak} bytes");
    }
}

#[test]
fn a_packed_field_claiming_more_bytes_than_the_file_is_refused_before_reserving() {
    // float_data (field 4, packed) claiming 400 MB in a 7-byte file: rust-protobuf alone would reserve 40 MB.
    let bytes = [0x22, 0x80, 0x88, 0xde, 0xbe, 0x01, 0x00];
    let (result, peak) = fuzz::with_bound("packed claim", 0, 1 << 20, || parse_tensor(&bytes).map(|_| ()));
    let error = result.unwrap_err();
    assert!(error.contains("TensorProto: field `float_data` at byte 0 claims 400000000 bytes, 1 are left"), "{error}");
    assert!(peak < 1 << 20, "{peak} bytes");
}

#[test]
fn deeply_nested_config_and_golden_metadata_are_refused_with_bounded_memory() {
    let text = format!("model_config {}", "{ ".repeat(1_000_000));
    let (result, peak) =
        fuzz::with_bound("deep config", 0, bound(text.len()), || plec_config::load_str(&text, "deep.config"));
    let error = result.unwrap_err().to_string();
    // The schema has no recursive message, so the first `{` a field cannot take stops the reader.
    assert!(error.contains("deep.config:1:"), "{error}");
    assert!(peak < bound(text.len()), "{peak} bytes");
    // Golden metadata is read as a JSON value first: serde_json stops at 128 levels.
    let json = format!("{{\"inputs\": {}", "[".repeat(1_000_000));
    let (result, peak) =
        fuzz::with_bound("deep metadata", 0, bound(json.len()), || GoldenSet::from_metadata(&json).map(|_| ()));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("recursion limit"), "{error}");
    assert!(peak < bound(json.len()), "{peak} bytes");
}
