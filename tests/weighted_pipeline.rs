//! Weighted id features end to end through the binary, on the schema of `tests/configs/weighted_ids.config`:
//! datagen schema -> train -> compile (both layouts, checked against the trainer's golden set) -> verify ->
//! predict, plus a request whose weights do not fit its ids.

use std::path::Path;
use std::process::{Command, Output};

const PLEC: &str = env!("CARGO_BIN_EXE_plec");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run(args: &[&str]) -> Output {
    Command::new(PLEC).args(args).output().unwrap_or_else(|e| panic!("cannot run plec: {e}"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "plec {} failed:\n{}", args.join(" "), text(&output));
    text(&output)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

#[test]
fn weighted_ids_train_compile_verify_and_predict() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("weighted-pipeline");
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!("{ROOT}/tests/configs/weighted_ids.config");
    let data = dir.join("data");
    let out = ok(&[
        "datagen",
        "schema",
        "--config",
        &config,
        "--rows",
        "6000",
        "--eval-rows",
        "1000",
        "--format",
        "csv",
        "-o",
        s(&data),
    ]);
    assert!(out.contains("train.csv: 6000 rows") && out.contains("clk "), "{out}");
    let model_dir = dir.join("model");
    let (train, eval) = (data.join("train.csv"), data.join("eval.csv"));
    let out = ok(&[
        "train",
        "--config",
        &config,
        "--train-input",
        s(&train),
        "--eval-input",
        s(&eval),
        "--model-dir",
        s(&model_dir),
        "--threads",
        "2",
    ]);
    // The generated labels follow the weighted ids: one epoch learns them well above chance.
    let metrics: serde_json::Value = out
        .lines()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no metrics line in:\n{out}"));
    let auc = |tower: &str| metrics[format!("exact_auc_{tower}")].as_f64().unwrap_or_default();
    for tower in ["ctr", "cvr"] {
        assert!(auc(tower) > 0.65, "{tower}: AUC {} after one epoch:\n{out}", auc(tower));
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
