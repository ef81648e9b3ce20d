//! `plec predict`, `plec bench` and `plec export-triton` end to end on a compiled model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use plec_runtime::synthetic::synthetic_inputs;
use plec_runtime::{Model, RunOptions};
use runtime_support::*;

const ROWS: usize = 30;
const BATCH: usize = 7;

#[test]
fn predict_scores_every_row_in_order_as_the_library_does() {
    let dir = temp_dir("cli_predict");
    let model = Model::load(compiled_model(), &RunOptions::default()).unwrap();
    let inputs = synthetic_inputs(model.signature(), ROWS, 99);
    let input = dir.join("rows.csv");
    write_csv(&input, model.signature(), &inputs, ROWS);
    let output = dir.join("scores.csv");
    let batch = BATCH.to_string();
    let run = plec(&[
        "predict",
        compiled_model().to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--batch-size",
        &batch,
        "--keep-columns",
        "row_id",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(stdout.starts_with("integrity: graph sha256 "), "{stdout}");
    assert!(
        stdout.lines().nth(1).is_some_and(|l| l.starts_with(&format!("scored {ROWS} rows from 1 file(s)"))),
        "{stdout}"
    );

    let written = std::fs::read_to_string(&output).unwrap();
    let mut lines = written.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let names: Vec<&str> = model.outputs().iter().map(|o| o.name.as_str()).collect();
    assert_eq!(header[0], "row_id");
    assert_eq!(&header[1..], names.as_slice());
    let body: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(body.len(), ROWS);
    // The library on the same batches: CSV text round-trips ids, strings and floats exactly.
    for start in (0..ROWS).step_by(BATCH) {
        let end = (start + BATCH).min(ROWS);
        let expected = model.run(&inputs.rows(start, end)).unwrap();
        for (offset, line) in body[start..end].iter().enumerate() {
            let row = start + offset;
            assert_eq!(line[0], format!("id{row}"));
            for (k, (_, tensor)) in expected.tensors.iter().enumerate() {
                let got: f32 = line[k + 1].parse().unwrap();
                assert_eq!(got.to_bits(), tensor.values[offset].to_bits(), "row {row} output {}", names[k]);
            }
        }
    }
}

#[test]
fn predict_names_the_bad_row_file_line_and_column() {
    let dir = temp_dir("cli_predict_bad");
    let model = Model::load(compiled_model(), &RunOptions::default()).unwrap();
    let inputs = synthetic_inputs(model.signature(), 5, 3);
    let input = dir.join("rows.csv");
    write_csv(&input, model.signature(), &inputs, 5);
    // `user` has num_buckets 50: 77 is out of range on data row 3 (line 4).
    let text_in = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<String> = text_in.lines().map(str::to_string).collect();
    let user_column = lines[0].split(',').position(|c| c == "user").unwrap();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    cells[user_column] = "77".into();
    lines[3] = cells.join(",");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let output = dir.join("scores.csv");
    let run = plec(&[
        "predict",
        compiled_model().to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let stderr = text(&run.stderr).replace(input.to_str().unwrap(), "rows.csv");
    insta::assert_snapshot!(stderr, @r#"
    error: 1 bad row (nothing was written):
      rows.csv: line 4, column "user": value 77 is outside the valid ids [0, 50) (missing is -1)
    use --bad-rows FILE to write bad rows there and score the others
    "#);
    assert!(!output.exists());

    let bad = dir.join("bad.csv");
    let run = plec(&[
        "predict",
        compiled_model().to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--bad-rows",
        bad.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("1 bad row(s) left empty in the output"), "{}", text(&run.stdout));
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 1 + 5);
    let listed = std::fs::read_to_string(&bad).unwrap();
    assert!(listed.lines().nth(1).unwrap().starts_with("2,"), "{listed}");
}

#[test]
fn bench_reports_each_batch_size_as_json() {
    let run = plec(&[
        "bench",
        compiled_model().to_str().unwrap(),
        "--batch-sizes",
        "1,16",
        "--iterations",
        "3",
        "--warmup",
        "1",
        "--threads",
        "1",
        "--json",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["device"], "cpu");
    let results = report["results"].as_array().unwrap();
    let sizes: Vec<u64> = results.iter().map(|r| r["batch_size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [1, 16]);
    for r in results {
        assert_eq!(r["iterations"], 3);
        let (median, p90, p99) =
            (r["median_us"].as_f64().unwrap(), r["p90_us"].as_f64().unwrap(), r["p99_us"].as_f64().unwrap());
        assert!(0.0 < median && median <= p90 && p90 <= p99, "{r}");
    }
}

#[test]
fn export_triton_writes_a_repository_that_parses_against_the_schema() {
    let dir = temp_dir("cli_triton");
    let run = plec(&["export-triton", compiled_model().to_str().unwrap(), dir.to_str().unwrap(), "--name", "ple"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(dir.join("ple/1/model.onnx").is_file());
    let checker = project_root().join("crates/runtime/tests/fixtures/check_triton_config.py");
    let parsed = std::process::Command::new(python()).arg(checker).arg(dir.join("ple/config.pbtxt")).output().unwrap();
    assert!(parsed.status.success(), "{}", text(&parsed.stderr));
    let config: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    let model = Model::load(compiled_model(), &RunOptions::default()).unwrap();
    let names: Vec<&str> = config["input"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    let expected: Vec<&str> = model.signature().inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, expected);
    assert_eq!(config["max_batch_size"], 1024);
}

/// A model compiled with `--expose-gates`: its Triton config lists every gate softmax after the signature's
/// outputs, `[experts]` wide, so a Triton client can request them.
#[test]
fn export_triton_lists_the_gate_outputs() {
    let dir = temp_dir("cli_triton_gates");
    let model_path = compiled_gated_model();
    let run = plec(&["export-triton", model_path.to_str().unwrap(), dir.to_str().unwrap(), "--name", "mmoe"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let checker = project_root().join("crates/runtime/tests/fixtures/check_triton_config.py");
    let parsed = std::process::Command::new(python()).arg(checker).arg(dir.join("mmoe/config.pbtxt")).output().unwrap();
    assert!(parsed.status.success(), "{}", text(&parsed.stderr));
    let config: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    let model = Model::load(model_path, &RunOptions::default()).unwrap();
    let outputs = config["output"].as_array().unwrap();
    let signature_outputs = model.signature().outputs.len();
    let gates = &outputs[signature_outputs..];
    assert_eq!(gates.len(), model.gate_outputs().len());
    assert!(!gates.is_empty(), "the MMoE exposes its gates");
    for (listed, gate) in gates.iter().zip(model.gate_outputs()) {
        assert_eq!(listed["name"], gate.name.as_str());
        // The config's mmoe has num_expert 3; MessageToDict writes int64 as strings.
        assert_eq!(listed["dims"], serde_json::json!(["3"]), "{listed}");
        assert_eq!(gate.experts, 3);
    }
}

#[test]
fn a_missing_onnx_runtime_library_is_named() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["bench", compiled_model().to_str().unwrap()])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    insta::assert_snapshot!(text(&output.stderr), @r"
    error: cannot find the ONNX Runtime library (libonnxruntime.so.1.31.1); looked at (the file ORT_DYLIB_PATH names):
      /nonexistent/libonnxruntime.so.1.31.1
    Set ORT_DYLIB_PATH to the library file, or run scripts/setup (it installs ONNX Runtime 1.31.1 into .native/lib)
    ");
}
