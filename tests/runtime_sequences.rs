//! The catalog's "sequences" spec (DIN, simple attention and pooling encoders over `[batch]` string sequence
//! inputs) compiled with random weights runs through plec's runtime on synthetic inputs: every output finite, the
//! layouts agree, a row's result does not depend on the rest of its batch, and a batch whose sequences are all
//! empty runs too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use plec_compiler::{compile, CompileOptions, Layout, NormInit, Weights};
use plec_runtime::synthetic::synthetic_inputs;
use plec_runtime::{tensor, Model, OutputTensor, Outputs, RawData, RawInputs, RunOptions};
use plec_spec::artifact::tolerance::Tolerance;
use plec_spec::test_dir::TestDir;
use plec_spec::testing::catalog;
use plec_spec::OutputKind;

fn compiled(dir: &Path, layout: Layout) -> PathBuf {
    let (_, spec) = catalog().into_iter().find(|(name, _)| *name == "sequences").expect("catalog has sequences");
    let weights = Weights::random_with(&spec, 11, NormInit::Random);
    let options = CompileOptions { layout, ..CompileOptions::default() };
    let mut model = compile(&spec, &weights, &options).expect("compile");
    assert_eq!(model.opset(), Some(20), "sequence specs default to opset 20");
    let path = dir.join(format!("sequences.{}.onnx", layout.name()));
    model.write(&path, false).expect("write");
    path
}

/// Row `row` of every output, as a one-row batch.
fn row_of(outputs: &Outputs, row: usize) -> Outputs {
    let tensors = outputs
        .tensors
        .iter()
        .map(|(name, t)| {
            let mut shape = t.shape.clone();
            shape[0] = 1;
            (name.clone(), OutputTensor { shape, values: t.row(row).to_vec() })
        })
        .collect();
    Outputs { tensors }
}

fn assert_close(a: &Outputs, b: &Outputs, tolerance: Tolerance, what: &str) {
    for (name, x) in &a.tensors {
        let y = b.get(name).unwrap_or_else(|| panic!("{what}: no output {name}"));
        assert_eq!(x.shape, y.shape, "{what}: {name}");
        for (i, (p, q)) in x.values.iter().zip(&y.values).enumerate() {
            assert!((p - q).abs() <= tolerance.allowed(*q), "{what}: {name}[{i}] {p} vs {q}");
        }
    }
}

#[test]
fn sequence_models_run_on_synthetic_inputs() {
    let dir = TestDir::new("runtime-sequences");
    let explicit = Model::load(compiled(&dir, Layout::Explicit), &RunOptions::default()).expect("load explicit");
    let fused = Model::load(compiled(&dir, Layout::Fused), &RunOptions::default()).expect("load fused");
    let signature = explicit.signature().clone();
    let sequences: Vec<_> = signature.inputs.iter().filter(|i| i.sequence.is_some()).collect();
    assert_eq!(sequences.len(), 6, "{:?}", signature.inputs);

    let batch = 48;
    let inputs = synthetic_inputs(&signature, batch, 3);
    // Synthetic sequences: some rows empty, some long, equal lengths within the `clicks` group.
    let cells = |name: &str| match &inputs.get(name).unwrap().data {
        RawData::String(v) => v.clone(),
        other => panic!("{name} is {other:?}"),
    };
    let lengths = |name: &str| -> Vec<usize> {
        cells(name).iter().map(|c| if c.is_empty() { 0 } else { c.split('|').count() }).collect()
    };
    assert_eq!(lengths("clicks__item_id"), lengths("clicks__price"));
    assert!(lengths("views").contains(&0) && lengths("views").iter().any(|&n| n >= 5));

    let a = explicit.run(&inputs).expect("run explicit");
    let b = fused.run(&inputs).expect("run fused");
    for (name, out) in &a.tensors {
        assert_eq!(out.shape[0], batch, "{name}");
        assert!(out.values.iter().all(|v| v.is_finite()), "{name}: {:?}", out.values);
    }
    assert_close(&a, &b, Tolerance::LAYOUTS_PROBS, "explicit vs fused");

    // Row 5 alone gives what it gave in the batch (its T is its own length, not the batch's longest).
    let alone = explicit.run(&inputs.rows(5, 6)).expect("run one row");
    assert_close(&alone, &row_of(&a, 5), Tolerance::for_output(OutputKind::Logits), "row 5 alone");

    // Every sequence empty: runs, and equals the batch with the same other inputs but "" sequences row by row.
    let mut empty = RawInputs::new();
    for t in &inputs.tensors {
        let is_sequence = sequences.iter().any(|s| s.name == t.name);
        empty.insert(if is_sequence {
            tensor::string(&t.name, vec![batch], vec![String::new(); batch])
        } else {
            t.clone()
        });
    }
    let e = explicit.run(&empty).expect("run an all-empty batch");
    let one = explicit.run(&empty.rows(7, 8)).expect("run one empty row");
    assert_close(&one, &row_of(&e, 7), Tolerance::for_output(OutputKind::Logits), "empty row 7 alone");
}
