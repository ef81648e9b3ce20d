//! Shared by the root package's `runtime_*` tests: a compiled model (tests/configs/all_feature_kinds.config with
//! random weights, every feature kind plec has), the venv's Python, the `plec` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use plec_compiler::{compile, CompileOptions, Int8Options, Precision, Weights};
pub use plec_config::test_dir::TestDir;
use plec_runtime::{RawData, RawInputs};

pub fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    project_root().join(".native/venv/bin/python")
}

pub fn plec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plec")).args(args).output().expect("run plec")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn temp_dir(name: &str) -> TestDir {
    TestDir::new(&format!("runtime-{name}"))
}

/// all_feature_kinds.config compiled with random weights (seed 7), written once per test binary.
pub fn compiled_model() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| compile_test_config("all_feature_kinds", "", CompileOptions::default()))
}

/// all_feature_kinds.config compiled at `--precision int8` with every table and dense layer quantized (the
/// config's are far below the default size thresholds).
pub fn compiled_int8_model() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let int8 = Int8Options { min_table_elements: 0, min_weights: 0, ..Int8Options::default() };
        let options = CompileOptions { precision: Precision::Int8, int8, ..CompileOptions::default() };
        compile_test_config("all_feature_kinds", "_int8", options)
    })
}

/// `tests/configs/sequences.config` compiled with random weights: sequence inputs and all three encoders.
pub fn compiled_sequences_model() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| compile_test_config("sequences", "", CompileOptions::default()))
}

/// `tests/configs/{name}.config` with random weights (seed 7), written as `{name}{suffix}_{pid}.onnx`.
fn compile_test_config(name: &str, suffix: &str, options: CompileOptions) -> PathBuf {
    let config = project_root().join(format!("tests/configs/{name}.config"));
    let loaded = plec_config::load_file(&config).unwrap_or_else(|e| panic!("load {name}.config: {e}"));
    let weights = Weights::random(&loaded.spec, 7);
    let options = CompileOptions { config_text: loaded.text.clone(), ..options };
    let mut compiled = compile(&loaded.spec, &weights, &options).expect("compile");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runtime");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(format!("{name}{suffix}_{}.onnx", std::process::id()));
    compiled.write(&path, false).expect("write the model");
    path
}

/// Inputs as the examples read them: {"inputs": {NAME: {"shape": [...], "values": [...]}}}, NaN as null.
pub fn inputs_json(inputs: &RawInputs) -> String {
    let mut map = serde_json::Map::new();
    for tensor in &inputs.tensors {
        let values: Vec<serde_json::Value> = match &tensor.data {
            RawData::Int64(v) => v.iter().map(|&x| x.into()).collect(),
            RawData::Float(v) => {
                v.iter().map(|&x| if x.is_nan() { serde_json::Value::Null } else { x.into() }).collect()
            }
            RawData::String(v) => v.iter().map(|x| x.as_str().into()).collect(),
        };
        map.insert(tensor.name.clone(), serde_json::json!({ "shape": tensor.shape, "values": values }));
    }
    serde_json::json!({ "inputs": map }).to_string()
}
