//! `plec compile` and `plec dump` end to end: inline config + random weights -> model file, text dump, config
//! found in the model folder, early failure on an unwritable output, bad opsets, external data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plec_compiler::Weights;
use plec_spec::artifact::checkpoint::{checkpoint_dir, CheckpointMeta, CONFIG_FILE, META_FILE, WEIGHTS_FILE};
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
data_config { fg_mode: FG_DAG batch_size: 32 dataset_type: CsvDataset label_fields: "clk" label_fields: "buy" }
feature_configs { id_feature { feature_name: "user_id" expression: "user:user_id" num_buckets: 100 embedding_dim: 4 } }
feature_configs { id_feature { feature_name: "pid" expression: "user:pid" hash_bucket_size: 10 embedding_dim: 4 } }
feature_configs { raw_feature { feature_name: "price" expression: "user:price" boundaries: [1.0, 5.0, 10.0] embedding_dim: 4 } }
model_config {
    feature_groups {
        group_name: "all"
        feature_names: "user_id"
        feature_names: "pid"
        feature_names: "price"
        group_type: DEEP
    }
    ple {
        extraction_networks {
            network_name: "layer1"
            expert_num_per_task: 1
            share_num: 1
            task_expert_net { hidden_units: [8] }
            share_expert_net { hidden_units: [8] }
        }
        task_towers { tower_name: "ctr" label_name: "clk" losses { binary_cross_entropy {} } metrics { auc {} } }
        task_towers { tower_name: "cvr" label_name: "buy" losses { binary_cross_entropy {} } metrics { auc {} } }
    }
}
"#;

fn tmp(name: &str) -> TestDir {
    TestDir::new(name)
}

fn plec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plec")).args(args).output().expect("run plec")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes the config and random weights as a trained model folder would hold them.
fn model_dir(dir: &Path) -> PathBuf {
    let spec = plec_config::load_str(CONFIG, "inline.config").unwrap().spec;
    let model_dir = dir.join("model");
    let ckpt = checkpoint_dir(&model_dir, 10);
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::write(model_dir.join(CONFIG_FILE), CONFIG).unwrap();
    Weights::random(&spec, 0).save_safetensors(&ckpt.join(WEIGHTS_FILE)).unwrap();
    let meta = CheckpointMeta {
        step: 10,
        samples: 320,
        epoch: 0,
        structure_hash: spec.structure_hash(),
        weights_sha256: plec_spec::artifact::checkpoint::weights_sha256(&ckpt.join(WEIGHTS_FILE)).unwrap(),
        golden_sha256: None,
        optimizer_state: None,
        plec_version: "test".into(),
        imported_from: None,
    };
    std::fs::write(ckpt.join(META_FILE), serde_json::to_string(&meta).unwrap()).unwrap();
    model_dir
}

#[test]
fn compile_then_dump() {
    let dir = tmp("cli_compile_then_dump");
    let model_dir = model_dir(&dir);
    let config = dir.join("c.config");
    std::fs::write(&config, CONFIG).unwrap();
    let weights = checkpoint_dir(&model_dir, 10).join(WEIGHTS_FILE);
    let out = dir.join("m.onnx");
    let run = plec(&[
        "compile",
        "--config",
        config.to_str().unwrap(),
        "--checkpoint",
        weights.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--layout",
        "fused",
        "--emit",
        "text",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(stdout.contains("(fused layout, opset 17)") && stdout.contains("nodes"), "{stdout}");
    let dumped = plec(&["dump", out.to_str().unwrap()]);
    assert!(dumped.status.success(), "{}", text(&dumped.stderr));
    let written = std::fs::read_to_string(dir.join("m.onnx.txt")).unwrap();
    assert_eq!(text(&dumped.stdout), written);
    assert!(written.contains("metadata plec.layout = \"fused\""), "{written}");
    assert!(written.contains("output probs_ctr float [batch]"), "{written}");
}

#[test]
fn config_comes_from_the_model_folder() {
    let dir = tmp("cli_model_folder");
    let model_dir = model_dir(&dir);
    let out = dir.join("m.onnx");
    let run = plec(&["compile", "--checkpoint", model_dir.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(out.is_file());
    let dumped = text(&plec(&["dump", out.to_str().unwrap()]).stdout);
    assert!(dumped.contains("node ple.layer1.task_ctr.expert_0.fc_0 = Gemm("), "{dumped}");
}

#[test]
fn unwritable_output_fails_before_any_work() {
    let dir = tmp("cli_unwritable");
    let missing = dir.join("no/such/folder/m.onnx");
    // The checkpoint does not exist either: the output is checked first.
    let run = plec(&["compile", "--config", "x.config", "--checkpoint", "nowhere", "-o", missing.to_str().unwrap()]);
    assert!(!run.status.success());
    let stderr = text(&run.stderr);
    assert!(stderr.contains("cannot write") && stderr.contains("no/such/folder/m.onnx"), "{stderr}");
}

#[test]
fn unsupported_opset_is_refused() {
    let dir = tmp("cli_opset");
    let model_dir = model_dir(&dir);
    let out = dir.join("m.onnx");
    let run =
        plec(&["compile", "--checkpoint", model_dir.to_str().unwrap(), "-o", out.to_str().unwrap(), "--opset", "16"]);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("opset 16 is not supported: plec emits ai.onnx opsets 17..=21"));
}

#[test]
fn external_data_is_valid_onnx() {
    let dir = tmp("cli_external");
    let model_dir = model_dir(&dir);
    let out = dir.join("m.onnx");
    let run =
        plec(&["compile", "--checkpoint", model_dir.to_str().unwrap(), "-o", out.to_str().unwrap(), "--external-data"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let data = dir.join("m.onnx.data");
    // user_id's table alone is 100 x 4 floats.
    assert!(std::fs::metadata(&data).unwrap().len() >= 1600);
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".native/venv/bin/python");
    let script = "import sys, onnx, onnxruntime as ort, numpy as np\n\
                  onnx.checker.check_model(sys.argv[1], full_check=True)\n\
                  s = ort.InferenceSession(sys.argv[1])\n\
                  r = s.run(None, {'user_id': np.array([3, -1], dtype=np.int64), 'pid': np.array(['a', ''], dtype=object),\n\
                                   'price': np.array([2.0, np.nan], dtype=np.float32)})\n\
                  assert all(np.all(np.isfinite(x)) for x in r)\n";
    let check = Command::new(python).args(["-c", script, out.to_str().unwrap()]).output().unwrap();
    assert!(check.status.success(), "{}", text(&check.stderr));
    // plec's own runtime finds `m.onnx.data` beside the model, not in the working directory (the test runs in the
    // repository root, the model lies in a temporary folder).
    let rows = dir.write("rows.csv", "user_id,pid,price\n3,a,2.0\n-1,,\n");
    let scores = dir.join("scores.csv");
    let predict = plec(&[
        "predict",
        out.to_str().unwrap(),
        "--input",
        rows.to_str().unwrap(),
        "--output",
        scores.to_str().unwrap(),
    ]);
    assert!(predict.status.success(), "{}", text(&predict.stderr));
    assert_eq!(std::fs::read_to_string(&scores).unwrap().lines().count(), 3);
}
