//! The Python, Node and C++ examples, on plain ONNX Runtime, give exactly what the Rust runtime gives on a
//! compiled model (same inputs, one thread each); the Java example compiles against ONNX Runtime's Java API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use plec_runtime::synthetic::synthetic_inputs;
use plec_runtime::{Model, Outputs, RawInputs, RunOptions};
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

/// ROWS synthetic rows for the model, written as the examples' inputs file; the rows and the Rust outputs on them.
fn write_inputs(dir: &Path, model_path: &Path) -> (PathBuf, RawInputs, Outputs) {
    let model = Model::load(model_path, &RunOptions::default()).unwrap();
    let inputs = synthetic_inputs(model.signature(), ROWS, 2024);
    let path = dir.join("inputs.json");
    std::fs::write(&path, inputs_json(&inputs)).unwrap();
    let outputs = rust_outputs(model_path, &inputs);
    (path, inputs, outputs)
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
    let (inputs, _, expected) = write_inputs(&dir, model);
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
    let (inputs, _, expected) = write_inputs(&dir, model);
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

/// ONNX Runtime's real C/C++ headers and Java API classes, which `scripts/setup` installs (from npm) in the layout
/// of ONNX Runtime's release archive, its `lib/` pointing at the library the Rust runtime loads.
fn onnxruntime_api() -> PathBuf {
    let dir = project_root().join(".native/onnxruntime-api");
    let installed = dir.join("include/onnxruntime_cxx_api.h").is_file() && dir.join(JAVA_API_JAR).is_file();
    assert!(installed, "{}: ONNX Runtime's headers and Java classes are missing: run scripts/setup", dir.display());
    dir
}

const JAVA_API_JAR: &str = "java/onnxruntime-classes.jar";

/// examples/cpp built with its own Makefile (warnings as errors), once per test binary.
fn cpp_example() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let build = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("example_cpp_{}", std::process::id()));
        let make = Command::new("make")
            .arg("-C")
            .arg(project_root().join("examples/cpp"))
            .arg(format!("BUILD={}", build.display()))
            .arg(format!("ORT_ROOT={}", onnxruntime_api().display()))
            .output()
            .expect("make and g++ are needed for the C++ example");
        assert!(make.status.success(), "make: {}{}", text(&make.stdout), text(&make.stderr));
        build.join("plec_predict")
    })
}

/// The C++ example, linked to the library the Rust runtime loads, gives exactly the outputs of the Rust runtime
/// and of `plec predict` on the same rows (same kernels, one thread, one batch: exact by construction, as for the
/// Python example).
fn cpp_example_run(model: &Path, dir: &str) {
    let binary = cpp_example();
    let dir = temp_dir(dir);
    let (inputs, rows, expected) = write_inputs(&dir, model);
    let run = Command::new(binary).arg(model).arg(&inputs).args(["--json", "--threads", "1"]).output().unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let printed = text(&run.stdout);
    assert_same(&printed, &expected, "c++");
    assert_same_as_predict(&printed, model, &rows, &dir);

    // Without an inputs file it builds two rows from the signature and prints every output per row.
    let run = Command::new(binary).arg(model).output().unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let printed = text(&run.stdout);
    assert_eq!(printed.lines().count(), 2, "{printed}");
    for output in &expected.tensors {
        assert!(printed.lines().all(|l| l.contains(&format!("{}=", output.0))), "{printed}");
    }
}

/// `plec predict` on the rows of [`write_inputs`] as a CSV file (one batch, one thread): each line's outputs, in the
/// signature's order and row-major, equal the example's printed outputs bit for bit.
fn assert_same_as_predict(printed: &str, model: &Path, inputs: &RawInputs, dir: &Path) {
    let loaded = Model::load(model, &RunOptions::default()).unwrap();
    let rows = dir.join("rows.csv");
    write_csv(&rows, loaded.signature(), inputs, ROWS);
    let scores = dir.join("scores.csv");
    let batch = ROWS.to_string();
    let run = plec(&[
        "predict",
        model.to_str().unwrap(),
        "--input",
        rows.to_str().unwrap(),
        "--output",
        scores.to_str().unwrap(),
        "--batch-size",
        &batch,
        "--threads",
        "1",
    ]);
    assert!(run.status.success(), "plec predict: {}", text(&run.stderr));

    let parsed: serde_json::Value = serde_json::from_str(printed).unwrap();
    let outputs: Vec<&serde_json::Value> =
        loaded.outputs().iter().map(|o| &parsed["outputs"][o.name.as_str()]["values"]).collect();
    let written = std::fs::read_to_string(&scores).unwrap();
    let lines: Vec<&str> = written.lines().skip(1).collect();
    assert_eq!(lines.len(), ROWS, "{written}");
    for (row, line) in lines.iter().enumerate() {
        let mut printed_row = Vec::new();
        for values in &outputs {
            let values = values.as_array().unwrap();
            let width = values.len() / ROWS;
            printed_row.extend(values[row * width..(row + 1) * width].iter().map(|v| v.as_f64().map(|v| v as f32)));
        }
        let predicted: Vec<&str> = line.split(',').collect();
        assert_eq!(predicted.len(), printed_row.len(), "row {row}: {line}");
        for (column, (cell, value)) in predicted.iter().zip(&printed_row).enumerate() {
            let predicted: f32 = cell.parse().unwrap_or_else(|e| panic!("row {row} column {column}: {cell:?}: {e}"));
            let same = match value {
                Some(value) => value.to_bits() == predicted.to_bits(),
                None => predicted.is_nan(),
            };
            assert!(same, "row {row} column {column}: c++ {value:?}, plec predict {predicted:?}");
        }
    }
}

/// Every feature kind: int64 ids, strings, multi-valued ids and weighted ids ([batch, len]), wide floats.
#[test]
fn cpp_example_equals_the_rust_runtime() {
    cpp_example_run(compiled_model(), "example_cpp");
}

#[test]
fn cpp_example_runs_a_sequence_model() {
    cpp_example_run(compiled_sequences_model(), "example_cpp_sequences");
}

#[test]
fn cpp_example_runs_an_int8_model() {
    let model = compiled_int8_model();
    let loaded = Model::load(model, &RunOptions::default()).unwrap();
    assert_eq!(loaded.metadata().get("plec.precision").map(String::as_str), Some("int8"));
    cpp_example_run(model, "example_cpp_int8");
}

/// The Java example compiles against ONNX Runtime's real `ai.onnxruntime` classes. It is not run: the JNI library
/// that comes with those classes is built for Android only.
#[test]
fn java_example_compiles_against_onnxruntime() {
    let out = temp_dir("example_java");
    let java = Command::new("javac")
        .args(["-Xlint:all", "-Werror", "-cp"])
        .arg(onnxruntime_api().join(JAVA_API_JAR))
        .arg("-d")
        .arg(out.path())
        .arg(project_root().join("examples/java/PlecPredict.java"))
        .output()
        .expect("javac (17 or later) is needed to check the Java example");
    assert!(java.status.success(), "{}{}", text(&java.stdout), text(&java.stderr));
    assert!(out.join("PlecPredict.class").is_file());
}

/// The Python, Node and C++ examples check the model's graph hash at start-up: a copy with one flipped byte in the
/// middle of its graph (inside an initializer) is refused before it scores anything.
#[test]
fn examples_refuse_a_damaged_model() {
    let dir = temp_dir("example_damaged");
    let damaged = dir.join("damaged.onnx");
    let mut bytes = std::fs::read(compiled_model()).unwrap();
    // The middle of the largest embedding table: ONNX Runtime still loads the model, only the hash differs.
    let config = project_root().join("tests/configs/all_feature_kinds.config");
    let spec = plec_config::load_file(&config).unwrap().spec;
    let weights = plec_compiler::Weights::random(&spec, 7);
    let table =
        weights.tensors.iter().filter(|(name, _)| name.starts_with("embedding.")).max_by_key(|(_, t)| t.data.len());
    let data = &table.unwrap().1.data;
    let needle = &data[data.len() / 2..data.len() / 2 + 16];
    let at = bytes.windows(16).position(|w| w == needle).expect("the table's bytes in the model");
    bytes[at] ^= 0x5a;
    std::fs::write(&damaged, &bytes).unwrap();
    let model = damaged.to_str().unwrap();
    install_node_example(&project_root().join("examples/node"));
    let runs = [
        (
            "python",
            Command::new(python())
                .args([project_root().join("examples/python/plec_predict.py").to_str().unwrap(), model])
                .output(),
        ),
        (
            "node",
            Command::new("node")
                .args([project_root().join("examples/node/plec_predict.js").to_str().unwrap(), model])
                .output(),
        ),
        ("c++", Command::new(cpp_example()).arg(model).output()),
    ];
    for (who, run) in runs {
        let run = run.unwrap();
        assert!(!run.status.success(), "{who} scored a damaged model: {}", text(&run.stdout));
        let message = text(&run.stderr);
        assert!(
            message.contains("the graph differs from") && message.contains("plec.graph_sha256"),
            "{who}: {message}"
        );
    }
}
