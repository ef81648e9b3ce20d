//! Every catalog model, in every layout, passes `onnx.checker.check_model(full_check=True)` and computes in ONNX
//! Runtime what an independent numpy implementation of docs/semantics.md computes (tests/py/check_models.py), on
//! raw inputs full of edge cases; the layouts agree with each other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use plec_compiler::{compile, CompileOptions, Layout, NormInit, Weights};
use plec_spec::test_dir::TestDir;
use plec_spec::testing::catalog;
use plec_spec::ModelSpec;

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.native/venv/bin/python")
}

fn out_dir(name: &str) -> TestDir {
    TestDir::new(name)
}

/// A config exercising the parser's path to every feature kind, BN and LN experts, softmax and l2 towers.
const CONFIG: &str = r#"
train_input_path: "unused.csv"
eval_input_path: "unused.csv"
model_dir: "unused"
train_config {
    sparse_optimizer { adagrad_optimizer { lr: 0.001 } constant_learning_rate {} }
    dense_optimizer { adam_optimizer { lr: 0.001 } constant_learning_rate {} }
    num_epochs: 1
}
data_config { fg_mode: FG_DAG batch_size: 32 dataset_type: CsvDataset label_fields: "clk" label_fields: "cls" label_fields: "val" }
feature_configs { id_feature { feature_name: "user_id" expression: "user:user_id" num_buckets: 40 embedding_dim: 4 } }
feature_configs { id_feature { feature_name: "item_id" expression: "user:item_id" num_buckets: 30 embedding_dim: 4 default_value: "3" } }
feature_configs { id_feature { feature_name: "pid" expression: "user:pid" hash_bucket_size: 10 embedding_dim: 3 } }
feature_configs { id_feature { feature_name: "gender" expression: "user:gender" vocab_list: ["m", "f"] embedding_dim: 2 } }
feature_configs {
    id_feature {
        feature_name: "brand" expression: "user:brand" embedding_dim: 2
        vocab_dict { key: "nike" value: 2 } vocab_dict { key: "puma" value: 4 }
    }
}
feature_configs {
    id_feature { feature_name: "clicks" expression: "user:clicks" num_buckets: 40 embedding_dim: 4 embedding_name: "user_id_emb" value_dim: 0 pooling: "mean" }
}
feature_configs { id_feature { feature_name: "words" expression: "user:words" hash_bucket_size: 9 embedding_dim: 3 value_dim: 0 } }
feature_configs { raw_feature { feature_name: "price" expression: "user:price" boundaries: [1.0, 5.0, 10.0] embedding_dim: 4 } }
feature_configs { raw_feature { feature_name: "score" expression: "user:score" } }
model_config {
    feature_groups {
        group_name: "all"
        feature_names: ["user_id", "item_id", "pid", "gender", "brand", "clicks", "words", "price", "score"]
        group_type: DEEP
    }
    ple {
        extraction_networks {
            network_name: "bn"
            expert_num_per_task: 1
            share_num: 2
            task_expert_net { hidden_units: [12, 8] use_bn: true }
            share_expert_net { hidden_units: [8] use_bn: true }
        }
        extraction_networks {
            network_name: "ln"
            expert_num_per_task: 2
            share_num: 1
            task_expert_net { hidden_units: [6] use_ln: true activation: "nn.GELU" }
            share_expert_net { hidden_units: [6] use_ln: true activation: "nn.GELU" }
        }
        task_towers { tower_name: "ctr" label_name: "clk" losses { binary_cross_entropy {} } metrics { auc {} } }
        task_towers {
            tower_name: "cls" label_name: "cls" num_class: 3 mlp { hidden_units: [4] }
            losses { softmax_cross_entropy {} } metrics { accuracy {} }
        }
        task_towers { tower_name: "val" label_name: "val" losses { l2_loss {} } metrics { mean_squared_error {} } }
    }
}
"#;

fn cases() -> Vec<(&'static str, ModelSpec)> {
    let loaded = plec_config::load_str(CONFIG, "inline.config").unwrap_or_else(|e| panic!("{e}"));
    let mut cases = catalog();
    cases.push(("inline_config", loaded.spec));
    // DIN with BatchNorm, simple attention and pooling over two sequence groups, as the parser builds them.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/configs/sequences.config");
    let sequences = plec_config::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    cases.push(("sequences_config", sequences.spec));
    cases
}

fn has_sequences(spec: &ModelSpec) -> bool {
    !spec.sequence_groups.is_empty()
}

/// Compiles every case `keep` selects at `opset` (None: each spec's default) and checks it with numpy.
fn check_with_python(dir: &Path, opset: Option<i64>, keep: impl Fn(&ModelSpec) -> bool) {
    let mut manifest = Vec::new();
    for (i, (name, spec)) in cases().into_iter().enumerate() {
        if !keep(&spec) {
            continue;
        }
        let weights = Weights::random_with(&spec, 100 + i as u64, NormInit::Random);
        let weights_path = dir.join(format!("{name}.safetensors"));
        weights.save_safetensors(&weights_path).unwrap();
        let spec_path = dir.join(format!("{name}.spec.json"));
        std::fs::write(&spec_path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
        let expose_gates = i % 2 == 0;
        let mut models = serde_json::Map::new();
        for layout in [Layout::Explicit, Layout::Fused, Layout::Wide] {
            let options = CompileOptions { layout, opset, expose_gates, ..Default::default() };
            let mut compiled = compile(&spec, &weights, &options).unwrap();
            let path = dir.join(format!("{name}.{}.onnx", layout.name()));
            compiled.write(&path, false).unwrap();
            models.insert(layout.name().into(), path.display().to_string().into());
        }
        manifest.push(serde_json::json!({
            "name": name, "spec": spec_path, "weights": weights_path, "models": models,
            "expose_gates": expose_gates, "seed": i,
        }));
    }
    let manifest_path = dir.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/check_models.py");
    let output = Command::new(python()).arg(&script).arg(&manifest_path).output().expect("run .native/venv python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("checked {} models", 3 * manifest.len())), "{stdout}");
}

#[test]
fn models_match_numpy_reference_at_opset_17() {
    check_with_python(&out_dir("ort_opset17"), Some(17), |spec| !has_sequences(spec));
}

#[test]
fn models_match_numpy_reference_at_opset_21() {
    check_with_python(&out_dir("ort_opset21"), Some(21), |_| true);
}

/// Sequence features default to opset 20 (StringSplit's first).
#[test]
fn sequence_models_match_numpy_reference_at_their_default_opset() {
    check_with_python(&out_dir("ort_sequences_default"), None, has_sequences);
}

#[test]
fn sequence_models_are_refused_below_opset_20() {
    let (_, spec) = catalog().into_iter().find(|(_, spec)| has_sequences(spec)).unwrap();
    let weights = Weights::random(&spec, 0);
    let options = CompileOptions { opset: Some(19), ..Default::default() };
    let err = compile(&spec, &weights, &options).unwrap_err().to_string();
    assert!(err.starts_with("opset 19 cannot compile sequence feature"), "{err}");
}
