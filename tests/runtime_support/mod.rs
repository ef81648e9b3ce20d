//! Shared by the root package's `runtime_*` tests: compiled models (tests/configs/all_feature_kinds.config with
//! random weights, every feature kind plec has, in float32 and int8; sequences.config), rows as the examples' JSON
//! and as `plec predict`'s CSV, the venv's Python, the `plec` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use plec_compiler::{compile, CompileOptions, Int8Options, Precision, Weights};
use plec_runtime::{RawData, RawInputs};
use plec_spec::artifact::signature::Signature;
pub use plec_spec::test_dir::TestDir;

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

/// `tests/configs/mmoe_gate.config` compiled with random weights and `expose_gates`: an MMoE's gate softmaxes beside
/// the signature's outputs.
pub fn compiled_gated_model() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        compile_test_config("mmoe_gate", "_gates", CompileOptions { expose_gates: true, ..CompileOptions::default() })
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

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One CSV cell of `row` of an input: missing values empty, multi-valued ids joined by the signature's separator
/// (as `id:weight` pairs for weighted features), wide dense values by \x1d (the data path's conventions).
fn cell(signature: &Signature, inputs: &RawInputs, name: &str, row: usize) -> String {
    let spec = signature.inputs.iter().find(|i| i.name == name).unwrap();
    let tensor = inputs.get(name).unwrap();
    let width: usize = tensor.shape.iter().skip(1).product();
    let parts: Vec<String> = (row * width..(row + 1) * width)
        .map(|i| match &tensor.data {
            RawData::Int64(v) => {
                if v[i] == -1 {
                    String::new()
                } else {
                    v[i].to_string()
                }
            }
            RawData::Float(v) => {
                if v[i].is_nan() {
                    String::new()
                } else {
                    v[i].to_string()
                }
            }
            RawData::String(v) => v[i].clone(),
        })
        .collect();
    // A weighted feature's column holds `id:weight` pairs, its weights taken from the weights input.
    let parts = match spec.weights.as_deref().map(|w| &inputs.get(w).unwrap().data) {
        Some(RawData::Float(weights)) => parts
            .into_iter()
            .enumerate()
            .filter(|(_, id)| !id.is_empty())
            .map(|(j, id)| format!("{id}:{}", weights[row * width + j]))
            .collect(),
        _ => parts,
    };
    let separator = if tensor.shape.len() == 1 {
        ""
    } else if spec.shape[1].is_u64() {
        "\x1d"
    } else {
        spec.separator.as_deref().unwrap_or("\x1d")
    };
    // A row of all-missing wide values is one empty cell.
    if separator == "\x1d" && parts.iter().all(String::is_empty) {
        return String::new();
    }
    csv_field(&parts.join(separator))
}

/// `rows` rows of `inputs` as a CSV file with a header, in the format `plec predict` reads (a `row_id` column first).
pub fn write_csv(path: &Path, signature: &Signature, inputs: &RawInputs, rows: usize) {
    let columns = signature.columns();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut text = format!("row_id,{}\n", names.join(","));
    for row in 0..rows {
        let cells: Vec<String> = names.iter().map(|n| cell(signature, inputs, n, row)).collect();
        text.push_str(&format!("id{row},{}\n", cells.join(",")));
    }
    std::fs::write(path, text).unwrap();
}
