//! Dumps of compiled catalog models (random weights, seed 0) in every layout, as insta snapshots: any change to
//! the emitted graph shows up in review. Also: compiling is deterministic byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plec_compiler::dump::dump;
use plec_compiler::{compile, CompileOptions, Layout, Weights};
use plec_spec::testing::catalog;

#[test]
fn catalog_dumps() {
    for (name, spec) in catalog() {
        let weights = Weights::random(&spec, 0);
        for layout in [Layout::Explicit, Layout::Fused, Layout::Wide] {
            let options = CompileOptions { layout, config_text: format!("# {name}\n"), ..Default::default() };
            let compiled = compile(&spec, &weights, &options).unwrap();
            insta::assert_snapshot!(format!("{name}_{}", layout.name()), dump(&compiled.model));
        }
    }
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    for (_, spec) in catalog() {
        let weights = Weights::random(&spec, 3);
        for layout in [Layout::Explicit, Layout::Fused, Layout::Wide] {
            let options = CompileOptions { layout, expose_gates: true, ..Default::default() };
            let a = compile(&spec, &weights, &options).unwrap().to_bytes().unwrap();
            let b = compile(&spec, &weights, &options).unwrap().to_bytes().unwrap();
            assert!(a == b, "{} layout is not deterministic", layout.name());
        }
    }
}
