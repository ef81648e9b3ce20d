//! `plec compile --precision int8` end to end: the int8 model verifies against the golden outputs at the int8
//! tolerance, `--eval-data` prints both models' AUC and logloss, and a deliberately poor quantization (one scale
//! for a whole embedding table that has an outlier row) is caught by the AUC check, which names the task and both
//! values and removes the model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use plec_compiler::{compile, CompileOptions, Tensor, Weights};
use plec_runtime::{Model, RawInputs, RunOptions};
use plec_spec::test_dir::TestDir;

const CONFIG: &str = r#"
train_input_path: "unused.csv"
eval_input_path: "unused.csv"
model_dir: "unused"
train_config {
    sparse_optimizer { adagrad_optimizer { lr: 0.001 } constant_learning_rate {} }
    dense_optimizer { adam_optimizer { lr: 0.001 } constant_learning_rate {} }
    num_epochs: 1
}
data_config { batch_size: 32 dataset_type: CsvDataset with_header: true label_fields: "clk" }
feature_configs { id_feature { feature_name: "user_id" expression: "x:user_id" num_buckets: 100 embedding_dim: 8 } }
model_config {
    feature_groups { group_name: "all" feature_names: "user_id" group_type: DEEP }
    ple {
        extraction_networks {
            network_name: "layer1"
            expert_num_per_task: 1
            share_num: 1
            task_expert_net { hidden_units: [16, 8] }
            share_expert_net { hidden_units: [16, 8] }
        }
        task_towers { tower_name: "ctr" label_name: "clk" losses { binary_cross_entropy {} } metrics { auc {} } }
    }
}
"#;

/// Ids 0..OUTLIER score the eval rows; row OUTLIER of the table is set to a value far beyond the others.
const OUTLIER: usize = 99;

fn plec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plec")).args(args).output().expect("run plec")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Config, weights with an outlier table row, and eval rows labelled by the float32 model itself: the 40 ids it
/// scores highest are positives, the 40 lowest negatives (the 19 in between are left out, a margin no per-row
/// int8 error can cross), so the float32 AUC is exactly 1 by construction.
fn setup(dir: &Path) {
    std::fs::write(dir.join("c.config"), CONFIG).unwrap();
    let spec = plec_config::load_str(CONFIG, "c.config").unwrap().spec;
    let mut weights = Weights::random(&spec, 3);
    let table = weights.tensors.get_mut("embedding.user_id_emb.weight").unwrap();
    let mut values = table.to_f32();
    let dim = table.shape[1];
    let largest = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    values[OUTLIER * dim..(OUTLIER + 1) * dim].fill(1000.0);
    assert!(largest < 1000.0 / 254.0, "the other rows must round to 0 with one scale of 1000/127: {largest}");
    *table = Tensor::from_f32(table.shape.clone(), &values);
    weights.save_safetensors(&dir.join("w.safetensors")).unwrap();

    let mut float = compile(&spec, &weights, &CompileOptions::default()).unwrap();
    float.seal().unwrap();
    let model = Model::from_bytes(dir.join("float.onnx"), float.to_bytes().unwrap(), &RunOptions::default()).unwrap();
    let ids: Vec<i64> = (0..OUTLIER as i64).collect();
    let inputs = RawInputs::new().with(plec_runtime::tensor::int64("user_id", vec![ids.len()], ids.clone()));
    let scores = model.run(&inputs).unwrap().get("probs_ctr").unwrap().values.clone();
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    assert!(scores[order[59]] > scores[order[39]], "the float32 model must separate its top and bottom ids");
    let mut csv = String::from("user_id,clk\n");
    for (rank, &id) in order.iter().enumerate() {
        let label = match rank {
            0..40 => 0,
            59.. => 1,
            _ => continue,
        };
        for _ in 0..5 {
            csv.push_str(&format!("{id},{label}\n"));
        }
    }
    std::fs::write(dir.join("eval.csv"), csv).unwrap();
}

fn compile_args<'a>(dir: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "compile",
        "--config",
        &format!("{dir}/c.config"),
        "--checkpoint",
        &format!("{dir}/w.safetensors"),
        "-o",
        &format!("{dir}/m.onnx"),
        "--layout",
        "fused",
        "--precision",
        "int8",
        "--eval-data",
        &format!("{dir}/eval.csv"),
        "--int8-min-table-elements",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn per_row_int8_keeps_the_auc_and_one_scale_per_table_is_caught() {
    let dir = TestDir::new("int8-cli");
    setup(&dir);
    let d = dir.to_str().unwrap();

    // Per-row scales (the default), every dense layer int8 too: the AUC stays 1.
    let args = compile_args(d, &["--int8-min-weights", "0"]);
    let out = plec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("fused layout, int8"), "{stdout}");
    assert!(stdout.contains("eval data: 400 rows from"), "{stdout}");
    let row = stdout.lines().find(|l| l.trim_start().starts_with("ctr ")).unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..4], &["ctr", "1.000000", "1.000000", "+0.000000"], "{row}");
    assert!(stdout.contains("int8 AUC within 0.001 of float32 on every task"), "{stdout}");
    let model = dir.join("m.onnx");
    let loaded = Model::load(&model, &RunOptions::default()).unwrap();
    assert_eq!(loaded.metadata().get("plec.precision").map(String::as_str), Some("int8"));
    let dump = text(&plec(&["dump", model.to_str().unwrap()]).stdout);
    assert!(dump.contains("initializer embedding.user_id_emb.weight.quant int8 [100, 8]"), "{dump}");
    // --eval-data calibrates static int8: the group input quantized once with its calibrated range (in the NHWC
    // view the 1x1 convolutions read), each expert's blocks writing their ReLU outputs as uint8, the last ones
    // concatenated as bytes for the gate mixing, no run-time quantization anywhere.
    assert!(stdout.contains("static int8: activation ranges from 400 rows of"), "{stdout}");
    assert!(
        dump.contains(
            "node features.concat.quant = QuantizeLinear(features.concat.nhwc, features.concat.quant_scale, \
             features.concat.quant_zero_point)"
        ),
        "{dump}"
    );
    // The layer's two experts (one per task, one shared, same shape) read the group input: one stacked chain, the
    // second block grouped by expert, its output the experts' outputs side by side for the gate mixing.
    let stack = "ple.layer1.fused.experts.concat.stack_0";
    assert!(dump.contains(&format!("node {stack}.fc_0 = com.microsoft.QLinearConv(features.concat.quant, ")), "{dump}");
    assert!(dump.contains(&format!(") -> {stack}.fc_1 {{channels_last=1, group=2}}")), "{dump}");
    assert!(!dump.contains("node ple.layer1.shared.expert_0.fc_0.relu ="), "the ReLU is the uint8 clamp: {dump}");
    let concat = "ple.layer1.fused.experts.concat";
    assert!(dump.contains(&format!("node {concat}.levels = Cast({stack}.fc_1)")), "{dump}");
    let mix = "ple.layer1.fused.mix";
    assert!(dump.contains(&format!("node {mix}.scaled_gates = Mul(")), "{dump}");
    assert!(dump.contains(&format!(", {mix}.expert_scale) -> {mix}.scaled_gates")), "{dump}");
    assert!(dump.contains(&format!("node {mix} = MatMul({mix}.scaled_gates, ")), "{dump}");
    assert!(!dump.contains("DynamicQuantizeLinear") && !dump.contains("MatMulIntegerToFloat"), "{dump}");

    // --int8-unstacked-experts: one convolution per expert block, the last ones' bytes concatenated.
    let args = compile_args(d, &["--int8-min-weights", "0", "--int8-unstacked-experts"]);
    let out = plec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let dump = text(&plec(&["dump", model.to_str().unwrap()]).stdout);
    let expert = "ple.layer1.shared.expert_0";
    assert!(dump.contains(&format!("node {expert}.fc_0 = com.microsoft.QLinearConv(features.concat.quant, ")));
    assert!(dump.contains(&format!(") -> {expert}.fc_0.relu.quant {{channels_last=1}}")), "{dump}");
    assert!(dump.contains(&format!("node {concat}.quant = Concat(")) && !dump.contains(".stack_"), "{dump}");

    // --dynamic-activations: the run-time quantization of the inputs, as without calibration data.
    let args = compile_args(d, &["--int8-min-weights", "0", "--dynamic-activations"]);
    let out = plec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("int8 AUC within 0.001 of float32 on every task"));
    let dump = text(&plec(&["dump", model.to_str().unwrap()]).stdout);
    assert!(dump.contains("node features.concat.quant = DynamicQuantizeLinear(features.concat)"), "{dump}");
    assert!(dump.contains("= com.microsoft.MatMulIntegerToFloat(features.concat.quant, "), "{dump}");
    assert!(!dump.contains("QGemm") && !dump.contains("QLinearConv"), "{dump}");

    // One scale for the table: every row but the outlier rounds to zero, every id scores alike (AUC 0.5).
    let args = compile_args(d, &["--int8-table-scale", "per-tensor"]);
    let out = plec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        stderr.contains("task `ctr`: AUC 0.500000 with int8 against 1.000000 with float32, a drop of 0.500000"),
        "{stderr}"
    );
    assert!(stderr.contains("m.onnx removed"), "{stderr}");
    assert!(!model.exists(), "a model that fails the AUC check must not be left behind");
}

#[test]
fn eval_data_needs_int8_and_a_sane_bound() {
    let dir = TestDir::new("int8-cli-usage");
    setup(&dir);
    let d = dir.to_str().unwrap();
    let mut args = compile_args(d, &[]);
    let at = args.iter().position(|a| a == "int8").unwrap();
    args[at] = "float32".into();
    let out = plec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(
            "--eval-data compares an int8 model with its float32 compilation: it needs --precision int8 (got float32)"
        ),
        "{}",
        text(&out.stderr)
    );
    let args = compile_args(d, &["--max-auc-drop", "2"]);
    let out = plec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--max-auc-drop must be between 0 and 1"), "{}", text(&out.stderr));
    let calibration = format!("{d}/eval.csv");
    let args = compile_args(d, &["--calibration-data", &calibration, "--dynamic-activations"]);
    let out = plec(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--calibration-data fixes static int8 activation scales: it needs --precision int8"),
        "{}",
        text(&out.stderr)
    );
}

/// `plec compile` and `plec verify` check an int8 model at the int8 tolerance its metadata names: the mmoe golden
/// case with every layer int8 differs from the trainer by more than the float32 bound (1e-5 on probabilities)
/// and well within the int8 one.
#[test]
fn verify_uses_the_tolerance_of_the_recorded_precision() {
    let dir = TestDir::new("int8-cli-verify");
    let root = env!("CARGO_MANIFEST_DIR");
    let model = dir.join("m.onnx");
    let out = plec(&[
        "compile",
        "--config",
        &format!("{root}/tests/configs/mmoe.config"),
        "--checkpoint",
        &format!("{root}/tests/golden/mmoe/weights.safetensors"),
        "--golden",
        &format!("{root}/tests/golden/mmoe"),
        "-o",
        model.to_str().unwrap(),
        "--precision",
        "int8",
        "--int8-min-weights",
        "0",
        "--int8-min-table-elements",
        "0",
    ]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let out = plec(&["verify", model.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("probs_income: 0 of 56 elements beyond tolerance (atol 1e-2"), "{stdout}");
    let worst: f32 = stdout
        .lines()
        .find(|l| l.contains("probs_income"))
        .and_then(|l| l.rsplit("max |diff| ").next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(worst > 1e-5, "int8 should differ beyond the float32 bound here, else this test proves nothing: {worst}");
}
