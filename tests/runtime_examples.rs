//! The Python and Node examples, on plain ONNX Runtime, give exactly what the Rust runtime gives on a compiled
//! model (same inputs, one thread each).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::path::Path;
use std::process::Command;

use plec_runtime::synthetic::synthetic_inputs;
use plec_runtime::{Model, Outputs, RunOptions};
use runtime_support::*;

const ROWS: usize = 24;

fn rust_outputs(model: &Path, inputs: &plec_runtime::RawInputs) -> Outputs {
    let options = RunOptions { intra_threads: Some(1), ..RunOptions::default() };
    Model::load(model, &options).unwrap().run(inputs).unwrap()
}

/// Compares `{"outputs": {NAME: {"shape", "values"}}}` with the Rust outputs, bit for bit (null = NaN).
fn assert_same(json: &str, expected: &Outputs, who: &str) {
    let parsed: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{who}: {e}: {json}"));
    for (name, tensor) in &expected.tensors {
        let got = &parsed["outputs"][name];
        let shape: Vec<usize> = got["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(shape, tensor.shape, "{who}: output {name} shape");
        let values = got["values"].as_array().unwrap();
        assert_eq!(values.len(), tensor.values.len(), "{who}: output {name}");
        for (i, (value, &want)) in values.iter().zip(&tensor.values).enumerate() {
            let got = value.as_f64().map_or(f32::NAN, |v| v as f32);
            let same = got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan());
            assert!(same, "{who}: output {name}[{i}]: {got:?} vs Rust {want:?}");
        }
    }
}

fn write_inputs(dir: &Path, model_path: &Path) -> (std::path::PathBuf, Outputs) {
    let model = Model::load(model_path, &RunOptions::default()).unwrap();
    let inputs = synthetic_inputs(model.signature(), ROWS, 2024);
    let path = dir.join("inputs.json");
    std::fs::write(&path, inputs_json(&inputs)).unwrap();
    (path, rust_outputs(model_path, &inputs))
}

#[test]
fn python_example_equals_the_rust_runtime() {
    python_example(compiled_model(), "example_python");
}

/// Sequence inputs are strings of delimited positions, in a file and in the example's own two rows alike.
#[test]
fn python_example_runs_a_sequence_model() {
    python_example(compiled_sequences_model(), "example_python_sequences");
}

fn python_example(model: &Path, dir: &str) {
    let dir = temp_dir(dir);
    let (inputs, expected) = write_inputs(&dir, model);
    let script = project_root().join("examples/python/plec_predict.py");
    let model = model.to_str().unwrap();
    let run = Command::new(python())
        .args([script.to_str().unwrap(), model, inputs.to_str().unwrap(), "--json", "--threads", "1"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_same(&text(&run.stdout), &expected, "python");

    // Without an inputs file it builds two rows from the signature and prints every output per row.
    let run = Command::new(python()).args([script.to_str().unwrap(), model]).output().unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let printed = text(&run.stdout);
    assert_eq!(printed.lines().count(), 2, "{printed}");
    for output in &expected.tensors {
        assert!(printed.lines().all(|l| l.contains(&format!("{}=", output.0))), "{printed}");
    }
}

/// Installs the pinned onnxruntime-node into examples/node/node_modules (git-ignored) unless already there.
fn install_node_example(dir: &Path) {
    // Both Node tests call this at once: one install, the other waits for it instead of racing into the same
    // node_modules (and reading a half-installed package).
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if dir.join("node_modules/onnxruntime-node/package.json").is_file() {
        return;
    }
    let install = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(dir)
        // The CPU library ships in the package; its install script would fetch the CUDA provider from NuGet.
        .env("ONNXRUNTIME_NODE_INSTALL", "skip")
        .output()
        .expect("npm is needed for the Node example (apt-get install nodejs npm)");
    assert!(install.status.success(), "npm install: {}{}", text(&install.stdout), text(&install.stderr));
}

#[test]
fn node_example_equals_the_rust_runtime() {
    node_example(compiled_model(), "example_node");
}

#[test]
fn node_example_runs_a_sequence_model() {
    node_example(compiled_sequences_model(), "example_node_sequences");
}

fn node_example(model: &Path, dir: &str) {
    let example = project_root().join("examples/node");
    install_node_example(&example);
    let dir = temp_dir(dir);
    let (inputs, expected) = write_inputs(&dir, model);
    let model = model.to_str().unwrap();
    let script = example.join("plec_predict.js");
    let run = Command::new("node")
        .args([script.to_str().unwrap(), model, inputs.to_str().unwrap(), "--json"])
        .output()
        .expect("node is needed for the Node example");
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_same(&text(&run.stdout), &expected, "node");

    let run = Command::new("node").args([script.to_str().unwrap(), model]).output().unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(text(&run.stdout).lines().count(), 2, "{}", text(&run.stdout));
}

/// ONNX Runtime's C++ headers and Java jar are not reachable here: the C++ and Java examples are only compiled
/// against stand-ins with the same signatures (crates/runtime/tests/fixtures/api_stand_ins), catching mistakes in
/// the examples' own code.
#[test]
fn cpp_and_java_examples_compile_against_api_stand_ins() {
    let stand_ins = project_root().join("crates/runtime/tests/fixtures/api_stand_ins");
    let cpp = Command::new("g++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I"])
        .arg(stand_ins.join("cpp"))
        .arg(project_root().join("examples/cpp/plec_predict.cpp"))
        .output()
        .expect("g++ is needed to check the C++ example");
    assert!(cpp.status.success(), "{}", text(&cpp.stderr));

    let out = temp_dir("example_java");
    let mut sources: Vec<std::path::PathBuf> =
        std::fs::read_dir(stand_ins.join("java/ai/onnxruntime")).unwrap().map(|e| e.unwrap().path()).collect();
    sources.sort();
    sources.push(project_root().join("examples/java/PlecPredict.java"));
    let java = Command::new("javac")
        .arg("-Werror")
        .arg("-Xlint:all")
        .arg("-d")
        .arg(out.path())
        .args(&sources)
        .output()
        .expect("javac is needed to check the Java example");
    assert!(java.status.success(), "{}", text(&java.stderr));
    assert!(out.join("PlecPredict.class").is_file());
}
