//! With external data, large initializers move to `<model>.data`; ONNX's checker accepts the pair and ONNX
//! Runtime gives exactly the outputs of the all-in-one model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use plec_compiler::{compile, CompileOptions, Weights};
use plec_spec::test_dir::TestDir;
use plec_spec::testing::catalog;

#[test]
fn external_data_model_runs_like_the_inline_one() {
    let dir = TestDir::new("external-data");
    let (_, spec) = catalog().remove(0);
    let weights = Weights::random(&spec, 9);
    let options = CompileOptions::default();
    let inline = dir.join("inline.onnx");
    compile(&spec, &weights, &options).unwrap().write(&inline, false).unwrap();
    let external = dir.join("external.onnx");
    let summary = compile(&spec, &weights, &options).unwrap().write(&external, true).unwrap();
    // Every tensor of at least 1024 bytes (256 floats) moves out.
    let expected: u64 = weights.tensors.values().map(|t| t.data.len() as u64).filter(|&n| n >= 1024).sum();
    let (data_path, data_bytes) = summary.data.unwrap();
    assert_eq!(data_path, dir.join("external.onnx.data"));
    assert!(expected > 0);
    assert_eq!(data_bytes, expected);
    assert_eq!(std::fs::metadata(&data_path).unwrap().len(), expected);

    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.native/venv/bin/python");
    let script = r#"
import sys, json, onnx, onnxruntime as ort, numpy as np
inline, external = sys.argv[1], sys.argv[2]
onnx.checker.check_model(external, full_check=True)
a, b = ort.InferenceSession(inline), ort.InferenceSession(external)
rng = np.random.default_rng(0)
feeds = {}
for i in a.get_inputs():
    shape = [5 if d == 'batch' else 3 if isinstance(d, str) and d.endswith('len') else d for d in i.shape]
    if i.type == 'tensor(int64)':
        feeds[i.name] = rng.integers(-1, 20, size=shape).astype(np.int64)
    elif i.type == 'tensor(string)':
        feeds[i.name] = np.array(rng.choice(['', 'a', 'green', 'nike'], size=shape), dtype=object)
    else:
        feeds[i.name] = rng.normal(size=shape).astype(np.float32)
for x, y in zip(a.run(None, feeds), b.run(None, feeds)):
    assert np.array_equal(x, y), (x, y)
print('same outputs')
"#;
    let out = Command::new(python).args(["-c", script]).arg(&inline).arg(&external).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("same outputs"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
