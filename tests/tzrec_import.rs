//! A TorchEasyRec checkpoint end to end: `plec import` then `plec compile` / `verify` / `predict`, and
//! `plec compile --tzrec-checkpoint`, on the committed fixtures (`tests/fixtures/tzrec`: PyTorch wrote them with
//! `torch.distributed.checkpoint`, one and two ranks with sharded tables). The predictions are compared with the
//! fixtures' expected outputs, which a PyTorch forward of the same weights computed in float64, independently of
//! plec's trainer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plec_spec::artifact::tolerance::Tolerance;
use plec_spec::test_dir::TestDir;
use plec_spec::OutputKind;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    repo().join("tests/fixtures/tzrec").join(name).display().to_string()
}

fn config(name: &str) -> String {
    repo().join("tests/configs").join(name).display().to_string()
}

fn plec(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_plec")).args(args).output().expect("run plec");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "plec {args:?} failed:\n{text}");
    output
}

/// Every output column of `predictions` (a `plec predict` CSV) within tolerance of the expected JSON.
fn assert_matches_pytorch(predictions: &Path, expected: &str) {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(expected)).unwrap()).unwrap();
    let text = std::fs::read_to_string(predictions).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<f32>> = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), expected["rows"].as_u64().unwrap() as usize);
    let mut checked = 0;
    for (column, name) in header.iter().enumerate() {
        let kind = if name.starts_with("probs_") { OutputKind::Probs } else { OutputKind::Logits };
        let tolerance = Tolerance::for_output(kind);
        let want = expected[*name].as_array().unwrap_or_else(|| panic!("no expected `{name}`"));
        for (row, value) in rows.iter().zip(want) {
            let want = value.as_f64().unwrap() as f32;
            let got = row[column];
            assert!((got - want).abs() <= tolerance.allowed(want), "{name}: plec {got}, PyTorch {want}");
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * rows.len(), "columns {header:?}");
}

#[test]
fn an_imported_two_rank_checkpoint_compiles_verifies_and_predicts_what_pytorch_computed() {
    let dir = TestDir::new("tzrec-import");
    let model_dir = dir.path().join("plec_model");
    let rows = fixture("ple_rows.csv");
    let output = plec(&[
        "import",
        "--tzrec-checkpoint",
        &fixture("ple_two_ranks"),
        "--config",
        &config("tzrec_ple.config"),
        "--model-dir",
        model_dir.to_str().unwrap(),
        "--golden-data",
        &rows,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("2 sharded tensor(s) assembled from 4 chunks"), "{stdout}");
    let meta = std::fs::read_to_string(model_dir.join("ckpt-100/meta.json")).unwrap();
    assert!(meta.contains("\"imported_from\": \"TorchEasyRec checkpoint"), "{meta}");
    for layout in ["explicit", "fused"] {
        let model = dir.path().join(format!("{layout}.onnx"));
        let model = model.to_str().unwrap();
        let compiled = plec(&["compile", "--checkpoint", model_dir.to_str().unwrap(), "--layout", layout, "-o", model]);
        assert!(String::from_utf8_lossy(&compiled.stdout).contains("outputs match the trainer"));
        plec(&["verify", model]);
        let predictions = dir.path().join(format!("{layout}.csv"));
        plec(&["predict", model, "--input", &rows, "--output", predictions.to_str().unwrap()]);
        assert_matches_pytorch(&predictions, "ple_expected.json");
    }
}

#[test]
fn compile_reads_a_din_checkpoint_directly() {
    let dir = TestDir::new("tzrec-compile");
    let model = dir.path().join("din.onnx");
    let model = model.to_str().unwrap();
    let rows = fixture("ple_din_rows.csv");
    let output = plec(&[
        "compile",
        "--tzrec-checkpoint",
        &fixture("ple_din_two_ranks/model.ckpt-100"),
        "--config",
        &config("tzrec_ple_din.config"),
        "--layout",
        "fused",
        "--golden-data",
        &rows,
        "-o",
        model,
    ]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("outputs match the trainer"));
    // The temporary plec checkpoint is gone; the model and its golden set stay.
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, vec!["din.onnx", "din.onnx.golden"]);
    plec(&["verify", model]);
    let predictions = dir.path().join("din.csv");
    plec(&["predict", model, "--input", &rows, "--output", predictions.to_str().unwrap()]);
    assert_matches_pytorch(&predictions, "ple_din_expected.json");
}

#[test]
fn a_checkpoint_of_another_config_is_refused_naming_both_sides() {
    let dir = TestDir::new("tzrec-refused");
    let model_dir = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["import", "--tzrec-checkpoint", &fixture("ple_single"), "--config", &config("tzrec_ple_din.config")])
        .args(["--model-dir", model_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not fit the config"), "{stderr}");
    assert!(
        stderr.contains("missing `model.embedding_group.seq_emb_impls.__BASE__.ec_dict.4.embeddings.item_id_emb.weight` (plec `sequence_embedding.item_id_emb.weight`"),
        "{stderr}"
    );
    // Nothing half-written is left as a checkpoint.
    assert!(!model_dir.join("ckpt-100").exists());
    // Without --config, the TorchEasyRec model_dir's pipeline.config is looked for, and its absence named.
    let output = Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["compile", "--tzrec-checkpoint", &fixture("ple_single"), "-o"])
        .arg(dir.path().join("m.onnx"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no --config given and no pipeline.config in or above"), "{stderr}");
    assert!(stderr.contains("tests/fixtures/tzrec/ple_single: pass --config"), "{stderr}");
    // A folder holding another model's config is not overwritten.
    std::fs::create_dir_all(&model_dir).unwrap();
    std::fs::write(model_dir.join("pipeline.config"), "# another model\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["import", "--tzrec-checkpoint", &fixture("ple_single"), "--config", &config("tzrec_ple.config")])
        .args(["--model-dir", model_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("it already holds another pipeline.config; import into a new folder"), "{stderr}");
}

/// A flipped byte inside a tensor of a TorchEasyRec checkpoint is caught by the CRC-32 that `torch.save` records for
/// every archive member (the only content check DCP files carry), naming the file and the member.
#[test]
fn a_damaged_tzrec_checkpoint_is_refused_by_its_crc() {
    let dir = TestDir::new("tzrec-damaged");
    let copy = dir.path().join("ple_single/model.ckpt-100/model");
    std::fs::create_dir_all(&copy).unwrap();
    let source = Path::new(&fixture("ple_single")).join("model.ckpt-100/model");
    for entry in std::fs::read_dir(&source).unwrap().flatten() {
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let chunk = copy.join("__0_0.distcp");
    let mut bytes = std::fs::read(&chunk).unwrap();
    // The first tensor storage (`archive/data/0`, a local zip header) past the middle of the file: its first byte.
    let name = b"archive/data/0";
    let header = (bytes.len() / 2..bytes.len() - 30)
        .find(|&at| bytes[at..].starts_with(b"PK\x03\x04") && bytes[at + 30..].starts_with(name))
        .expect("a storage member past the middle");
    let field = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let data = header + 30 + field(header + 26) + field(header + 28);
    bytes[data] ^= 0x5a;
    std::fs::write(&chunk, bytes).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["import", "--tzrec-checkpoint", dir.path().join("ple_single").to_str().unwrap()])
        .args(["--config", &config("tzrec_ple.config"), "--model-dir", dir.path().join("out").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("__0_0.distcp") && stderr.contains("the archive records"), "{stderr}");
    assert!(stderr.contains("has CRC-32") && stderr.contains("the file is damaged"), "{stderr}");
}

/// `(header, rows)` of a CSV of numbers whose header names may be quoted (TorchEasyRec's writer quotes them).
fn numeric_csv(path: &Path) -> (Vec<String>, Vec<Vec<f32>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(|h| h.trim_matches('"').to_string()).collect();
    let rows = lines.map(|l| l.split(',').map(|v| v.trim_matches('"').parse().unwrap()).collect()).collect();
    (header, rows)
}

/// The largest difference between plec's columns and TorchEasyRec's seen on a file, by kind, and how many columns
/// were compared.
#[derive(Debug, Default)]
struct Differences {
    probs: f32,
    logits: f32,
    gates: f32,
    columns: usize,
}

/// TorchEasyRec's column for plec's column `name`: the same name for an output; for an MMoE gate's column
/// `mmoe.gate_<tower>.softmax_<e>`, `gate_<tower>_<e>` (what `tzrec_predict_with_gates.py` writes).
fn torcheasyrec_column(name: &str) -> String {
    match name.strip_prefix("mmoe.gate_").and_then(|rest| rest.split_once(".softmax_")) {
        Some((tower, expert)) => format!("gate_{tower}_{expert}"),
        None => name.to_string(),
    }
}

/// Every column of plec's predictions `ours` within tolerance of TorchEasyRec's `theirs` on each of the `rows` rows.
fn assert_same_as_torcheasyrec(ours: &Path, theirs: &Path, rows: usize) -> Differences {
    let (ours_header, ours) = numeric_csv(ours);
    let (theirs_header, theirs) = numeric_csv(theirs);
    assert_eq!((ours.len(), theirs.len()), (rows, rows));
    let mut seen = Differences::default();
    for (column, name) in ours_header.iter().enumerate() {
        let (tolerance, worst) = if name.starts_with("mmoe.gate_") {
            (Tolerance::GATE_SOFTMAX, &mut seen.gates)
        } else if name.starts_with("probs_") {
            (Tolerance::for_output(OutputKind::Probs), &mut seen.probs)
        } else {
            (Tolerance::for_output(OutputKind::Logits), &mut seen.logits)
        };
        let wanted = torcheasyrec_column(name);
        let theirs_column =
            theirs_header.iter().position(|h| *h == wanted).unwrap_or_else(|| panic!("TorchEasyRec wrote no {wanted}"));
        for (row, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            let (got, want) = (a[column], b[theirs_column]);
            assert!((got - want).abs() <= tolerance.allowed(want), "row {row} {name}: plec {got}, TorchEasyRec {want}");
            *worst = worst.max((got - want).abs());
        }
        seen.columns += 1;
    }
    seen
}

/// The gates of a `plec predict --expose-gates` file (columns `<gate>.softmax_<e>`) and how many experts each
/// mixes, after checking that every gate's columns sum to 1 on every row.
fn assert_gates_sum_to_one(predictions: &Path) -> Vec<(String, usize)> {
    let (header, rows) = numeric_csv(predictions);
    let mut gates: Vec<(String, Vec<usize>)> = Vec::new();
    for (column, name) in header.iter().enumerate() {
        let Some((gate, _expert)) = name.rsplit_once(".softmax_") else { continue };
        match gates.iter_mut().find(|(g, _)| g == gate) {
            Some((_, columns)) => columns.push(column),
            None => gates.push((gate.to_string(), vec![column])),
        }
    }
    for (gate, columns) in &gates {
        for (row, values) in rows.iter().enumerate() {
            let sum: f32 = columns.iter().map(|&c| values[c]).sum();
            assert!(columns.iter().all(|&c| (0.0..=1.0).contains(&values[c])), "row {row} {gate}: {values:?}");
            assert!((sum - 1.0).abs() <= Tolerance::GATE_SOFTMAX.allowed(1.0), "row {row} {gate} sums to {sum}");
        }
    }
    gates.into_iter().map(|(gate, columns)| (gate, columns.len())).collect()
}

/// fg_mode FG_NONE end to end against TorchEasyRec itself: `fg_none/` holds a checkpoint that TorchEasyRec's
/// `train_eval` trained on FG-encoded rows of `fg_encoded.config` (hash, vocabulary, boundaries, weighted,
/// multi-valued and sequence features) and what TorchEasyRec's `predict` wrote for `rows.csv`
/// (`train_fg_none_with_tzrec.sh`). The same rows.csv, compiled and predicted by plec, gives the same
/// probabilities.
#[test]
fn an_fg_none_checkpoint_scores_the_same_file_as_torcheasyrec_predict() {
    let dir = TestDir::new("tzrec-fg-none");
    let rows = fixture("fg_none/rows.csv");
    // The file holds what the rule is about: sequences longer than sequence_length (4 clicks, 3 words; FG_NONE
    // keeps them whole), missing values, "\x03"-joined multi-values and id:weight pairs.
    let text = std::fs::read_to_string(&rows).unwrap();
    let long_clicks = text.lines().skip(1).filter(|l| l.split(',').nth(11).is_some_and(|s| s.split('|').count() > 4));
    assert!(long_clicks.count() > 50);
    assert!(text.contains(",,") && text.contains('\x03') && text.contains(':'));
    let model = dir.path().join("fg_none.onnx");
    let model = model.to_str().unwrap();
    let checkpoint = fixture("fg_none/model.ckpt-62");
    let config = config("fg_encoded.config");
    plec(&["compile", "--tzrec-checkpoint", &checkpoint, "--config", &config, "--golden-data", &rows, "-o", model]);
    let predictions = dir.path().join("plec.csv");
    plec(&["predict", model, "--input", &rows, "--output", predictions.to_str().unwrap()]);
    let seen = assert_same_as_torcheasyrec(&predictions, Path::new(&fixture("fg_none/tzrec_predictions.csv")), 300);
    assert_eq!(seen.columns, 4, "{seen:?}");
    // Gates are written only by a model compiled to output them.
    let output = Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["predict", model, "--input", &rows, "--output", dir.path().join("gates.csv").to_str().unwrap()])
        .arg("--expose-gates")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fg_none.onnx outputs no gates: compile it with `plec compile --expose-gates`"),
        "{stderr}"
    );
}

/// TorchEasyRec's MMoE (with gate MLPs and BatchNorm experts) and DBMTL (bottom MLP, an MMoE, task MLPs and relation
/// towers, one reading another's relation MLP), trained by TorchEasyRec's `train_eval` on FG_NONE rows
/// (`train_fg_none_with_tzrec.sh`): `plec compile --tzrec-checkpoint --expose-gates` in `layouts`, then
/// `plec predict --expose-gates` on the same rows.csv, give TorchEasyRec's probabilities and logits, and every MMoE
/// gate's softmax as TorchEasyRec's MMoE module computes it (`tzrec_predict_with_gates.py`); each gate sums to 1.
fn assert_multi_task_case_matches(case: &str, config_name: &str, layouts: &[&str], gates: &[(&str, usize)]) {
    let dir = TestDir::new(&format!("tzrec-{case}"));
    let rows = fixture(&format!("{case}/rows.csv"));
    let checkpoint = fixture(&format!("{case}/model.ckpt-62"));
    let config = config(config_name);
    let theirs = fixture(&format!("{case}/tzrec_predictions.csv"));
    for layout in layouts {
        let model = dir.path().join(format!("{layout}.onnx"));
        let model = model.to_str().unwrap();
        let compiled = plec(&[
            "compile",
            "--tzrec-checkpoint",
            &checkpoint,
            "--config",
            &config,
            "--golden-data",
            &rows,
            "--layout",
            layout,
            "--expose-gates",
            "-o",
            model,
        ]);
        assert!(String::from_utf8_lossy(&compiled.stdout).contains("outputs match the trainer"));
        let predictions = dir.path().join(format!("{layout}.csv"));
        plec(&["predict", model, "--input", &rows, "--output", predictions.to_str().unwrap(), "--expose-gates"]);
        let found = assert_gates_sum_to_one(&predictions);
        let expected: Vec<(String, usize)> = gates.iter().map(|(g, n)| (g.to_string(), *n)).collect();
        assert_eq!(found, expected);
        let seen = assert_same_as_torcheasyrec(&predictions, Path::new(&theirs), 300);
        let towers = theirs_towers(&theirs);
        assert_eq!(seen.columns, 2 * towers + gates.iter().map(|(_, n)| n).sum::<usize>(), "{seen:?}");
        eprintln!("{case} {layout}: largest difference from TorchEasyRec {seen:?}");
    }
}

/// How many towers TorchEasyRec's predictions file has (one `probs_<tower>` column each).
fn theirs_towers(theirs: &str) -> usize {
    numeric_csv(Path::new(theirs)).0.iter().filter(|h| h.starts_with("probs_")).count()
}

#[test]
fn a_torcheasyrec_mmoe_checkpoint_scores_and_gates_as_torcheasyrec_predict() {
    let gates = [("mmoe.gate_ctr", 3), ("mmoe.gate_cvr", 3)];
    assert_multi_task_case_matches("mmoe", "tzrec_mmoe_fg_none.config", &["explicit", "fused"], &gates);
}

#[test]
fn a_torcheasyrec_dbmtl_checkpoint_scores_and_gates_as_torcheasyrec_predict() {
    let gates = [("mmoe.gate_ctr", 2), ("mmoe.gate_cvr", 2), ("mmoe.gate_ctcvr", 2)];
    assert_multi_task_case_matches("dbmtl", "tzrec_dbmtl_fg_none.config", &["wide"], &gates);
}
