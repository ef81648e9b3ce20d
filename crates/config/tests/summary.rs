//! `plec check`'s summary text, snapshotted for several configs.

fn summary_of(path: &str) -> String {
    let loaded = plec_config::load_file(path).unwrap_or_else(|e| panic!("{e}"));
    plec_config::summary::Summary::new(&loaded).to_string()
}

#[test]
fn example_config_summary() {
    let text = summary_of(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ple_taobao.config"));
    // The figures stated in the issue, independently of the snapshot.
    assert!(text.contains("dense parameters: 6,811,509"));
    assert!(text.contains("dense FLOPs per sample: 13,586,176"));
    assert!(text.contains("3,142,577 rows"));
    insta::assert_snapshot!(text.replace(env!("CARGO_MANIFEST_DIR"), "<crate>"));
}

#[test]
fn small_configs_summaries() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/configs");
    let mut paths: Vec<_> =
        std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    // Only the configs themselves (torcheasyrec/ has its own test).
    paths.retain(|p| p.extension().is_some_and(|e| e == "config"));
    paths.sort();
    assert!(paths.len() >= 3, "expected good test configs in {dir}");
    for path in paths {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("config").to_string();
        let text = summary_of(path.to_str().unwrap_or_default());
        insta::assert_snapshot!(format!("summary_{name}"), text.replace(env!("CARGO_MANIFEST_DIR"), "<crate>"));
    }
}

/// TorchEasyRec's `ple_has_sequence` benchmark config: the sequence group, the DIN encoder and its FLOPs.
#[test]
fn sequence_config_summary() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/configs/torcheasyrec");
    let plain = plec_config::load_file(format!("{dir}/taobao_ple.config")).unwrap_or_else(|e| panic!("{e}")).spec;
    let text = summary_of(&format!("{dir}/taobao_ple_has_sequence.config"));
    // By hand: the DIN output (48) widens layer 1's five experts and three gates (2 task gates over 3 experts, a
    // shared gate over 5); the DIN runs its MLP (192 -> 32 -> 8) and score Linear (8 -> 1) and a 48-wide weighted
    // sum at each position: under fg_mode FG_NONE every position is kept (sequence_length bounds feature generation
    // only) and there is no max_seq_length, so the length is the data's and the count is for one position.
    let wider = 2 * 48 * (5 * 1024 + 2 * 3 + 5);
    let din = 2 * (192 * 32 + 32 * 8 + 8) + 2 * 48;
    let flops = plain.flops_per_sample() + wider + din;
    let grouped = |n: u64| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    assert!(text.contains(&format!("dense FLOPs per sample: {}", grouped(flops))), "{text}");
    insta::assert_snapshot!(text.replace(env!("CARGO_MANIFEST_DIR"), "<crate>"));
}
