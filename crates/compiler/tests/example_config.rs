//! The example config (examples/ple_taobao.config, 50 M embedding parameters) with random weights (seed 0):
//! dump snapshots in every layout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use plec_compiler::dump::dump;
use plec_compiler::{compile, CompileOptions, Layout, Weights};

#[test]
fn example_config_dumps() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ple_taobao.config");
    let loaded = plec_config::load_file(&path).unwrap();
    let weights = Weights::random(&loaded.spec, 0);
    for layout in [Layout::Explicit, Layout::Fused, Layout::Wide] {
        let options = CompileOptions { layout, config_text: loaded.text.clone(), ..Default::default() };
        let compiled = compile(&loaded.spec, &weights, &options).unwrap();
        insta::assert_snapshot!(format!("ple_taobao_{}", layout.name()), dump(&compiled.model));
    }
}
