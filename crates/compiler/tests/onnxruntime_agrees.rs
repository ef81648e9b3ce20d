//! Every catalog model, in both layouts, passes `onnx.checker.check_model(full_check=True)` and computes in ONNX
//! Runtime what an independent numpy implementation of ple-semantics.md computes (tests/py/check_models.py), on
//! raw inputs full of edge cases; the layouts agree with each other.

use std::path::{Path, PathBuf};
use std::process::Command;

use plec_compiler::testing::catalog;
use plec_compiler::{compile, CompileOptions, Layout, NormInit, Weights};

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.native/venv/bin/python")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn check_with_python(dir: &Path, opset: i64) {
    let mut manifest = Vec::new();
    for (i, (name, spec)) in catalog().into_iter().enumerate() {
        let weights = Weights::random_with(&spec, 100 + i as u64, NormInit::Random);
        let weights_path = dir.join(format!("{name}.safetensors"));
        weights.save_safetensors(&weights_path).unwrap();
        let spec_path = dir.join(format!("{name}.spec.json"));
        std::fs::write(&spec_path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
        let expose_gates = i % 2 == 0;
        let mut models = serde_json::Map::new();
        for layout in [Layout::Explicit, Layout::Fused] {
            let options = CompileOptions { layout, opset, expose_gates, config_text: String::new() };
            let mut compiled = compile(&spec, &weights, &options).unwrap();
            let path = dir.join(format!("{name}.{}.onnx", layout.name()));
            compiled.write(&path, false).unwrap();
            models.insert(layout.name().into(), path.display().to_string().into());
        }
        manifest.push(serde_json::json!({
            "name": name, "spec": spec_path, "weights": weights_path, "models": models,
            "expose_gates": expose_gates, "seed": i,
        }));
    }
    let manifest_path = dir.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/check_models.py");
    let output = Command::new(python()).arg(&script).arg(&manifest_path).output().expect("run .native/venv python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("checked {} models", 2 * manifest.len())), "{stdout}");
}

#[test]
fn models_match_numpy_reference_at_opset_17() {
    check_with_python(&out_dir("ort_opset17"), 17);
}

#[test]
fn models_match_numpy_reference_at_opset_21() {
    check_with_python(&out_dir("ort_opset21"), 21);
}
