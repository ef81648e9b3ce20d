//! Loading a model, reading its signature and metadata, and running it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use plec_runtime::{tensor, Device, IntegrityCheck, Model, RawInputs, RunOptions, RuntimeError};
use plec_spec::artifact::signature::{InputSignature, OutputSignature, INT64_MISSING};
use plec_spec::{OutputKind, Pooling, Transform, ValueType};

#[test]
fn reads_the_signature_and_metadata() {
    let model = load_test_model();
    let signature = model.signature();
    assert_eq!(signature.version, 1);
    let names: Vec<&str> = signature.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["user_id", "tags", "city", "price", "vec"]);
    assert_eq!(
        signature.inputs[1],
        InputSignature {
            name: "tags".into(),
            dtype: ValueType::Int64,
            shape: vec!["batch".into(), "len".into()],
            missing: INT64_MISSING.into(),
            separator: Some("|".into()),
            pooling: Some(Pooling::Sum),
            transform: Some(Transform::HashBucket(1000)),
            default_value: None,
            valid_range: None,
            weights: None,
            weight_of: None,
            sequence: None,
        }
    );
    assert_eq!(signature.inputs[0].valid_range, Some([0, 100]));
    assert_eq!(signature.inputs[4].shape, vec![serde_json::Value::from("batch"), serde_json::Value::from(2)]);
    assert_eq!(
        model.outputs()[2],
        OutputSignature {
            name: "probs_cls".into(),
            tower: "cls".into(),
            kind: OutputKind::Probs,
            shape: vec!["batch".into(), 3.into()]
        }
    );
    assert_eq!(model.metadata().get("plec.test").map(String::as_str), Some("yes"));
    assert!(model.metadata().contains_key("plec.signature"));
    assert_eq!(model.device_report().used, Device::Cpu);
}

#[test]
fn outputs_follow_the_formula() {
    let model = load_test_model();
    let outputs = model.run(&valid_inputs()).unwrap();
    let names: Vec<&str> = outputs.tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["logits_ctr", "probs_ctr", "probs_cls"]);
    let expected = [
        expected_logit(3, &[1, 2], "a", 1.0, [1.0, 2.0]),
        expected_logit(-1, &[-1, -1], "", 0.0, [3.0, 4.0]),
        expected_logit(99, &[500, -1], "hangzhou", -2.5, [0.5, -0.25]),
    ];
    let logits = outputs.get("logits_ctr").unwrap();
    assert_eq!(logits.shape, vec![3]);
    let probs = outputs.get("probs_ctr").unwrap();
    let cls = outputs.get("probs_cls").unwrap();
    assert_eq!(cls.shape, vec![3, 3]);
    for (row, &logit) in expected.iter().enumerate() {
        assert!((logits.values[row] as f64 - logit).abs() < TOLERANCE, "row {row}: {} vs {logit}", logits.values[row]);
        let sigmoid = 1.0 / (1.0 + (-logit).exp());
        assert!((probs.values[row] as f64 - sigmoid).abs() < TOLERANCE);
        let z = [logit.exp(), (-logit).exp(), 1.0];
        let sum: f64 = z.iter().sum();
        for (k, zk) in z.iter().enumerate() {
            assert!((cls.row(row)[k] as f64 - zk / sum).abs() < TOLERANCE);
        }
    }
}

#[test]
fn an_empty_batch_gives_empty_outputs() {
    let model = load_test_model();
    let inputs = RawInputs::new()
        .with(tensor::int64("user_id", vec![0], vec![]))
        .with(tensor::int64("tags", vec![0, 3], vec![]))
        .with(tensor::string("city", vec![0], vec![]))
        .with(tensor::float("price", vec![0], vec![]))
        .with(tensor::float("vec", vec![0, 2], vec![]));
    let outputs = model.run(&inputs).unwrap();
    assert_eq!(outputs.get("logits_ctr").unwrap().shape, vec![0]);
    assert_eq!(outputs.get("probs_cls").unwrap().shape, vec![0, 3]);
    assert!(outputs.tensors.iter().all(|(_, t)| t.values.is_empty()));
}

#[test]
fn a_model_without_a_signature_is_refused() {
    let dir = temp_dir("no_signature");
    let path = dir.join("plain.onnx");
    run_fixture_script("make_plain_model.py", &[path.to_str().unwrap()]);
    // By default the missing content hash stops it first; without the check, the missing signature does.
    let error = Model::load(&path, &RunOptions::default()).unwrap_err();
    assert!(matches!(error, RuntimeError::Integrity(_)), "{error}");
    let message = error.to_string().replace(path.to_str().unwrap(), "<model>");
    insta::assert_snapshot!(message, @"<model>: records no `plec.graph_sha256`: not compiled by plec, compiled by a plec older than its integrity hashes, or the entry is damaged; recompile it with `plec compile`, or load it without the check (--skip-integrity-check)");
    let skip = RunOptions { integrity: IntegrityCheck::Skip, ..RunOptions::default() };
    let error = Model::load(&path, &skip).unwrap_err();
    assert!(matches!(error, RuntimeError::Metadata { .. }), "{error}");
    let message = error.to_string().replace(path.to_str().unwrap(), "<model>");
    insta::assert_snapshot!(message, @"model <model>: no `plec.signature` metadata entry: was it compiled by `plec compile`?");
}

#[test]
fn a_missing_model_file_names_the_path() {
    let error = Model::load("/nonexistent/model.onnx", &RunOptions::default()).unwrap_err();
    insta::assert_snapshot!(error.to_string(), @"cannot read model /nonexistent/model.onnx: No such file or directory (os error 2)");
}

#[test]
fn profiling_writes_onnx_runtime_json_profiles() {
    let dir = temp_dir("profiling");
    let options = RunOptions { profiling: Some(dir.join("profile")), ..RunOptions::default() };
    let model = Model::load(test_model_path(), &options).unwrap();
    model.run(&valid_inputs()).unwrap();
    let files = model.end_profiling().unwrap();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let events: serde_json::Value = serde_json::from_str(&text).unwrap();
    // ONNX Runtime's profile is a JSON array of trace events, one per node run among them.
    let names: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["name"].as_str()).collect();
    assert!(names.iter().any(|n| n.contains("MurmurHash3")), "{names:?}");
    // Without profiling there is nothing to end.
    assert!(load_test_model().end_profiling().unwrap().is_empty());
}
