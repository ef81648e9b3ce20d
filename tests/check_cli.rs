//! `plec check` through the binary: the summary, its JSON form, and errors with exit status 1.

use std::process::Command;

const PLEC: &str = env!("CARGO_BIN_EXE_plec");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn check(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(PLEC).arg("check").args(args).output().unwrap_or_else(|e| panic!("cannot run plec: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn example_config_figures() {
    let (ok, stdout, stderr) = check(&[&format!("{ROOT}/examples/ple_taobao.config")]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("dense parameters: 6,811,509"), "{stdout}");
    assert!(stdout.contains("dense FLOPs per sample: 13,586,176"), "{stdout}");
    assert!(stdout.contains("16 tables, 3,142,577 rows"), "{stdout}");
}

#[test]
fn json_summary() {
    let (ok, stdout, stderr) = check(&[&format!("{ROOT}/examples/ple_taobao.config"), "--json"]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(json["dense_params"], 6_811_509);
    assert_eq!(json["flops_per_sample"], 13_586_176);
    assert_eq!(json["embedding_rows"], 3_142_577);
    assert_eq!(json["features"].as_array().map(Vec::len), Some(16));
    assert_eq!(json["towers"][1]["outputs"], serde_json::json!(["logits_cvr", "probs_cvr"]));
}

#[test]
fn bad_config_fails_with_location() {
    let dir = plec_spec::test_dir::TestDir::new("check-cli");
    let path = dir.join("bad.config");
    let text = std::fs::read_to_string(format!("{ROOT}/examples/ple_taobao.config")).unwrap_or_default();
    std::fs::write(&path, text.replacen("feature_name: \"cms_segid\"", "feature_nme: \"cms_segid\"", 1))
        .unwrap_or_else(|e| panic!("{e}"));
    let (ok, _, stderr) = check(&[path.to_str().unwrap_or_default()]);
    assert!(!ok);
    assert!(
        stderr.contains("bad.config:41:9: unknown field `feature_nme` in IdFeature; did you mean `feature_name`?"),
        "{stderr}"
    );
    let (ok, _, stderr) = check(&[dir.join("missing.config").to_str().unwrap_or_default()]);
    assert!(!ok);
    assert!(stderr.contains("cannot read config") && stderr.contains("missing.config"), "{stderr}");
}

/// TorchEasyRec's example MMoE and DBMTL configs: the figures worked out by hand in
/// `crates/config/tests/torcheasyrec_configs.rs`, the relation edge, and the jrc config's loss and its sessions.
#[test]
fn mmoe_and_dbmtl_configs() {
    let config = |name: &str| format!("{ROOT}/tests/configs/torcheasyrec/{name}.config");
    let (ok, stdout, stderr) = check(&[&config("examples_mmoe_taobao")]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(": MMoE, 2 task(s): ctr, cvr"), "{stdout}");
    assert!(stdout.contains("dense parameters: 1,037,448"), "{stdout}");
    let (ok, stdout, stderr) = check(&[&config("examples_dbmtl_taobao"), "--json"]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(json["model"], "dbmtl");
    assert_eq!(json["dense_params"], 484_930);
    assert_eq!(json["towers"][1]["relation"]["reads"], serde_json::json!(["ctr"]));
    let (ok, stdout, stderr) = check(&[&config("examples_dbmtl_taobao_jrc")]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("num_class 2, losses jrc_loss (sessions by user_id, alpha 0.5)"), "{stdout}");
}
