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
