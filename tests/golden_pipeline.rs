//! End to end through the binary: datagen -> train (golden set with the checkpoint) -> compile (verified against
//! it, both layouts) -> verify -> predict; and deliberately broken artifacts — a corrupted weight, two swapped
//! experts, a changed transform — that `plec compile` refuses and `plec verify` catches, naming the output; and the
//! same path for weighted id features.

mod cli_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cli_support::{fails, ok, run, s, text};
use plec_spec::artifact::tolerance::Tolerance;
use plec_spec::OutputKind;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn config() -> String {
    format!("{ROOT}/tests/configs/taobao_small.config")
}

/// One trained model shared by the tests of this file.
fn trained() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // One folder under target/tmp, replaced on every run (a per-process name in /tmp piled up 266 MB a run).
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-pipeline");
        let _ = std::fs::remove_dir_all(&dir);
        let data = dir.join("data");
        ok(&["datagen", "taobao", "--rows", "4096", "--eval-rows", "600", "--seed", "3", "-o", s(&data)]);
        let train = data.join("train.parquet");
        let eval = data.join("eval.parquet");
        let model = dir.join("model");
        ok(&[
            "train",
            "--config",
            &config(),
            "--train-input",
            s(&train),
            "--eval-input",
            s(&eval),
            "--model-dir",
            s(&model),
            "--num-steps",
            "16",
            "--threads",
            "2",
        ]);
        dir
    })
}

fn checkpoint() -> PathBuf {
    plec_spec::artifact::checkpoint::latest_checkpoint(&trained().join("model")).ok().flatten().unwrap_or_default()
}

#[test]
fn compile_verify_predict_in_both_layouts() {
    let dir = trained();
    let golden = checkpoint().join("golden");
    assert!(golden.join("test_data_set_0/input_0.pb").is_file(), "training writes a golden set with the checkpoint");
    for layout in ["explicit", "fused"] {
        let model = dir.join(format!("{layout}.onnx"));
        let out = ok(&["compile", "--checkpoint", s(&dir.join("model")), "-o", s(&model), "--layout", layout]);
        assert!(out.contains("outputs match the trainer"), "{out}");
        let out = ok(&["verify", s(&model)]);
        assert!(out.contains("verification passed"), "{out}");
        for output in ["probs_ctr", "logits_ctr", "probs_cvr", "logits_cvr"] {
            assert!(out.contains(&format!("ok   {output}:")), "{output} not checked:\n{out}");
        }
    }
    // The model carries its golden set in its metadata too: a copy on its own still verifies.
    let alone = dir.join("alone");
    std::fs::create_dir_all(&alone).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(dir.join("explicit.onnx"), alone.join("model.onnx")).unwrap_or_else(|e| panic!("{e}"));
    let out = ok(&["verify", s(&alone.join("model.onnx"))]);
    assert!(out.contains("golden set in its metadata") && out.contains("verification passed"), "{out}");
    let predictions = dir.join("predictions.csv");
    let eval = dir.join("data/eval.parquet");
    ok(&[
        "predict",
        s(&dir.join("fused.onnx")),
        "--input",
        s(&eval),
        "--output",
        s(&predictions),
        "--keep-columns",
        "clk",
    ]);
    let lines = std::fs::read_to_string(&predictions).unwrap_or_default().lines().count();
    assert_eq!(lines, 600 + 1, "one output row per input row, plus the header");
}

/// Rewrites the checkpoint's weights with `change` applied and returns the new file.
fn broken_weights(
    name: &str,
    change: impl Fn(&mut std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)>),
) -> PathBuf {
    let source = checkpoint().join("model.safetensors");
    let bytes = std::fs::read(&source).unwrap_or_default();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut all: std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)> = tensors
        .tensors()
        .into_iter()
        .map(|(n, view)| {
            let values = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            (n, (view.shape().to_vec(), values))
        })
        .collect();
    change(&mut all);
    let byte_data: Vec<(String, Vec<usize>, Vec<u8>)> = all
        .iter()
        .map(|(n, (shape, values))| (n.clone(), shape.clone(), values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = byte_data
        .iter()
        .map(|(n, shape, data)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                .unwrap_or_else(|e| panic!("{e}"));
            (n.clone(), view)
        })
        .collect();
    let path = trained().join(format!("{name}.safetensors"));
    safetensors::serialize_to_file(views, None, &path).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// A broken artifact: compile refuses it (and leaves no model), and the same model compiled with --no-verify
/// fails `plec verify`, which names an output that moved.
fn assert_caught(name: &str, config: &str, weights: &Path, moved: &[&str]) {
    let dir = trained();
    let golden = checkpoint().join("golden");
    let model = dir.join(format!("{name}.onnx"));
    let out =
        fails(&["compile", "--config", config, "--checkpoint", s(weights), "--golden", s(&golden), "-o", s(&model)]);
    assert!(out.contains("does not reproduce the trainer's outputs"), "{out}");
    assert!(!model.exists(), "a model failing verification must not be left behind");
    ok(&["compile", "--config", config, "--checkpoint", s(weights), "-o", s(&model), "--no-verify"]);
    let out = fails(&["verify", s(&model), "--golden", s(&golden)]);
    assert!(out.contains("verification FAILED"), "{out}");
    assert!(moved.iter().any(|o| out.contains(&format!("FAIL {o}:"))), "none of {moved:?} named:\n{out}");
    assert!(out.contains("worst: row"), "{out}");
}

#[test]
fn corrupted_weight_is_caught() {
    let weights = broken_weights("corrupt", |all| {
        if let Some((_, values)) = all.get_mut("tower.ctr.output.bias") {
            values[0] += 0.5;
        }
    });
    assert_caught("corrupt", &config(), &weights, &["logits_ctr", "probs_ctr"]);
}

#[test]
fn swapped_experts_are_caught() {
    let weights = broken_weights("swapped", |all| {
        // The last layer's experts, whose outputs the cvr gate mixes right before the tower.
        let names: Vec<String> =
            all.keys().filter(|n| n.starts_with("ple.layer3.task_cvr.expert_0.")).cloned().collect();
        assert!(!names.is_empty());
        for name in names {
            let other = name.replace("expert_0", "expert_1");
            if let (Some(a), Some(b)) = (all.get(&name).cloned(), all.get(&other).cloned()) {
                all.insert(name, b);
                all.insert(other, a);
            }
        }
    });
    assert_caught("swapped", &config(), &weights, &["logits_cvr", "probs_cvr"]);
}

#[test]
fn changed_transform_is_caught() {
    // Same shapes, different bucketing of `price`: one boundary more at the front, the last one dropped, so
    // (almost) every price lands one row further down the table.
    let changed = std::fs::read_to_string(config())
        .unwrap_or_default()
        .replace("boundaries: [1.1,", "boundaries: [0.5, 1.1,")
        .replace(", 5160, 8720]", ", 5160]");
    let path = trained().join("changed_transform.config");
    std::fs::write(&path, changed).unwrap_or_else(|e| panic!("{e}"));
    // Against the checkpoint folder, whose meta.json records the model structure, compile refuses outright.
    let golden = checkpoint().join("golden");
    let model = trained().join("refused.onnx");
    let out = fails(&[
        "compile",
        "--config",
        s(&path),
        "--checkpoint",
        s(&checkpoint()),
        "--golden",
        s(&golden),
        "-o",
        s(&model),
    ]);
    assert!(out.contains("different model structure"), "{out}");
    // The bare weights file carries no structure record: then the golden set catches the change.
    let weights = broken_weights("same_weights", |_| {});
    assert_caught("changed_transform", s(&path), &weights, &["logits_ctr", "probs_ctr", "logits_cvr", "probs_cvr"]);
}

/// datagen schema (6000 / 1000 CSV rows) -> train (each tower's exact AUC above `min_auc` after one epoch) ->
/// compile in both layouts (checked against the trainer's golden set) -> verify -> predict every eval row. Returns
/// the run's folder (with `fused.onnx`) and the eval file.
fn train_compile_verify_predict(name: &str, config: &str, min_auc: f64) -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let out = ok(&[
        "datagen",
        "schema",
        "--config",
        config,
        "--rows",
        "6000",
        "--eval-rows",
        "1000",
        "--format",
        "csv",
        "-o",
        s(&data),
    ]);
    assert!(out.contains("train.csv: 6000 rows"), "{out}");
    let model_dir = dir.join("model");
    let (train, eval) = (data.join("train.csv"), data.join("eval.csv"));
    let out = ok(&[
        "train",
        "--config",
        config,
        "--train-input",
        s(&train),
        "--eval-input",
        s(&eval),
        "--model-dir",
        s(&model_dir),
        "--threads",
        "2",
    ]);
    // The generated labels follow the features: one epoch learns them well above chance.
    let metrics: serde_json::Value = out
        .lines()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no metrics line in:\n{out}"));
    let aucs: Vec<(&String, f64)> = metrics
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.starts_with("exact_auc_"))
        .map(|(key, value)| (key, value.as_f64().unwrap_or_default()))
        .collect();
    assert!(aucs.len() >= 2, "an exact AUC per tower: {out}");
    for (key, auc) in aucs {
        assert!(auc > min_auc, "{key} {auc} after one epoch:\n{out}");
    }
    for layout in ["explicit", "fused"] {
        let model = dir.join(format!("{layout}.onnx"));
        let out = ok(&["compile", "--checkpoint", s(&model_dir), "-o", s(&model), "--layout", layout]);
        assert!(out.contains("outputs match the trainer"), "{out}");
        let out = ok(&["verify", s(&model)]);
        assert!(out.contains("verification passed"), "{out}");
    }
    let predictions = dir.join("predictions.csv");
    ok(&["predict", s(&dir.join("fused.onnx")), "--input", s(&eval), "--output", s(&predictions)]);
    let lines = std::fs::read_to_string(&predictions).unwrap_or_default().lines().count();
    assert_eq!(lines, 1000 + 1, "one output row per input row, plus the header");
    (dir, eval)
}

/// Weighted id features end to end, on the schema of `tests/configs/weighted_ids.config`: datagen schema -> train
/// -> compile (both layouts, checked against the trainer's golden set) -> verify -> predict, plus a row whose pair
/// has no weight.
#[test]
fn weighted_ids_train_compile_verify_and_predict() {
    let config = format!("{ROOT}/tests/configs/weighted_ids.config");
    let (dir, eval) = train_compile_verify_predict("weighted-pipeline", &config, 0.65);

    // A row whose pair has no weight is refused, naming the file, line and column.
    let bad = dir.join("bad.csv");
    let header = std::fs::read_to_string(&eval).unwrap_or_default().lines().next().unwrap_or_default().to_string();
    let columns: Vec<&str> = header.split(',').collect();
    let row: Vec<&str> = columns.iter().map(|c| if *c == "user_shop" { "k1" } else { "" }).collect();
    std::fs::write(&bad, format!("{header}\n{}\n", row.join(","))).unwrap_or_else(|e| panic!("{e}"));
    let output =
        run(&["predict", s(&dir.join("fused.onnx")), "--input", s(&bad), "--output", s(&dir.join("bad_out.csv"))]);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("line 2, column \"user_shop\": \"k1\" is not an id:weight pair"),
        "{}",
        text(&output)
    );
}

/// Sequence features end to end, on the schema of `tests/configs/sequences.config` (a DIN with BatchNorm, a simple
/// attention and a pooling encoder over two sequence groups): datagen schema -> train -> compile (both layouts,
/// checked against the trainer's golden set) -> verify -> predict, plus a row with a malformed sequence.
#[test]
fn sequences_train_compile_verify_and_predict() {
    let config = format!("{ROOT}/tests/configs/sequences.config");
    let (dir, eval) = train_compile_verify_predict("sequence-pipeline", &config, 0.6);

    // A sequence position that is not an id is refused, naming the file, line and column.
    let bad = dir.join("bad.csv");
    let header = std::fs::read_to_string(&eval).unwrap_or_default().lines().next().unwrap_or_default().to_string();
    let columns: Vec<&str> = header.split(',').collect();
    // The group's other sequences have three positions too, so only the bad id is wrong.
    let cell = |c: &str| match c {
        "click_seq__item_id" => "3|x|5",
        "click_seq__cate" => "a|b|c",
        "click_seq__dwell" => "1|2|3",
        _ => "",
    };
    let row: Vec<&str> = columns.iter().map(|c| cell(c)).collect();
    std::fs::write(&bad, format!("{header}\n{}\n", row.join(","))).unwrap_or_else(|e| panic!("{e}"));
    let output =
        run(&["predict", s(&dir.join("fused.onnx")), "--input", s(&bad), "--output", s(&dir.join("bad_out.csv"))]);
    assert!(!output.status.success(), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("line 2") && message.contains("click_seq__item_id") && message.contains("\"x\""),
        "{message}"
    );
}

/// DBMTL with `jrc_loss` end to end (the shape of TorchEasyRec's taobao `dbmtl_jrc` config: 2-class towers whose
/// samples compete within the `user_id` sessions of a batch, a relation tower): datagen schema -> train -> compile
/// (both layouts, checked against the trainer's golden set) -> verify -> predict, whose `probs1_<t>` is the
/// softmax of the logits' second class.
#[test]
fn jrc_loss_dbmtl_train_compile_verify_and_predict() {
    let config = format!("{ROOT}/tests/configs/dbmtl_jrc.config");
    let (dir, _) = train_compile_verify_predict("jrc-pipeline", &config, 0.65);
    let predictions = std::fs::read_to_string(dir.join("predictions.csv")).unwrap_or_default();
    let mut lines = predictions.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap_or_else(|| panic!("no {name}: {header:?}"));
    let tolerance = Tolerance::for_output(OutputKind::Probs1);
    for line in lines.take(50) {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap_or(f64::NAN)).collect();
        for tower in ["ctr", "cvr"] {
            let [z0, z1, p1] = [format!("logits_{tower}_0"), format!("logits_{tower}_1"), format!("probs1_{tower}")]
                .map(|name| cells[column(&name)]);
            let softmax1 = 1.0 / (1.0 + (z0 - z1).exp());
            assert!((p1 - softmax1).abs() <= tolerance.atol as f64, "{tower}: {line}");
        }
    }
}

/// TorchEasyRec's MMoE block with a gate MLP end to end (`tests/configs/mmoe_gate.config`): datagen schema -> train
/// -> compile (both layouts, checked against the trainer's golden set) -> verify -> predict.
#[test]
fn mmoe_train_compile_verify_and_predict() {
    let config = format!("{ROOT}/tests/configs/mmoe_gate.config");
    train_compile_verify_predict("mmoe-pipeline", &config, 0.6);
}
