//! The bundled example config (TorchEasyRec's own ple_taobao.config) loads and has the issue's figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plec_spec::{Encoding, Transform};

fn example() -> plec_config::LoadedConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ple_taobao.config");
    plec_config::load_file(path).unwrap_or_else(|e| panic!("{e}"))
}

/// `examples/ple_taobao.config` is TorchEasyRec's own `examples/ple_taobao.config`, byte for byte: its sha256 was
/// taken from that file when it was copied (examples/README.md), so an edit to the example shows up here.
#[test]
fn example_is_torcheasyrecs_config_unchanged() {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ple_taobao.config"))
        .expect("examples/ple_taobao.config");
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, "62a6f85ce0305da8f79ea10807402ed4eab2e6e9e85e9324026cb2255153f70b");
}

#[test]
fn example_figures_match_the_issue() {
    let spec = example().spec;
    // Independently derived in the issue text (and by hand: 6 x 917,504 MACs in layer 1, ...).
    assert_eq!(spec.dense_param_count(), 6_811_509);
    assert_eq!(spec.flops_per_sample(), 13_586_176);
    assert_eq!(spec.embedding_rows(), 3_142_577);
    assert!(spec.tables.iter().all(|t| t.dim == 16));
    assert_eq!(spec.input_width, 16 * 16);
}

#[test]
fn example_structure() {
    let loaded = example();
    let spec = &loaded.spec;
    assert_eq!(spec.features.len(), 16);
    // Group order, not feature_configs order: pid comes tenth.
    assert_eq!(spec.features[9].name, "pid");
    assert!(matches!(&spec.features[9].encoding, Encoding::Embedding { transform: Transform::HashBucket(20), .. }));
    assert_eq!(spec.features[9].offset, 9 * 16);
    let layer_widths: Vec<_> = spec.layers.iter().map(|l| (l.input_width, l.output_width, l.has_shared_gate)).collect();
    assert_eq!(layer_widths, vec![(256, 256, true), (256, 64, true), (64, 32, false)]);
    let outputs: Vec<_> = spec.towers.iter().flat_map(|t| t.outputs.iter().map(|o| o.name.clone())).collect();
    assert_eq!(outputs, vec!["logits_ctr", "probs_ctr", "logits_cvr", "probs_cvr"]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // num_workers: 8 equals the default, and fg_mode is honoured (FG_DAG = plec applies the transforms).
    assert!(loaded.ignored.is_empty(), "{:?}", loaded.ignored);
}
