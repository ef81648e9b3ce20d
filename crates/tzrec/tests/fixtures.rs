//! The committed TorchEasyRec-format checkpoints (`tests/fixtures/tzrec`, written by PyTorch's
//! `torch.distributed.checkpoint` from a module tree with TorchEasyRec's names; see its README): the reader
//! assembles sharded tables, the name mapping covers both configs, and every way a checkpoint can fail to fit is
//! reported with both names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plec_spec::test_dir::TestDir;
use plec_spec::ModelSpec;
use plec_tzrec::dcp::{Checkpoint, Item};
use plec_tzrec::names::tzrec_keys;
use plec_tzrec::{import, locate, ImportError, NameProblem};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/tzrec").join(name)
}

fn config_text(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/configs").join(name)).unwrap()
}

fn spec_of(text: &str) -> ModelSpec {
    plec_config::load_str(text, "test.config").unwrap().spec
}

fn spec(name: &str) -> ModelSpec {
    spec_of(&config_text(name))
}

/// `cp -r` of a fixture into a temporary folder, to damage it.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn state_dir(fixture_name: &str) -> PathBuf {
    fixture(fixture_name).join("model.ckpt-100/model")
}

#[test]
fn checkpoints_are_found_from_the_model_dir_the_step_folder_or_the_state_folder() {
    let expected = (state_dir("ple_single"), 100);
    assert_eq!(locate(&fixture("ple_single")).unwrap(), expected);
    assert_eq!(locate(&fixture("ple_single/model.ckpt-100")).unwrap(), expected);
    assert_eq!(locate(&state_dir("ple_single")).unwrap(), expected);
    let error = locate(&repo().join("tests/configs")).unwrap_err();
    assert!(matches!(error, ImportError::NotFound(_)), "{error}");
}

#[test]
fn the_newest_step_of_a_model_dir_is_read() {
    let dir = TestDir::new("tzrec-steps");
    for step in [9, 100, 20] {
        copy_tree(&fixture("ple_single/model.ckpt-100"), &dir.path().join(format!("model.ckpt-{step}")));
    }
    let (found, step) = locate(dir.path()).unwrap();
    assert_eq!(step, 100);
    assert_eq!(found, dir.path().join("model.ckpt-100/model"));
}

#[test]
fn sharded_tables_assemble_to_the_tensors_one_rank_saved() {
    for (single, two) in [("ple_single", "ple_two_ranks"), ("ple_din_single", "ple_din_two_ranks")] {
        let one = Checkpoint::open(&state_dir(single)).unwrap();
        let sharded = Checkpoint::open(&state_dir(two)).unwrap();
        assert_eq!(one.items.keys().collect::<Vec<_>>(), sharded.items.keys().collect::<Vec<_>>());
        let mut multi_chunk = 0;
        let mut files = BTreeSet::new();
        for (key, item) in &sharded.items {
            let Item::Tensor(info) = item else { panic!("{key} is not a tensor") };
            files.extend(info.chunks.iter().map(|c| c.file.clone()));
            if info.chunks.len() > 1 {
                multi_chunk += 1;
            }
            if info.dtype != "float32" {
                continue; // BatchNorm step counters (int64) are never read
            }
            // The same float32 values, copied: equal bit for bit by construction.
            assert_eq!(sharded.read(key).unwrap(), one.read(key).unwrap(), "{two}: {key}");
        }
        assert!(multi_chunk >= 2, "{two}: only {multi_chunk} sharded tensors");
        assert_eq!(files.len(), 2, "{two}: chunks in {files:?}");
    }
    // Rows 3 + 2 of `age_emb`, columns 2 + 2 of `item` (the fixture README).
    let sharded = Checkpoint::open(&state_dir("ple_two_ranks")).unwrap();
    let chunks = |table: &str| match &sharded.items
        [&format!("model.embedding_group.emb_impls.__BASE__.ebc.embedding_bags.{table}.weight")]
    {
        Item::Tensor(info) => info.chunks.iter().map(|c| (c.offsets.clone(), c.sizes.clone())).collect::<Vec<_>>(),
        Item::Bytes => panic!("not a tensor"),
    };
    assert_eq!(chunks("age_emb"), vec![(vec![0, 0], vec![3, 3]), (vec![3, 0], vec![2, 3])]);
    assert_eq!(chunks("item"), vec![(vec![0, 0], vec![50, 2]), (vec![0, 2], vec![50, 2])]);
}

#[test]
fn every_plec_parameter_has_one_tzrec_key() {
    let configs = [
        "tzrec_ple.config",
        "tzrec_ple_din.config",
        "sequences.config",
        "mmoe.config",
        "weighted_ids.config",
        "mmoe_gate.config",
        "dbmtl.config",
    ];
    // TorchEasyRec's own benchmark configs, unchanged.
    let benchmark = [
        "taobao_ple.config",
        "taobao_ple_has_sequence.config",
        "taobao_ccp_ple.config",
        "taobao_mmoe_has_sequence.config",
        "taobao_ccp_mmoe.config",
        "taobao_dbmtl_has_sequence.config",
        "taobao_ccp_dbmtl.config",
    ]
    .map(|c| format!("torcheasyrec/{c}"));
    for config in configs.iter().map(|c| c.to_string()).chain(benchmark) {
        let config = config.as_str();
        let spec = spec(config);
        let keys = tzrec_keys(&spec);
        let params: BTreeSet<String> = spec.params().into_iter().map(|p| p.name).collect();
        assert_eq!(keys.keys().cloned().collect::<BTreeSet<_>>(), params, "{config}");
        let distinct: BTreeSet<&String> = keys.values().collect();
        assert_eq!(distinct.len(), keys.len(), "{config}: two parameters map to one key");
    }
}

#[test]
fn the_name_mapping_of_the_din_config() {
    let keys = tzrec_keys(&spec("tzrec_ple_din.config"));
    let text: String = keys.iter().map(|(plec, tzrec)| format!("{plec:<48} {tzrec}\n")).collect();
    insta::assert_snapshot!(text);
}

/// MMoE's and DBMTL's keys follow `models/mmoe.py`, `modules/mmoe.py` and `models/dbmtl.py` (task and relation MLPs
/// keyed by tower name, outputs by position).
#[test]
fn the_name_mapping_of_mmoe_and_dbmtl() {
    for config in ["mmoe_gate.config", "dbmtl.config"] {
        let keys = tzrec_keys(&spec(config));
        let text: String = keys.iter().map(|(plec, tzrec)| format!("{plec:<40} {tzrec}\n")).collect();
        insta::assert_snapshot!(config.replace('.', "_"), text);
    }
}

#[test]
fn importing_uses_every_tensor_but_the_step_counters() {
    for (config, fixture_name, counters) in
        [("tzrec_ple.config", "ple_two_ranks", 10), ("tzrec_ple_din.config", "ple_din_two_ranks", 2)]
    {
        let spec = spec(config);
        let imported = import(&fixture(fixture_name), &spec).unwrap();
        assert_eq!(imported.tensors.len(), spec.params().len());
        assert_eq!(imported.skipped.len(), counters);
        assert!(imported.skipped.iter().all(|k| k.ends_with(".num_batches_tracked")));
        assert_eq!(imported.prefix, "model.");
        for param in spec.params() {
            assert_eq!(imported.tensors[&param.name].shape, param.shape, "{}", param.name);
        }
    }
}

fn mismatch(config: &str) -> Vec<NameProblem> {
    match import(&fixture("ple_single"), &spec_of(config)) {
        Err(ImportError::Mismatch { problems, .. }) => problems,
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn a_config_with_other_widths_names_both_tensors_and_shapes() {
    // The first layer's experts 10 wide instead of 12: their first Linear, its BatchNorm and the second Linear.
    let text = config_text("tzrec_ple.config").replace("hidden_units: [12, 8]", "hidden_units: [10, 8]");
    let problems = mismatch(&text);
    assert!(problems.iter().all(|p| matches!(p, NameProblem::WrongShape { .. })));
    let text: String = problems.iter().map(|p| format!("{p}\n")).collect();
    insta::assert_snapshot!(text);
}

#[test]
fn a_config_with_fewer_experts_leaves_tensors_unused_and_one_with_more_misses_some() {
    let fewer = config_text("tzrec_ple.config")
        .replace("expert_num_per_task: 1\n      share_num: 2", "expert_num_per_task: 1\n      share_num: 1");
    let problems = mismatch(&fewer);
    assert!(!problems.is_empty());
    assert!(problems.iter().any(
        |p| matches!(p, NameProblem::Unused { tzrec, .. } if tzrec.contains("_extraction_nets.1._shared_layers.1."))
    ));
    let more = config_text("tzrec_ple.config")
        .replace("expert_num_per_task: 1\n      share_num: 2", "expert_num_per_task: 2\n      share_num: 2");
    let problems = mismatch(&more);
    assert!(problems.iter().any(|p| matches!(p, NameProblem::Missing { tzrec, plec, .. }
        if tzrec == "model._extraction_nets.1._task_layers.0.1.mlp.0.perceptron.0.weight"
            && plec == "ple.layer2.task_ctr.expert_1.fc_0.weight")));
    let text: String = problems.iter().map(|p| format!("{p}\n")).collect();
    insta::assert_snapshot!(text);
}

#[test]
fn a_missing_rank_file_is_an_error_naming_it() {
    let dir = TestDir::new("tzrec-missing-rank");
    copy_tree(&fixture("ple_two_ranks"), dir.path());
    let state = dir.path().join("model.ckpt-100/model");
    std::fs::remove_file(state.join("__1_0.distcp")).unwrap();
    let error = import(dir.path(), &spec("tzrec_ple.config")).unwrap_err().to_string();
    assert!(error.contains("__1_0.distcp"), "{error}");
    assert!(error.starts_with("cannot read "), "{error}");
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let spec = spec("tzrec_ple.config");
    // Truncated index.
    let dir = TestDir::new("tzrec-damaged");
    copy_tree(&fixture("ple_single"), dir.path());
    let state = dir.path().join("model.ckpt-100/model");
    let metadata = std::fs::read(state.join(".metadata")).unwrap();
    for cut in [0, 2, 40, metadata.len() / 2, metadata.len() - 1] {
        std::fs::write(state.join(".metadata"), &metadata[..cut]).unwrap();
        let error = import(dir.path(), &spec).unwrap_err().to_string();
        assert!(error.contains(".metadata"), "cut {cut}: {error}");
    }
    std::fs::write(state.join(".metadata"), &metadata).unwrap();
    // Every byte of a chunk file overwritten in turn at a few places: each read fails cleanly or succeeds.
    let data = std::fs::read(state.join("__0_0.distcp")).unwrap();
    for at in (0..data.len()).step_by(97) {
        let mut damaged = data.clone();
        damaged[at] ^= 0xff;
        std::fs::write(state.join("__0_0.distcp"), &damaged).unwrap();
        if let Err(error) = import(dir.path(), &spec) {
            assert!(error.to_string().contains("__0_0.distcp"), "byte {at}: {error}");
        }
    }
    // A file shorter than the index says.
    std::fs::write(state.join("__0_0.distcp"), &data[..data.len() / 2]).unwrap();
    let error = import(dir.path(), &spec).unwrap_err().to_string();
    assert!(error.contains("past the end of the file"), "{error}");
}
