//! The golden regression suite: for each small committed case (`tests/configs/<case>.config` with fixed-seed
//! weights in `tests/golden/<case>/`), the trainer's outputs on edge-case and random rows, the text dump of the
//! compiled graph in every layout, and ONNX Runtime's outputs must all match what is committed. Any change in
//! what plec emits or computes fails here as a reviewable diff.
//!
//! The dumps are insta snapshots (`tests/snapshots/`); weights and golden sets are files in `tests/golden/<case>/`.
//! Regenerate deliberately with `UPDATE_GOLDEN=1 INSTA_UPDATE=always cargo test --test golden_suite`, then review
//! `git diff`.

use std::path::{Path, PathBuf};

use plec_compiler::{
    calibration_model, compile, dump, Calibration, CompileOptions, Int8Options, Layout, NormInit, Precision, Weights,
};
use plec_data::{edge_case_batch, random_batch};
use plec_runtime::{IntegrityCheck, Model, OptimizationLevel, RawInputs, RunOptions};
use plec_spec::artifact::golden::{compare, compare_at, GoldenSet};
use plec_spec::test_dir::TestDir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CASES: &[&str] = &[
    "all_feature_kinds",
    "dbmtl",
    "fg_encoded",
    "mmoe",
    "mmoe_gate",
    "multiclass",
    "sequences",
    "shared_sequences",
    "single_task",
    "weighted_ids",
];
const WEIGHT_SEED: u64 = 7;
const RANDOM_ROWS: usize = 48;
/// Cases also compiled with every expert and tower layer int8 whatever its width (`min_weights: 0`), so the suite
/// runs the int8 Gemm: the default width threshold keeps the small cases' dense layers float32. Only cases whose
/// inputs are all embeddings and whose random weights keep logits in a trained model's range (weighted_ids's reach
/// 5,600, where int8's 0.1% moves probabilities by 7e-3).
const INT8_DENSE_CASES: &[&str] = &["mmoe", "mmoe_gate", "dbmtl"];

fn updating() -> bool {
    std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

fn case_dir(case: &str) -> PathBuf {
    Path::new(ROOT).join("tests/golden").join(case)
}

fn run_golden(
    model_path: &Path,
    golden: &GoldenSet,
    level: OptimizationLevel,
) -> Vec<plec_spec::artifact::tensor::RawTensor> {
    let options = RunOptions { optimization_level: level, ..RunOptions::default() };
    let model = Model::load(model_path, &options).unwrap_or_else(|e| panic!("{e}"));
    let mut inputs = RawInputs::new();
    for tensor in &golden.inputs {
        inputs.insert(tensor.clone());
    }
    model.run(&inputs).unwrap_or_else(|e| panic!("{e}")).to_raw_tensors()
}

/// The activation ranges static int8 needs, observed by the float32 calibration model on the golden inputs.
fn calibrate(
    spec: &plec_spec::ModelSpec,
    weights: &Weights,
    options: &CompileOptions,
    golden: &GoldenSet,
) -> Calibration {
    let (model, taps) = calibration_model(spec, weights, options).unwrap_or_else(|e| panic!("{e}"));
    assert!(!taps.is_empty(), "no tensor to calibrate");
    let run = RunOptions { integrity: IntegrityCheck::Skip, ..RunOptions::default() };
    let bytes = model.to_bytes().unwrap_or_else(|e| panic!("{e}"));
    let model = Model::from_bytes(PathBuf::from("<calibration>"), bytes, &run).unwrap_or_else(|e| panic!("{e}"));
    let mut inputs = RawInputs::new();
    for tensor in &golden.inputs {
        inputs.insert(tensor.clone());
    }
    let outputs = model.run(&inputs).unwrap_or_else(|e| panic!("{e}"));
    let mut calibration = Calibration::default();
    for tap in &taps {
        let values = &outputs.get(tap).unwrap_or_else(|| panic!("no output {tap}")).values;
        calibration.observe(tap, values).unwrap_or_else(|e| panic!("{e}"));
    }
    calibration.add_rows(outputs.batch_size());
    calibration
}

fn check_case(case: &str, failures: &mut Vec<String>) {
    let config = Path::new(ROOT).join("tests/configs").join(format!("{case}.config"));
    let spec = plec_config::load_file(&config).unwrap_or_else(|e| panic!("{e}")).spec;
    let dir = case_dir(case);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let weights_path = dir.join("weights.safetensors");
    if updating() {
        // Random norm statistics, so that BatchNorm folding and LayerNorm are exercised.
        let weights = Weights::random_with(&spec, WEIGHT_SEED, NormInit::Random);
        weights.save_safetensors(&weights_path).unwrap_or_else(|e| panic!("{e}"));
    }
    let weights = Weights::load(&weights_path, &spec).unwrap_or_else(|e| panic!("{case}: {e}"));

    // 1. The trainer's forward pass on edge cases and random rows reproduces the committed golden outputs.
    let rows =
        plec_trainer::golden::concat_as_text(&spec, &[edge_case_batch(&spec, 1), random_batch(&spec, RANDOM_ROWS, 11)]);
    let model = plec_trainer::checkpoint::model_from_weights(&spec, &weights_path).unwrap_or_else(|e| panic!("{e}"));
    let fresh = plec_trainer::golden::golden_set(&model, &rows).unwrap_or_else(|e| panic!("{e}"));
    if updating() {
        fresh.write(&dir).unwrap_or_else(|e| panic!("{e}"));
    }
    let golden = GoldenSet::read(&dir).unwrap_or_else(|e| panic!("{case}: {e}"));
    let same_inputs = golden.inputs.len() == fresh.inputs.len()
        && golden.inputs.iter().zip(&fresh.inputs).all(|(a, b)| a.same_bits(b));
    if !same_inputs {
        failures.push(format!("{case}: the golden inputs differ from the edge-case and random rows generated now"));
    }
    let signature = spec.signature().outputs;
    let trainer = compare(&golden.outputs, &fresh.outputs, &signature);
    if !trainer.passed() {
        failures.push(format!("{case}: trainer outputs moved:\n{trainer}"));
    }

    // 2. Every layout, float32 and int8: committed dumps; ONNX Runtime (optimisations on) reproduces the golden
    //    outputs within the tolerance of the model's precision; optimisations change nothing beyond the float32
    //    tolerance. int8 quantizes every table whatever its size (the cases' tables are far below the default
    //    threshold), so every feature kind's dequantization runs.
    let tables = Int8Options { min_table_elements: 0, ..Int8Options::default() };
    let int8 = |layout, int8| CompileOptions { layout, precision: Precision::Int8, int8, ..Default::default() };
    let mut runs = vec![
        ("explicit", CompileOptions { layout: Layout::Explicit, ..CompileOptions::default() }),
        ("fused", CompileOptions { layout: Layout::Fused, ..CompileOptions::default() }),
        ("wide", CompileOptions { layout: Layout::Wide, ..CompileOptions::default() }),
        ("int8_fused", int8(Layout::Fused, tables)),
        ("int8_wide", int8(Layout::Wide, tables)),
        ("int8_explicit", int8(Layout::Explicit, tables)),
    ];
    if INT8_DENSE_CASES.contains(&case) {
        runs.push(("int8_dense_fused", int8(Layout::Fused, Int8Options { min_weights: 0, ..tables })));
        runs.push(("int8_dense_wide", int8(Layout::Wide, Int8Options { min_weights: 0, ..tables })));
        // Static int8 (calibrated activation scales, uint8 inside every expert and tower ReLU chain), calibrated
        // on the golden rows themselves.
        // The explicit layout mixes each gate on its own (no concatenation to fold: every expert output is
        // dequantized by itself); the wide layout splits a wide first block (no stack across the Split). Each
        // layout is calibrated on its own graph (its tensors have its names).
        let layouts = [
            ("int8_static_fused", Layout::Fused),
            ("int8_static_explicit", Layout::Explicit),
            ("int8_static_wide", Layout::Wide),
        ];
        for (name, layout) in layouts {
            let dense = int8(layout, Int8Options { min_weights: 0, ..tables });
            let calibration = calibrate(&spec, &weights, &dense, &golden);
            runs.push((name, CompileOptions { calibration: Some(calibration), ..dense }));
        }
    }
    let tmp = TestDir::new(&format!("golden-suite-{case}"));
    for (name, options) in runs {
        let mut compiled = compile(&spec, &weights, &options).unwrap_or_else(|e| panic!("{case}: {e}"));
        insta::assert_snapshot!(format!("{case}_{name}"), dump::dump(&compiled.model));
        let path = tmp.join(format!("{name}.onnx"));
        compiled.write(&path, false).unwrap_or_else(|e| panic!("{e}"));
        let optimised = run_golden(&path, &golden, OptimizationLevel::All);
        let plain = run_golden(&path, &golden, OptimizationLevel::Disable);
        let vs_trainer = compare_at(&golden.outputs, &optimised, &signature, options.precision);
        if !vs_trainer.passed() {
            failures.push(format!("{case} ({name}): ONNX Runtime differs from the golden outputs:\n{vs_trainer}"));
        }
        let vs_unoptimised = compare(&plain, &optimised, &signature);
        if !vs_unoptimised.passed() {
            failures.push(format!("{case} ({name}): graph optimisations change the outputs:\n{vs_unoptimised}"));
        }
    }
}

#[test]
fn golden_cases_reproduce() {
    let mut failures = Vec::new();
    for case in CASES {
        check_case(case, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "golden suite failures (regenerate only deliberately, UPDATE_GOLDEN=1):\n{}",
        failures.join("\n")
    );
}

/// The int8 tolerance can fail too: a golden probability moved by 3e-2 (a wrong table or scale) is reported.
#[test]
fn int8_tolerance_reports_a_moved_probability() {
    let dir = case_dir("mmoe");
    let golden = GoldenSet::read(&dir).unwrap_or_else(|e| panic!("{e}"));
    let spec = plec_config::load_file(Path::new(ROOT).join("tests/configs/mmoe.config"))
        .unwrap_or_else(|e| panic!("{e}"))
        .spec;
    let signature = spec.signature().outputs;
    let probs = golden.outputs.iter().position(|t| t.name.starts_with("probs")).unwrap_or_else(|| panic!("no probs"));
    let mut moved = golden.outputs.clone();
    if let plec_spec::artifact::tensor::RawData::Float(values) = &mut moved[probs].data {
        values[5] += 3e-2;
    }
    assert!(compare_at(&golden.outputs, &golden.outputs, &signature, Precision::Int8).passed());
    let comparison = compare_at(&golden.outputs, &moved, &signature, Precision::Int8);
    assert!(!comparison.passed());
    assert!(comparison.to_string().contains(&format!("FAIL {}", golden.outputs[probs].name)), "{comparison}");
}

/// The suite can fail: a golden output nudged by more than the tolerance is reported, naming the output.
#[test]
fn a_moved_golden_output_is_reported() {
    let dir = case_dir("single_task");
    let mut golden = GoldenSet::read(&dir).unwrap_or_else(|e| panic!("{e}"));
    let fresh = golden.clone();
    if let plec_spec::artifact::tensor::RawData::Float(values) = &mut golden.outputs[0].data {
        values[3] += 1e-3;
    }
    let spec = plec_config::load_file(Path::new(ROOT).join("tests/configs/single_task.config"))
        .unwrap_or_else(|e| panic!("{e}"))
        .spec;
    let comparison = compare(&golden.outputs, &fresh.outputs, &spec.signature().outputs);
    assert!(!comparison.passed());
    assert!(comparison.to_string().contains(&format!("FAIL {}", golden.outputs[0].name)), "{comparison}");
}

/// Compiles `weights` for `spec` in float32 and in static int8 (every dense layer int8, calibrated on the mmoe
/// case's golden inputs) and runs both on those inputs: (float32 outputs, int8 outputs, int8 dump).
fn float32_and_static_int8(
    spec: &plec_spec::ModelSpec,
    weights: &Weights,
    stack_experts: bool,
    label: &str,
) -> (Vec<plec_spec::artifact::tensor::RawTensor>, Vec<plec_spec::artifact::tensor::RawTensor>, String) {
    let golden = GoldenSet::read(&case_dir("mmoe")).unwrap_or_else(|e| panic!("{e}"));
    let tmp = TestDir::new(&format!("golden-suite-{label}"));
    let run = |name: &str, options: &CompileOptions| {
        let mut compiled = compile(spec, weights, options).unwrap_or_else(|e| panic!("{e}"));
        let path = tmp.join(format!("{name}.onnx"));
        compiled.write(&path, false).unwrap_or_else(|e| panic!("{e}"));
        (run_golden(&path, &golden, OptimizationLevel::All), dump::dump(&compiled.model))
    };
    let (float32, _) = run("float32", &CompileOptions { layout: Layout::Fused, ..CompileOptions::default() });
    let int8 = Int8Options { min_table_elements: 0, min_weights: 0, stack_experts, ..Int8Options::default() };
    let dense = CompileOptions { layout: Layout::Fused, precision: Precision::Int8, int8, ..Default::default() };
    let calibration = calibrate(spec, weights, &dense, &golden);
    let (int8, dump) = run("static", &CompileOptions { calibration: Some(calibration), ..dense });
    (float32, int8, dump)
}

/// Static int8 keeps each expert at its own scale, in a stack and in the gate mixing (the scales move onto the
/// gates): with one expert's outputs made 8x smaller than the others', ONNX Runtime still scores what the float32
/// model scores within the int8 tolerance, where requantizing or mixing an expert at another's scale would saturate
/// the others or move its share by 8x.
#[test]
fn static_int8_mixes_each_expert_at_its_own_scale() {
    let spec = plec_config::load_file(Path::new(ROOT).join("tests/configs/mmoe.config"))
        .unwrap_or_else(|e| panic!("{e}"))
        .spec;
    let mut weights =
        Weights::load(&case_dir("mmoe").join("weights.safetensors"), &spec).unwrap_or_else(|e| panic!("{e}"));
    // Expert 0's outputs 8x smaller; the output layers 16x larger, so that logits span a trained model's range
    // and a mixing error shows beyond the int8 tolerance.
    let factors = [
        ("ple.mmoe.shared.expert_0.fc_1.weight", 0.125),
        ("ple.mmoe.shared.expert_0.fc_1.bias", 0.125),
        ("tower.income.output.weight", 16.0),
        ("tower.married.output.weight", 16.0),
    ];
    for (name, factor) in factors {
        let tensor = weights.tensors.get_mut(name).unwrap_or_else(|| panic!("no {name}"));
        let scaled: Vec<f32> = tensor.to_f32().iter().map(|v| v * factor).collect();
        *tensor = plec_compiler::Tensor::from_f32(tensor.shape.clone(), &scaled);
    }
    for stack_experts in [true, false] {
        let (float32, int8, dump) = float32_and_static_int8(&spec, &weights, stack_experts, "expert-scales");
        let scales = dump.lines().find(|l| l.starts_with("initializer ple.mmoe.fused.mix.expert_scale float [3]"));
        assert!(scales.is_some(), "the experts' scales are not on the gates:\n{dump}");
        assert_eq!(dump.contains("group=3"), stack_experts, "{dump}");
        let comparison = compare_at(&float32, &int8, &spec.signature().outputs, Precision::Int8);
        assert!(comparison.passed(), "static int8 (stacked experts: {stack_experts}) against float32:\n{comparison}");
    }
}

/// An int8 layer whose output meets a LayerNorm instead of a ReLU writes float (`QGemm`, reading the `[batch,
/// width]` view of its uint8 input), and the LayerNorm's activation output is quantized as a head: the mmoe case
/// with LayerNorm experts still scores what float32 scores within the int8 tolerance.
#[test]
fn static_int8_runs_layers_that_write_float() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("tests/configs/mmoe.config"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace(
            "share_expert_net { hidden_units: [16, 8] }",
            "share_expert_net { hidden_units: [16, 8] use_ln: true }",
        );
    assert!(text.contains("use_ln: true"), "the mmoe config changed: update this test");
    let spec = plec_config::load_str(&text, Path::new("mmoe_ln.config")).unwrap_or_else(|e| panic!("{e}")).spec;
    let weights = Weights::random_with(&spec, WEIGHT_SEED, NormInit::Random);
    let (float32, int8, dump) = float32_and_static_int8(&spec, &weights, true, "layer-norm");
    let expert = "ple.mmoe.shared.expert_0";
    assert!(dump.contains(&format!("node {expert}.fc_0 = com.microsoft.QGemm(features.concat.quant.rows, ")), "{dump}");
    assert!(dump.contains(&format!("node {expert}.fc_1 = com.microsoft.QGemm({expert}.fc_0.")), "{dump}");
    let comparison = compare_at(&float32, &int8, &spec.signature().outputs, Precision::Int8);
    assert!(comparison.passed(), "static int8 against float32:\n{comparison}");
}
