//! Weights that do not fit the config are refused with every problem named; checkpoints from another config are
//! refused; random initialisation follows PyTorch's default bounds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use plec_compiler::{compile, CompileOptions, Tensor, Weights};
use plec_spec::artifact::checkpoint::{checkpoint_dir, weights_sha256, CheckpointMeta, META_FILE, WEIGHTS_FILE};
use plec_spec::test_dir::TestDir;
use plec_spec::testing::catalog;
use plec_spec::ModelSpec;

fn spec(name: &str) -> ModelSpec {
    catalog().into_iter().find(|(n, _)| *n == name).unwrap().1
}

fn tmp(name: &str) -> TestDir {
    TestDir::new(name)
}

/// Error text with the temporary folder replaced, for snapshots.
fn message(err: impl std::fmt::Display, dir: &Path) -> String {
    err.to_string().replace(&dir.display().to_string(), "<tmp>")
}

/// The meta.json of a checkpoint folder whose weights file is already written.
fn meta(spec: &ModelSpec, step: u64, ckpt: &Path) -> CheckpointMeta {
    CheckpointMeta {
        step,
        samples: 0,
        epoch: 0,
        structure_hash: spec.structure_hash(),
        weights_sha256: weights_sha256(&ckpt.join(WEIGHTS_FILE)).unwrap(),
        golden_sha256: None,
        optimizer_state: None,
        plec_version: "test".into(),
        imported_from: None,
    }
}

#[test]
fn missing_extra_and_wrong_shape_tensors_are_all_reported() {
    let dir = tmp("weights_mismatch");
    let spec = spec("mmoe");
    let mut weights = Weights::random(&spec, 1);
    weights.tensors.remove("ple.mmoe.gate_ctr.bias");
    weights.tensors.remove("tower.cvr.output.weight");
    weights.tensors.insert("tower.ctr.extra.weight".into(), Tensor::from_f32(vec![2], &[1.0, 2.0]));
    weights.tensors.insert("embedding.user_id_emb.weight".into(), Tensor::from_f32(vec![9, 4], &[0.0; 36]));
    let path = dir.join("bad.safetensors");
    weights.save_safetensors(&path).unwrap();
    let err = Weights::load(&path, &spec).unwrap_err();
    insta::assert_snapshot!(message(err, &dir), @r"
    weights <tmp>/bad.safetensors do not fit the config (4 problems):
      tensor `embedding.user_id_emb.weight` has shape [9, 4], the config expects [10, 4]
      missing tensor `ple.mmoe.gate_ctr.bias` (expected shape [3])
      unexpected tensor `tower.ctr.extra.weight` of shape [2]: the config has no such parameter
      missing tensor `tower.cvr.output.weight` (expected shape [1, 2])
    ");
    // compile refuses such weights too
    let err = compile(&spec, &weights, &CompileOptions::default()).unwrap_err();
    assert!(err.to_string().contains("4 problems"), "{err}");
}

#[test]
fn checkpoint_of_another_config_is_refused_naming_the_difference() {
    let dir = tmp("weights_other_config");
    let trained = spec("mmoe");
    let other = spec("single_task");
    let ckpt = checkpoint_dir(&dir, 20);
    std::fs::create_dir_all(&ckpt).unwrap();
    Weights::random(&trained, 0).save_safetensors(&ckpt.join(WEIGHTS_FILE)).unwrap();
    std::fs::write(ckpt.join(META_FILE), serde_json::to_string(&meta(&trained, 20, &ckpt)).unwrap()).unwrap();
    let err = message(Weights::load(&dir, &other).unwrap_err(), &dir);
    assert!(
        err.starts_with("checkpoint <tmp>/ckpt-20/meta.json was trained from a different model structure"),
        "{err}"
    );
    assert!(err.contains("missing tensor `ple.l1.gate_only.weight`"), "{err}");
    assert!(err.contains("unexpected tensor `ple.mmoe.gate_ctr.weight`"), "{err}");
    // The same checkpoint loads with its own config.
    assert!(Weights::load(&dir, &trained).is_ok());
}

#[test]
fn model_dir_resolves_to_the_latest_complete_checkpoint() {
    let dir = tmp("weights_latest");
    let spec = spec("mmoe");
    for (step, seed) in [(5, 1), (40, 2), (300, 3)] {
        let ckpt = checkpoint_dir(&dir, step);
        std::fs::create_dir_all(&ckpt).unwrap();
        Weights::random(&spec, seed).save_safetensors(&ckpt.join(WEIGHTS_FILE)).unwrap();
        if step != 300 {
            // ckpt-300 has no meta.json: incomplete, skipped.
            std::fs::write(ckpt.join(META_FILE), serde_json::to_string(&meta(&spec, step, &ckpt)).unwrap()).unwrap();
        }
    }
    let loaded = Weights::load(&dir, &spec).unwrap();
    assert_eq!(loaded, Weights::random(&spec, 2));
    let direct = Weights::load(&checkpoint_dir(&dir, 5), &spec).unwrap();
    assert_eq!(direct, Weights::random(&spec, 1));
    let err = Weights::load(&tmp("weights_empty"), &spec).unwrap_err();
    assert!(err.to_string().starts_with("no checkpoint (ckpt-<step>/ with meta.json) in"), "{err}");
}

#[test]
fn random_init_is_deterministic_and_within_pytorch_bounds() {
    let spec = spec("bn_three_layers_softmax");
    let a = Weights::random(&spec, 7);
    assert_eq!(a, Weights::random(&spec, 7));
    assert_ne!(a.content_sha256(), Weights::random(&spec, 8).content_sha256());
    assert!(a.problems(&spec).is_empty());
    // embedding.user_id_emb: 10 rows -> bound sqrt(1/10); l1 expert fc_0: in = 4 + 1 + 3 = 8 -> bound 1/sqrt(8).
    let emb = a.get("embedding.user_id_emb.weight").unwrap().to_f32();
    assert!(emb.iter().all(|v| v.abs() <= (0.1f32).sqrt()) && emb.iter().any(|v| v.abs() > 0.2));
    let w = a.get("ple.l1.task_a.expert_0.fc_0.weight").unwrap().to_f32();
    assert!(w.iter().all(|v| v.abs() <= 1.0 / 8f32.sqrt()) && w.iter().any(|v| v.abs() > 0.25));
    assert!(a.get("ple.l1.task_a.expert_0.fc_0.bn.weight").unwrap().to_f32().iter().all(|&v| v == 1.0));
    assert!(a.get("ple.l1.task_a.expert_0.fc_0.bn.running_mean").unwrap().to_f32().iter().all(|&v| v == 0.0));
    assert!(a.get("ple.l1.task_a.expert_0.fc_0.bn.running_var").unwrap().to_f32().iter().all(|&v| v == 1.0));
}

#[test]
fn safetensors_round_trip_and_non_f32_is_refused() {
    let dir = tmp("weights_roundtrip");
    let spec = spec("ln_gelu");
    let weights = Weights::random(&spec, 4);
    let path = dir.join("w.safetensors");
    weights.save_safetensors(&path).unwrap();
    assert_eq!(Weights::load(&path, &spec).unwrap(), weights);

    // A hand-written safetensors file holding an F64 tensor.
    let header = br#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&1.0f64.to_le_bytes());
    let bad = dir.join("f64.safetensors");
    std::fs::write(&bad, bytes).unwrap();
    let err = message(Weights::read_safetensors(&bad).unwrap_err(), &dir);
    insta::assert_snapshot!(err, @r"
    weights <tmp>/f64.safetensors do not fit the config (1 problem):
      tensor `x` has dtype F64, expected F32
    ");
    std::fs::write(&bad, b"\x05\x00").unwrap();
    let err = message(Weights::read_safetensors(&bad).unwrap_err(), &dir);
    assert!(err.starts_with("<tmp>/f64.safetensors is not a valid safetensors file"), "{err}");
}
