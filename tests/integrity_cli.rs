//! Fault injection: a byte flipped at several places (a header, an embedding table no golden row looks up, a dense
//! weight, the external data file, the golden set) or a file cut short, in a checkpoint and in a compiled model, is
//! caught by `plec compile`, `plec verify` and `plec predict`, each with a clear message (snapshotted, hashes and
//! folders redacted). The golden set alone would miss most of these: it only sees the rows it looks up.

mod cli_support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use cli_support::{fails, ok, run, s, text};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The message with the test folder and every sha256 (64 hex digits) replaced, so that snapshots hold on any
/// machine and after any retraining.
fn redact(message: &str) -> String {
    let message = message.replace(s(dir()), "<dir>");
    let mut out = String::new();
    let mut word = String::new();
    for c in message.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            word.push(c);
            continue;
        }
        out.push_str(if word.len() == 64 { "<sha256>" } else { &word });
        word.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// The lines of `output` that carry the error (`error: ...` and after).
fn error_of(output: &str) -> String {
    let start = output.find("error: ").unwrap_or_else(|| panic!("no error in:\n{output}"));
    redact(output[start..].trim_end())
}

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("integrity");
        let _ = std::fs::remove_dir_all(&dir);
        let data = dir.join("data");
        ok(&["datagen", "taobao", "--rows", "2048", "--eval-rows", "300", "--seed", "5", "-o", s(&data)]);
        ok(&[
            "train",
            "--config",
            &format!("{ROOT}/tests/configs/taobao_small.config"),
            "--train-input",
            s(&data.join("train.parquet")),
            "--eval-input",
            s(&data.join("eval.parquet")),
            "--model-dir",
            s(&dir.join("model")),
            "--num-steps",
            "8",
            "--threads",
            "2",
        ]);
        dir
    })
}

fn checkpoint() -> PathBuf {
    plec_spec::artifact::checkpoint::latest_checkpoint(&dir().join("model")).ok().flatten().unwrap_or_default()
}

/// A copy of the trained checkpoint folder (with its config) under `name`, for damaging.
fn checkpoint_copy(name: &str) -> PathBuf {
    let model_dir = dir().join(name);
    let _ = std::fs::remove_dir_all(&model_dir);
    let ckpt = model_dir.join(checkpoint().file_name().unwrap_or_default());
    copy_dir(&checkpoint(), &ckpt);
    std::fs::copy(dir().join("model/pipeline.config"), model_dir.join("pipeline.config"))
        .unwrap_or_else(|e| panic!("{e}"));
    ckpt
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{e}")).flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    assert!(offset < bytes.len(), "{} has {} bytes, not {offset}", path.display(), bytes.len());
    bytes[offset] ^= 0x5a;
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{e}"));
}

fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(path, &bytes[..bytes.len() * 2 / 3]).unwrap_or_else(|e| panic!("{e}"));
}

/// Where tensor `name`'s data starts in a safetensors file, and its length.
fn safetensors_range(path: &Path, name: &str) -> (usize, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap_or_default();
    let offsets = &header[name]["data_offsets"];
    let (begin, end) = (offsets[0].as_u64().unwrap_or(0) as usize, offsets[1].as_u64().unwrap_or(0) as usize);
    assert!(end > begin, "no tensor {name} in {}", path.display());
    (8 + header_len + begin, end - begin)
}

/// The offset in `haystack` of the 16 bytes starting in the middle of tensor `name` of the checkpoint: where that
/// weight's data lies in a compiled model.
fn find_weight(haystack: &[u8], name: &str) -> usize {
    let weights = checkpoint().join("model.safetensors");
    let (start, len) = safetensors_range(&weights, name);
    let bytes = std::fs::read(&weights).unwrap_or_default();
    let needle = &bytes[start + len / 2..start + len / 2 + 16];
    haystack.windows(16).position(|w| w == needle).unwrap_or_else(|| panic!("{name}'s bytes not found"))
}

const TABLE: &str = "embedding.user_id_emb.weight";
const DENSE: &str = "tower.ctr.output.weight";

fn compile_fails(ckpt: &Path, name: &str) -> String {
    let model = dir().join(format!("from_damaged_{name}.onnx"));
    let out = fails(&["compile", "--checkpoint", s(ckpt), "-o", s(&model)]);
    assert!(!model.exists(), "no model may be written from a damaged checkpoint");
    out
}

#[test]
fn a_damaged_checkpoint_is_refused_by_compile() {
    // An embedding row in the middle of the user table: no golden row looks it up.
    let ckpt = checkpoint_copy("ckpt_table");
    let weights = ckpt.join("model.safetensors");
    let (start, len) = safetensors_range(&weights, TABLE);
    flip(&weights, start + len / 2);
    insta::assert_snapshot!(error_of(&compile_fails(&ckpt, "table")), @"error: <dir>/ckpt_table/ckpt-8/model.safetensors: the weights file has sha256 <sha256>, but <dir>/ckpt_table/ckpt-8/meta.json (`weights_sha256`) records <sha256>: the file is damaged or was changed after it was written; copy the checkpoint again from where it was written, or retrain");
    // Overridden, loudly, it compiles: the golden set passes, which is why the hash check exists.
    let model = dir().join("override.onnx");
    let out = ok(&["compile", "--checkpoint", s(&ckpt), "-o", s(&model), "--ignore-checkpoint-hash"]);
    assert!(out.contains("WARNING: --ignore-checkpoint-hash") && out.contains("outputs match the trainer"), "{out}");

    for (name, damage) in [
        ("header", Box::new(|w: &Path| flip(w, 20)) as Box<dyn Fn(&Path)>),
        (
            "dense",
            Box::new(|w: &Path| {
                let (start, len) = safetensors_range(w, DENSE);
                flip(w, start + len / 2);
            }),
        ),
        ("truncated", Box::new(|w: &Path| truncate(w))),
    ] {
        let ckpt = checkpoint_copy(&format!("ckpt_{name}"));
        damage(&ckpt.join("model.safetensors"));
        let out = compile_fails(&ckpt, name);
        assert!(out.contains("the weights file has sha256") && out.contains("retrain"), "{name}:\n{out}");
    }

    // The golden set: a flipped output value.
    let ckpt = checkpoint_copy("ckpt_golden");
    let output = ckpt.join("golden/test_data_set_0/output_0.pb");
    let size = std::fs::metadata(&output).map(|m| m.len() as usize).unwrap_or_default();
    flip(&output, size - 3);
    insta::assert_snapshot!(error_of(&compile_fails(&ckpt, "golden")), @"error: <dir>/ckpt_golden/ckpt-8/golden: the golden set has sha256 <sha256>, but <dir>/ckpt_golden/ckpt-8/meta.json (`golden_sha256`) records <sha256>: the file is damaged or was changed after it was written; copy the checkpoint again from where it was written, or retrain");
}

/// A good model, with its golden set beside it; with `--external-data`, its data file too.
fn compiled(name: &str, external: bool) -> PathBuf {
    let model = dir().join(format!("{name}.onnx"));
    let checkpoint = checkpoint();
    let mut args = vec!["compile", "--checkpoint", s(&checkpoint), "-o", s(&model)];
    if external {
        args.push("--external-data");
    }
    ok(&args);
    let out = ok(&["verify", s(&model)]);
    assert!(out.contains("integrity: graph sha256") && out.contains("verification passed"), "{out}");
    model
}

fn predict(model: &Path, extra: &[&str]) -> Output {
    let eval = dir().join("data/eval.parquet");
    let output = model.with_extension("csv");
    let mut args = vec!["predict", s(model), "--input", s(&eval), "--output", s(&output)];
    args.extend(extra);
    run(&args)
}

/// verify and predict both refuse `model`, naming `what`.
fn refused(model: &Path, what: &str) -> String {
    let out = fails(&["verify", s(model)]);
    assert!(out.contains("verification FAILED") && out.contains(what), "{}:\n{out}", model.display());
    let output = predict(model, &[]);
    assert!(!output.status.success(), "predict scored a damaged model:\n{}", text(&output));
    let out = text(&output);
    assert!(out.contains(what), "{}:\n{out}", model.display());
    out
}

#[test]
fn a_damaged_model_is_refused_by_verify_and_predict() {
    let model = compiled("table", false);
    let bytes = std::fs::read(&model).unwrap_or_default();
    flip(&model, find_weight(&bytes, TABLE));
    let out = refused(&model, "the graph");
    insta::assert_snapshot!(error_of(&out), @"error: <dir>/table.onnx: the graph (bytes 59..25226088) has sha256 <sha256>, but `plec.graph_sha256` records <sha256>: the file is damaged or was changed after it was written; copy it again from the `plec compile` output, or recompile it");
    // verify reports the failed hash beside the golden check (which this damage passes) and fails.
    let out = fails(&["verify", s(&model)]);
    let verdicts: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  integrity:") || l.starts_with("error:") || l.starts_with("  ok"))
        .collect();
    assert_eq!(verdicts.len(), 2 + 4, "{out}");
    insta::assert_snapshot!(redact(verdicts[0]), @"  integrity: FAILED: <dir>/table.onnx: the graph (bytes 59..25226088) has sha256 <sha256>, but `plec.graph_sha256` records <sha256>: the file is damaged or was changed after it was written; copy it again from the `plec compile` output, or recompile it");
    assert_eq!(verdicts.last(), Some(&"error: verification FAILED: the model's content hashes"), "{out}");
    // Skipping the check is possible, and said.
    let output = predict(&model, &["--skip-integrity-check"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("integrity: not checked"), "{}", text(&output));

    let model = compiled("dense", false);
    let bytes = std::fs::read(&model).unwrap_or_default();
    flip(&model, find_weight(&bytes, DENSE));
    refused(&model, "the graph");

    // The file's first bytes: the header before the graph.
    let model = compiled("header", false);
    flip(&model, 1);
    refused(&model, "model");

    let model = compiled("truncated", false);
    truncate(&model);
    refused(&model, "truncated");
}

#[test]
fn damaged_external_data_and_golden_sets_are_refused() {
    let model = compiled("external", true);
    let data = dir().join("external.onnx.data");
    let bytes = std::fs::read(&data).unwrap_or_default();
    flip(&data, find_weight(&bytes, TABLE));
    let out = refused(&model, "external.onnx.data");
    insta::assert_snapshot!(error_of(&out), @"error: <dir>/external.onnx.data: the external data has sha256 <sha256>, but <dir>/external.onnx's `plec.external_data_sha256` records <sha256>: the file is damaged or was changed after it was written; copy it again from the `plec compile` output, or recompile it");

    let model = compiled("golden", false);
    let output = dir().join("golden.onnx.golden/test_data_set_0/output_0.pb");
    let size = std::fs::metadata(&output).map(|m| m.len() as usize).unwrap_or_default();
    flip(&output, size - 3);
    let out = fails(&["verify", s(&model)]);
    assert!(out.contains("golden set: FAILED"), "{out}");
    assert!(out.contains("verification FAILED: the golden set's hash"), "{out}");
}
