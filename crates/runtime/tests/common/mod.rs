//! Test models made with Python `onnx` (the project venv), once per test binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use plec_runtime::{tensor, Model, RawInputs, RunOptions};
pub use plec_spec::test_dir::TestDir;

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn python() -> PathBuf {
    project_root().join(".native/venv/bin/python")
}

/// Runs a Python script from `tests/fixtures` with arguments; panics with its output on failure.
pub fn run_fixture_script(script: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(script);
    let output = Command::new(python()).arg(&script).args(args).output().expect("run the venv python");
    assert!(
        output.status.success(),
        "{} failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn temp_dir(name: &str) -> TestDir {
    TestDir::new(&format!("runtime-{name}"))
}

/// The fixture model of `make_test_model.py` (see its docstring for the formula).
pub fn test_model_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plec-runtime");
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let path = dir.join(format!("test_model_{}.onnx", std::process::id()));
        run_fixture_script("make_test_model.py", &[path.to_str().expect("utf-8 path")]);
        path
    })
}

pub fn load_test_model() -> Model {
    Model::load(test_model_path(), &RunOptions::default()).expect("load the test model")
}

/// Three valid rows.
pub fn valid_inputs() -> RawInputs {
    RawInputs::new()
        .with(tensor::int64("user_id", vec![3], vec![3, -1, 99]))
        .with(tensor::int64("tags", vec![3, 2], vec![1, 2, -1, -1, 500, -1]))
        .with(tensor::string("city", vec![3], vec!["a".into(), "".into(), "hangzhou".into()]))
        .with(tensor::float("price", vec![3], vec![1.0, 0.0, -2.5]))
        .with(tensor::float("vec", vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 0.5, -0.25]))
}

/// The fixture's logit for one row, computed in f64 from the formula (murmur3 from plec-spec).
pub fn expected_logit(user_id: i64, tags: &[i64], city: &str, price: f32, vec: [f32; 2]) -> f64 {
    let tag_sum: i64 = tags.iter().map(|&t| t.max(0)).sum();
    let city_bucket = plec_spec::transform::murmur3_x86_32(city.as_bytes(), 0) % 7;
    0.01 * user_id as f64 + 0.001 * tag_sum as f64 + 0.1 * city_bucket as f64 + 0.5 * price as f64 + vec[0] as f64
        - 2.0 * vec[1] as f64
}

/// Tolerance of f32 graph arithmetic against the f64 formula.
pub const TOLERANCE: f64 = 1e-5;
